package imaging

import (
	"errors"
	"image"
	"io"
	"math"
	"math/bits"
)

// A baseline JPEG encoder for 4:4:4 output, used for derived images at quality 90 and above.
//
// image/jpeg always subsamples chroma 2x2 (4:2:0). At quality 90 that costs more than the
// quantisation does on colourful detail: a 500 px medium of the repository's 1024x640
// testdata/photo.jpg is 35.9 dB from a Lanczos-3 reference when the reference itself goes
// through image/jpeg at q90, and 39.4 dB through a 4:4:4 encoder (libjpeg via libvips); see
// lanczos_test.go. libvips makes the same choice: its jpegsave subsamples only below Q 90.
//
// The encoder is two-pass: the first converts, transforms and quantises the blocks into a
// compact stream of Huffman symbols with their extra bits while counting the symbols, the
// second writes the stream with Huffman tables optimal for this image (ITU T.81 Annex K.2),
// which makes files 5-10% smaller than the example tables of Annex K would. The stream is
// about one 32-bit word per non-zero coefficient plus one per block, so a 500 px medium needs
// a few hundred kilobytes of it.

// jpegMaxSide is the largest side a JPEG frame header can hold.
const jpegMaxSide = 65535

// Annex K's example quantisation tables (luminance, chrominance), in natural order; they are
// scaled by quality as libjpeg (and image/jpeg) do.
var jpegBaseQuant = [2][64]uint16{{
	16, 11, 10, 16, 24, 40, 51, 61,
	12, 12, 14, 19, 26, 58, 60, 55,
	14, 13, 16, 24, 40, 57, 69, 56,
	14, 17, 22, 29, 51, 87, 80, 62,
	18, 22, 37, 56, 68, 109, 103, 77,
	24, 35, 55, 64, 81, 104, 113, 92,
	49, 64, 78, 87, 103, 121, 120, 101,
	72, 92, 95, 98, 112, 100, 103, 99,
}, {
	17, 18, 24, 47, 99, 99, 99, 99,
	18, 21, 26, 66, 99, 99, 99, 99,
	24, 26, 56, 99, 99, 99, 99, 99,
	47, 66, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99,
}}

// jpegZigzag[k] is the natural-order index of the k-th coefficient in zigzag order.
var jpegZigzag = func() (z [64]uint8) {
	k := 0
	for s := 0; s < 15; s++ { // anti-diagonals u+v = s
		for i := 0; i <= s; i++ {
			u := i // row index when going down-left (odd s), column when going up-right
			if s%2 == 0 {
				u = s - i
			}
			v := s - u
			if u < 8 && v < 8 {
				z[k] = uint8(u*8 + v)
				k++
			}
		}
	}
	return z
}()

// jpegAAN[k] is the scale factor of the k-th output of the AAN forward DCT: cos(k*pi/16)*sqrt(2),
// 1 for k = 0.
var jpegAAN = func() (a [8]float64) {
	a[0] = 1
	for k := 1; k < 8; k++ {
		a[k] = math.Cos(float64(k)*math.Pi/16) * math.Sqrt2
	}
	return a
}()

// jpegQuantTables returns the luminance and chrominance tables for quality q (1-100), in
// natural order.
func jpegQuantTables(q int) (t [2][64]uint16) {
	q = max(1, min(100, q))
	scale := 200 - 2*q
	if q < 50 {
		scale = 5000 / q
	}
	for i := range t {
		for j, b := range jpegBaseQuant[i] {
			t[i][j] = uint16(max(1, min(255, (int(b)*scale+50)/100)))
		}
	}
	return t
}

// fdct8x8 is the separable AAN forward DCT (Arai, Agui and Nakajima) on a block in natural
// order, rows then columns. Output (u,v) is 8*jpegAAN[u]*jpegAAN[v] times the DCT
// coefficient T.81 defines; the quantiser divides that out.
func fdct8x8(b *[64]float32) {
	for i := 0; i < 64; i += 8 {
		fdct8(b, i, 1)
	}
	for i := 0; i < 8; i++ {
		fdct8(b, i, 8)
	}
}

