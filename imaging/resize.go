package imaging

import (
	"image"
	"image/color"
	"image/draw"
)

// pyramid holds an image and successively halved copies of it, built on demand, so that
// the thumbnail and the medium share the cheap box-filter passes and the final filter only
// ever runs on an image two to four times the target size.
type pyramid struct {
	src    image.Image   // the decoded image, in stored (not oriented) orientation
	levels []*image.RGBA // levels[k] is src halved k times; levels[0] is built lazily too
}

func newPyramid(src image.Image) *pyramid { return &pyramid{src: src} }

// bounds returns the size of level 0 at origin (0,0), without building it.
func (p *pyramid) bounds() image.Rectangle {
	b := p.src.Bounds()
	return rect(b.Dx(), b.Dy())
}

// level returns the image halved k times. When level 0 is not needed the source is halved
// straight from its decoded form, which skips a full-size RGBA copy: for a 12 MP photo
// that is 48 MB and, for YCbCr (every JPEG), a third of the time.
func (p *pyramid) level(k int) *image.RGBA {
	if len(p.levels) == 0 {
		b := p.src.Bounds()
		switch y, isYCbCr := p.src.(*image.YCbCr); {
		case k == 0 || b.Dx() < 2 || b.Dy() < 2:
			p.levels = []*image.RGBA{toRGBA(p.src)}
		case isYCbCr:
			p.levels = []*image.RGBA{nil, halveYCbCr(y)}
		case isRGBA(p.src):
			p.levels = []*image.RGBA{nil, halve(p.src.(*image.RGBA))}
		default:
			p.levels = []*image.RGBA{nil, halveImage(p.src)}
		}
	}
	if p.levels[0] == nil && k == 0 {
		p.levels[0] = toRGBA(p.src)
	}
	for len(p.levels) <= k {
		p.levels = append(p.levels, halve(p.levels[len(p.levels)-1]))
	}
	return p.levels[k]
}

func isRGBA(m image.Image) bool { _, ok := m.(*image.RGBA); return ok }

// halveYCbCr is halve for a YCbCr image: it averages each 2x2 block in YCbCr space (the
// conversion to RGB is affine, so this matches averaging in RGB up to rounding) and
// converts once per output pixel.
func halveYCbCr(src *image.YCbCr) *image.RGBA {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	dst := image.NewRGBA(rect(w, h))
	x0, y0 := src.Rect.Min.X, src.Rect.Min.Y
	if src.SubsampleRatio == image.YCbCrSubsampleRatio420 && x0%2 == 0 && y0%2 == 0 {
		// 4:2:0: each 2x2 block shares exactly one chroma sample.
		for y := 0; y < h; y++ {
			yi0 := src.YOffset(x0, y0+2*y)
			yi1 := yi0 + src.YStride
			ci := src.COffset(x0, y0+2*y)
			d := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
			for x := 0; x < w; x++ {
				i := yi0 + 2*x
				j := yi1 + 2*x
				yy := (uint32(src.Y[i]) + uint32(src.Y[i+1]) + uint32(src.Y[j]) + uint32(src.Y[j+1]) + 2) >> 2
				r, g, b := color.YCbCrToRGB(uint8(yy), src.Cb[ci+x], src.Cr[ci+x])
				o := 4 * x
				d[o], d[o+1], d[o+2], d[o+3] = r, g, b, 0xFF
			}
		}
		return dst
	}
	for y := 0; y < h; y++ {
		sy := y0 + 2*y
		yi0 := src.YOffset(x0, sy)
		yi1 := src.YOffset(x0, sy+1)
		d := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
		for x := 0; x < w; x++ {
			sx := x0 + 2*x
			yy := (uint32(src.Y[yi0+2*x]) + uint32(src.Y[yi0+2*x+1]) + uint32(src.Y[yi1+2*x]) + uint32(src.Y[yi1+2*x+1]) + 2) >> 2
			c00, c01 := src.COffset(sx, sy), src.COffset(sx+1, sy)
			c10, c11 := src.COffset(sx, sy+1), src.COffset(sx+1, sy+1)
			cb := (uint32(src.Cb[c00]) + uint32(src.Cb[c01]) + uint32(src.Cb[c10]) + uint32(src.Cb[c11]) + 2) >> 2
			cr := (uint32(src.Cr[c00]) + uint32(src.Cr[c01]) + uint32(src.Cr[c10]) + uint32(src.Cr[c11]) + 2) >> 2
			r, g, b := color.YCbCrToRGB(uint8(yy), uint8(cb), uint8(cr))
			o := 4 * x
			d[o], d[o+1], d[o+2], d[o+3] = r, g, b, 0xFF
		}
	}
	return dst
}

