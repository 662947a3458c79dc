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
)

// encoder writes derived images in the stored format.
type encoder struct {
	format  Format
	quality int
	palette color.Palette // GIF only: the first frame's palette, nil for other formats
	full    bool          // the stored full image (BMP converted, ResizeWidth), not a derived one
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
			err = encodeJPEG444(w, opaque(m), e.quality)
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
func toPaletted(m *image.RGBA, pal color.Palette) *image.Paletted {
	if len(pal) < 2 {
		pal = palette.Plan9
	}
	hasTransparent := false
	for _, c := range pal {
		if _, _, _, a := c.RGBA(); a == 0 {
			hasTransparent = true
			break
		}
	}
	src := image.NewNRGBA(m.Rect)
	draw.Draw(src, src.Rect, m, m.Rect.Min, draw.Src)
	for i := 3; i < len(src.Pix); i += 4 {
		if src.Pix[i] >= 128 || !hasTransparent {
			src.Pix[i] = 0xFF
		} else {
			src.Pix[i-3], src.Pix[i-2], src.Pix[i-1], src.Pix[i] = 0, 0, 0, 0
		}
	}
	dst := image.NewPaletted(m.Rect, pal)
	draw.FloydSteinberg.Draw(dst, dst.Rect, src, src.Rect.Min)
	return dst
}
