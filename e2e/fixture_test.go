package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// imagingTestdata is the imaging package's testdata/ as a fixture name:
// the hostile files its tests make and keep (pixel bombs, truncated
// images, polyglots), as in fixture(t, imagingTestdata+"png-truncated.png").
const imagingTestdata = "../imaging/testdata/"

// fixture reads name, a path under the repository's testdata/ such as
// "small.png" or "chevereto/02-png.body": the small real images the server
// tests read too, and the answers of a real Chevereto. It fails the test
// when the file cannot be read. Goroutines get their bytes from the test
// before they start.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tinyPNG is a w×h PNG of one colour.
func tinyPNG(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
