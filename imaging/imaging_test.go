package imaging

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// fileCase describes what picbed must make of one testdata file.
type fileCase struct {
	name        string
	file        string
	err         error  // sentinel expected from Probe and Process, nil for success
	format      Format // sniffed
	w, h        int    // display size
	animated    bool
	orientation int
	stored      Format // Result.Format
	mw, mh      int    // medium size, 0 if none
}

var fileCases = []fileCase{
	{name: "JPEG with EXIF orientation 6 and GPS is shown upright 480x640", file: "jpeg-exif-orientation6-gps.jpg", format: JPEG, w: 480, h: 640, orientation: 6, stored: JPEG},
	{name: "small JPEG without EXIF has no medium", file: "jpeg-plain.jpg", format: JPEG, w: 150, h: 103, orientation: 1, stored: JPEG},
	{name: "progressive CMYK JPEG is accepted", file: "jpeg-cmyk-progressive.jpg", format: JPEG, w: 300, h: 200, orientation: 1, stored: JPEG},
	{name: "JPEG with a zip appended is a JPEG", file: "jpeg-polyglot-zip.jpg", format: JPEG, w: 150, h: 103, orientation: 1, stored: JPEG},
	{name: "PNG 600x375 gets a 500x313 medium", file: "png-600x375.png", format: PNG, w: 600, h: 375, orientation: 1, stored: PNG, mw: 500, mh: 313},
	{name: "PNG with alpha and text chunks", file: "png-alpha-text.png", format: PNG, w: 200, h: 100, orientation: 1, stored: PNG},
	{name: "APNG is animated and gets a medium at its own width", file: "png-apng-160x120.png", format: PNG, w: 160, h: 120, animated: true, orientation: 1, stored: PNG, mw: 160, mh: 120},
	{name: "PNG with acTL after IDAT is not animated", file: "png-acTL-after-IDAT.png", format: PNG, w: 40, h: 30, orientation: 1, stored: PNG},
	{name: "static GIF", file: "gif-static.gif", format: GIF, w: 120, h: 80, orientation: 1, stored: GIF},
	{name: "animated GIF 600x400 gets a 500x333 medium", file: "gif-animated-600x400.gif", format: GIF, w: 600, h: 400, animated: true, orientation: 1, stored: GIF, mw: 500, mh: 333},
	{name: "lossy WebP 700x508 gets no medium: a lossless 500 px one would outweigh it", file: "webp-lossy-700x508.webp", format: WebP, w: 700, h: 508, orientation: 1, stored: WebP},
	{name: "lossless WebP", file: "webp-lossless.webp", format: WebP, w: 300, h: 200, orientation: 1, stored: WebP},
	{name: "WebP with alpha, EXIF and XMP", file: "webp-alpha-exif-xmp.webp", format: WebP, w: 200, h: 100, orientation: 1, stored: WebP},
	{name: "animated WebP with alpha frames", file: "webp-animated-alpha.webp", format: WebP, w: 240, h: 160, animated: true, orientation: 1, stored: WebP, mw: 240, mh: 160},
	{name: "animated lossless WebP 600x400", file: "webp-animated-600x400.webp", format: WebP, w: 600, h: 400, animated: true, orientation: 1, stored: WebP, mw: 500, mh: 333},
	{name: "BMP is stored as PNG", file: "bmp-300x188.bmp", format: BMP, w: 300, h: 188, orientation: 1, stored: PNG},

	{name: "empty file is not an image", file: "empty.jpg", err: ErrNotImage},
	{name: "text is not an image", file: "text.txt", err: ErrNotImage},
	{name: "text named .jpg is not an image", file: "text-named.jpg", err: ErrNotImage},
	{name: "HTML is not an image", file: "page.html", err: ErrNotImage},
	{name: "SVG is not an image", file: "image.svg", err: ErrNotImage},
	{name: "TIFF is refused", file: "tiff-64x64.tif", err: ErrUnsupported},
	{name: "ICO is refused", file: "ico-32x32.ico", err: ErrUnsupported},
	{name: "PSD is refused", file: "psd-64x64.psd", err: ErrUnsupported},
	{name: "HEIC is refused", file: "heic-64x64.heic", err: ErrUnsupported},
	{name: "AVIF is refused", file: "avif-64x64.avif", err: ErrUnsupported},
	{name: "truncated JPEG is invalid", file: "jpeg-truncated.jpg", err: ErrInvalid, format: JPEG},
	{name: "truncated PNG is invalid", file: "png-truncated.png", err: ErrInvalid, format: PNG},
	{name: "zero-width PNG is invalid", file: "png-zero-width.png", err: ErrInvalid},
	{name: "animated WebP without frames is invalid", file: "webp-animated-no-frames.webp", err: ErrInvalid, format: WebP},
	{name: "PNG declaring 50000x50000 is a pixel bomb", file: "png-bomb-50000x50000.png", err: ErrTooManyPixels},
	{name: "GIF declaring 50000x50000 is a pixel bomb", file: "gif-bomb-50000x50000.gif", err: ErrTooManyPixels},
	{name: "JPEG declaring 50000x50000 is a pixel bomb", file: "jpeg-bomb-50000x50000.jpg", err: ErrTooManyPixels},
	{name: "WebP declaring 16384x16384 is a pixel bomb", file: "webp-bomb-16384x16384.webp", err: ErrTooManyPixels},
	{name: "BMP declaring 50000x50000 is a pixel bomb", file: "bmp-bomb-50000x50000.bmp", err: ErrTooManyPixels},
}

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

