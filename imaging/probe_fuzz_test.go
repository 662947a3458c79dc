package imaging

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"
)

// FuzzProbe feeds arbitrary bytes to Probe alone (FuzzProcess also decodes, so it runs
// far fewer inputs per second): it must never panic, every error must carry a sentinel,
// and an accepted header must be a plausible image within the budget, reported the same
// way under a larger budget.
func FuzzProbe(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile("testdata/" + e.Name()); err == nil {
			if len(b) > 4<<10 {
				b = b[:4<<10] // the header is what Probe reads
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const budget = 1 << 20
		info, err := Probe(bytes.NewReader(data), int64(len(data)), budget)
		checkFuzzError(t, "Probe", err)
		big, bigErr := Probe(bytes.NewReader(data), int64(len(data)), math.MaxInt)
		checkFuzzError(t, "Probe with a large budget", bigErr)
		// The budget is checked before the rest of the header is walked, so a file over
		// the small budget may still be invalid; but a file valid under the large budget
		// is either the same under the small one or too big for it.
		if err != nil {
			if bigErr == nil && !errors.Is(err, ErrTooManyPixels) {
				t.Fatalf("refused (%v) under a small budget, accepted (%+v) under a large one", err, big)
			}
			return
		}
		if bigErr != nil || big != info {
			t.Fatalf("Probe %+v, with a larger budget %+v (%v)", info, big, bigErr)
		}
		switch info.Format {
		case JPEG, PNG, GIF, WebP, BMP:
		default:
			t.Fatalf("format %q", info.Format)
		}
		if info.Width <= 0 || info.Height <= 0 || pixels(info.Width, info.Height) > budget {
			t.Fatalf("size %dx%d accepted under a budget of %d", info.Width, info.Height, budget)
		}
		if info.Orientation < 1 || info.Orientation > 8 || (info.Format != JPEG && info.Orientation != 1) {
			t.Fatalf("orientation %d for %s", info.Orientation, info.Format)
		}
	})
}

// TestShortSignaturesAreNotImages: two to four bytes that look like the start of an
// accepted format (filetype's matchers) are not a refused format (ErrUnsupported) but no
// image at all, as the isBMP comment intends. JPEG's signature is three bytes long.
func TestShortSignaturesAreNotImages(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want error
	}{
		{"text starting with BM", "BMW sales report\n", ErrNotImage},
		{"four bytes of a PNG signature", "\x89PNG", ErrNotImage},
		{"GIF8 without the version", "GIF8 files\n", ErrNotImage},
		{"RIFF without WEBP", "RIFF\x10\x00\x00\x00AVI LIST", ErrNotImage},
		{"three bytes of JPEG are a JPEG cut short", "\xff\xd8\xff", ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Probe(bytes.NewReader([]byte(tc.data)), int64(len(tc.data)), 0)
			if !errors.Is(err, tc.want) || (tc.want != ErrUnsupported && errors.Is(err, ErrUnsupported)) {
				t.Errorf("Probe(%q) = %v, want %v", tc.data, err, tc.want)
			}
		})
	}
}
