package imaging

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/webp"
)

// This file holds the acceptance check of issue 5 for the medium's quality: the 500 px
// medium Process writes must be within 38 dB PSNR of a high-quality reference, a separable
// Lanczos-3 resize of the full-resolution decode, made here the slow and straightforward
// way in float64. The reference works on the 8-bit sRGB values as they are (gamma-encoded,
// not linear light), as Process and libvips do.

// minMediumPSNR is issue 5's acceptance bound for the medium.
const minMediumPSNR = 38

func lanczos3(x float64) float64 {
	x = math.Abs(x)
	if x < 1e-12 {
		return 1
	}
	if x >= 3 {
		return 0
	}
	px := math.Pi * x
	return 3 * math.Sin(px) * math.Sin(px/3) / (px * px)
}

// lanczosWeights returns, for each of the dn output samples of an axis of sn input samples,
// the first input index and the normalised Lanczos-3 weights. When downscaling, the kernel
// is stretched by the scale factor (it low-passes at the output's Nyquist frequency); the
// edges are handled by dropping the taps outside the image and renormalising.
func lanczosWeights(sn, dn int) (first []int, weights [][]float64) {
	scale := float64(sn) / float64(dn)
	fs := max(scale, 1) // filter scale
	support := 3 * fs
	first = make([]int, dn)
	weights = make([][]float64, dn)
	for i := range dn {
		c := (float64(i)+0.5)*scale - 0.5 // the output sample's centre in input coordinates
		lo := max(0, int(math.Ceil(c-support)))
		hi := min(sn-1, int(math.Floor(c+support)))
		w := make([]float64, 0, hi-lo+1)
		sum := 0.0
		for j := lo; j <= hi; j++ {
			v := lanczos3((float64(j) - c) / fs)
			w = append(w, v)
			sum += v
		}
		for k := range w {
			w[k] /= sum
		}
		first[i], weights[i] = lo, w
	}
	return first, weights
}

// planes is an image as three float64 channel planes (R, G, B), row-major.
type planes struct {
	w, h int
	c    [3][]float64
}

func toPlanes(m image.Image) planes {
	b := m.Bounds()
	p := planes{w: b.Dx(), h: b.Dy()}
	for k := range p.c {
		p.c[k] = make([]float64, p.w*p.h)
	}
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			r, g, bl, _ := m.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*p.w + x
			p.c[0][i], p.c[1][i], p.c[2][i] = float64(r>>8), float64(g>>8), float64(bl>>8)
		}
	}
	return p
}

// lanczosResize resizes p to dw x dh with Lanczos-3: rows first, then columns.
func lanczosResize(p planes, dw, dh int) planes {
	xf, xw := lanczosWeights(p.w, dw)
	yf, yw := lanczosWeights(p.h, dh)
	mid := planes{w: dw, h: p.h}
	out := planes{w: dw, h: dh}
	for k := range 3 {
		mid.c[k] = make([]float64, dw*p.h)
		for y := 0; y < p.h; y++ {
			row := p.c[k][y*p.w : (y+1)*p.w]
			for x := 0; x < dw; x++ {
				s := 0.0
				for t, w := range xw[x] {
					s += w * row[xf[x]+t]
				}
				mid.c[k][y*dw+x] = s
			}
		}
		out.c[k] = make([]float64, dw*dh)
		for y := 0; y < dh; y++ {
			for x := 0; x < dw; x++ {
				s := 0.0
				for t, w := range yw[y] {
					s += w * mid.c[k][(yf[y]+t)*dw+x]
				}
				out.c[k][y*dw+x] = math.Round(max(0, min(255, s)))
			}
		}
	}
	return out
}

