package imaging

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"os"
	"runtime"
	"testing"
)

const markerAPP13 = 0xED // IPTC / Photoshop

// allocatedBytes returns the bytes allocated by one run of fn.
func allocatedBytes(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// FuzzProcess feeds arbitrary bytes to Probe and Process: they must never panic, and every
// error must be one of the package's sentinels (writers here never fail).
func FuzzProcess(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile("testdata/" + e.Name()); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A small budget and small derived images keep each run fast (minimising a new
		// input takes thousands of runs); the bombs in testdata cover the real budget.
		const budget = 1 << 20
		opts := Options{MaxPixels: budget, EXIF: KeepEXIF, ThumbWidth: 16, ThumbHeight: 12, MediumWidth: 40}
		info, perr := Probe(bytes.NewReader(data), int64(len(data)), budget)
		checkFuzzError(t, "Probe", perr)
		res, err := Process(bytes.NewReader(data), int64(len(data)), opts, io.Discard, io.Discard, io.Discard)
		checkFuzzError(t, "Process keep", err)
		if perr != nil && err == nil {
			t.Fatalf("Probe failed (%v) but Process succeeded", perr)
		}
		if err == nil && (res.Width != info.Width || res.Height != info.Height || res.Width <= 0) {
			t.Fatalf("Process %+v disagrees with Probe %+v", res, info)
		}
		opts.EXIF, opts.ResizeWidth = StripEXIF, 30
		_, err = Process(bytes.NewReader(data), int64(len(data)), opts, io.Discard, io.Discard, io.Discard)
		checkFuzzError(t, "Process strip and resize", err)
	})
}

// checkFuzzError fails on a panic turned into an error and on errors without a sentinel.
func checkFuzzError(t *testing.T, what string, err error) {
	t.Helper()
	switch {
	case err == nil:
	case errors.Is(err, errInternal):
		t.Fatalf("%s: panic in imaging: %v", what, err)
	case !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrUnsupported) &&
		!errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooManyPixels):
		t.Fatalf("%s: error without sentinel: %v", what, err)
	}
}

// photoJPEG encodes a w x h photo-like JPEG (smooth gradients plus fine texture).
func photoJPEG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Y[y*m.YStride+x] = uint8((x*255/w + y*255/h + (x*y)%23) / 2)
		}
	}
	for i := range m.Cb {
		m.Cb[i] = uint8(100 + i%37)
		m.Cr[i] = uint8(140 - i%29)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 85}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkProcessJPEG processes a 12 MP (4000x3000) JPEG with the default options: strip,
// thumbnail and medium.
func BenchmarkProcessJPEG(b *testing.B) {
	data := photoJPEG(b, 4000, 3000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Process(bytes.NewReader(data), int64(len(data)), Options{}, io.Discard, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
