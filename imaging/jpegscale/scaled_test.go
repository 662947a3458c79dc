package jpegscale

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// plane is one sample plane of a decoded image, limited to its valid samples.
type plane struct {
	pix          []uint8
	stride, w, h int
}

// compPlanes returns the decoder's component planes (before any colour conversion), each
// limited to the samples inside the image at the decoded scale.
func compPlanes(d *decoder) []plane {
	var ps []plane
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		cw := (d.width*c.h + d.hmax - 1) / d.hmax
		ch := (d.height*c.v + d.vmax - 1) / d.vmax
		s := 1 << d.shift
		ps = append(ps, plane{c.pix, c.stride, (cw + s - 1) / s, (ch + s - 1) / s})
	}
	return ps
}

// boxDown averages f x f areas (fewer samples at the right and bottom edges).
func boxDown(p plane, f int) plane {
	w, h := (p.w+f-1)/f, (p.h+f-1)/f
	out := plane{make([]uint8, w*h), w, w, h}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum, n := 0, 0
			for yy := y * f; yy < min(y*f+f, p.h); yy++ {
				for xx := x * f; xx < min(x*f+f, p.w); xx++ {
					sum += int(p.pix[yy*p.stride+xx])
					n++
				}
			}
			out.pix[y*w+x] = uint8((sum + n/2) / n)
		}
	}
	return out
}

// scaledPSNR decodes data at full scale and at 1/f (f = 2, 4, 8), and returns the PSNR of
// the scaled decode against the area-averaged full decode, over all component planes. The
// planes are compared before colour conversion: CMYK and RGB output with subsampled
// channels replicate samples (as image/jpeg does), which no area average reproduces.
func scaledPSNR(t testing.TB, data []byte, f int) float64 {
	df, full, err := decodeBytes(data, -1, -1, testBudget)
	if err != nil {
		t.Fatal(err)
	}
	fr := full.Bounds()
	minW, minH := (fr.Dx()+f-1)/f, (fr.Dy()+f-1)/f
	ds, img, err := decodeBytes(data, minW, minH, testBudget)
	if err != nil {
		t.Fatal(err)
	}
	if scale := 1 << ds.shift; scale != f {
		t.Fatalf("scale %d, want %d", scale, f)
	}
	if img.Bounds() != image.Rect(0, 0, minW, minH) {
		t.Fatalf("bounds %v, want %dx%d", img.Bounds(), minW, minH)
	}
	fp, sp := compPlanes(df), compPlanes(ds)
	var se float64
	n := 0
	for i := range fp {
		ref := boxDown(fp[i], f)
		got := sp[i]
		if got.w != ref.w || got.h != ref.h {
			t.Fatalf("plane %d: %dx%d, want %dx%d", i, got.w, got.h, ref.w, ref.h)
		}
		for y := 0; y < ref.h; y++ {
			for x := 0; x < ref.w; x++ {
				dv := float64(got.pix[y*got.stride+x]) - float64(ref.pix[y*ref.stride+x])
				se += dv * dv
				n++
			}
		}
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(n)))
}

// minScaledPSNR is asserted for every photo at 1/2, 1/4 and 1/8 against area averaging;
// the lowest measured is 34.2 dB (video-001.rgb.jpeg at 1/2, a 150x103 frame), the lowest
// for YCbCr 35.1 dB (video-001.q50.410.jpeg at 1/2).
const minScaledPSNR = 33

func TestScaledVsAreaAverage(t *testing.T) {
	files := testFiles(t)
	files = append(files, "") // the generated photo
	for _, f := range files {
		var data []byte
		name := "generated 1024x768"
		if f == "" {
			data = photoJPEG(1024, 768, 90)
		} else {
			data, _ = os.ReadFile(f)
			name = filepath.Base(f)
			if _, _, err := decodeBytes(data, -1, -1, testBudget); err != nil {
				continue
			}
		}
		for _, s := range []int{2, 4, 8} {
			p := scaledPSNR(t, data, s)
			t.Logf("%s 1/%d: PSNR %.1f dB", name, s, p)
			if p < minScaledPSNR {
				t.Errorf("%s 1/%d: PSNR %.1f dB < %d", name, s, p, minScaledPSNR)
			}
		}
	}
}

func TestChooseScale(t *testing.T) {
	for _, c := range []struct{ w, h, minW, minH, want int }{
		{4000, 3000, 160, 160, 8},
		{4000, 3000, 500, 0, 8},
		{4000, 3000, 501, 0, 4},
		{4000, 3000, 1000, 0, 4},
		{4000, 3000, 1001, 0, 2},
		{4000, 3000, 2001, 0, 1},
		{100, 100, 13, 13, 8},
		{100, 100, 14, 14, 4},
		{100, 100, 1, 1, 8},
	} {
		if got := 1 << chooseShift(c.w, c.h, c.minW, c.minH); got != c.want {
			t.Errorf("%dx%d min %dx%d: 1/%d, want 1/%d", c.w, c.h, c.minW, c.minH, got, c.want)
		}
	}
}

// photoImage makes a photo-like image: smooth gradients and shapes with fine texture.
func photoImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 128 + 90*math.Sin(6*fx+2*fy) + 20*math.Sin(float64(x+y)/7)
			g := 120 + 80*math.Cos(5*fy-3*fx) + 15*math.Sin(float64(x)/3)
			b := 110 + 70*math.Sin(9*fx*fy+1)
			n := rng.Float64()*16 - 8
			img.SetRGBA(x, y, color.RGBA{c8(r + n), c8(g + n), c8(b + n), 255})
		}
	}
	return img
}

func c8(v float64) uint8 { return uint8(max(0, min(255, v))) }

func photoJPEG(w, h, q int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, photoImage(w, h), &jpeg.Options{Quality: q}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

var bigJPEG = sync.OnceValue(func() []byte { return photoJPEG(4000, 3000, 92) })

// BenchmarkDecodeScaled compares decoding a 12 MP q92 4:2:0 baseline JPEG at 1/8 (and at
// the other scales) with image/jpeg's full decode, in the same run.
func BenchmarkDecodeScaled(b *testing.B) {
	data := bigJPEG()
	b.Run("stdlib-full", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, f := range []int{1, 2, 4, 8} {
		b.Run("jpegscale-1/"+string(rune('0'+f)), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_, s, err := DecodeScaled(bytes.NewReader(data), 4000/f, 3000/f, 0)
				if err != nil || s != f {
					b.Fatal(s, err)
				}
			}
		})
	}
}

// BenchmarkDecodeFiles times image/jpeg's full decode and DecodeScaled at 1/8 on each JPEG
// of $JPEGSCALE_EXTRA_DIR (skipped when unset).
func BenchmarkDecodeFiles(b *testing.B) {
	dir := os.Getenv("JPEGSCALE_EXTRA_DIR")
	if dir == "" {
		b.Skip("JPEGSCALE_EXTRA_DIR not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(f)
		b.Run(name+"/stdlib-full", func(b *testing.B) {
			for b.Loop() {
				if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/jpegscale-1-8", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := DecodeScaled(bytes.NewReader(data), 0, 0, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