// psnr returns the PSNR in dB of got against ref over the three channels.
func psnr(ref, got planes) float64 {
	var se float64
	for k := range 3 {
		for i, v := range ref.c[k] {
			d := v - got.c[k][i]
			se += d * d
		}
	}
	mse := se / float64(3*ref.w*ref.h)
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

// naturalImage makes a photo-like w x h image: fractal value noise with a 1/f spectrum (as
// natural images have) in correlated channels, a few soft-edged shapes in front of it, and
// a little sensor noise. It is deterministic.
func naturalImage(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 7))
	acc := make([]float64, 3*w*h)
	cell := float64(max(w, h)) / 3
	amp := 60.0
	for oct := 0; oct < 8 && cell >= 1; oct++ {
		gw, gh := int(float64(w)/cell)+3, int(float64(h)/cell)+3
		grid := make([]float64, 3*gw*gh)
		for i := range grid {
			grid[i] = rng.Float64()*2 - 1
		}
		for y := 0; y < h; y++ {
			fy := float64(y) / cell
			gy := int(fy)
			ty := fy - float64(gy)
			ty = ty * ty * (3 - 2*ty)
			for x := 0; x < w; x++ {
				fx := float64(x) / cell
				gx := int(fx)
				tx := fx - float64(gx)
				tx = tx * tx * (3 - 2*tx)
				g0, g1 := grid[3*(gy*gw+gx):], grid[3*((gy+1)*gw+gx):]
				for k := range 3 {
					v := (g0[k]*(1-tx)+g0[k+3]*tx)*(1-ty) + (g1[k]*(1-tx)+g1[k+3]*tx)*ty
					acc[3*(y*w+x)+k] += amp * v
				}
			}
		}
		cell /= 2
		amp /= 2
	}
	// Correlated channels: a shared luminance plus two chroma fields.
	rgb := make([]float64, 3*w*h)
	for i := 0; i < len(acc); i += 3 {
		l := acc[i]
		rgb[i], rgb[i+1], rgb[i+2] = 128+l+0.4*acc[i+1], 118+l+0.3*acc[i+2], 105+l-0.4*acc[i+1]
	}
	for range 12 {
		cx, cy := rng.Float64()*float64(w), rng.Float64()*float64(h)
		r := float64(min(w, h)) * (0.02 + 0.12*rng.Float64())
		col := [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
		for y := max(0, int(cy-r-2)); y < min(h, int(cy+r+2)); y++ {
			for x := max(0, int(cx-r-2)); x < min(w, int(cx+r+2)); x++ {
				// A soft edge about 1.5 px wide, as a lens renders one, shaded by
				// the background's luminance.
				dist := math.Hypot(float64(x)-cx, float64(y)-cy) - r
				if a := min(1, max(0, 0.5-dist/1.5)); a > 0 {
					i := 3 * (y*w + x)
					shade := 0.8 + 0.2*acc[i]/60
					for k := range 3 {
						rgb[i+k] = rgb[i+k]*(1-a) + a*col[k]*shade
					}
				}
			}
		}
	}
	m := image.NewRGBA(rect(w, h))
	for i := 0; i < w*h; i++ {
		n := rng.NormFloat64() * 2 // sensor noise
		m.Pix[4*i], m.Pix[4*i+1], m.Pix[4*i+2], m.Pix[4*i+3] = c8(rgb[3*i]+n), c8(rgb[3*i+1]+n), c8(rgb[3*i+2]+n), 0xFF
	}
	return m
}

func c8(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

func encodeJPEG(tb testing.TB, m image.Image, q int) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: q}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, m); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// xImageTestdata returns the testdata folder of the golang.org/x/image module this test
// was built with, from the module cache, or "" when it is not there.
func xImageTestdata() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	for _, d := range bi.Deps {
		if d.Path == "golang.org/x/image" {
			dir := filepath.Join(cache, "golang.org", "x", "image@"+d.Version, "testdata")
			if _, err := os.Stat(dir); err == nil {
				return dir
			}
		}
	}
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/image").Output(); err == nil {
		return filepath.Join(strings.TrimSpace(string(out)), "testdata")
	}
	return ""
}

// psnrCase is one source image of the medium quality check.
type psnrCase struct {
	name string
	data func(t *testing.T) []byte // made in the subtest, which runs in parallel
}

// psnrCases lists the sources: the real photo in x/image's testdata (when the module
// source is in the module cache), the photo-like JPEG of the repository's testdata, and
// synthetic natural images as JPEG and PNG at the sizes of phone photos and screenshots;
// plus $PICBED_PSNR_EXTRA_DIR/*.jpg when set (e.g. bench/out/img, the benchmark photos).
func psnrCases(t *testing.T) []psnrCase {
	var cases []psnrCase
	file := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Skip(err)
			}
			return b
		}
	}
	if dir := xImageTestdata(); dir != "" {
		// A 600x400 photograph of three plush gophers.
		gophers := file(filepath.Join(dir, "blue-purple-pink-large.png"))
		cases = append(cases, psnrCase{"gophers-600x400.png", gophers},
			psnrCase{"gophers-600x400-q92.jpg", func(t *testing.T) []byte {
				m, err := png.Decode(bytes.NewReader(gophers(t)))
				if err != nil {
					t.Fatal(err)
				}
				return encodeJPEG(t, m, 92)
			}})
	} else {
		t.Log("golang.org/x/image's testdata not found: no real photo")
	}
	cases = append(cases,
		psnrCase{"photo.jpg", file(filepath.Join("..", "testdata", "photo.jpg"))}, // 1024x640
		psnrCase{"natural-2400x1600-q92.jpg", func(t *testing.T) []byte { return encodeJPEG(t, naturalImage(2400, 1600, 1), 92) }},
		psnrCase{"natural-1600x1000.png", func(t *testing.T) []byte { return encodePNG(t, naturalImage(1600, 1000, 2)) }},
		psnrCase{"natural-1280x800-q85.jpg", func(t *testing.T) []byte { return encodeJPEG(t, naturalImage(1280, 800, 3), 85) }},
	)
	if dir := os.Getenv("PICBED_PSNR_EXTRA_DIR"); dir != "" {
		m, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
		for _, f := range m {
			cases = append(cases, psnrCase{filepath.Base(f), file(f)})
		}
	}
	return cases
}

