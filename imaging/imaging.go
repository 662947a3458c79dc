// Package imaging inspects uploaded images and derives the files picbed stores: the full
// image, a fixed-size thumbnail and, for wide or animated images, a medium-size copy.
//
// The package is pure: it reads from io.ReaderAt and writes to io.Writer, and knows nothing
// of HTTP, storage or configuration. It holds no package-level mutable state, so every
// function is safe for concurrent use.
//
// Invariants:
//
//   - The format is sniffed from the content, never taken from a file name or a declared
//     MIME type. Only JPEG, PNG (including APNG), GIF, WebP and BMP are accepted.
//   - Dimensions come from header reads (image.DecodeConfig and chunk walks) and are checked
//     against the pixel budget before any pixel is decoded, so a small file declaring a
//     huge canvas is refused without allocating it.
//   - Every call into an image decoder is guarded by recover: a decoder panic becomes
//     ErrInvalid instead of taking the server down.
//   - Under StripEXIF a JPEG is never re-encoded to remove metadata: segments are dropped
//     losslessly and the pixels decode exactly as before; a non-default orientation is kept
//     in a minimal new Exif segment. PNG and WebP lose their metadata chunks, everything
//     else stays byte-identical.
//   - Thumbnails and mediums are always in the stored format, rendered from the first
//     frame of animations, with the EXIF orientation applied to the pixels.
package imaging

import (
	"errors"
	"fmt"
	"image"
)

// Format is an image format picbed accepts, named by its lower-case short name.
type Format string

// The accepted formats. BMP is accepted on input only: it is stored as PNG.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	GIF  Format = "gif"
	WebP Format = "webp"
	BMP  Format = "bmp"
)

// Ext returns the file name extension (without the dot) used for f: "jpg" for JPEG, the
// format name otherwise. It returns "" for an unknown format.
func (f Format) Ext() string {
	switch f {
	case JPEG:
		return "jpg"
	case PNG, GIF, WebP, BMP:
		return string(f)
	}
	return ""
}

// MIME returns the media type of f, such as "image/jpeg". It returns "" for an unknown
// format.
func (f Format) MIME() string {
	switch f {
	case JPEG, PNG, GIF, WebP, BMP:
		return "image/" + string(f)
	}
	return ""
}

// The errors returned by Probe and Process. Returned errors wrap one of them with detail;
// test with errors.Is.
var (
	// ErrNotImage reports content that is not an image this package can read at all: text,
	// HTML, SVG, archives, empty input or unknown bytes. Chevereto: "Can't get target upload
	// source info" (310).
	ErrNotImage = errors.New("imaging: not an image")

	// ErrUnsupported reports a recognised image format that picbed refuses: TIFF, ICO,
	// HEIC/HEIF, AVIF, PSD, JPEG 2000, JPEG XL and others. Chevereto: "Unavailable image
	// format" (313).
	ErrUnsupported = errors.New("imaging: unsupported image format")

	// ErrInvalid reports an accepted format whose header is corrupt, whose width or height
	// is zero, or whose data is truncated or damaged so that it cannot be decoded.
	// Chevereto: "Invalid image" (311).
	ErrInvalid = errors.New("imaging: invalid image")

	// ErrTooManyPixels reports an image whose width*height exceeds the pixel budget. It is
	// detected from the header, before any pixel is decoded.
	ErrTooManyPixels = errors.New("imaging: image has too many pixels")
)

// DefaultMaxPixels is the pixel budget used when Options.MaxPixels is 0. 50 MP covers the
// 48 MP sensors of current phone cameras, while the RGBA decode of such an image is about
// 200 MB, which is as much memory as one upload may reasonably take.
const DefaultMaxPixels = 50_000_000

// Default sizes of the derived images, as in Chevereto V3.
const (
	// DefaultThumbSize is the width and height of a thumbnail when Options leaves them 0.
	DefaultThumbSize = 160
	// DefaultMediumWidth is the width of a medium when Options.MediumWidth is 0.
	DefaultMediumWidth = 500
	// DefaultQuality is the JPEG quality of re-encoded files when Options.Quality is 0; it
	// matches the PHP image libraries Chevereto uses.
	DefaultQuality = 90
)

