package imaging

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var gen = flag.Bool("gen", false, "regenerate the hand-built files in testdata/ (APNG, pixel bombs, zero sizes)")

// TestGenerateTestdata writes the testdata files no Debian tool makes: an APNG, pixel bombs
// (valid tiny headers declaring 50000x50000) and a zero-width PNG. Run it with -gen; the
// files are committed, so normal test runs skip it.
func TestGenerateTestdata(t *testing.T) {
	if !*gen {
		t.Skip("run with -gen to regenerate testdata")
	}
	files := map[string][]byte{
		"png-apng-160x120.png":         makeAPNG(t),
		"png-bomb-50000x50000.png":     makePNGHeaderOnly(t, 50000, 50000),
		"png-zero-width.png":           makePNGHeaderOnly(t, 0, 10),
		"gif-bomb-50000x50000.gif":     makeGIFBomb(),
		"jpeg-bomb-50000x50000.jpg":    makeJPEGBomb(t),
		"webp-bomb-16384x16384.webp":   makeWebPBomb(),
		"bmp-bomb-50000x50000.bmp":     makeBMPBomb(),
		"png-acTL-after-IDAT.png":      makeLateACTL(t),
		"webp-animated-no-frames.webp": makeWebPAnimNoFrames(),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// pngChunks splits an encoded PNG into its chunks (type, data), skipping the signature.
func pngChunks(t *testing.T, b []byte) (types []string, datas [][]byte) {
	t.Helper()
	for off := 8; off+12 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[off:]))
		types = append(types, string(b[off+4:off+8]))
		datas = append(datas, b[off+8:off+8+n])
		off += 12 + n
	}
	return types, datas
}

func solidPNG(t *testing.T, w, h int, c color.NRGBA) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	// Draw a diagonal so frames are not entirely flat.
	for i := 0; i < min(w, h); i++ {
		m.SetNRGBA(i, i, color.NRGBA{0, 0, 0, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func fcTL(seq uint32, w, h int) []byte {
	b := binary.BigEndian.AppendUint32(nil, seq)
	b = binary.BigEndian.AppendUint32(b, uint32(w))
	b = binary.BigEndian.AppendUint32(b, uint32(h))
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // x, y offsets
	b = append(b, 0, 1, 0, 10)            // delay 1/10 s
	return append(b, 0, 0)                // dispose none, blend source
}

// makeAPNG builds a 3-frame 160x120 APNG whose default image is the first frame, with a
// tEXt chunk that stripping must remove while keeping every animation chunk.
func makeAPNG(t *testing.T) []byte {
	colors := []color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 200}, {0, 0, 255, 128}}
	out := append([]byte(nil), pngSignature...)
	seq := uint32(0)
	for i, c := range colors {
		types, datas := pngChunks(t, solidPNG(t, 160, 120, c))
		if i == 0 {
			out = append(out, pngChunk("IHDR", datas[0])...)
			out = append(out, pngChunk("acTL", []byte{0, 0, 0, 3, 0, 0, 0, 0})...)
			out = append(out, pngChunk("tEXt", []byte("Comment\x00made by gen_test"))...)
		}
		out = append(out, pngChunk("fcTL", fcTL(seq, 160, 120))...)
		seq++
		for j, typ := range types {
			if typ != "IDAT" {
				continue
			}
			if i == 0 {
				out = append(out, pngChunk("IDAT", datas[j])...)
				continue
			}
			out = append(out, pngChunk("fdAT", append(binary.BigEndian.AppendUint32(nil, seq), datas[j]...))...)
			seq++
		}
	}
	return append(out, pngChunk("IEND", nil)...)
}

// makeLateACTL builds a still PNG with an acTL after its IDAT: not animated by the rule
// "acTL before the first IDAT".
func makeLateACTL(t *testing.T) []byte {
	types, datas := pngChunks(t, solidPNG(t, 40, 30, color.NRGBA{10, 20, 30, 255}))
	out := append([]byte(nil), pngSignature...)
	for i, typ := range types {
		if typ == "IEND" {
			out = append(out, pngChunk("acTL", []byte{0, 0, 0, 2, 0, 0, 0, 0})...)
		}
		out = append(out, pngChunk(typ, datas[i])...)
	}
	return out
}

// makePNGHeaderOnly builds a PNG with a valid IHDR for w x h and a tiny IDAT.
func makePNGHeaderOnly(t *testing.T, w, h int) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 64))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), pngSignature...)
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// makeGIFBomb builds a GIF whose logical screen is 50000x50000 with one 1x1 frame.
func makeGIFBomb() []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, 50000)
	b = binary.LittleEndian.AppendUint16(b, 50000)
	b = append(b, 0x80, 0, 0)             // global color table of 2 entries
	b = append(b, 0, 0, 0, 255, 255, 255) // black, white
	b = append(b, 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0)
	b = append(b, 2, 2, 0x44, 0x01, 0) // LZW: code size 2, one sub-block
	return append(b, 0x3B)
}

// makeJPEGBomb patches the frame header of a real JPEG to claim 50000x50000.
func makeJPEGBomb(t *testing.T) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "jpeg-plain.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Clone(b)
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 in jpeg-plain.jpg")
	}
	binary.BigEndian.PutUint16(b[i+5:], 50000)
	binary.BigEndian.PutUint16(b[i+7:], 50000)
	return b
}

// makeWebPBomb builds a VP8X WebP with a 16384x16384 canvas and no real image data.
func makeWebPBomb() []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00")
	b = append(b, 0, 0, 0, 0, 0xFF, 0x3F, 0, 0xFF, 0x3F, 0) // 16384x16384
	b = append(b, "VP8L\x05\x00\x00\x00\x2f\x00\x00\x00\x00\x00"...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// makeWebPAnimNoFrames builds a WebP with the animation flag but no ANMF chunk.
func makeWebPAnimNoFrames() []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00")
	b = append(b, vp8xAnimation, 0, 0, 0, 9, 0, 0, 9, 0, 0) // 10x10
	b = append(b, "ANIM\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// makeBMPBomb builds a BMP header declaring 50000x50000 at 24 bits with no pixel data.
func makeBMPBomb() []byte {
	b := []byte("BM")
	b = binary.LittleEndian.AppendUint32(b, 54)
	b = append(b, 0, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, 54) // pixel data offset
	b = binary.LittleEndian.AppendUint32(b, 40) // BITMAPINFOHEADER
	b = binary.LittleEndian.AppendUint32(b, 50000)
	b = binary.LittleEndian.AppendUint32(b, 50000)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 24)
	return append(b, make([]byte, 24)...)
}
