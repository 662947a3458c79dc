package imaging

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// probed is everything Probe learns, including what Process reuses.
type probed struct {
	Info
	storedW, storedH int // pixel size as stored (before orientation)
	exif             []byte
	title            string
	webp             *webpLayout
}

// Probe reads the header of an image and reports its format, display size, animation and
// orientation without decoding pixels. maxPixels <= 0 means DefaultMaxPixels.
//
// It returns an error wrapping ErrNotImage for content that is not an image,
// ErrUnsupported for refused image formats, ErrInvalid for a corrupt or truncated header
// or a zero size, and ErrTooManyPixels when width*height exceeds maxPixels. A read error
// of r is returned wrapped, without a sentinel.
func Probe(r io.ReaderAt, size int64, maxPixels int) (_ Info, err error) {
	defer recoverInternal(&err)
	sr := &sourceReader{r: r}
	p, err := probe(sr, size, maxPixels)
	if err != nil {
		return Info{}, sr.wrap(err)
	}
	return p.Info, nil
}

// errInternal marks an error made from a panic in this package's own parsing code. Such a
// panic is a bug, but the input is untrusted, so it must not take the server down: the
// upload is refused as invalid, and the fuzz test fails on this marker.
var errInternal = errors.New("imaging: internal error")

// recoverInternal turns a panic into an error wrapping ErrInvalid and errInternal. It must
// be deferred directly.
func recoverInternal(err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("%w: %w: %v", ErrInvalid, errInternal, v)
	}
}

// sourceReader remembers the first read error other than io.EOF, so that a failing disk
// or a closed file is reported as such and not as a corrupt image.
type sourceReader struct {
	r   io.ReaderAt
	err error
}

func (s *sourceReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := s.r.ReadAt(p, off)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// wrap returns the recorded read error in place of err, if there is one.
func (s *sourceReader) wrap(err error) error {
	if s.err != nil {
		return fmt.Errorf("imaging: read source: %w", s.err)
	}
	return err
}

// declaredSize reads the width and height a PNG (IHDR) or BMP (its info
// header) declares in its first bytes, as 64-bit numbers; ok is false for
// other formats and for headers too short or too odd to read here (the
// decoder's DecodeConfig then judges them).
func declaredSize(f Format, head []byte) (w, h int64, ok bool) {
	switch f {
	case PNG:
		// Signature (8), IHDR length and type (8), width, height.
		if len(head) < 24 || string(head[12:16]) != "IHDR" {
			return 0, 0, false
		}
		return int64(binary.BigEndian.Uint32(head[16:])), int64(binary.BigEndian.Uint32(head[20:])), true
	case BMP:
		// File header (14), info header size, then the size: 16-bit in the
		// 12-byte OS/2 header, signed 32-bit (negative height: top-down)
		// in the others.
		if len(head) < 26 {
			return 0, 0, false
		}
		switch hs := binary.LittleEndian.Uint32(head[14:]); {
		case hs == 12:
			return int64(binary.LittleEndian.Uint16(head[18:])), int64(binary.LittleEndian.Uint16(head[20:])), true
		case hs >= 40:
			w := int64(int32(binary.LittleEndian.Uint32(head[18:])))
			h := int64(int32(binary.LittleEndian.Uint32(head[22:])))
			return abs64(w), abs64(h), true
		}
	}
	return 0, 0, false
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func probe(r io.ReaderAt, size int64, maxPixels int) (*probed, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrNotImage)
	}
	head, err := readHead(r, size)
	if err != nil {
		return nil, err
	}
	f, err := sniff(head)
	if err != nil {
		return nil, err
	}
	p := &probed{Info: Info{Format: f, Orientation: 1}}
	// The decoders of PNG and BMP refuse a size whose pixel count overflows
	// int with their own errors on 32-bit boards (a Raspberry Pi): read the
	// declared size first, so a pixel bomb is the same refusal everywhere.
	if w, h, ok := declaredSize(f, head); ok && w*h > int64(maxPixels) {
		return nil, fmt.Errorf("%w: %dx%d over %d", ErrTooManyPixels, w, h, maxPixels)
	}
	cfg, err := guardConfig(func(rd io.Reader) (image.Config, error) {
		switch f {
		case JPEG:
			return jpeg.DecodeConfig(rd)
		case PNG:
			return png.DecodeConfig(rd)
		case GIF:
			return gif.DecodeConfig(rd)
		case WebP:
			return webp.DecodeConfig(rd)
		default:
			return bmp.DecodeConfig(rd)
		}
	}, r, size)
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s: zero size %dx%d", ErrInvalid, f, cfg.Width, cfg.Height)
	}
	if pixels(cfg.Width, cfg.Height) > int64(maxPixels) {
		return nil, fmt.Errorf("%w: %dx%d over %d", ErrTooManyPixels, cfg.Width, cfg.Height, maxPixels)
	}
	p.storedW, p.storedH = cfg.Width, cfg.Height
	switch f {
	case JPEG:
		l, err := walkJPEG(r, size, false)
		if err != nil {
			return nil, err
		}
		if l.exif != nil {
			p.exif = l.exif
			t := readIFD0(l.exif)
			p.Orientation = t.orientation
			p.title = cleanTitle(t.description)
		}
	case PNG:
		l, err := walkPNG(r, size, false)
		if err != nil {
			return nil, err
		}
		p.Animated = l.animated
	case GIF:
		n, err := gifFrames(r, size, 2)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: gif: no frames", ErrInvalid)
		}
		p.Animated = n > 1
	case WebP:
		l, err := walkWebP(r, size)
		if err != nil {
			return nil, err
		}
		p.webp = l
		p.Animated = l.animated
	}
	p.Width, p.Height = p.storedW, p.storedH
	if p.Orientation >= 5 {
		p.Width, p.Height = p.storedH, p.storedW
	}
	return p, nil
}

// guardConfig runs a DecodeConfig function over the start of r, turning both errors and
// panics into ErrInvalid.
func guardConfig(fn func(io.Reader) (image.Config, error), r io.ReaderAt, size int64) (cfg image.Config, err error) {
	defer func() {
		if v := recover(); v != nil {
			cfg, err = image.Config{}, fmt.Errorf("%w: decoder panic: %v", ErrInvalid, v)
		}
	}()
	cfg, err = fn(bufio.NewReader(io.NewSectionReader(r, 0, size)))
	if err != nil {
		return image.Config{}, decodeError(err)
	}
	return cfg, nil
}

// guardDecode runs a decoder, turning both errors and panics into ErrInvalid.
func guardDecode(fn func() (image.Image, error)) (img image.Image, err error) {
	defer func() {
		if v := recover(); v != nil {
			img, err = nil, fmt.Errorf("%w: decoder panic: %v", ErrInvalid, v)
		}
	}()
	img, err = fn()
	if err != nil {
		return nil, decodeError(err)
	}
	if img == nil || img.Bounds().Empty() {
		return nil, fmt.Errorf("%w: empty image", ErrInvalid)
	}
	return img, nil
}

// decodeError maps a decoder error to ErrInvalid, keeping the error text. Our own
// sentinels pass through.
func decodeError(err error) error {
	for _, s := range []error{ErrInvalid, ErrNotImage, ErrUnsupported, ErrTooManyPixels} {
		if errors.Is(err, s) {
			return err
		}
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}
