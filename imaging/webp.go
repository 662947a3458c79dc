package imaging

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"io"

	"golang.org/x/image/webp"
)

// maxWebPChunks bounds the chunks walked in one WebP; an animation has one ANMF per frame,
// and a hundred thousand frames is far beyond any real upload.
const maxWebPChunks = 100_000

// VP8X flag bits.
const (
	vp8xAnimation = 1 << 1
	vp8xXMP       = 1 << 2
	vp8xEXIF      = 1 << 3
	vp8xAlpha     = 1 << 4
)

// webpChunk is one top-level chunk of a RIFF WebP file.
type webpChunk struct {
	fourCC   string
	off      int64 // start of the 8-byte chunk header
	dataLen  int64 // payload length without padding
	totalLen int64 // header + payload + padding
}

// webpLayout is what a chunk walk learns about a WebP.
type webpLayout struct {
	chunks   []webpChunk
	vp8x     []byte // the 10-byte VP8X payload, nil for simple files
	animated bool
}

// walkWebP walks the top-level chunks of a WebP, reading only their headers, the VP8X
// payload included. Data after the RIFF size is ignored (and dropped when stripping).
func walkWebP(src io.ReaderAt, size int64) (*webpLayout, error) {
	var hdr [12]byte
	if _, err := src.ReadAt(hdr[:], 0); err != nil {
		return nil, truncated("webp", err)
	}
	riffEnd := 8 + int64(binary.LittleEndian.Uint32(hdr[4:8]))
	if riffEnd > size {
		return nil, fmt.Errorf("%w: webp: truncated", ErrInvalid)
	}
	l := &webpLayout{}
	off := int64(12)
	for off+8 <= riffEnd {
		if len(l.chunks) >= maxWebPChunks {
			return nil, fmt.Errorf("%w: webp: too many chunks", ErrInvalid)
		}
		var ch [8]byte
		if _, err := src.ReadAt(ch[:], off); err != nil {
			return nil, truncated("webp", err)
		}
		n := int64(binary.LittleEndian.Uint32(ch[4:8]))
		c := webpChunk{fourCC: string(ch[0:4]), off: off, dataLen: n, totalLen: 8 + n + n&1}
		if off+8+n > riffEnd {
			return nil, fmt.Errorf("%w: webp: truncated %q chunk", ErrInvalid, c.fourCC)
		}
		if c.fourCC == "VP8X" && len(l.chunks) == 0 {
			if n < 10 {
				return nil, fmt.Errorf("%w: webp: short VP8X", ErrInvalid)
			}
			l.vp8x = make([]byte, 10)
			if _, err := src.ReadAt(l.vp8x, off+8); err != nil {
				return nil, truncated("webp", err)
			}
			l.animated = l.vp8x[0]&vp8xAnimation != 0
		}
		l.chunks = append(l.chunks, c)
		off += c.totalLen
	}
	if len(l.chunks) == 0 {
		return nil, fmt.Errorf("%w: webp: no chunks", ErrInvalid)
	}
	return l, nil
}

// writeStrippedWebP writes src without its EXIF and XMP chunks, clears the matching VP8X
// flags and rewrites the RIFF size. Every other chunk is copied byte for byte.
func writeStrippedWebP(w io.Writer, src io.ReaderAt, l *webpLayout) error {
	var body int64 = 4 // "WEBP"
	for _, c := range l.chunks {
		if c.fourCC != "EXIF" && c.fourCC != "XMP " {
			body += c.totalLen
		}
	}
	head := []byte("RIFF\x00\x00\x00\x00WEBP")
	binary.LittleEndian.PutUint32(head[4:8], uint32(body))
	if _, err := w.Write(head); err != nil {
		return err
	}
	for _, c := range l.chunks {
		switch c.fourCC {
		case "EXIF", "XMP ":
			continue
		case "VP8X":
			if l.vp8x != nil && c.off == 12 {
				hdr := make([]byte, 8, 8+c.totalLen)
				copy(hdr, "VP8X")
				binary.LittleEndian.PutUint32(hdr[4:8], uint32(c.dataLen))
				payload := append([]byte(nil), l.vp8x...)
				payload[0] &^= vp8xEXIF | vp8xXMP
				if _, err := w.Write(append(hdr, payload...)); err != nil {
					return err
				}
				// Copy any bytes beyond the 10 known ones (and padding) unchanged.
				rest := c.totalLen - 8 - 10
				if _, err := io.Copy(w, io.NewSectionReader(src, c.off+18, rest)); err != nil {
					return err
				}
				continue
			}
		}
		if _, err := io.Copy(w, io.NewSectionReader(src, c.off, c.totalLen)); err != nil {
			return err
		}
	}
	return nil
}