// fdct8 transforms the 8 values b[o], b[o+s], ..., b[o+7s] in place.
func fdct8(b *[64]float32, o, s int) {
	d0, d1, d2, d3 := b[o], b[o+s], b[o+2*s], b[o+3*s]
	d4, d5, d6, d7 := b[o+4*s], b[o+5*s], b[o+6*s], b[o+7*s]
	t0, t7 := d0+d7, d0-d7
	t1, t6 := d1+d6, d1-d6
	t2, t5 := d2+d5, d2-d5
	t3, t4 := d3+d4, d3-d4

	// Even part.
	t10, t13 := t0+t3, t0-t3
	t11, t12 := t1+t2, t1-t2
	b[o] = t10 + t11
	b[o+4*s] = t10 - t11
	z1 := (t12 + t13) * 0.707106781
	b[o+2*s] = t13 + z1
	b[o+6*s] = t13 - z1

	// Odd part.
	t10 = t4 + t5
	t11 = t5 + t6
	t12 = t6 + t7
	z5 := (t10 - t12) * 0.382683433
	z2 := 0.541196100*t10 + z5
	z4 := 1.306562965*t12 + z5
	z3 := t11 * 0.707106781
	z11, z13 := t7+z3, t7-z3
	b[o+5*s] = z13 + z2
	b[o+3*s] = z13 - z2
	b[o+1*s] = z11 + z4
	b[o+7*s] = z11 - z4
}

// jpegHuff is one Huffman table: the counts of codes of each length 1-16 and the symbols
// in code order (as DHT stores them), and each symbol's code and length.
type jpegHuff struct {
	bits [17]uint8 // bits[l] codes of length l
	vals []uint8
	code [256]uint16
	size [256]uint8
}

// optimalHuffman builds a length-limited Huffman table for symbol frequencies freq, by the
// procedure of T.81 Annex K.2: one extra symbol (256) of frequency 1 reserves the all-ones
// code, lengths over 16 are folded back, and the reserved code is then dropped.
func optimalHuffman(freq *[256]int) *jpegHuff {
	f := make([]int, 257)
	copy(f, freq[:])
	f[256] = 1
	codesize, bits := huffmanCodeSizes(f, 16)
	i := 16
	for bits[i] == 0 {
		i--
	}
	bits[i]-- // the reserved code
	h := &jpegHuff{}
	for l := 1; l <= 16; l++ {
		h.bits[l] = uint8(bits[l])
	}
	for l := 1; l < len(bits); l++ {
		for s := 0; s < 256; s++ {
			if codesize[s] == l {
				h.vals = append(h.vals, uint8(s))
			}
		}
	}
	// Annex C: codes are assigned in order of length, consecutively.
	code, k := 0, 0
	for l := 1; l <= 16; l++ {
		for n := 0; n < int(h.bits[l]); n++ {
			s := h.vals[k]
			h.code[s], h.size[s] = uint16(code), uint8(l)
			code++
			k++
		}
		code <<= 1
	}
	return h
}

// jpegBits is an entropy-coded segment writer with 0xFF byte stuffing.
type jpegBits struct {
	buf []byte
	acc uint64
	n   uint // pending bits in the low end of acc
}

func (b *jpegBits) put(v uint32, n uint) {
	b.acc = b.acc<<n | uint64(v)&(1<<n-1)
	b.n += n
	for b.n >= 8 {
		b.n -= 8
		c := byte(b.acc >> b.n)
		if c == 0xFF {
			b.buf = append(b.buf, 0xFF, 0)
		} else {
			b.buf = append(b.buf, c)
		}
	}
}

// flush pads the last byte with one bits.
func (b *jpegBits) flush() {
	if b.n > 0 {
		b.put(1<<(8-b.n)-1, 8-b.n)
	}
}

// A token of the symbol stream: table<<24 | symbol<<16 | extra bits. Tables: 0 luminance
// DC, 1 luminance AC, 2 chrominance DC, 3 chrominance AC. The number of extra bits is the
// symbol for DC and its low nibble for AC.
const (
	tokDCY, tokACY, tokDCC, tokACC = 0, 1, 2, 3
)

// bitLen returns the magnitude category of v: the bit length of |v|.
func bitLen(v int32) uint32 {
	if v < 0 {
		v = -v
	}
	return uint32(bits.Len32(uint32(v)))
}

// extraBits returns the low cat bits T.81 sends after a category: v itself when positive,
// v-1 (its ones' complement) when negative.
func extraBits(v int32, cat uint32) uint32 {
	if v < 0 {
		v--
	}
	return uint32(v) & (1<<cat - 1)
}

