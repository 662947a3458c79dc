package jpegscale

import (
	"io"
	"math/bits"
)

func (d *decoder) processSOS(seg []byte) error {
	if !d.sof {
		return formatError("SOS before SOF")
	}
	if len(seg) < 1 {
		return formatError("short SOS")
	}
	ns := int(seg[0])
	if ns < 1 || ns > d.ncomp || len(seg) != 4+2*ns {
		return formatError("bad SOS length")
	}
	for i := 0; i < ns; i++ {
		id, tt := seg[1+2*i], seg[2+2*i]
		var c *component
		for j := 0; j < d.ncomp; j++ {
			if d.comp[j].id == id {
				c = &d.comp[j]
			}
		}
		if c == nil {
			return formatError("unknown component in SOS")
		}
		for j := 0; j < i; j++ {
			if d.scomp[j] == c {
				return formatError("repeated component in SOS")
			}
		}
		c.td, c.ta = tt>>4, tt&15
		if c.td > 3 || c.ta > 3 {
			return formatError("bad table selector")
		}
		d.scomp[i] = c
	}
	d.nscomp = ns
	d.ss, d.se = int(seg[1+2*ns]), int(seg[2+2*ns])
	d.ah, d.al = int(seg[3+2*ns]>>4), int(seg[3+2*ns]&15)
	if d.progressive {
		if d.ss > d.se || d.se > 63 || (d.ss == 0) != (d.se == 0) || (d.ss > 0 && ns != 1) || d.al > 13 {
			return formatError("bad spectral selection or approximation")
		}
	} else {
		d.ss, d.se, d.ah, d.al = 0, 63, 0, 0
	}
	for _, c := range d.scomp[:ns] {
		if !d.progressive || d.ah == 0 && d.ss == 0 {
			if !d.dc[c.td].defined {
				return formatError("undefined DC Huffman table")
			}
		}
		if !d.progressive || d.ss > 0 {
			if !d.ac[c.ta].defined {
				return formatError("undefined AC Huffman table")
			}
		}
		if !d.progressive && !d.qdef[c.tq] {
			return formatError("undefined quantisation table")
		}
	}
	return nil
}

// decodeScan decodes the entropy-coded segment starting at p and returns the offset where
// decoding stopped (at the next marker, or just past the last byte used).
func (d *decoder) decodeScan(p int) (int, error) {
	d.scans++
	if d.scans > 1000 {
		return 0, formatError("too many scans")
	}
	br := &d.br
	br.reset(p)
	d.eobrun = 0
	for i := 0; i < d.ncomp; i++ {
		d.comp[i].pred = 0
	}
	var mx, my int
	if d.nscomp == 1 {
		mx, my = d.scomp[0].cbw, d.scomp[0].cbh
	} else {
		mx, my = d.mcusx, d.mcusy
	}
	mcu := 0
	for y := 0; y < my; y++ {
		for x := 0; x < mx; x++ {
			if d.ri > 0 && mcu > 0 && mcu%d.ri == 0 {
				d.restart()
			}
			mcu++
			if d.nscomp == 1 {
				if err := d.block(d.scomp[0], x, y); err != nil {
					return 0, err
				}
				if br.short() {
					return 0, errShort
				}
				continue
			}
			for _, c := range d.scomp[:d.nscomp] {
				for v := 0; v < c.v; v++ {
					for h := 0; h < c.h; h++ {
						if err := d.block(c, x*c.h+h, y*c.v+v); err != nil {
							return 0, err
						}
					}
				}
			}
			if br.short() {
				return 0, errShort
			}
		}
	}
	if br.eof {
		return 0, io.ErrUnexpectedEOF
	}
	return br.pos, nil
}

// restart discards buffered bits and moves past the RSTn marker that should come next
// (F.2.1.3.1). A missing marker is tolerated: decoding resynchronises at the next one.
func (d *decoder) restart() {
	br := &d.br
	data := br.data
	p := br.pos
	for p+1 < len(data) {
		if data[p] == 0xFF {
			m := data[p+1]
			if m == 0 {
				p += 2
				continue
			}
			if m == 0xFF {
				p++
				continue
			}
			if m >= 0xD0 && m <= 0xD7 {
				p += 2
			}
			break
		}
		p++
	}
	br.reset(p)
	d.eobrun = 0
	for i := 0; i < d.ncomp; i++ {
		d.comp[i].pred = 0
	}
}

