package jpegscale

import "math"

// Fixed-point constants of the Loeffler-Ligtenberg-Moschytz 8-point IDCT (ITU T.81 A.3.3
// defines the transform; the factorisation is the classic LLM one), scaled by 2^13.
const (
	constBits = 13
	pass1Bits = 2

	fix0298631336 = 2446
	fix0390180644 = 3196
	fix0541196100 = 4433
	fix0765366865 = 6270
	fix0899976223 = 7373
	fix1175875602 = 9633
	fix1501321110 = 12299
	fix1847759065 = 15137
	fix1961570560 = 16069
	fix2053119869 = 16819
	fix2562915447 = 20995
	fix3072711026 = 25172
)

func clamp8(v int32) uint8 {
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

// idct8 transforms the dequantised coefficients in (natural order, 8x8) and writes 8x8
// samples to dst at stride.
func idct8(in *[64]int32, dst []uint8, stride int) {
	var ws [64]int32
	// Pass 1: columns.
	for c := 0; c < 8; c++ {
		if in[c+8] == 0 && in[c+16] == 0 && in[c+24] == 0 && in[c+32] == 0 &&
			in[c+40] == 0 && in[c+48] == 0 && in[c+56] == 0 {
			dc := in[c] << pass1Bits
			for r := 0; r < 64; r += 8 {
				ws[c+r] = dc
			}
			continue
		}
		z2, z3 := in[c+16], in[c+48]
		z1 := (z2 + z3) * fix0541196100
		t2 := z1 - z3*fix1847759065
		t3 := z1 + z2*fix0765366865
		z2, z3 = in[c], in[c+32]
		t0 := (z2 + z3) << constBits
		t1 := (z2 - z3) << constBits
		t10, t13 := t0+t3, t0-t3
		t11, t12 := t1+t2, t1-t2

		o0, o1, o2, o3 := in[c+56], in[c+40], in[c+24], in[c+8]
		a1 := o0 + o3
		a2 := o1 + o2
		a3 := o0 + o2
		a4 := o1 + o3
		a5 := (a3 + a4) * fix1175875602
		o0 *= fix0298631336
		o1 *= fix2053119869
		o2 *= fix3072711026
		o3 *= fix1501321110
		a1 *= -fix0899976223
		a2 *= -fix2562915447
		a3 = a3*-fix1961570560 + a5
		a4 = a4*-fix0390180644 + a5
		o0 += a1 + a3
		o1 += a2 + a4
		o2 += a2 + a3
		o3 += a1 + a4

		const sh = constBits - pass1Bits
		const rnd = 1 << (sh - 1)
		ws[c] = (t10 + o3 + rnd) >> sh
		ws[c+56] = (t10 - o3 + rnd) >> sh
		ws[c+8] = (t11 + o2 + rnd) >> sh
		ws[c+48] = (t11 - o2 + rnd) >> sh
		ws[c+16] = (t12 + o1 + rnd) >> sh
		ws[c+40] = (t12 - o1 + rnd) >> sh
		ws[c+24] = (t13 + o0 + rnd) >> sh
		ws[c+32] = (t13 - o0 + rnd) >> sh
	}
	// Pass 2: rows.
	const sh = constBits + pass1Bits + 3
	const rnd = 1<<(sh-1) + 128<<sh
	for r := 0; r < 8; r++ {
		w := ws[r*8 : r*8+8 : r*8+8]
		d := dst[r*stride : r*stride+8 : r*stride+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := clamp8((w[0] + (1<<(pass1Bits+2) + 128<<(pass1Bits+3))) >> (pass1Bits + 3))
			for i := range d {
				d[i] = v
			}
			continue
		}
		z2, z3 := w[2], w[6]
		z1 := (z2 + z3) * fix0541196100
		t2 := z1 - z3*fix1847759065
		t3 := z1 + z2*fix0765366865
		t0 := (w[0] + w[4]) << constBits
		t1 := (w[0] - w[4]) << constBits
		t10, t13 := t0+t3, t0-t3
		t11, t12 := t1+t2, t1-t2

		o0, o1, o2, o3 := w[7], w[5], w[3], w[1]
		a1 := o0 + o3
		a2 := o1 + o2
		a3 := o0 + o2
		a4 := o1 + o3
		a5 := (a3 + a4) * fix1175875602
		o0 *= fix0298631336
		o1 *= fix2053119869
		o2 *= fix3072711026
		o3 *= fix1501321110
		a1 *= -fix0899976223
		a2 *= -fix2562915447
		a3 = a3*-fix1961570560 + a5
		a4 = a4*-fix0390180644 + a5
		o0 += a1 + a3
		o1 += a2 + a4
		o2 += a2 + a3
		o3 += a1 + a4

		d[0] = clamp8((t10 + o3 + rnd) >> sh)
		d[7] = clamp8((t10 - o3 + rnd) >> sh)
		d[1] = clamp8((t11 + o2 + rnd) >> sh)
		d[6] = clamp8((t11 - o2 + rnd) >> sh)
		d[2] = clamp8((t12 + o1 + rnd) >> sh)
		d[5] = clamp8((t12 - o1 + rnd) >> sh)
		d[3] = clamp8((t13 + o0 + rnd) >> sh)
		d[4] = clamp8((t13 - o0 + rnd) >> sh)
	}
}

// Reduced transforms. For an output of n x n samples from an 8x8 block, sample i of a row
// is the average over its 8/n source samples of the continuous IDCT restricted to the n
// lowest frequencies: redN[i][u] = C(u)/2 * mean over x in group i of cos((2x+1)u*pi/16),
// so the result approximates the area average of the full-scale decode.
var red4, red2 [4][4]int32

func init() {
	build := func(n int, m *[4][4]int32) {
		g := 8 / n
		for i := 0; i < n; i++ {
			for u := 0; u < n; u++ {
				cu := 1.0
				if u == 0 {
					cu = 1 / math.Sqrt2
				}
				s := 0.0
				for x := i * g; x < (i+1)*g; x++ {
					s += math.Cos(float64(2*x+1) * float64(u) * math.Pi / 16)
				}
				m[i][u] = int32(math.Round(cu / 2 * s / float64(g) * (1 << constBits)))
			}
		}
	}
	build(4, &red4)
	build(2, &red2)
}

// idct4 writes 4x4 samples from the top-left 4x4 coefficients, stored with stride 4 in in.
func idct4(in *[64]int32, dst []uint8, stride int) {
	var ws [16]int32
	const sh1 = constBits - pass1Bits
	for c := 0; c < 4; c++ {
		f0, f1, f2, f3 := in[c], in[c+4], in[c+8], in[c+12]
		for y := 0; y < 4; y++ {
			m := &red4[y]
			ws[y*4+c] = (m[0]*f0 + m[1]*f1 + m[2]*f2 + m[3]*f3 + 1<<(sh1-1)) >> sh1
		}
	}
	const sh = constBits + pass1Bits
	const rnd = 1<<(sh-1) + 128<<sh
	for y := 0; y < 4; y++ {
		f0, f1, f2, f3 := ws[y*4], ws[y*4+1], ws[y*4+2], ws[y*4+3]
		d := dst[y*stride : y*stride+4 : y*stride+4]
		for x := 0; x < 4; x++ {
			m := &red4[x]
			d[x] = clamp8((m[0]*f0 + m[1]*f1 + m[2]*f2 + m[3]*f3 + rnd) >> sh)
		}
	}
}

// idct2 writes 2x2 samples from the top-left 2x2 coefficients, stored with stride 2 in in.
func idct2(in *[64]int32, dst []uint8, stride int) {
	const sh1 = constBits - pass1Bits
	const sh = constBits + pass1Bits
	const rnd = 1<<(sh-1) + 128<<sh
	a, b := red2[0][0], red2[0][1] // red2[1][0] == a, red2[1][1] == -b
	f00, f01, f10, f11 := in[0], in[1], in[2], in[3]
	c0 := (a*f00 + 1<<(sh1-1)) >> sh1 // column 0 contributions: DC part
	r0 := (b*f10 + 1<<(sh1-1)) >> sh1
	c1 := (a*f01 + 1<<(sh1-1)) >> sh1
	r1 := (b*f11 + 1<<(sh1-1)) >> sh1
	// ws[y][u]: u=0 -> c0 +/- r0, u=1 -> c1 +/- r1
	w00, w10 := c0+r0, c0-r0
	w01, w11 := c1+r1, c1-r1
	dst[0] = clamp8((a*w00 + b*w01 + rnd) >> sh)
	dst[1] = clamp8((a*w00 - b*w01 + rnd) >> sh)
	dst[stride] = clamp8((a*w10 + b*w11 + rnd) >> sh)
	dst[stride+1] = clamp8((a*w10 - b*w11 + rnd) >> sh)
}

// idct1 writes the block mean.
func idct1(in *[64]int32, dst []uint8, _ int) {
	dst[0] = clamp8((in[0]+4)>>3 + 128)
}
