package imaging

import (
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
)

// encoder writes derived images in the stored format.
type encoder struct {
	format  Format
	quality int
	palette color.Palette // GIF only: the first frame's palette, nil for other formats
	full    bool          // the stored full image (BMP converted, ResizeWidth), not a derived one
	floor   bool          // the medium: JPEG quality is raised to keep jpegMinPSNR
}

// medium returns the encoder for the medium, which keeps a least PSNR (jpegMinPSNR).
func (e encoder) medium() encoder {
	e.floor = true
	return e
}

// stored returns the encoder for the stored full image: PNG at the default compression.
func (e encoder) stored() encoder {
	e.full = true
	return e
}

// jpeg444Quality is the JPEG quality from which derived images keep full-resolution chroma
// (4:4:4, jpegenc.go) instead of image/jpeg's 4:2:0, as libvips's jpegsave does.
const jpeg444Quality = 90

// encode writes m in the encoder's format. JPEG output carries no metadata at all; GIF
// output is a single paletted frame; WebP output is lossless (nativewebp has no lossy mode).
func (e encoder) encode(w io.Writer, m *image.RGBA) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("imaging: encode %s: panic: %v", e.format, v)
		}
	}()
	switch e.format {
	case JPEG:
		if e.quality >= jpeg444Quality {
			err = e.jpeg444(w, opaque(m))
		} else {
			err = jpeg.Encode(w, opaque(m), &jpeg.Options{Quality: e.quality})
		}
	case PNG:
		// Derived images at BestSpeed, deflate's fast path: a 160x160 screenshot
		// thumbnail encodes in 1.9 instead of 3.3 ms and a 500 px photo medium in 16
		// instead of 34 ms, for 2-12% more bytes (see docs/performance.md).
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if e.full {
			enc.CompressionLevel = png.DefaultCompression
		}
		err = enc.Encode(w, m)
	case GIF:
		err = gif.Encode(w, toPaletted(m, e.palette), nil)
	case WebP:
		err = encodeWebP(w, m)
	default:
		err = fmt.Errorf("no encoder for %q", e.format)
	}
	if err != nil {
		return fmt.Errorf("imaging: encode %s: %w", e.format, err)
	}
	return nil
}

// jpegMinPSNR is the least PSNR (dB) that quantisation may leave in a JPEG medium at
// quality 90 and above. Most photos are above 39 dB at 90 (docs/performance.md); finely
// detailed ones (patterns, foliage, text on texture) can fall to 34 dB, and their mediums
// are encoded again at the next of jpegRetryQualities until one is above it. Thumbnails
// and the stored full image keep the quality asked for: a thumbnail is seen small, and
// bytes count more in a page of dozens of them.
const jpegMinPSNR = 38.5

var jpegRetryQualities = [...]int{94, 97}