type outputs struct{ full, thumb, medium bytes.Buffer }

func mustProcess(tb testing.TB, data []byte, opts Options) (Result, *outputs) {
	tb.Helper()
	var o outputs
	res, err := Process(bytes.NewReader(data), int64(len(data)), opts, &o.full, &o.thumb, &o.medium)
	if err != nil {
		tb.Fatalf("Process: %v", err)
	}
	return res, &o
}

// decodeConfig decodes the header of b, which must be of format f.
func decodeConfig(t *testing.T, b []byte, f Format) image.Config {
	t.Helper()
	_, name, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode %s output: %v", f, err)
	}
	if name != string(f) {
		t.Fatalf("output is %s, want %s", name, f)
	}
	var c image.Config
	switch f {
	case JPEG:
		c, err = jpeg.DecodeConfig(bytes.NewReader(b))
	case PNG:
		c, err = png.DecodeConfig(bytes.NewReader(b))
	case GIF:
		c, err = gif.DecodeConfig(bytes.NewReader(b))
	case WebP:
		c, err = webp.DecodeConfig(bytes.NewReader(b))
	}
	if err != nil {
		t.Fatal(err)
	}
	// Make sure the whole output decodes, not only its header (x/image/webp cannot decode
	// animations, whose frames TestAnimatedWebPThumbIsFirstFrame covers).
	if c.Width == 0 {
		t.Fatal("zero width")
	}
	if l, err := walkWebP(bytes.NewReader(b), int64(len(b))); f == WebP && err == nil && l.animated {
		return c
	}
	if _, _, err := image.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("decode %s output: %v", f, err)
	}
	return c
}

