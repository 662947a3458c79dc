package imaging

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/HugoSmits86/nativewebp"
)

// TestMediumOnlyWhenSmaller checks the rule that a medium which would not be
// smaller than the stored image is dropped, while one that is, is kept.
func TestMediumOnlyWhenSmaller(t *testing.T) {
	// A 1024x640 lossless WebP of grain (a photo's worth of detail) made by
	// the encoder the variants use: its 500 px medium has a quarter of the
	// pixels and so is smaller.
	rng := rand.New(rand.NewPCG(1, 2))
	m := image.NewRGBA(image.Rect(0, 0, 1024, 640))
	for y := 0; y < 640; y++ {
		for x := 0; x < 1024; x++ {
			// Grey grain over a gradient. (Independent random R, G and B
			// make nativewebp v0.9.3 panic in its Huffman writer; imaging
			// recovers that as an error.)
			v := uint8(min(255, max(0, (x+y)*255/1664+rng.IntN(128)-64)))
			m.Set(x, y, color.RGBA{v, v, v, 0xff})
		}
	}
	var lossless bytes.Buffer
	if err := nativewebp.Encode(&lossless, m, nil); err != nil {
		t.Fatal(err)
	}
	lossy, err := os.ReadFile(filepath.Join("testdata", "webp-lossy-700x508.webp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		src    []byte
		medium bool
	}{
		{"lossless WebP keeps its smaller medium", lossless.Bytes(), true},
		{"lossy WebP drops a lossless medium larger than itself", lossy, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var full, thumb, medium bytes.Buffer
			res, err := Process(bytes.NewReader(tc.src), int64(len(tc.src)), Options{}, &full, &thumb, &medium)
			if err != nil {
				t.Fatal(err)
			}
			if res.Medium != tc.medium || (medium.Len() > 0) != tc.medium {
				t.Fatalf("Medium = %v with %d bytes written, want %v", res.Medium, medium.Len(), tc.medium)
			}
			if tc.medium {
				if medium.Len() >= full.Len() {
					t.Errorf("kept a %d-byte medium of a %d-byte image", medium.Len(), full.Len())
				}
				cfg, err := nativewebpConfig(medium.Bytes())
				if err != nil || cfg.Width != 500 || cfg.Height != 313 {
					t.Errorf("medium %dx%d (%v), want 500x313", cfg.Width, cfg.Height, err)
				}
			}
		})
	}
}

func nativewebpConfig(b []byte) (image.Config, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	return cfg, err
}