func (d *decoder) block(c *component, bx, by int) error {
	if !d.progressive {
		return d.baselineBlock(c, bx, by)
	}
	in := bx < c.cbw && by < c.cbh
	idx := by*c.cbw + bx
	if d.ss == 0 {
		return d.dcBlock(c, in, idx)
	}
	if d.ah == 0 {
		return d.acFirst(c, in, idx)
	}
	return d.acRefine(c, in, idx)
}

var (
	errHuffman = formatError("bad Huffman code")
	errShort   = formatError("short Huffman data")
)

func (d *decoder) baselineBlock(c *component, bx, by int) error {
	// The bit buffer lives in locals for the whole block and is written back around fill.
	br := &d.br
	acc, n := br.acc, br.n
	if n < 32 {
		br.acc, br.n = acc, n
		br.fill()
		acc, n = br.acc, br.n
	}
	t := &d.dc[c.td]
	var s uint8
	if e := t.lut[acc>>(64-lutBits)]; e != 0 {
		s = uint8(e)
		acc <<= e >> 8
		n -= uint(e >> 8)
	} else {
		var l uint
		if s, l = t.slow(acc); l == 0 {
			return errHuffman
		}
		acc <<= l
		n -= l
	}
	if s > 16 {
		return formatError("bad DC difference size")
	}
	if s > 0 {
		v := int32(acc >> (64 - uint(s)))
		acc <<= s
		n -= uint(s)
		if v < 1<<(s-1) {
			v += -1<<s + 1
		}
		c.pred += v
	}
	q := &d.quant[c.tq]
	blk := &d.blk
	clear(blk[:d.nslot])
	blk[0] = c.pred * q[0]
	t = &d.ac[c.ta]
	slot := &d.slot
	for k := 1; k < 64; k++ {
		if n < 32 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		var rs uint8
		if e := t.lut[acc>>(64-lutBits)]; e != 0 {
			rs = uint8(e)
			acc <<= e >> 8
			n -= uint(e >> 8)
		} else {
			var l uint
			if rs, l = t.slow(acc); l == 0 {
				br.acc, br.n = acc, n
				return errHuffman
			}
			acc <<= l
			n -= l
		}
		r, s := int(rs>>4), rs&15
		if s == 0 {
			if r != 15 {
				break
			}
			k += 15
			continue
		}
		k += r
		if k > 63 {
			br.acc, br.n = acc, n
			return formatError("coefficient index past 63")
		}
		if z := slot[k]; z >= 0 {
			v := int32(acc >> (64 - uint(s)))
			if v < 1<<(s-1) {
				v += -1<<s + 1
			}
			blk[z] = v * q[k]
		}
		acc <<= s
		n -= uint(s)
	}
	br.acc, br.n = acc, n
	if bx < c.cbw && by < c.cbh {
		d.idct(blk, c.pix[by*d.bs*c.stride+bx*d.bs:], c.stride)
	}
	return nil
}

func (d *decoder) dcBlock(c *component, in bool, idx int) error {
	br := &d.br
	if d.ah == 0 {
		s, ok := br.decode(&d.dc[c.td])
		if !ok {
			return errHuffman
		}
		if s > 16 {
			return formatError("bad DC difference size")
		}
		c.pred += br.receiveExtend(s)
		if in {
			c.coef[idx*d.nslot] = int16(c.pred << d.al)
		}
		return nil
	}
	if br.bit() && in {
		c.coef[idx*d.nslot] |= int16(1) << d.al
	}
	return nil
}

// acFirst decodes one block of a first AC scan of a spectral band (G.1.2.2), with the bit
// buffer in locals.
func (d *decoder) acFirst(c *component, in bool, idx int) error {
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	br := &d.br
	acc, n := br.acc, br.n
	t := &d.ac[c.ta]
	var coef []int16
	var nz uint64
	if in {
		coef = c.coef[idx*d.nslot : (idx+1)*d.nslot]
	}
	for k := d.ss; k <= d.se; k++ {
		if n < 32 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		var rs uint8
		if e := t.lut[acc>>(64-lutBits)]; e != 0 {
			rs = uint8(e)
			acc <<= e >> 8
			n -= uint(e >> 8)
		} else {
			var l uint
			if rs, l = t.slow(acc); l == 0 {
				br.acc, br.n = acc, n
				return errHuffman
			}
			acc <<= l
			n -= l
		}
		r, s := int(rs>>4), rs&15
		if s == 0 {
			if r < 15 {
				d.eobrun = 1<<r - 1
				if r > 0 {
					d.eobrun += int32(acc >> (64 - uint(r)))
					acc <<= uint(r)
					n -= uint(r)
				}
				break
			}
			k += 15
			continue
		}
		k += r
		if k > 63 {
			br.acc, br.n = acc, n
			return formatError("coefficient index past 63")
		}
		nz |= 1 << k
		if z := d.slot[k]; z >= 0 && in {
			v := int32(acc >> (64 - uint(s)))
			if v < 1<<(s-1) {
				v += -1<<s + 1
			}
			coef[z] = int16(v << d.al)
		}
		acc <<= s
		n -= uint(s)
	}
	br.acc, br.n = acc, n
	if in {
		c.nz[idx] |= nz
	}
	return nil
}

