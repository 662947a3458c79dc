package jpegscale

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refIDCT is the T.81 A.3.3 inverse DCT in float64, evaluated on an n x n grid of area
// averages (n = 8 gives the plain transform), plus the level shift.
func refIDCT(in *[64]int32, n int) []float64 {
	out := make([]float64, n*n)
	g := 8 / n
	for oy := 0; oy < n; oy++ {
		for ox := 0; ox < n; ox++ {
			sum := 0.0
			for y := oy * g; y < (oy+1)*g; y++ {
				for x := ox * g; x < (ox+1)*g; x++ {
					v := 0.0
					for fv := 0; fv < 8; fv++ {
						for fu := 0; fu < 8; fu++ {
							cu, cv := 1.0, 1.0
							if fu == 0 {
								cu = 1 / math.Sqrt2
							}
							if fv == 0 {
								cv = 1 / math.Sqrt2
							}
							v += cu * cv * float64(in[fv*8+fu]) *
								math.Cos(float64(2*x+1)*float64(fu)*math.Pi/16) *
								math.Cos(float64(2*y+1)*float64(fv)*math.Pi/16)
						}
					}
					sum += v / 4
				}
			}
			out[oy*n+ox] = math.Max(0, math.Min(255, sum/float64(g*g)+128))
		}
	}
	return out
}

// TestIDCT checks the integer transforms against the float definition on random blocks
// whose coefficients all lie in the kept n x n corner: the 8x8 transform within 1 level and
// the reduced ones (exact area averages of the band-limited block) within 1 level (worst
// measured 0.64 over 2000 blocks of each size: rounding, the fixed-point error is smaller).
func TestIDCT(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fns := map[int]func(*[64]int32, []uint8, int){8: idct8, 4: idct4, 2: idct2, 1: idct1}
	for _, n := range []int{8, 4, 2, 1} {
		worst := 0.0
		for iter := 0; iter < 600; iter++ {
			var full, packed [64]int32
			amp := []int32{4, 64, 400, 1024}[iter%4]
			for v := 0; v < n; v++ {
				for u := 0; u < n; u++ {
					c := rng.Int32N(2*amp+1) - amp
					if u+v > 0 && rng.IntN(3) == 0 {
						c = 0
					}
					full[v*8+u] = c
					packed[v*n+u] = c
				}
			}
			ref := refIDCT(&full, n)
			dst := make([]uint8, n*n)
			fns[n](&packed, dst, n)
			for i := range dst {
				worst = math.Max(worst, math.Abs(float64(dst[i])-ref[i]))
			}
		}
		t.Logf("%dx%d: worst |int - float| = %.3f", n, n, worst)
		if worst > 1 {
			t.Errorf("%dx%d: worst difference %.3f > 1", n, n, worst)
		}
	}
}
