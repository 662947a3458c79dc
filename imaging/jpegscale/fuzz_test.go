package jpegscale

import (
	"bytes"
	"os"
	"runtime"
	"testing"
)

// fuzzBudget is the tiny pixel budget of FuzzDecode: frames over it must be refused before
// any pixel memory is allocated.
const fuzzBudget = 1 << 14

// allocBound is the most pixel and coefficient memory a frame of w x h may cost: per
// component (up to 4), one byte per sample of the block-rounded plane and, for progressive
// frames, 2 bytes per kept coefficient plus an 8-byte mask per block (at most 2.125 bytes a
// sample), plus 4 bytes a pixel for RGB and CMYK output.
func allocBound(w, h int) int { return 17 * (w + 7) * (h + 7) }

func FuzzDecode(f *testing.F) {
	for _, p := range testFiles(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) < 64<<10 {
			f.Add(data, uint8(0))
		}
	}
	f.Add(photoJPEG(64, 48, 75), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		minW := []int{-1, 0, 20, 40}[sel&3] // full, 1/8, or in between
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		d, img, err := decodeBytes(data, minW, minW, fuzzBudget)
		runtime.ReadMemStats(&ms1)
		if err == nil && img == nil {
			t.Fatal("nil image without error")
		}
		if d.sof && d.width*d.height > fuzzBudget {
			t.Fatalf("%dx%d frame accepted over the budget", d.width, d.height)
		}
		bound := 0
		if d.sof {
			bound = allocBound(d.width, d.height)
		}
		if d.allocated > bound {
			t.Fatalf("allocated %d bytes for %dx%d, bound %d", d.allocated, d.width, d.height, bound)
		}
		// Everything else (decoder state, Huffman tables) is small and fixed.
		if total := ms1.TotalAlloc - ms0.TotalAlloc; total > uint64(bound+64<<10) {
			t.Fatalf("heap grew by %d bytes for a %dx%d frame (bound %d)", total, d.width, d.height, bound+64<<10)
		}
		if err == nil {
			r := img.Bounds()
			s := 1 << d.shift
			if r.Dx() != (d.width+s-1)/s || r.Dy() != (d.height+s-1)/s {
				t.Fatalf("bounds %v for %dx%d at 1/%d", r, d.width, d.height, s)
			}
		}
	})
}

func TestBudgetRefusedBeforeAllocation(t *testing.T) {
	data := photoJPEG(300, 200, 80)
	d, _, err := decodeBytes(data, -1, -1, 300*200-1)
	if err != ErrTooLarge {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
	if d.allocated != 0 {
		t.Fatalf("allocated %d bytes before refusing", d.allocated)
	}
	if _, _, err := DecodeScaled(bytes.NewReader(data), 0, 0, 300*200); err != nil {
		t.Fatal(err)
	}
}
