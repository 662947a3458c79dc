package imaging

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/HugoSmits86/nativewebp"
	"golang.org/x/image/webp"
)

func TestHuffmanLengths(t *testing.T) {
	fib := make([]int, 280)
	a, b := 1, 1
	for i := 0; i < 40; i++ {
		fib[i] = a
		a, b = b, a+b
	}
	for _, maxLen := range []int{7, 15} {
		l := huffmanLengths(fib, maxLen)
		kraft := 0.0
		for i, v := range l {
			if (v == 0) != (fib[i] == 0) || int(v) > maxLen {
				t.Fatalf("max %d: symbol %d (freq %d) length %d", maxLen, i, fib[i], v)
			}
			if v > 0 {
				kraft += 1 / float64(int(1)<<v)
			}
		}
		if kraft != 1 {
			t.Errorf("max %d: Kraft sum %g, want a complete code", maxLen, kraft)
		}
	}
}

// TestEncodeVP8L round-trips images through the fallback encoder: lossless, so the
// pixels must come back exactly (colour of fully transparent pixels aside).
func TestEncodeVP8L(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	noise := image.NewRGBA(rect(37, 23))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.IntN(256))
	}
	for i := 3; i < len(noise.Pix); i += 4 {
		noise.Pix[i] = 0xFF
	}
	alpha := image.NewRGBA(rect(50, 40))
	for y := 0; y < 40; y++ {
		for x := 0; x < 50; x++ {
			a := uint8(x * 5)
			alpha.SetRGBA(x, y, color.RGBA{a / 2, a / 3, a, a}) // premultiplied
		}
	}
	flat := image.NewRGBA(rect(1, 1))
	flat.Pix[3] = 0xFF
	dwebp, _ := exec.LookPath("dwebp")
	for name, m := range map[string]*image.RGBA{"noise": noise, "alpha": alpha, "1x1": flat,
		"natural": naturalImage(160, 160, 3), "screen": screenLike(300, 200)} {
		var b bytes.Buffer
		if err := encodeVP8L(&b, m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := webp.Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		want := image.NewNRGBA(m.Rect)
		for y := 0; y < m.Rect.Dy(); y++ {
			for x := 0; x < m.Rect.Dx(); x++ {
				want.Set(x, y, m.At(x, y))
			}
		}
		for y := 0; y < m.Rect.Dy(); y++ {
			for x := 0; x < m.Rect.Dx(); x++ {
				g := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA)
				w := want.NRGBAAt(x, y)
				if w.A == 0 {
					g.R, g.G, g.B = 0, 0, 0
					w.R, w.G, w.B = 0, 0, 0
				}
				if g != w {
					t.Fatalf("%s: (%d,%d) = %v, want %v", name, x, y, g, w)
				}
			}
		}
		t.Logf("%s %v: %d bytes", name, m.Rect.Size(), b.Len())
		if dwebp != "" {
			f := filepath.Join(t.TempDir(), "x.webp")
			os.WriteFile(f, b.Bytes(), 0o644)
			if out, err := exec.Command(dwebp, f, "-o", f+".png").CombinedOutput(); err != nil {
				t.Errorf("%s: dwebp: %v\n%s", name, err, out)
			}
		}
	}
}

// screenLike draws flat panels and dark "text" runs.
func screenLike(w, h int) *image.RGBA {
	m := image.NewRGBA(rect(w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{245, 245, 245, 255}
			if y < 20 {
				c = color.RGBA{50, 60, 80, 255}
			} else if (x/3+y/7)%5 == 0 && y%12 < 9 {
				c = color.RGBA{40, 40, 50, 255}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// TestEncodeWebPSurvivesNativewebpBug: a 600 px resize of the lossy WebP in testdata is
// one of the images nativewebp v0.9.3 writes undecodable; encodeWebP must still write a
// file that decodes to the same pixels.
func TestEncodeWebPSurvivesNativewebpBug(t *testing.T) {
	src, err := webp.Decode(bytes.NewReader(mustRead(t, "webp-lossy-700x508.webp")))
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, w := range []int{400, 600} {
		m := resample(src, src.Bounds(), w, ratioHeight(w, 700, 508))
		var nb bytes.Buffer
		if err := nativewebp.Encode(&nb, m, nil); err != nil {
			bad++
		} else if _, err := webp.Decode(bytes.NewReader(nb.Bytes())); err != nil {
			bad++
		}
		var b bytes.Buffer
		if err := encodeWebP(&b, m); err != nil {
			t.Fatal(err)
		}
		got, err := webp.Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%d px: %v", w, err)
		}
		if !samePixels(got, m) {
			t.Errorf("%d px: pixels differ", w)
		}
	}
	if bad == 0 {
		t.Log("nativewebp wrote valid files for both: the fallback was not exercised")
	}
}
