package imaging

import (
	"image"
	"image/draw"
	"math"
)

// The final resize of every derived image: a separable Lanczos-3 filter, in 14-bit fixed
// point on premultiplied RGBA, widened by the scale factor when shrinking so that it
// low-passes at the output's Nyquist frequency (as libvips's reduce does). It follows the
// cheap box pre-shrink (the pyramid, and jpegscale's reduced DCTs), which stops while the
// image is still at least twice the target: lanczos_test.go measures the 500 px mediums of
// the benchmark photos at 51-67 dB from a float64 Lanczos-3 of the full decode this way,
// where box-halving down to under twice the target and CatmullRom at nearly 1:1 gave
// 37-50 dB.

const (
	resampleBits = 14
	resampleOne  = 1 << resampleBits
	lanczosLobes = 3
)

func lanczosKernel(x float64) float64 {
	x = math.Abs(x)
	if x < 1e-9 {
		return 1
	}
	if x >= lanczosLobes {
		return 0
	}
	px := math.Pi * x
	return lanczosLobes * math.Sin(px) * math.Sin(px/lanczosLobes) / (px * px)
}

// resampleAxis holds the filter taps along one axis: output i reads count[i] source samples
// from start[i] with the weights w[i*n:], which sum to resampleOne.
type resampleAxis struct {
	n     int
	start []int
	count []int
	w     []int32
}

// newResampleAxis makes the taps from sn source samples to dn outputs. Output i is centred
// at (i+0.5)*sn/dn - 0.5 in the source; taps beyond the edges are dropped and the rest
// renormalised.
func newResampleAxis(sn, dn int) resampleAxis {
	scale := float64(sn) / float64(dn)
	fs := max(scale, 1)
	support := lanczosLobes * fs
	n := min(sn, int(math.Ceil(2*support))+1)
	a := resampleAxis{n: n, start: make([]int, dn), count: make([]int, dn), w: make([]int32, n*dn)}
	f := make([]float64, n)
	for i := range dn {
		c := (float64(i)+0.5)*scale - 0.5
		lo := max(0, int(math.Ceil(c-support)))
		hi := min(sn-1, int(math.Floor(c+support)), lo+n-1)
		if hi < lo { // only when the centre falls outside the source (never for sn >= 1)
			lo, hi = min(max(0, int(c)), sn-1), min(max(0, int(c)), sn-1)
		}
		sum := 0.0
		for j := lo; j <= hi; j++ {
			f[j-lo] = lanczosKernel((float64(j) - c) / fs)
			sum += f[j-lo]
		}
		w := a.w[i*n : i*n+hi-lo+1]
		total, peak := int32(0), 0
		for k := range w {
			w[k] = int32(math.Round(f[k] / sum * resampleOne))
			total += w[k]
			if w[k] > w[peak] {
				peak = k
			}
		}
		w[peak] += resampleOne - total // exact unity gain
		a.start[i], a.count[i] = lo, hi-lo+1
	}
	return a
}

// Pixels travel through the resampler as two 64-bit words with two 32-bit lanes each,
// red|blue<<32 and green|alpha<<32, so that one multiply by a (signed) weight scales two
// channels. A sum of weighted words holds both lane sums exactly while each is below 2^31
// in magnitude: the low lane is the sign-extended low 32 bits and the high lane what remains.
// Source samples are 8-bit; after the vertical pass they are kept with midBits more bits.
const midBits = 6

func lanes(v int64) (lo, hi int64) {
	lo = int64(int32(v))
	return lo, (v - lo) >> 32
}

// rowFiller writes row y (relative to the region) of the source region as packed words.
type rowFiller func(y int, rb, ga []int64)

// newRowFiller reads the region r of m. RGBA, Gray and YCbCr (every JPEG) are read
// directly, so none needs a full-size RGBA copy; other types are converted a row at a time.
// For YCbCr it returns ycc true: the lanes then carry Y|Cb<<32 and Cr|255<<32, filtered as
// they are (the conversion to RGB is affine, so filtering commutes with it) and converted
// once per output pixel instead of once per source pixel.
func newRowFiller(m image.Image, r image.Rectangle) (fill rowFiller, ycc bool) {
	w := r.Dx()
	switch m := m.(type) {
	case *image.RGBA:
		return func(y int, rb, ga []int64) {
			o := m.PixOffset(r.Min.X, r.Min.Y+y)
			p := m.Pix[o : o+4*w]
			rb, ga = rb[:w], ga[:w]
			for x := range rb {
				q := p[4*x : 4*x+4 : 4*x+4]
				rb[x] = int64(q[0]) | int64(q[2])<<32
				ga[x] = int64(q[1]) | int64(q[3])<<32
			}
		}, false
	case *image.Gray:
		return func(y int, rb, ga []int64) {
			o := m.PixOffset(r.Min.X, r.Min.Y+y)
			p := m.Pix[o : o+w]
			rb, ga = rb[:w], ga[:w]
			for x, v := range p {
				rb[x] = int64(v) | int64(v)<<32
				ga[x] = int64(v) | 255<<32
			}
		}, false
	case *image.YCbCr:
		hs, vs := 0, 0 // chroma subsampling shifts
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio422:
			hs = 1
		case image.YCbCrSubsampleRatio420:
			hs, vs = 1, 1
		case image.YCbCrSubsampleRatio440:
			vs = 1
		case image.YCbCrSubsampleRatio411:
			hs = 2
		case image.YCbCrSubsampleRatio410:
			hs, vs = 2, 1
		}
		return func(y int, rb, ga []int64) {
			sy := r.Min.Y + y
			yi := m.YOffset(r.Min.X, sy)
			yrow := m.Y[yi : yi+w]
			co := (sy>>vs-m.Rect.Min.Y>>vs)*m.CStride - m.Rect.Min.X>>hs
			rb, ga = rb[:w], ga[:w]
			for x, v := range yrow {
				ci := co + (r.Min.X+x)>>hs
				rb[x] = int64(v) | int64(m.Cb[ci])<<32
				ga[x] = int64(m.Cr[ci]) | 255<<32
			}
		}, true
	}
	row := image.NewRGBA(rect(w, 1))
	return func(y int, rb, ga []int64) {
		draw.Draw(row, row.Rect, m, image.Pt(r.Min.X, r.Min.Y+y), draw.Src)
		rb, ga = rb[:w], ga[:w]
		for x := range rb {
			q := row.Pix[4*x : 4*x+4 : 4*x+4]
			rb[x] = int64(q[0]) | int64(q[2])<<32
			ga[x] = int64(q[1]) | int64(q[3])<<32
		}
	}, false
}

