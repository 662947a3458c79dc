package imaging

import (
	"image"
	"io"

	"picbed/imaging/jpegscale"
)

// jpegMinSize is the stored-orientation size a JPEG is decoded at, at least, for what
// process derives from its pixels: the ResizeWidth image (from which the rest is then
// derived), or else the thumbnail (a cover crop: both sides at least the target's) and
// the medium when one is due, each with a 2x margin. Without the margin a 1/8 DCT decode
// (an 8x8 box average) feeds the final filter almost at the target size, and a 500 px medium
// of a noisy 12 MP photo lost 0.7 dB against CatmullRom from the full decode (30.9 vs 31.6
// dB); the margin is also what lets the Lanczos-3 resampler work from at least twice the
// target (see resample.go): decoding at 1x instead put the benchmark photos' mediums at
// 39.7-56.4 dB from the Lanczos reference before encoding, against 51.8-67.1 with it.
func jpegMinSize(p *probed, o Options) image.Point {
	if o.ResizeWidth > 0 && o.ResizeWidth < p.Width && !p.Animated {
		rw, rh := stored(o.ResizeWidth, ratioHeight(o.ResizeWidth, p.Width, p.Height), p.Orientation)
		return image.Pt(rw, rh)
	}
	w, h := stored(o.ThumbWidth, o.ThumbHeight, p.Orientation)
	if p.Width > o.MediumWidth {
		mws, mhs := stored(o.MediumWidth, ratioHeight(o.MediumWidth, p.Width, p.Height), p.Orientation)
		w, h = max(w, mws), max(h, mhs)
	}
	return image.Pt(2*w, 2*h)
}

// decodeJPEGScaled decodes a JPEG with jpegscale at the largest reduction (1/1..1/8) that
// keeps it at least minSize. ok is false when jpegscale refuses or fails, or the result
// disagrees with the probed size; the caller then decodes with image/jpeg as before, so
// unsupported and malformed files behave exactly as they did.
func decodeJPEGScaled(src io.ReaderAt, size int64, p *probed, maxPixels int, minSize image.Point) (image.Image, bool) {
	img, scale, err := jpegscale.DecodeScaled(io.NewSectionReader(src, 0, size), minSize.X, minSize.Y, maxPixels)
	if err != nil || img == nil {
		return nil, false
	}
	want := image.Rect(0, 0, (p.storedW+scale-1)/scale, (p.storedH+scale-1)/scale)
	if img.Bounds() != want || want.Empty() {
		return nil, false
	}
	return img, true
}