// encodeJPEG444 writes m, which must be opaque, as a baseline 4:4:4 YCbCr JPEG of quality
// q with optimal Huffman tables and no metadata.
func encodeJPEG444(w io.Writer, m *image.RGBA, q int) error {
	b, _, err := appendJPEG444(nil, m, q, false)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// appendJPEG444 appends the JPEG encodeJPEG444 writes to dst. With measure, it also
// returns the PSNR in dB that quantisation leaves, against m's pixels (about 6% of the
// encode's time; +Inf without measure): T.81's DCT is orthonormal, so the
// squared error of each colour plane equals the sum over its coefficients of
// (coefficient - quantised coefficient)², known exactly while quantising; the planes'
// errors are carried to RGB with the squared weights of the YCbCr to RGB conversion
// (independent errors), and a decoder's rounding is added. Clamping is left out, and the
// replicated pixels of partial edge blocks count like real ones: TestJPEGPSNREstimate
// finds the estimate within 0.5 dB of the PSNR measured after image/jpeg's decode.
func appendJPEG444(dst []byte, m *image.RGBA, q int, measure bool) (_ []byte, psnr float64, err error) {
	bw, bh := m.Rect.Dx(), m.Rect.Dy()
	if bw <= 0 || bh <= 0 || bw > jpegMaxSide || bh > jpegMaxSide {
		return dst, 0, errors.New("jpeg: image size out of range")
	}
	qt := jpegQuantTables(q)
	div := jpegDivisors(&qt)
	// Squared rounding remainders of the quantised coefficients, per plane and position,
	// in units of that position's quantiser step squared.
	var sqRem [3][64]float32
	nbx, nby := (bw+7)/8, (bh+7)/8
	toks := make([]uint32, 0, nbx*nby*3*8)
	var freq [4][256]int
	var pred [3]int32
	var blk [3][64]float32
	for by := 0; by < nby; by++ {
		for bx := 0; bx < nbx; bx++ {
			loadJPEGBlock(m, bx, by, &blk)
			for c := 0; c < 3; c++ {
				fdct8x8(&blk[c])
				t := min(c, 1)
				dcTab, acTab := uint32(tokDCY), uint32(tokACY)
				if c > 0 {
					dcTab, acTab = tokDCC, tokACC
				}
				d := &div[t]
				// Quantise in zigzag order, rounding to nearest without a branch (the
				// values are far above -16384), and note the non-zero AC coefficients.
				var zz [64]int32
				var nz uint64
				for k, n := range jpegZigzag {
					v := int32(float64(blk[c][n]*d[n])+16384.5) - 16384
					zz[k] = v
					if v != 0 {
						nz |= 1 << k
					}
				}
				if measure {
					addQuantRemainders(&sqRem[c], &blk[c], d)
				}
				dc := max(-2047, min(2047, zz[0]))
				diff := max(-2047, min(2047, dc-pred[c]))
				pred[c] = pred[c] + diff
				cat := bitLen(diff)
				toks = append(toks, dcTab<<24|cat<<16|extraBits(diff, cat))
				freq[dcTab][cat]++
				last := 0
				for ac := nz &^ 1; ac != 0; ac &= ac - 1 {
					k := bits.TrailingZeros64(ac)
					run := uint32(k - last - 1)
					last = k
					for run > 15 {
						toks = append(toks, acTab<<24|0xF0<<16)
						freq[acTab][0xF0]++
						run -= 16
					}
					v := max(-1023, min(1023, zz[k]))
					cat := bitLen(v)
					sym := run<<4 | cat
					toks = append(toks, acTab<<24|sym<<16|extraBits(v, cat))
					freq[acTab][sym]++
				}
				run := 63 - last
				if run > 0 {
					toks = append(toks, acTab<<24) // EOB
					freq[acTab][0]++
				}
			}
		}
	}

	var huff [4]*jpegHuff
	for i := range huff {
		huff[i] = optimalHuffman(&freq[i])
	}

	hdr := dst
	hdr = append(hdr, 0xFF, 0xD8) // SOI
	hdr = append(hdr, 0xFF, 0xDB, 0, 2+2*65)
	for t := range qt {
		hdr = append(hdr, byte(t))
		for _, n := range jpegZigzag {
			hdr = append(hdr, byte(qt[t][n]))
		}
	}
	hdr = append(hdr, 0xFF, 0xC0, 0, 8+3*3, 8, byte(bh>>8), byte(bh), byte(bw>>8), byte(bw), 3,
		1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1)
	dhtLen := 2
	for _, h := range huff {
		dhtLen += 17 + len(h.vals)
	}
	hdr = append(hdr, 0xFF, 0xC4, byte(dhtLen>>8), byte(dhtLen))
	for i, h := range huff {
		// Tc (0 DC, 1 AC) and Th (0 luminance, 1 chrominance).
		hdr = append(hdr, byte(i%2)<<4|byte(i/2))
		hdr = append(hdr, h.bits[1:]...)
		hdr = append(hdr, h.vals...)
	}
	hdr = append(hdr, 0xFF, 0xDA, 0, 6+2*3, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0)

	out := jpegBits{buf: hdr}
	for _, tk := range toks {
		h := huff[tk>>24]
		sym := uint8(tk >> 16)
		out.put(uint32(h.code[sym]), uint(h.size[sym]))
		n := uint(sym)
		if tk>>24&1 == 1 { // AC
			n = uint(sym & 15)
		}
		if n > 0 {
			out.put(tk&0xFFFF, n)
		}
	}
	out.flush()
	out.buf = append(out.buf, 0xFF, 0xD9) // EOI

	if !measure {
		return out.buf, math.Inf(1), nil
	}
	return out.buf, quantPSNR(&sqRem, &qt, nbx*nby), nil
}

// jpegDivisors returns the factors that take fdct8x8's output to quantised units of qt.
func jpegDivisors(qt *[2][64]uint16) (div [2][64]float32) {
	for t := range div {
		for i := range div[t] {
			div[t][i] = float32(1 / (float64(qt[t][i]) * jpegAAN[i/8] * jpegAAN[i%8] * 8))
		}
	}
	return div
}

// loadJPEGBlock converts the 8x8 block (bx, by) of m to level-shifted JFIF YCbCr (full
// range), repeating the last column and row into partial blocks.
func loadJPEGBlock(m *image.RGBA, bx, by int, blk *[3][64]float32) {
	bw, bh := m.Rect.Dx(), m.Rect.Dy()
	for y := 0; y < 8; y++ {
		sy := min(by*8+y, bh-1)
		row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+sy):]
		for x := 0; x < 8; x++ {
			sx := min(bx*8+x, bw-1)
			p := row[4*sx : 4*sx+3 : 4*sx+3]
			r, g, b := float32(p[0]), float32(p[1]), float32(p[2])
			i := y*8 + x
			blk[0][i] = 0.299*r + 0.587*g + 0.114*b - 128
			blk[1][i] = -0.168735892*r - 0.331264108*g + 0.5*b
			blk[2][i] = 0.5*r - 0.418687589*g - 0.081312411*b
		}
	}
}