// resample returns the part r of m (in m's coordinates) resized to dw x dh. Each output row
// is filtered vertically from a ring of converted source rows (each source row is
// converted once), then horizontally.
func resample(m image.Image, r image.Rectangle, dw, dh int) *image.RGBA {
	sw, sh := r.Dx(), r.Dy()
	ax, ay := newResampleAxis(sw, dw), newResampleAxis(sh, dh)
	fill, ycc := newRowFiller(m, r)
	ringN := ay.n
	ring := make([]int64, 2*sw*ringN)
	ringRow := func(j int) (rb, ga []int64) {
		o := 2 * sw * (j % ringN)
		return ring[o : o+sw], ring[o+sw : o+2*sw]
	}
	acc := make([]int64, 2*sw)
	accRB, accGA := acc[:sw], acc[sw:]
	dst := image.NewRGBA(rect(dw, dh))
	next := 0 // the next source row to convert
	const (
		midMax = 255 << midBits
		vShift = resampleBits - midBits
		hShift = resampleBits + midBits
		vRound = 1 << (vShift - 1)
		hRound = 1 << (hShift - 1)
	)
	for y := 0; y < dh; y++ {
		lo, n := ay.start[y], ay.count[y]
		for ; next < lo+n; next++ {
			rb, ga := ringRow(next)
			fill(next, rb, ga)
		}
		clear(acc)
		ws := ay.w[y*ay.n : y*ay.n+n]
		t := 0
		for ; t+1 < len(ws); t += 2 {
			w0, w1 := int64(ws[t]), int64(ws[t+1])
			rb0, ga0 := ringRow(lo + t)
			rb1, ga1 := ringRow(lo + t + 1)
			rb0, ga0, rb1, ga1 = rb0[:sw], ga0[:sw], rb1[:sw], ga1[:sw]
			for x := range accRB {
				accRB[x] += w0*rb0[x] + w1*rb1[x]
			}
			for x := range accGA {
				accGA[x] += w0*ga0[x] + w1*ga1[x]
			}
		}
		if t < len(ws) {
			w0 := int64(ws[t])
			rb0, ga0 := ringRow(lo + t)
			rb0, ga0 = rb0[:sw], ga0[:sw]
			for x := range accRB {
				accRB[x] += w0 * rb0[x]
			}
			for x := range accGA {
				accGA[x] += w0 * ga0[x]
			}
		}
		// Round to midBits fraction bits and clamp, in place.
		for i, v := range acc {
			l, h := lanes(v)
			l = min(midMax, max(0, (l+vRound)>>vShift))
			h = min(midMax, max(0, (h+vRound)>>vShift))
			acc[i] = l | h<<32
		}
		out := dst.Pix[y*dst.Stride : y*dst.Stride+4*dw]
		for x := 0; x < dw; x++ {
			ws := ax.w[x*ax.n : x*ax.n+ax.count[x]]
			s := ax.start[x]
			rb, ga := accRB[s:s+len(ws)], accGA[s:s+len(ws)]
			var a0, a1 int64
			for t, w := range ws {
				a0 += int64(w) * rb[t]
				a1 += int64(w) * ga[t]
			}
			q := out[4*x : 4*x+4 : 4*x+4]
			if ycc {
				yy, cb := lanes(a0)
				cr, _ := lanes(a1)
				// To 1/256 units, then JFIF YCbCr to RGB in 16-bit fixed point.
				const s8, r8 = hShift - 8, 1 << (hShift - 9)
				yy = min(255<<8, max(0, (yy+r8)>>s8)) << 16
				cb = (cb+r8)>>s8 - 128<<8
				cr = (cr+r8)>>s8 - 128<<8
				const round = 1 << 23
				q[0] = uint8(min(255, max(0, (yy+91881*cr+round)>>24)))
				q[1] = uint8(min(255, max(0, (yy-22554*cb-46802*cr+round)>>24)))
				q[2] = uint8(min(255, max(0, (yy+116130*cb+round)>>24)))
				q[3] = 0xFF
				continue
			}
			cr, cb := lanes(a0)
			cg, ca := lanes(a1)
			al := min(255, max(0, (ca+hRound)>>hShift))
			q[0] = uint8(min(al, max(0, (cr+hRound)>>hShift)))
			q[1] = uint8(min(al, max(0, (cg+hRound)>>hShift)))
			q[2] = uint8(min(al, max(0, (cb+hRound)>>hShift)))
			q[3] = uint8(al)
		}
	}
	return dst
}
