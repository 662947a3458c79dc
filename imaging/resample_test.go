package imaging

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// TestResampleMatchesReference compares the fixed-point resampler with the float64
// Lanczos-3 of lanczos_test.go over awkward sizes, shrinking and enlarging, for the RGBA,
// YCbCr, Gray and generic (NRGBA) readers.
func TestResampleMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	src := naturalImage(301, 203, 4)
	ycc := image.NewYCbCr(src.Rect, image.YCbCrSubsampleRatio420)
	gray := image.NewGray(src.Rect)
	nrgba := image.NewNRGBA(src.Rect)
	for y := 0; y < 203; y++ {
		for x := 0; x < 301; x++ {
			c := src.RGBAAt(x, y)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)] = yy
			ci := ycc.COffset(x, y)
			ycc.Cb[ci], ycc.Cr[ci] = cb, cr
			gray.SetGray(x, y, color.Gray{c.G})
			nrgba.SetNRGBA(x, y, color.NRGBA{c.R, c.G, c.B, 0xFF})
		}
	}
	for _, m := range []image.Image{src, ycc, gray, nrgba} {
		ref := toPlanes(m)
		for n := 0; n < 12; n++ {
			dw, dh := 1+rng.IntN(400), 1+rng.IntN(300)
			r := m.Bounds()
			if n%3 == 0 { // a crop, as for thumbnails
				r = image.Rect(rng.IntN(100), rng.IntN(80), 150+rng.IntN(151), 100+rng.IntN(103))
			}
			got := resample(m, r, dw, dh)
			if got.Rect != rect(dw, dh) {
				t.Fatalf("%T: %v", m, got.Rect)
			}
			want := lanczosResize(cropPlanes(ref, r), dw, dh)
			if p := psnr(want, toPlanes(got)); p < 45 {
				t.Errorf("%T %v -> %dx%d: PSNR %.1f dB against float Lanczos-3", m, r, dw, dh, p)
			}
		}
	}
}

func cropPlanes(p planes, r image.Rectangle) planes {
	out := planes{w: r.Dx(), h: r.Dy()}
	for k := range 3 {
		out.c[k] = make([]float64, out.w*out.h)
		for y := 0; y < out.h; y++ {
			copy(out.c[k][y*out.w:(y+1)*out.w], p.c[k][(r.Min.Y+y)*p.w+r.Min.X:])
		}
	}
	return out
}

// TestResamplePremultiplied checks that ringing never leaves colour above alpha, and that
// a fully transparent area stays transparent black.
func TestResamplePremultiplied(t *testing.T) {
	m := image.NewRGBA(rect(64, 64))
	for y := 0; y < 64; y++ {
		for x := 32; x < 64; x++ {
			m.SetRGBA(x, y, color.RGBA{255, 255, 255, 255})
		}
		m.SetRGBA(31, y, color.RGBA{20, 20, 20, 20})
	}
	for _, s := range [][2]int{{20, 20}, {100, 100}, {7, 64}, {64, 3}} {
		got := resample(m, m.Rect, s[0], s[1])
		for i := 0; i < len(got.Pix); i += 4 {
			if a := got.Pix[i+3]; got.Pix[i] > a || got.Pix[i+1] > a || got.Pix[i+2] > a {
				t.Fatalf("%v: pixel %v exceeds its alpha", s, got.Pix[i:i+4])
			}
		}
		if got.Pix[0] != 0 || got.Pix[3] != 0 {
			t.Errorf("%v: transparent corner became %v", s, got.Pix[:4])
		}
	}
}