// quantPSNR is the PSNR of blocks 8x8 blocks quantised with qt whose squared rounding
// remainders (in quantiser steps, per plane and position) are sqRem; see appendJPEG444.
func quantPSNR(sqRem *[3][64]float32, qt *[2][64]uint16, blocks int) float64 {
	var sqErr [3]float64
	for c := range sqRem {
		for n, r := range sqRem[c] {
			step := float64(qt[min(c, 1)][n])
			sqErr[c] += float64(r) * step * step
		}
	}
	// R = Y + 1.402 Cr, G = Y - 0.344136 Cb - 0.714136 Cr, B = Y + 1.772 Cb: the mean
	// squared error over R, G and B. A decoder rounds each plane's samples to 8 bits, then
	// R, G and B again: uniform errors of variance 1/12 each, carried the same way.
	const wCb, wCr = (0.344136*0.344136 + 1.772*1.772) / 3, (1.402*1.402 + 0.714136*0.714136) / 3
	const rounding = (1 + wCb + wCr + 1) / 12
	mse := (sqErr[0]+wCb*sqErr[1]+wCr*sqErr[2])/float64(blocks*64) + rounding
	return 10 * math.Log10(255*255/mse)
}

// addQuantRemainders adds to sq the squared rounding remainder of each
// coefficient of blk (fdct8x8's output) quantised with divisors d, in
// quantiser steps: one sum per position, so no chain of dependent additions
// runs through the block.
func addQuantRemainders(sq, blk, d *[64]float32) {
	for n, v := range blk {
		x := v * d[n]
		r := x - float32(int32(float64(x)+16384.5)-16384)
		sq[n] += r * r
	}
}

// jpegSampleEvery is the share of blocks sampledJPEGPSNR looks at: one in this many.
const jpegSampleEvery = 8

// sampledJPEGPSNR estimates, for each quality of qs, the PSNR appendJPEG444 would return,
// from one block in jpegSampleEvery (those on diagonals, so that every row and column of
// blocks is sampled alike).
func sampledJPEGPSNR(m *image.RGBA, qs []int) []float64 {
	nbx, nby := (m.Rect.Dx()+7)/8, (m.Rect.Dy()+7)/8
	qts := make([][2][64]uint16, len(qs))
	divs := make([][2][64]float32, len(qs))
	sq := make([][3][64]float32, len(qs))
	for i, q := range qs {
		qts[i] = jpegQuantTables(q)
		divs[i] = jpegDivisors(&qts[i])
	}
	var blk [3][64]float32
	blocks := 0
	for by := 0; by < nby; by++ {
		for bx := (jpegSampleEvery - 3*by%jpegSampleEvery) % jpegSampleEvery; bx < nbx; bx += jpegSampleEvery {
			loadJPEGBlock(m, bx, by, &blk)
			blocks++
			for c := 0; c < 3; c++ {
				fdct8x8(&blk[c])
				t := min(c, 1)
				for i := range qs {
					addQuantRemainders(&sq[i][c], &blk[c], &divs[i][t])
				}
			}
		}
	}
	out := make([]float64, len(qs))
	for i := range qs {
		out[i] = math.Inf(1)
		if blocks > 0 {
			out[i] = quantPSNR(&sq[i], &qts[i], blocks)
		}
	}
	return out
}
