package imaging

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// Process probes src and writes the stored full image to full, the thumbnail to thumb and,
// when one is due, the medium to medium. Nothing is written to medium when Result.Medium is
// false. Writers may receive partial output when an error is returned; the caller discards
// them.
//
// The full image is, unless ResizeWidth applies: a JPEG stripped of metadata losslessly
// (or copied untouched under KeepEXIF), a PNG or WebP without metadata chunks (untouched
// under KeepEXIF), a GIF copied untouched, a BMP converted to PNG. With ResizeWidth it is
// decoded, oriented, downscaled and re-encoded in the stored format.
//
// Errors wrap the sentinels described at Probe; decoding failures after a good header give
// ErrInvalid. Invalid options, read errors of src and write errors are returned without a
// sentinel.
func Process(src io.ReaderAt, size int64, opts Options, full, thumb, medium io.Writer) (_ Result, err error) {
	defer recoverInternal(&err)
	o, err := opts.withDefaults()
	if err != nil {
		return Result{}, err
	}
	sr := &sourceReader{r: src}
	res, err := process(sr, size, o, full, thumb, medium)
	if err != nil {
		return Result{}, sr.wrap(err)
	}
	return res, nil
}

func process(src io.ReaderAt, size int64, o Options, full, thumb, medium io.Writer) (Result, error) {
	p, err := probe(src, size, o.MaxPixels)
	if err != nil {
		return Result{}, err
	}
	res := Result{Format: p.Format, Width: p.Width, Height: p.Height, Animated: p.Animated, Title: p.title}
	if p.Format == BMP {
		res.Format = PNG
	}
	enc := encoder{format: res.Format, quality: o.Quality}

	var jl *jpegLayout
	if p.Format == JPEG {
		// Walk the whole JPEG before decoding it: the walk is cheap and refuses files with
		// an absurd number of scans, and stripping needs it anyway.
		if jl, err = walkJPEG(src, size, true); err != nil {
			return Result{}, err
		}
	}

	img, pal, err := decodeFirst(src, size, p, o.MaxPixels, jpegMinSize(p, o))
	if err != nil {
		return Result{}, err
	}
	enc.palette = pal
	pyr := newPyramid(img)
	orientation := p.Orientation

	fullN := &countingWriter{w: full}
	full = fullN
	if o.ResizeWidth > 0 && o.ResizeWidth < p.Width && !p.Animated {
		w, h := o.ResizeWidth, ratioHeight(o.ResizeWidth, p.Width, p.Height)
		rw, rh := stored(w, h, orientation)
		resized := orient(pyr.scaled(pyr.bounds(), rw, rh), orientation)
		if err := enc.stored().encode(full, resized); err != nil {
			return Result{}, err
		}
		res.Width, res.Height, res.Resized = w, h, true
		// Derive the rest from the resized image, which is upright already.
		pyr, orientation = newPyramid(resized), 1
	} else if err := writeFull(full, src, size, p, jl, o, pyr, enc); err != nil {
		return Result{}, err
	}

	if o.EXIF == KeepEXIF && p.Format == JPEG && p.exif != nil {
		if s, err := exifJSON(p.exif); err == nil {
			res.EXIFJSON = s
		}
	}

	// Thumbnail: cover-crop to exactly the requested size, in stored orientation.
	sw, sh := pyr.bounds().Dx(), pyr.bounds().Dy()
	tw, th := stored(o.ThumbWidth, o.ThumbHeight, orientation)
	t := orient(pyr.scaled(coverRect(sw, sh, tw, th), tw, th), orientation)
	thumbN := &countingWriter{w: thumb}
	if err := enc.encode(thumbN, t); err != nil {
		return Result{}, err
	}

	if res.Width > o.MediumWidth && !res.Animated && mediumTooBig(thumbN.n, tw*th, o.MediumWidth*ratioHeight(o.MediumWidth, res.Width, res.Height), fullN.n) {
		// The medium would be dropped below: do not make it.
		return res, nil
	}
	if res.Width > o.MediumWidth || res.Animated {
		mw := min(o.MediumWidth, res.Width)
		mh := ratioHeight(mw, res.Width, res.Height)
		mws, mhs := stored(mw, mh, orientation)
		m := orient(pyr.scaled(rect(sw, sh), mws, mhs), orientation)
		var buf bytes.Buffer
		if err := enc.medium().encode(&buf, m); err != nil {
			return Result{}, err
		}
		// A medium is there to load faster than the full image. One that is not
		// smaller (a lossless WebP medium of a lossy WebP photo can be ten times
		// the photo) is dropped, and viewers show the full image instead.
		// Animations keep theirs: it is their still preview.
		if res.Animated || int64(buf.Len()) < fullN.n {
			if _, err := medium.Write(buf.Bytes()); err != nil {
				return Result{}, err
			}
			res.Medium = true
		}
	}
	return res, nil
}