// MaxDerivedSide bounds the requested thumbnail and medium sides. Larger values are a
// configuration mistake, and honouring them would let options, not the upload, decide how
// much memory an encode takes.
const MaxDerivedSide = 8192

// Info is what Probe learns from an image's header, without decoding its pixels.
type Info struct {
	// Format is sniffed from the content (magic bytes plus header checks), never from a
	// name.
	Format Format
	// Width and Height are the display size: EXIF orientations 5-8 swap the stored sides.
	Width, Height int
	// Animated is true for a GIF with more than one frame, a PNG with acTL before the
	// first IDAT, and a WebP whose VP8X header has the animation flag.
	Animated bool
	// Orientation is the EXIF orientation 1..8 of a JPEG; 1 when absent, invalid, or the
	// format is not JPEG.
	Orientation int
}

// EXIFPolicy decides what happens to EXIF and other metadata of the stored full image.
type EXIFPolicy int

const (
	// StripEXIF removes metadata losslessly (the default); the orientation survives.
	StripEXIF EXIFPolicy = iota
	// KeepEXIF stores the file untouched and reports its EXIF tags in Result.EXIFJSON.
	KeepEXIF
)

// String returns "strip" or "keep": the words of the flag, the settings page
// and the saved settings.
func (p EXIFPolicy) String() string {
	switch p {
	case StripEXIF:
		return "strip"
	case KeepEXIF:
		return "keep"
	}
	return fmt.Sprintf("EXIFPolicy(%d)", int(p))
}

// ParseEXIFPolicy reads "strip" or "keep".
func ParseEXIFPolicy(s string) (EXIFPolicy, error) {
	switch s {
	case "strip":
		return StripEXIF, nil
	case "keep":
		return KeepEXIF, nil
	}
	return 0, fmt.Errorf("EXIF policy %q: want strip or keep", s)
}

// Options controls Process. The zero value gives Chevereto V3 defaults.
type Options struct {
	// MaxPixels is the pixel budget; 0 means DefaultMaxPixels.
	MaxPixels int
	// EXIF decides whether metadata is stripped (default) or kept.
	EXIF EXIFPolicy
	// ResizeWidth, when > 0 and smaller than the display width of a still image,
	// downscales the full image to this width (the height keeps the ratio) and re-encodes
	// it. Animated images are never resized.
	ResizeWidth int
	// ThumbWidth and ThumbHeight are the exact thumbnail size; 0 means
	// DefaultThumbSize.
	ThumbWidth, ThumbHeight int
	// MediumWidth is the medium width; 0 means DefaultMediumWidth.
	MediumWidth int
	// Quality is the JPEG quality (1-100) of re-encoded files; 0 means DefaultQuality.
	Quality int
}

// Result describes what Process wrote.
type Result struct {
	// Format is the stored format: BMP becomes PNG, every other format is kept.
	Format Format
	// Width and Height are the display size of the stored full image.
	Width, Height int
	// Animated reports an animated GIF, APNG or WebP; its full file is never resized.
	Animated bool
	// Resized reports that ResizeWidth was applied, so the stored bytes differ from the
	// upload in content, not only in metadata (the caller then reports source_md5).
	Resized bool
	// Medium reports that a medium was written to the medium writer.
	Medium bool
	// EXIFJSON is, under KeepEXIF for a JPEG with well-formed EXIF, a JSON object mapping
	// tag names (IFD0, Exif, GPS, Interop and IFD1 tags; first occurrence wins) to their
	// values as text, without MakerNote, each value valid UTF-8 and at most 1 KB; ""
	// otherwise. EXIF too damaged to read safely gives "" but never fails the upload.
	EXIFJSON string
	// Title is the EXIF ImageDescription of a JPEG with control characters and non-ASCII
	// bytes removed and spaces trimmed; "" if there is none.
	Title string
}

// pixels returns w*h in 64 bits, so budget checks cannot overflow.
func pixels(w, h int) int64 { return int64(w) * int64(h) }

// rect returns the rectangle (0,0)-(w,h).
func rect(w, h int) image.Rectangle { return image.Rect(0, 0, w, h) }