// toRGBA converts any image to premultiplied RGBA at origin (0,0). image/draw has fast paths
// for the YCbCr, Gray, CMYK, Paletted and NRGBA images the decoders return.
func toRGBA(src image.Image) *image.RGBA {
	if m, ok := src.(*image.RGBA); ok && m.Rect.Min == (image.Point{}) {
		return m
	}
	b := src.Bounds()
	dst := image.NewRGBA(rect(b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, src, b.Min, draw.Src)
	return dst
}

// halve downsamples by two with a 2x2 box filter (odd last rows and columns are dropped).
// Averaging premultiplied values keeps transparent pixels from darkening their neighbours.
func halve(src *image.RGBA) *image.RGBA {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	if w == 0 || h == 0 {
		dst := image.NewRGBA(rect(max(w, 1), max(h, 1)))
		draw.Draw(dst, dst.Rect, src, src.Rect.Min, draw.Src)
		return dst
	}
	dst := image.NewRGBA(rect(w, h))
	for y := 0; y < h; y++ {
		r0 := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+2*y):]
		halveRows(dst.Pix[y*dst.Stride:], r0, r0[src.Stride:], w)
	}
	return dst
}

// halveImage is halve for any image type. It converts two source rows at a time, so it
// never holds a full-size RGBA copy of the source.
func halveImage(src image.Image) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx()/2, b.Dy()/2
	dst := image.NewRGBA(rect(w, h))
	rows := image.NewRGBA(image.Rect(0, 0, b.Dx(), 2))
	for y := 0; y < h; y++ {
		draw.Draw(rows, rows.Rect, src, image.Pt(b.Min.X, b.Min.Y+2*y), draw.Src)
		halveRows(dst.Pix[y*dst.Stride:], rows.Pix, rows.Pix[rows.Stride:], w)
	}
	return dst
}

// halveRows writes w pixels to d, each the rounded mean of a 2x2 block of rows r0 and r1.
func halveRows(d, r0, r1 []uint8, w int) {
	d = d[:4*w]
	for x := 0; x < w; x++ {
		i, o := 8*x, 4*x
		d[o+0] = uint8((uint32(r0[i+0]) + uint32(r0[i+4]) + uint32(r1[i+0]) + uint32(r1[i+4]) + 2) >> 2)
		d[o+1] = uint8((uint32(r0[i+1]) + uint32(r0[i+5]) + uint32(r1[i+1]) + uint32(r1[i+5]) + 2) >> 2)
		d[o+2] = uint8((uint32(r0[i+2]) + uint32(r0[i+6]) + uint32(r1[i+2]) + uint32(r1[i+6]) + 2) >> 2)
		d[o+3] = uint8((uint32(r0[i+3]) + uint32(r0[i+7]) + uint32(r1[i+3]) + uint32(r1[i+7]) + 2) >> 2)
	}
}

// scaled returns the part r of the source (in level-0 coordinates) resized to exactly
// dw x dh. It takes the smallest pyramid level that is still at least twice the target in
// both directions (the box filter's aliasing then stays an octave above what the final
// filter keeps), then finishes with the Lanczos-3 resampler.
func (p *pyramid) scaled(r image.Rectangle, dw, dh int) *image.RGBA {
	k := 0
	for r.Dx()>>(k+1) >= 2*dw && r.Dy()>>(k+1) >= 2*dh {
		k++
	}
	var src image.Image
	var sr image.Rectangle
	if k == 0 && (len(p.levels) == 0 || p.levels[0] == nil) {
		// Read the decoded image itself: no full-size RGBA copy.
		src = p.src
		sr = r.Add(p.src.Bounds().Min).Intersect(p.src.Bounds())
	} else {
		lk := p.level(k)
		src = lk
		sr = image.Rect(r.Min.X>>k, r.Min.Y>>k, r.Max.X>>k, r.Max.Y>>k).Intersect(lk.Rect)
	}
	if sr.Empty() {
		sr = src.Bounds()
	}
	if sr.Dx() == dw && sr.Dy() == dh {
		dst := image.NewRGBA(rect(dw, dh))
		draw.Draw(dst, dst.Rect, src, sr.Min, draw.Src)
		return dst
	}
	return resample(src, sr, dw, dh)
}

// coverRect returns the centred part of a w x h image with the aspect ratio tw:th, the
// largest that fits: scaling it to tw x th covers the target, and the rest is cropped.
func coverRect(w, h, tw, th int) image.Rectangle {
	cw, ch := w, h
	if int64(w)*int64(th) > int64(h)*int64(tw) { // wider than the target: crop the sides
		cw = max(1, int((int64(h)*int64(tw)+int64(th)/2)/int64(th)))
	} else {
		ch = max(1, int((int64(w)*int64(th)+int64(tw)/2)/int64(tw)))
	}
	x, y := (w-cw)/2, (h-ch)/2
	return image.Rect(x, y, x+cw, y+ch)
}

// orient returns src transformed by an EXIF orientation (2..8) so that it displays
// upright; orientation 1 returns src itself.
func orient(src *image.RGBA, o int) *image.RGBA {
	if o <= 1 || o > 8 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(rect(dw, dh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2: // mirrored horizontally
				dx, dy = w-1-x, y
			case 3: // rotated 180
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored vertically
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // stored rotated 90 counter-clockwise: turn clockwise
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // stored rotated 90 clockwise: turn counter-clockwise
				dx, dy = y, w-1-x
			}
			s := src.PixOffset(x+src.Rect.Min.X, y+src.Rect.Min.Y)
			d := dst.PixOffset(dx, dy)
			copy(dst.Pix[d:d+4], src.Pix[s:s+4])
		}
	}
	return dst
}