// jpeg444 writes m at the encoder's quality, or for a medium higher when that
// leaves less than jpegMinPSNR. The quality is chosen from an estimate on a sample of the
// blocks (sampledJPEGPSNR), so a detailed medium is usually encoded once; the encode
// measures its PSNR exactly, and should the sample have been too hopeful, the medium is
// encoded again at the next quality.
func (e encoder) jpeg444(w io.Writer, m *image.RGBA) error {
	if !e.floor {
		return encodeJPEG444(w, m, e.quality)
	}
	qs := []int{e.quality}
	for _, q := range jpegRetryQualities {
		if q > e.quality {
			qs = append(qs, q)
		}
	}
	est := sampledJPEGPSNR(m, qs)
	i := 0
	for i < len(qs)-1 && est[i] < jpegMinPSNR {
		i++
	}
	b, psnr, err := appendJPEG444(nil, m, qs[i], true)
	for err == nil && psnr < jpegMinPSNR && i < len(qs)-1 {
		i++
		b, psnr, err = appendJPEG444(b[:0], m, qs[i], true)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// opaque returns m unchanged when it has no transparency, otherwise m composited over
// white, so that JPEG (which has no alpha) does not show the premultiplied black.
func opaque(m *image.RGBA) *image.RGBA {
	if m.Opaque() {
		return m
	}
	dst := image.NewRGBA(m.Rect)
	draw.Draw(dst, dst.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(dst, dst.Rect, m, m.Rect.Min, draw.Over)
	return dst
}

// toPaletted quantises m to pal (the source GIF's palette, so a thumbnail keeps its colours
// and its transparent index), with Floyd-Steinberg dithering. Alpha is first snapped to
// fully transparent or fully opaque, because GIF has one transparent index and nothing in
// between. Without a palette (or with a tiny one) the web-safe Plan 9 palette is used.
//
// image/draw's FloydSteinberg searches the whole palette for every pixel: with 256 colours
// that was 84% of a GIF's Process (pprof, bench/mkimages' anim.gif). Here the nearest
// opaque entry is looked up in a lazily filled table of 32x32x32 colour cells (the nearest
// entry to the cell's centre), so each cell is searched once; the error that leaves (at
// most 4 levels per channel) is diffused like the rest.
func toPaletted(m *image.RGBA, pal color.Palette) *image.Paletted {
	if len(pal) < 2 {
		pal = palette.Plan9
	}
	transparent := -1
	palRGB := make([][3]int32, len(pal))
	var opaque [][3]int32
	var opaqueIdx []uint8
	for i, c := range pal {
		r, g, b, a := c.RGBA()
		palRGB[i] = [3]int32{int32(r >> 8), int32(g >> 8), int32(b >> 8)}
		if a == 0 {
			if transparent < 0 {
				transparent = i
			}
			continue
		}
		if i < 256 {
			opaque = append(opaque, [3]int32{int32(r >> 8), int32(g >> 8), int32(b >> 8)})
			opaqueIdx = append(opaqueIdx, uint8(i))
		}
	}
	dst := image.NewPaletted(m.Rect, pal)
	if len(opaque) == 0 {
		return dst // only transparent entries: every pixel is index 0
	}
	var cells [1 << 15]uint16 // 1 + palette index, 0 = not looked up yet
	nearest := func(r, g, b int32) uint8 {
		k := (r>>3)<<10 | (g>>3)<<5 | b>>3
		if v := cells[k]; v != 0 {
			return uint8(v - 1)
		}
		cr, cg, cb := (r>>3)<<3|4, (g>>3)<<3|4, (b>>3)<<3|4
		best, bestD := 0, int32(math.MaxInt32)
		for i, c := range opaque {
			dr, dg, db := c[0]-cr, c[1]-cg, c[2]-cb
			if d := dr*dr + dg*dg + db*db; d < bestD {
				best, bestD = i, d
			}
		}
		cells[k] = uint16(opaqueIdx[best]) + 1
		return opaqueIdx[best]
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	// Error rows (current and next), in 1/16 units, with a pixel of margin on each side.
	cur := make([][3]int32, w+2)
	next := make([][3]int32, w+2)
	for y := 0; y < h; y++ {
		src := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+w]
		for x := 0; x < w; x++ {
			q := src[4*x : 4*x+4 : 4*x+4]
			if q[3] < 128 && transparent >= 0 {
				out[x] = uint8(transparent)
				continue
			}
			// Unpremultiply (an opaque-snapped pixel shows its own colour), add the
			// diffused error.
			var c [3]int32
			for k := 0; k < 3; k++ {
				v := int32(q[k])
				if a := int32(q[3]); a != 0xFF && a != 0 {
					v = min(255, v*255/a)
				}
				c[k] = min(255, max(0, v+(cur[x+1][k]+8)>>4))
			}
			i := nearest(c[0], c[1], c[2])
			out[x] = i
			pc := palRGB[i]
			e := [3]int32{c[0] - pc[0], c[1] - pc[1], c[2] - pc[2]}
			for k := 0; k < 3; k++ {
				cur[x+2][k] += e[k] * 7
				next[x][k] += e[k] * 3
				next[x+1][k] += e[k] * 5
				next[x+2][k] += e[k]
			}
		}
		cur, next = next, cur
		clear(next)
	}
	return dst
}