// mediumTooBig predicts from the thumbnail that a medium of mediumPixels would not be
// smaller than the stored full image of fullBytes, so that it would be dropped: it is, when
// even at half the thumbnail's bytes per pixel it would reach the full image's size. Both
// are the same image resampled and encoded alike, and the thumbnail, shrunk further, is the
// denser of the two (BenchmarkProcessFiles' images: 1.2-1.5x the medium's density), so the
// factor of two leaves a margin. It catches what the medium rule drops: screenshots, whose
// PNG compresses flat areas to almost nothing while a resampled copy of their text does
// not (bench/mkimages' shot0.png: 87 kB, thumbnail 37 kB, medium 200 kB and more), and lossy
// WebP photos, whose lossless medium outweighs them.
func mediumTooBig(thumbBytes int64, thumbPixels, mediumPixels int, fullBytes int64) bool {
	if thumbPixels <= 0 {
		return false
	}
	return thumbBytes*int64(mediumPixels)/int64(thumbPixels)/2 >= fullBytes
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// withDefaults fills zero options and rejects nonsense ones.
func (o Options) withDefaults() (Options, error) {
	if o.MaxPixels < 0 || o.ResizeWidth < 0 || o.ThumbWidth < 0 || o.ThumbHeight < 0 ||
		o.MediumWidth < 0 || o.Quality < 0 || o.Quality > 100 {
		return o, fmt.Errorf("imaging: invalid options %+v", o)
	}
	if o.MaxPixels == 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.ThumbWidth == 0 {
		o.ThumbWidth = DefaultThumbSize
	}
	if o.ThumbHeight == 0 {
		o.ThumbHeight = DefaultThumbSize
	}
	if o.MediumWidth == 0 {
		o.MediumWidth = DefaultMediumWidth
	}
	if o.Quality == 0 {
		o.Quality = DefaultQuality
	}
	if o.ThumbWidth > MaxDerivedSide || o.ThumbHeight > MaxDerivedSide || o.MediumWidth > MaxDerivedSide {
		return o, fmt.Errorf("imaging: derived image sides over %d: %+v", MaxDerivedSide, o)
	}
	return o, nil
}

// ratioHeight returns round(w*H/W), at least 1.
func ratioHeight(w, fullW, fullH int) int {
	return max(1, int((int64(w)*int64(fullH)+int64(fullW)/2)/int64(fullW)))
}

// stored turns a display size into the stored size for an orientation: 5-8 swap the sides.
func stored(w, h, orientation int) (int, int) {
	if orientation >= 5 {
		return h, w
	}
	return w, h
}

// writeFull writes the stored full image when no resize applies.
func writeFull(w io.Writer, src io.ReaderAt, size int64, p *probed, jl *jpegLayout, o Options, pyr *pyramid, enc encoder) error {
	keep := o.EXIF == KeepEXIF
	var err error
	switch p.Format {
	case JPEG:
		if keep {
			err = copyAll(w, src, size)
			break
		}
		err = writeStrippedJPEG(w, src, jl, p.Orientation)
	case PNG:
		if keep {
			err = copyAll(w, src, size)
			break
		}
		var l *pngLayout
		if l, err = walkPNG(src, size, true); err != nil {
			return err
		}
		err = writePieces(w, src, l.keep)
	case WebP:
		if keep {
			err = copyAll(w, src, size)
			break
		}
		err = writeStrippedWebP(w, src, p.webp)
	case GIF:
		err = copyAll(w, src, size)
	case BMP:
		return enc.stored().encode(w, pyr.level(0))
	}
	return err
}

func copyAll(w io.Writer, src io.ReaderAt, size int64) error {
	_, err := io.Copy(w, io.NewSectionReader(src, 0, size))
	return err
}

// decodeFirst decodes the (first frame of the) image in stored orientation, on a canvas of
// the probed size. For GIF it also returns the frame's palette. A JPEG is decoded at a
// reduced scale when that still gives at least jpegMin (see decodeJPEGScaled).
func decodeFirst(src io.ReaderAt, size int64, p *probed, maxPixels int, jpegMin image.Point) (image.Image, color.Palette, error) {
	rd := func() io.Reader { return bufio.NewReaderSize(io.NewSectionReader(src, 0, size), 64<<10) }
	var (
		img image.Image
		err error
	)
	switch p.Format {
	case JPEG:
		if img, ok := decodeJPEGScaled(src, size, p, maxPixels, jpegMin); ok {
			return img, nil, nil
		}
		img, err = guardDecode(func() (image.Image, error) { return jpeg.Decode(rd()) })
	case PNG:
		img, err = guardDecode(func() (image.Image, error) { return png.Decode(rd()) })
	case BMP:
		img, err = guardDecode(func() (image.Image, error) { return bmp.Decode(rd()) })
	case WebP:
		if p.Animated {
			img, err = decodeWebPFirstFrame(src, p.webp, p.storedW, p.storedH, maxPixels)
		} else {
			img, err = guardDecode(func() (image.Image, error) { return webp.Decode(rd()) })
		}
	case GIF:
		// gif.Decode stops after the first frame.
		img, err = guardDecode(func() (image.Image, error) { return gif.Decode(rd()) })
		if err != nil {
			return nil, nil, err
		}
		pm, ok := img.(*image.Paletted)
		if !ok {
			return nil, nil, fmt.Errorf("%w: gif: unexpected frame type", ErrInvalid)
		}
		pal := pm.Palette
		if b := pm.Bounds(); b != rect(p.storedW, p.storedH) {
			// The first frame covers part of the logical screen: place it on a transparent
			// canvas of the screen size.
			canvas := image.NewNRGBA(rect(p.storedW, p.storedH))
			draw.Draw(canvas, b, pm, b.Min, draw.Src)
			img = canvas
		}
		return img, pal, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if b := img.Bounds(); b.Dx() != p.storedW || b.Dy() != p.storedH {
		return nil, nil, fmt.Errorf("%w: %s: decoded %v, header said %dx%d", ErrInvalid, p.Format, b, p.storedW, p.storedH)
	}
	return img, nil, nil
}