// TestMediumPSNRAgainstLanczos checks the medium of each source against a Lanczos-3 resize
// of its full decode (image/jpeg, image/png) to the medium's size. A JPEG medium also
// carries its own encoding loss (quality 90, or up to 97 to keep jpegMinPSNR), which the
// bound includes.
func TestMediumPSNRAgainstLanczos(t *testing.T) {
	for _, c := range psnrCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data := c.data(t)
			res, out := mustProcess(t, data, Options{})
			if res.Width <= DefaultMediumWidth {
				t.Skipf("%d px wide: no medium is due", res.Width)
			}
			if !res.Medium {
				t.Fatal("no medium")
			}
			full, _, err := image.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if res.Width != full.Bounds().Dx() {
				t.Skipf("EXIF orientation: %dx%d", res.Width, res.Height)
			}
			med, _, err := image.Decode(bytes.NewReader(out.medium.Bytes()))
			if err != nil {
				t.Fatalf("medium: %v", err)
			}
			mb := med.Bounds()
			ref := lanczosResize(toPlanes(full), mb.Dx(), mb.Dy())
			p := psnr(ref, toPlanes(med))
			// The resize's own share of the error: the medium before encoding. And the
			// encoding's: the reference itself through the same encoder.
			raw := toPlanes(rawMedium(t, data))
			var refEnc bytes.Buffer
			if err := (encoder{format: res.Format, quality: DefaultQuality}).medium().encode(&refEnc, planesRGBA(ref)); err != nil {
				t.Fatal(err)
			}
			rm, _, err := image.Decode(&refEnc)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%dx%d -> %dx%d %s: PSNR %.2f dB (before encoding %.2f dB; the reference encoded alike %.2f dB)",
				res.Width, res.Height, mb.Dx(), mb.Dy(), res.Format, p, psnr(ref, raw), psnr(ref, toPlanes(rm)))
			if p < minMediumPSNR {
				t.Errorf("medium PSNR %.2f dB < %d dB", p, minMediumPSNR)
			}
		})
	}
}

// rawMedium returns the medium of data as Process computes it, before encoding.
func rawMedium(t *testing.T, data []byte) *image.RGBA {
	t.Helper()
	o, _ := Options{}.withDefaults()
	src := bytes.NewReader(data)
	p, err := probe(src, int64(len(data)), o.MaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := decodeFirst(src, int64(len(data)), p, o.MaxPixels, jpegMinSize(p, o))
	if err != nil {
		t.Fatal(err)
	}
	pyr := newPyramid(img)
	mw := min(o.MediumWidth, p.Width)
	return pyr.scaled(pyr.bounds(), mw, ratioHeight(mw, p.Width, p.Height))
}

func planesRGBA(p planes) *image.RGBA {
	m := image.NewRGBA(rect(p.w, p.h))
	for i := range p.w * p.h {
		m.Pix[4*i], m.Pix[4*i+1], m.Pix[4*i+2], m.Pix[4*i+3] = c8(p.c[0][i]), c8(p.c[1][i]), c8(p.c[2][i]), 0xFF
	}
	return m
}

// BenchmarkFinalResize compares the final resize of a 500 px medium before and after the
// Lanczos-3 resampler, from the pyramid levels each picks: for a 1/4-scale JPEG decode of
// a 4224x3168 photo (1056x792), the old rule halved to 528x396 and ran x/image's
// CatmullRom; the new one resamples 1056x792 directly.
func BenchmarkFinalResize(b *testing.B) {
	src := naturalImage(1056, 792, 5)
	half := halve(src)
	b.Run("catmullrom-from-528", func(b *testing.B) {
		for b.Loop() {
			dst := image.NewRGBA(rect(500, 375))
			xdraw.CatmullRom.Scale(dst, dst.Rect, half, half.Rect, xdraw.Src, nil)
		}
	})
	b.Run("catmullrom-from-1056", func(b *testing.B) {
		for b.Loop() {
			dst := image.NewRGBA(rect(500, 375))
			xdraw.CatmullRom.Scale(dst, dst.Rect, src, src.Rect, xdraw.Src, nil)
		}
	})
	b.Run("lanczos3-from-1056", func(b *testing.B) {
		for b.Loop() {
			resample(src, src.Rect, 500, 375)
		}
	})
}