// anmfHeaderLen is the size of the frame header at the start of an ANMF payload.
const anmfHeaderLen = 16

// decodeWebPFirstFrame decodes the first frame of an animated WebP onto a transparent
// canvas of the animation's size. x/image/webp reads still images only, so the frame's
// bitstream chunks are rewrapped into a still WebP container first.
func decodeWebPFirstFrame(src io.ReaderAt, l *webpLayout, canvasW, canvasH, maxPixels int) (image.Image, error) {
	var anmf *webpChunk
	for i := range l.chunks {
		if l.chunks[i].fourCC == "ANMF" {
			anmf = &l.chunks[i]
			break
		}
	}
	if anmf == nil || anmf.dataLen < anmfHeaderLen+8 {
		return nil, fmt.Errorf("%w: webp: animation without frames", ErrInvalid)
	}
	payload := make([]byte, anmf.dataLen)
	if _, err := src.ReadAt(payload, anmf.off+8); err != nil {
		return nil, truncated("webp", err)
	}
	u24 := func(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 }
	fx, fy := 2*u24(payload[0:3]), 2*u24(payload[3:6])
	fw, fh := u24(payload[6:9])+1, u24(payload[9:12])+1
	if pixels(fw, fh) > int64(maxPixels) {
		return nil, fmt.Errorf("%w: webp frame %dx%d", ErrTooManyPixels, fw, fh)
	}
	var alph, bitstream []byte
	for p := payload[anmfHeaderLen:]; len(p) >= 8 && bitstream == nil; {
		n := int(binary.LittleEndian.Uint32(p[4:8]))
		if n < 0 || 8+n > len(p) {
			return nil, fmt.Errorf("%w: webp: truncated frame", ErrInvalid)
		}
		total := min(8+n+n&1, len(p))
		switch string(p[0:4]) {
		case "ALPH":
			alph = p[:total]
		case "VP8 ", "VP8L":
			bitstream = p[:total]
		}
		p = p[total:]
	}
	if bitstream == nil {
		return nil, fmt.Errorf("%w: webp: frame without bitstream", ErrInvalid)
	}
	var still bytes.Buffer
	still.WriteString("RIFF\x00\x00\x00\x00WEBP")
	if alph != nil && string(bitstream[0:4]) == "VP8 " {
		vp8x := []byte{'V', 'P', '8', 'X', 10, 0, 0, 0, vp8xAlpha, 0, 0, 0,
			byte(fw - 1), byte((fw - 1) >> 8), byte((fw - 1) >> 16),
			byte(fh - 1), byte((fh - 1) >> 8), byte((fh - 1) >> 16)}
		still.Write(vp8x)
		still.Write(alph)
	}
	still.Write(bitstream)
	b := still.Bytes()
	binary.LittleEndian.PutUint32(b[4:8], uint32(len(b)-8))
	frame, err := guardDecode(func() (image.Image, error) { return webp.Decode(bytes.NewReader(b)) })
	if err != nil {
		return nil, err
	}
	if fx == 0 && fy == 0 && frame.Bounds().Dx() == canvasW && frame.Bounds().Dy() == canvasH {
		return frame, nil
	}
	canvas := image.NewNRGBA(rect(canvasW, canvasH))
	fb := frame.Bounds()
	draw.Draw(canvas, image.Rect(fx, fy, fx+fb.Dx(), fy+fb.Dy()), frame, fb.Min, draw.Src)
	return canvas, nil
}