// acRefine decodes one block of an AC successive-approximation refinement scan (G.1.2.3).
// Every coefficient already non-zero (known from the nz mask even when not kept) takes a
// correction bit; the bit buffer is kept in locals.
func (d *decoder) acRefine(c *component, in bool, idx int) error {
	br := &d.br
	acc, n := br.acc, br.n
	var coef []int16
	var nz uint64
	if in {
		coef = c.coef[idx*d.nslot : (idx+1)*d.nslot]
		nz = c.nz[idx]
	}
	p1 := int16(1) << d.al
	// correct applies a correction bit to coefficient k, if it is kept.
	correct := func(k int) {
		if z := d.slot[k]; z >= 0 && in {
			if x := coef[z]; x&p1 == 0 {
				if x >= 0 {
					coef[z] = x + p1
				} else {
					coef[z] = x - p1
				}
			}
		}
	}
	k, se := d.ss, d.se
	if d.eobrun == 0 {
		t := &d.ac[c.ta]
		for k <= se {
			if n < 32 {
				br.acc, br.n = acc, n
				br.fill()
				acc, n = br.acc, br.n
			}
			var rs uint8
			if e := t.lut[acc>>(64-lutBits)]; e != 0 {
				rs = uint8(e)
				acc <<= e >> 8
				n -= uint(e >> 8)
			} else {
				var l uint
				if rs, l = t.slow(acc); l == 0 {
					br.acc, br.n = acc, n
					return errHuffman
				}
				acc <<= l
				n -= l
			}
			r, s := int(rs>>4), rs&15
			var val int16
			if s != 0 {
				if s != 1 {
					br.acc, br.n = acc, n
					return formatError("bad refinement value size")
				}
				if acc>>63 != 0 {
					val = p1
				} else {
					val = -p1
				}
				acc <<= 1
				n--
			} else if r != 15 {
				d.eobrun = 1 << r
				if r > 0 {
					d.eobrun += int32(acc >> (64 - uint(r)))
					acc <<= uint(r)
					n -= uint(r)
				}
				break
			}
			for k <= se {
				if nz&(1<<k) != 0 {
					if n == 0 {
						br.acc, br.n = acc, n
						br.fill()
						acc, n = br.acc, br.n
					}
					if acc>>63 != 0 {
						correct(k)
					}
					acc <<= 1
					n--
					k++
					continue
				}
				if r == 0 {
					if val != 0 {
						nz |= 1 << k
						if z := d.slot[k]; z >= 0 && in {
							coef[z] = val
						}
					}
					k++
					break
				}
				r--
				k++
			}
		}
	}
	if d.eobrun > 0 {
		// Only the correction bits of the non-zero coefficients left in the band.
		m := nz & (^uint64(0) << uint(k)) & (^uint64(0) >> uint(63-se))
		for m != 0 {
			kk := bits.TrailingZeros64(m)
			m &= m - 1
			if n == 0 {
				br.acc, br.n = acc, n
				br.fill()
				acc, n = br.acc, br.n
			}
			if acc>>63 != 0 {
				correct(kk)
			}
			acc <<= 1
			n--
		}
		d.eobrun--
	}
	br.acc, br.n = acc, n
	if in {
		c.nz[idx] = nz
	}
	return nil
}

// reconstruct dequantises and transforms the coefficients of a progressive frame.
func (d *decoder) reconstruct() {
	blk := &d.blk
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		q := &d.quant[c.tq]
		for by := 0; by < c.cbh; by++ {
			for bx := 0; bx < c.cbw; bx++ {
				coef := c.coef[(by*c.cbw+bx)*d.nslot:][:d.nslot]
				for j, v := range coef {
					blk[j] = int32(v) * q[d.slotZ[j]]
				}
				d.idct(blk, c.pix[by*d.bs*c.stride+bx*d.bs:], c.stride)
			}
		}
	}
}