func TestProbe(t *testing.T) {
	for _, tc := range fileCases {
		t.Run(tc.name, func(t *testing.T) {
			data := mustRead(t, tc.file)
			info, err := Probe(bytes.NewReader(data), int64(len(data)), 0)
			if tc.err != nil {
				// A truncated file may still have a readable header: then Process must fail.
				if err == nil && errors.Is(tc.err, ErrInvalid) {
					return
				}
				if !errors.Is(err, tc.err) {
					t.Fatalf("Probe error = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			want := Info{Format: tc.format, Width: tc.w, Height: tc.h, Animated: tc.animated, Orientation: tc.orientation}
			if info != want {
				t.Fatalf("Probe = %+v, want %+v", info, want)
			}
		})
	}
}

func TestProcess(t *testing.T) {
	for _, tc := range fileCases {
		t.Run(tc.name, func(t *testing.T) {
			data := mustRead(t, tc.file)
			var o outputs
			res, err := Process(bytes.NewReader(data), int64(len(data)), Options{}, &o.full, &o.thumb, &o.medium)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Process error = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			if res.Format != tc.stored || res.Width != tc.w || res.Height != tc.h || res.Animated != tc.animated {
				t.Fatalf("Result = %+v, want %s %dx%d animated=%v", res, tc.stored, tc.w, tc.h, tc.animated)
			}
			if res.Resized {
				t.Error("Resized without ResizeWidth")
			}
			// The full file keeps its stored pixel size; orientations 5-8 swap it on display.
			full := decodeConfig(t, o.full.Bytes(), tc.stored)
			fw, fh := stored(tc.w, tc.h, tc.orientation)
			if full.Width != fw || full.Height != fh {
				t.Errorf("full is %dx%d, want %dx%d", full.Width, full.Height, fw, fh)
			}
			thumb := decodeConfig(t, o.thumb.Bytes(), tc.stored)
			if thumb.Width != 160 || thumb.Height != 160 {
				t.Errorf("thumb is %dx%d, want 160x160", thumb.Width, thumb.Height)
			}
			if res.Medium != (tc.mw > 0) {
				t.Fatalf("Medium = %v, want %v", res.Medium, tc.mw > 0)
			}
			if !res.Medium {
				if o.medium.Len() != 0 {
					t.Errorf("%d bytes written to medium without a medium", o.medium.Len())
				}
				return
			}
			medium := decodeConfig(t, o.medium.Bytes(), tc.stored)
			if medium.Width != tc.mw || medium.Height != tc.mh {
				t.Errorf("medium is %dx%d, want %dx%d", medium.Width, medium.Height, tc.mw, tc.mh)
			}
		})
	}
}

func TestFormatNames(t *testing.T) {
	for _, tc := range []struct {
		f         Format
		ext, mime string
	}{
		{JPEG, "jpg", "image/jpeg"}, {PNG, "png", "image/png"}, {GIF, "gif", "image/gif"},
		{WebP, "webp", "image/webp"}, {BMP, "bmp", "image/bmp"}, {"tiff", "", ""},
	} {
		if tc.f.Ext() != tc.ext || tc.f.MIME() != tc.mime {
			t.Errorf("%q: Ext %q MIME %q, want %q %q", tc.f, tc.f.Ext(), tc.f.MIME(), tc.ext, tc.mime)
		}
	}
}

// jpegSegments lists the marker and payload of every segment before the first SOS.
func jpegSegments(t *testing.T, b []byte) (markers []byte, payloads [][]byte) {
	t.Helper()
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := b[i+1]
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		markers = append(markers, m)
		payloads = append(payloads, b[i+4:i+2+n])
		if m == markerSOS {
			break
		}
		i += 2 + n
	}
	return markers, payloads
}

func decodePixels(t *testing.T, b []byte) image.Image {
	t.Helper()
	m, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// samePixels compares two decoded images pixel by pixel in their native colour models.
func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

func TestStripJPEGIsLossless(t *testing.T) {
	for _, file := range []string{"jpeg-exif-orientation6-gps.jpg", "jpeg-plain.jpg", "jpeg-cmyk-progressive.jpg", "jpeg-polyglot-zip.jpg"} {
		t.Run(file, func(t *testing.T) {
			in := mustRead(t, file)
			_, o := mustProcess(t, in, Options{})
			if !samePixels(decodePixels(t, in), decodePixels(t, o.full.Bytes())) {
				t.Fatal("stripped JPEG decodes to different pixels")
			}
			if !bytes.HasSuffix(o.full.Bytes(), []byte{0xFF, markerEOI}) {
				t.Error("stripped JPEG does not end at EOI")
			}
		})
	}
}

func TestStripJPEGRemovesMetadataKeepsOrientation(t *testing.T) {
	in := mustRead(t, "jpeg-exif-orientation6-gps.jpg")
	res, o := mustProcess(t, in, Options{})
	out := o.full.Bytes()
	if res.EXIFJSON != "" {
		t.Errorf("EXIFJSON = %q under StripEXIF", res.EXIFJSON)
	}
	for _, secret := range []string{"GPS", "Canon", "Eiffel", "xmp title", "secret", "a comment", "http://ns.adobe.com/xap"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("stripped JPEG still contains %q", secret)
		}
	}
	markers, payloads := jpegSegments(t, out)
	var exifSegs, icc int
	var exifPayload []byte
	for i, m := range markers {
		switch {
		case m == markerAPP1:
			exifSegs++
			exifPayload = payloads[i][len(exifPrefix):]
			if !bytes.HasPrefix(payloads[i], []byte(exifPrefix)) {
				t.Fatalf("APP1 without Exif prefix")
			}
			tags := readIFD0(payloads[i][len(exifPrefix):])
			if tags.orientation != 6 {
				t.Errorf("orientation in stripped JPEG = %d, want 6", tags.orientation)
			}
			if i > 1 {
				t.Errorf("Exif segment is segment %d, want right after SOI/JFIF", i)
			}
		case m == markerAPP2 && bytes.HasPrefix(payloads[i], []byte(iccPrefix)):
			icc++
		case m == markerAPP13 || m == markerCOM:
			t.Errorf("segment %#x survived stripping", m)
		}
	}
	if exifSegs != 1 {
		t.Errorf("%d Exif segments, want 1", exifSegs)
	}
	if icc == 0 {
		t.Error("ICC profile was dropped")
	}
	// The GPS IFD must be gone for a real EXIF reader too.
	if s, err := exifJSON(exifPayload); err != nil || strings.Contains(s, "GPS") || !strings.Contains(s, "Orientation") {
		t.Errorf("EXIF of stripped JPEG = %s, %v", s, err)
	}
	info, err := Probe(bytes.NewReader(out), int64(len(out)), 0)
	if err != nil || info.Orientation != 6 || info.Width != 480 {
		t.Errorf("Probe(stripped) = %+v, %v", info, err)
	}
	if res.Title != "Eiffel tower ber" {
		t.Errorf("Title = %q, want %q", res.Title, "Eiffel tower ber")
	}
}

func TestStripJPEGWithoutOrientationAddsNoExif(t *testing.T) {
	_, o := mustProcess(t, mustRead(t, "jpeg-plain.jpg"), Options{})
	markers, _ := jpegSegments(t, o.full.Bytes())
	if bytes.IndexByte(markers, markerAPP1) >= 0 {
		t.Error("APP1 added to a JPEG with orientation 1")
	}
	if bytes.Contains(o.full.Bytes(), []byte("PK\x03\x04")) {
		t.Error("data after EOI survived")
	}
}

func TestKeepEXIF(t *testing.T) {
	for _, file := range []string{"jpeg-exif-orientation6-gps.jpg", "png-alpha-text.png", "webp-alpha-exif-xmp.webp", "jpeg-polyglot-zip.jpg"} {
		t.Run(file, func(t *testing.T) {
			in := mustRead(t, file)
			res, o := mustProcess(t, in, Options{EXIF: KeepEXIF})
			if !bytes.Equal(o.full.Bytes(), in) {
				t.Fatal("KeepEXIF changed the bytes")
			}
			if file != "jpeg-exif-orientation6-gps.jpg" {
				if res.EXIFJSON != "" {
					t.Errorf("EXIFJSON = %q for a file without JPEG EXIF", res.EXIFJSON)
				}
				return
			}
			var m map[string]string
			if err := json.Unmarshal([]byte(res.EXIFJSON), &m); err != nil {
				t.Fatalf("EXIFJSON %q: %v", res.EXIFJSON, err)
			}
			for _, k := range []string{"Make", "Model", "Orientation", "GPSLatitude", "ImageDescription"} {
				if m[k] == "" {
					t.Errorf("EXIFJSON lacks %s: %v", k, m)
				}
			}
			if _, ok := m["MakerNote"]; ok {
				t.Error("EXIFJSON has MakerNote")
			}
			if res.Title != "Eiffel tower ber" {
				t.Errorf("Title = %q", res.Title)
			}
		})
	}
}

// pngChunkTypes lists the chunk types of a PNG.
func pngChunkTypes(t *testing.T, b []byte) []string {
	t.Helper()
	types, _ := pngChunks(t, b)
	return types
}

func TestStripPNG(t *testing.T) {
	for _, file := range []string{"png-alpha-text.png", "png-apng-160x120.png", "png-600x375.png"} {
		t.Run(file, func(t *testing.T) {
			in := mustRead(t, file)
			_, o := mustProcess(t, in, Options{})
			inTypes, inData := pngChunks(t, in)
			outTypes, outData := pngChunks(t, o.full.Bytes())
			var want []string
			var wantData [][]byte
			for i, typ := range inTypes {
				if !pngMetadataChunk(typ) {
					want = append(want, typ)
					wantData = append(wantData, inData[i])
				}
			}
			if strings.Join(outTypes, ",") != strings.Join(want, ",") {
				t.Fatalf("chunks %v, want %v", outTypes, want)
			}
			for i := range outData {
				if !bytes.Equal(outData[i], wantData[i]) {
					t.Errorf("chunk %d (%s) changed", i, outTypes[i])
				}
			}
			if !samePixels(decodePixels(t, in), decodePixels(t, o.full.Bytes())) {
				t.Error("stripped PNG decodes to different pixels")
			}
		})
	}
	// The APNG keeps every animation chunk.
	_, o := mustProcess(t, mustRead(t, "png-apng-160x120.png"), Options{})
	types := strings.Join(pngChunkTypes(t, o.full.Bytes()), ",")
	if types != "IHDR,acTL,fcTL,IDAT,fcTL,fdAT,fcTL,fdAT,IEND" {
		t.Errorf("APNG chunks after stripping: %s", types)
	}
}

// webpChunkTypes lists the top-level chunks of a WebP and checks the RIFF size.
func webpChunkTypes(t *testing.T, b []byte) []string {
	t.Helper()
	if got := int(binary.LittleEndian.Uint32(b[4:8])); got != len(b)-8 {
		t.Fatalf("RIFF size %d, file has %d bytes after the header", got, len(b)-8)
	}
	l, err := walkWebP(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, c := range l.chunks {
		types = append(types, c.fourCC)
	}
	return types
}

func TestStripWebP(t *testing.T) {
	in := mustRead(t, "webp-alpha-exif-xmp.webp")
	if types := strings.Join(webpChunkTypes(t, in), ","); types != "VP8X,ALPH,VP8 ,EXIF,XMP " {
		t.Fatalf("testdata chunks: %s", types)
	}
	_, o := mustProcess(t, in, Options{})
	out := o.full.Bytes()
	if types := strings.Join(webpChunkTypes(t, out), ","); types != "VP8X,ALPH,VP8 " {
		t.Errorf("chunks after stripping: %s", types)
	}
	if flags := out[20]; flags&(vp8xEXIF|vp8xXMP) != 0 || flags&vp8xAlpha == 0 {
		t.Errorf("VP8X flags %08b", flags)
	}
	if bytes.Contains(out, []byte("GPS")) || bytes.Contains(out, []byte("secret")) {
		t.Error("metadata survived")
	}
	if !samePixels(decodePixels(t, in), decodePixels(t, out)) {
		t.Error("stripped WebP decodes to different pixels")
	}
	// A WebP without metadata comes out byte-identical.
	plain := mustRead(t, "webp-animated-alpha.webp")
	_, o = mustProcess(t, plain, Options{})
	if !bytes.Equal(o.full.Bytes(), plain) {
		t.Error("WebP without metadata changed")
	}
}

func TestGIFIsCopiedAndThumbIsOneFrame(t *testing.T) {
	in := mustRead(t, "gif-animated-600x400.gif")
	_, o := mustProcess(t, in, Options{})
	if !bytes.Equal(o.full.Bytes(), in) {
		t.Error("GIF changed")
	}
	for name, b := range map[string][]byte{"thumb": o.thumb.Bytes(), "medium": o.medium.Bytes()} {
		g, err := gif.DecodeAll(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Image) != 1 {
			t.Errorf("%s has %d frames, want 1", name, len(g.Image))
		}
	}
	full, err := gif.DecodeAll(bytes.NewReader(in))
	if err != nil || len(full.Image) != 3 {
		t.Fatalf("testdata GIF: %d frames, %v", len(full.Image), err)
	}
}

func TestBMPBecomesPNG(t *testing.T) {
	in := mustRead(t, "bmp-300x188.bmp")
	res, o := mustProcess(t, in, Options{})
	if res.Format != PNG || res.Format.Ext() != "png" {
		t.Fatalf("Format = %s", res.Format)
	}
	src, err := bmp.Decode(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := png.Decode(bytes.NewReader(o.full.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !samePixels(src, out) {
		t.Error("PNG made from BMP has different pixels")
	}
}

func TestAnimatedWebPThumbIsFirstFrame(t *testing.T) {
	// Frame 1 of webp-animated-alpha.webp is a red disc at (60,20) size 121x121 on a
	// transparent 240x160 canvas; frame 2 is a blue rectangle. The medium is 240x160, so it
	// shows frame 1 unscaled: red at the centre, transparent in the corner.
	_, o := mustProcess(t, mustRead(t, "webp-animated-alpha.webp"), Options{})
	m := decodePixels(t, o.medium.Bytes())
	r, g, b, a := m.At(120, 80).RGBA()
	if a < 0xF000 || r < 0xC000 || g > 0x4000 || b > 0x4000 {
		t.Errorf("centre of medium = %x %x %x %x, want opaque red", r, g, b, a)
	}
	if _, _, _, a := m.At(5, 5).RGBA(); a != 0 {
		t.Errorf("corner alpha = %x, want transparent", a)
	}
}

func TestResizeWidth(t *testing.T) {
	for _, tc := range []struct {
		name          string
		file          string
		width         int
		resized       bool
		fw, fh        int // stored size of the full file
		rw, rh        int // Result size
		format        Format
		wantNoMedium  bool
		keepEXIFBytes bool
	}{
		{name: "PNG 600x375 to 300 wide", file: "png-600x375.png", width: 300, resized: true, fw: 300, fh: 188, rw: 300, rh: 188, format: PNG, wantNoMedium: true},
		{name: "oriented JPEG is rotated into the resized pixels", file: "jpeg-exif-orientation6-gps.jpg", width: 240, resized: true, fw: 240, fh: 320, rw: 240, rh: 320, format: JPEG, wantNoMedium: true},
		{name: "WebP 700x508 to 600 wide still gets a medium", file: "webp-lossy-700x508.webp", width: 600, resized: true, fw: 600, fh: 435, rw: 600, rh: 435, format: WebP},
		{name: "width not below the image width is ignored", file: "png-600x375.png", width: 600, fw: 600, fh: 375, rw: 600, rh: 375, format: PNG},
		{name: "animated GIF is never resized", file: "gif-animated-600x400.gif", width: 100, fw: 600, fh: 400, rw: 600, rh: 400, format: GIF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, o := mustProcess(t, mustRead(t, tc.file), Options{ResizeWidth: tc.width, EXIF: KeepEXIF})
			if res.Resized != tc.resized || res.Width != tc.rw || res.Height != tc.rh {
				t.Fatalf("Result = %+v", res)
			}
			c := decodeConfig(t, o.full.Bytes(), tc.format)
			if c.Width != tc.fw || c.Height != tc.fh {
				t.Errorf("full is %dx%d, want %dx%d", c.Width, c.Height, tc.fw, tc.fh)
			}
			if tc.resized && tc.format == JPEG {
				if markers, _ := jpegSegments(t, o.full.Bytes()); bytes.IndexByte(markers, markerAPP1) >= 0 {
					t.Error("resized JPEG carries EXIF")
				}
			}
			if res.Medium == tc.wantNoMedium {
				t.Errorf("Medium = %v", res.Medium)
			}
		})
	}
}

func TestOptionsAreValidated(t *testing.T) {
	data := mustRead(t, "jpeg-plain.jpg")
	for _, opts := range []Options{{Quality: 101}, {ThumbWidth: -1}, {MediumWidth: MaxDerivedSide + 1}} {
		if _, err := Process(bytes.NewReader(data), int64(len(data)), opts, io.Discard, io.Discard, io.Discard); err == nil {
			t.Errorf("Process accepted %+v", opts)
		}
	}
	// Custom sizes are honoured.
	res, o := mustProcess(t, mustRead(t, "png-600x375.png"), Options{ThumbWidth: 90, ThumbHeight: 40, MediumWidth: 200})
	if c := decodeConfig(t, o.thumb.Bytes(), PNG); c.Width != 90 || c.Height != 40 {
		t.Errorf("thumb %dx%d", c.Width, c.Height)
	}
	if c := decodeConfig(t, o.medium.Bytes(), PNG); !res.Medium || c.Width != 200 || c.Height != 125 {
		t.Errorf("medium %dx%d", c.Width, c.Height)
	}
}

func TestPixelBombIsRefusedBeforeAllocation(t *testing.T) {
	for _, file := range []string{"png-bomb-50000x50000.png", "gif-bomb-50000x50000.gif", "jpeg-bomb-50000x50000.jpg", "webp-bomb-16384x16384.webp", "bmp-bomb-50000x50000.bmp"} {
		t.Run(file, func(t *testing.T) {
			data := mustRead(t, file)
			const limit = 1 << 20 // the bombs would need gigabytes
			bytesPerRun := allocatedBytes(func() {
				_, err := Process(bytes.NewReader(data), int64(len(data)), Options{}, io.Discard, io.Discard, io.Discard)
				if !errors.Is(err, ErrTooManyPixels) {
					t.Fatalf("err = %v", err)
				}
			})
			if bytesPerRun > limit {
				t.Errorf("refusing the bomb allocated %d bytes", bytesPerRun)
			}
		})
	}
	// The budget is the caller's: a small image over a small budget is refused too.
	data := mustRead(t, "png-600x375.png")
	if _, err := Probe(bytes.NewReader(data), int64(len(data)), 600*375-1); !errors.Is(err, ErrTooManyPixels) {
		t.Errorf("Probe over a custom budget: %v", err)
	}
}

func TestOrientationIsAppliedToDerivedImages(t *testing.T) {
	// Stored image: quadrants red, green / blue, white. Expected display quadrants per
	// orientation (TL, TR, BL, BR), from the EXIF definition of the 0th row and column.
	const R, G, B, W = 'R', 'G', 'B', 'W'
	want := map[int]string{
		1: "RGBW", 2: "GRWB", 3: "WBGR", 4: "BWRG",
		5: "RBGW", 6: "BRWG", 7: "WGBR", 8: "GWRB",
	}
	_ = []byte{R, G, B, W}
	src := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for y := 0; y < 100; y++ {
		for x := 0; x < 200; x++ {
			c := [4]byte{255, 0, 0, 255}
			switch {
			case x >= 100 && y < 50:
				c = [4]byte{0, 255, 0, 255}
			case x < 100 && y >= 50:
				c = [4]byte{0, 0, 255, 255}
			case x >= 100 && y >= 50:
				c = [4]byte{255, 255, 255, 255}
			}
			copy(src.Pix[src.PixOffset(x, y):], c[:])
		}
	}
	var plain bytes.Buffer
	if err := jpeg.Encode(&plain, src, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	for o := 1; o <= 8; o++ {
		// Insert an orientation-only Exif segment after SOI.
		data := append([]byte{0xFF, 0xD8}, orientationSegment(o)...)
		data = append(data, plain.Bytes()[2:]...)
		for _, resize := range []int{0, 50} {
			res, out := mustProcess(t, data, Options{ResizeWidth: resize, MediumWidth: 60})
			dw, dh := stored(200, 100, o)
			if resize > 0 {
				dw, dh = 50, 50*dh/dw
			}
			if res.Width != dw || res.Height != dh {
				t.Fatalf("orientation %d resize %d: Result %dx%d, want %dx%d", o, resize, res.Width, res.Height, dw, dh)
			}
			for name, b := range map[string][]byte{"thumb": out.thumb.Bytes(), "medium": out.medium.Bytes()} {
				if name == "medium" && !res.Medium {
					continue
				}
				if got := quadrants(decodePixels(t, b)); got != want[o] {
					t.Errorf("orientation %d resize %d: %s quadrants %s, want %s", o, resize, name, got, want[o])
				}
			}
			if resize > 0 {
				if got := quadrants(decodePixels(t, out.full.Bytes())); got != want[o] {
					t.Errorf("orientation %d: resized full quadrants %s, want %s", o, got, want[o])
				}
			}
		}
	}
}

// quadrants names the colour near the centre of each quadrant of m: TL, TR, BL, BR.
func quadrants(m image.Image) string {
	b := m.Bounds()
	name := func(x, y int) byte {
		r, g, bl, _ := m.At(x, y).RGBA()
		hi := func(v uint32) bool { return v > 0x9000 }
		switch {
		case hi(r) && hi(g) && hi(bl):
			return 'W'
		case hi(r):
			return 'R'
		case hi(g):
			return 'G'
		case hi(bl):
			return 'B'
		}
		return '?'
	}
	qx, qy := b.Dx()/4, b.Dy()/4
	return string([]byte{
		name(b.Min.X+qx, b.Min.Y+qy), name(b.Max.X-qx, b.Min.Y+qy),
		name(b.Min.X+qx, b.Max.Y-qy), name(b.Max.X-qx, b.Max.Y-qy),
	})
}

func TestReadIFD0SurvivesGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("II"), []byte("MM\x00\x2a\xff\xff\xff\xff"), []byte("II\x2a\x00\x08\x00\x00\x00\xff\xff")} {
		if got := readIFD0(b); got.orientation != 1 || got.description != "" {
			t.Errorf("readIFD0(%q) = %+v", b, got)
		}
	}
}

func TestCleanTitle(t *testing.T) {
	for in, want := range map[string]string{
		"  Eiffel\x01 tower über  ": "Eiffel tower ber",
		"\t\n":                      "",
		"OK":                        "OK",
	} {
		if got := cleanTitle(in); got != want {
			t.Errorf("cleanTitle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHalveYCbCrMatchesHalvingRGBA(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		m := image.NewYCbCr(image.Rect(0, 0, 37, 22), ratio)
		// Smooth data, as in photos at the scale of 2x2 blocks (where averaging before or
		// after the clamped colour conversion gives the same result).
		for i := range m.Y {
			m.Y[i] = uint8(40 + i%m.YStride*3 + i/m.YStride*2)
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = uint8(110+i%m.CStride*2), uint8(150-i/m.CStride*2)
		}
		got, want := halveYCbCr(m), halve(toRGBA(m))
		if got.Rect != want.Rect {
			t.Fatalf("%v: %v, want %v", ratio, got.Rect, want.Rect)
		}
		for i := range got.Pix {
			if d := int(got.Pix[i]) - int(want.Pix[i]); d < -6 || d > 6 {
				t.Fatalf("%v: byte %d = %d, want %d", ratio, i, got.Pix[i], want.Pix[i])
			}
		}
	}
}

func TestHostileEXIFIsRefusedCheaply(t *testing.T) {
	// IFD0 with one LONG tag claiming 2^30 values far outside the payload, and an IFD whose
	// next pointer loops back to itself.
	huge := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x00\x00\x04\x40\x00\x00\x00\x00\x00\x00\x20\x00\x00\x00\x00")
	loop := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x08")
	for name, tiff := range map[string][]byte{"huge count": huge, "IFD loop": loop} {
		var err error
		n := allocatedBytes(func() { _, err = exifJSON(tiff) })
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if n > 1<<20 {
			t.Errorf("%s: allocated %d bytes", name, n)
		}
	}
	// Embedded in a JPEG, it costs the upload nothing: KeepEXIF keeps the bytes and only
	// EXIFJSON is empty.
	plain := mustRead(t, "jpeg-plain.jpg")
	seg := append([]byte{0xFF, 0xE1, 0, byte(2 + 6 + len(huge))}, exifPrefix...)
	data := append(append(append([]byte{0xFF, 0xD8}, seg...), huge...), plain[2:]...)
	res, o := mustProcess(t, data, Options{EXIF: KeepEXIF})
	if res.EXIFJSON != "" || !bytes.Equal(o.full.Bytes(), data) {
		t.Errorf("EXIFJSON %q", res.EXIFJSON)
	}
}

type failingReaderAt struct{ data []byte }

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off > 100 {
		return 0, errDisk
	}
	return bytes.NewReader(f.data).ReadAt(p, off)
}

var errDisk = errors.New("disk on fire")

func TestReadErrorsAreNotInvalidImages(t *testing.T) {
	data := mustRead(t, "png-600x375.png")
	_, err := Process(failingReaderAt{data}, int64(len(data)), Options{}, io.Discard, io.Discard, io.Discard)
	if !errors.Is(err, errDisk) || errors.Is(err, ErrInvalid) {
		t.Errorf("err = %v", err)
	}
}

func TestHalveImageMatchesHalvingRGBA(t *testing.T) {
	m := image.NewNRGBA(image.Rect(3, 5, 44, 26))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 31)
	}
	got, want := halveImage(m), halve(toRGBA(m))
	if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
		t.Errorf("halveImage differs from halve(toRGBA)")
	}
}

func TestJPEGWithJunkBetweenSegmentsIsStrippedLosslessly(t *testing.T) {
	in := mustRead(t, "jpeg-exif-orientation6-gps.jpg")
	cut := 4 + int(binary.BigEndian.Uint16(in[4:6])) // after SOI and the first segment
	junk := append(append(bytes.Clone(in[:cut]), 0, 1, 2), in[cut:]...)
	_, o := mustProcess(t, junk, Options{})
	if !samePixels(decodePixels(t, in), decodePixels(t, o.full.Bytes())) {
		t.Error("pixels differ")
	}
	if bytes.Contains(o.full.Bytes(), []byte{0, 1, 2, 0xFF}) {
		t.Error("junk kept")
	}
}

func TestProcessIsSafeForConcurrentUse(t *testing.T) {
	data := mustRead(t, "jpeg-exif-orientation6-gps.jpg")
	want, _ := mustProcess(t, data, Options{EXIF: KeepEXIF})
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			res, err := Process(bytes.NewReader(data), int64(len(data)), Options{EXIF: KeepEXIF}, io.Discard, io.Discard, io.Discard)
			if err == nil && res != want {
				err = errors.New("different result")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestJPEGWithTooManyScansIsInvalid(t *testing.T) {
	in := mustRead(t, "jpeg-plain.jpg")
	sos := bytes.Index(in, []byte{0xFF, markerSOS})
	n := int(binary.BigEndian.Uint16(in[sos+2:]))
	header, scan := in[:sos], in[sos:sos+2+n]
	data := bytes.Clone(header)
	for range maxJPEGScans + 1 {
		data = append(append(data, scan...), 0x00)
	}
	data = append(data, 0xFF, markerEOI)
	if _, err := Probe(bytes.NewReader(data), int64(len(data)), 0); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	_, err := Process(bytes.NewReader(data), int64(len(data)), Options{EXIF: KeepEXIF}, io.Discard, io.Discard, io.Discard)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "scans") {
		t.Errorf("err = %v", err)
	}
}
