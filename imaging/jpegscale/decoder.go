package jpegscale

import (
	"image"
	"image/color"
	"io"
)

// unzig maps a zig-zag index (F.1.1.5) to the natural (row-major) index in an 8x8 block.
var unzig [64]uint8

func init() {
	// Walk the anti-diagonals, alternating direction: even diagonals go up-right.
	k := 0
	for s := 0; s < 15; s++ {
		for i := 0; i <= s; i++ {
			r, c := i, s-i // going down-left
			if s%2 == 0 {
				r, c = s-i, i // going up-right
			}
			if r < 8 && c < 8 {
				unzig[k] = uint8(r*8 + c)
				k++
			}
		}
	}
}

type component struct {
	id       uint8
	h, v     int // sampling factors
	tq       uint8
	cbw, cbh int // blocks covering the component's own samples (A.1.1)
	pix      []uint8
	stride   int
	td, ta   uint8 // entropy tables of the current scan
	pred     int32 // DC predictor
	coef     []int16
	nz       []uint64 // progressive: bit k set when zig-zag coefficient k is non-zero
}

type decoder struct {
	br               bitReader
	minW, minH       int
	maxPixels        int
	shift            uint
	bs               int // output samples per block side, 8 >> shift
	nslot            int // coefficients kept per block, bs*bs
	slot             [64]int8
	slotZ            [64]uint8 // zig-zag index of each kept slot
	idct             func(*[64]int32, []uint8, int)
	quant            [4][64]int32 // zig-zag order
	qdef             [4]bool
	dc, ac           [4]huffTable
	ri               int
	sof, progressive bool
	width, height    int
	ncomp            int
	comp             [4]component
	hmax, vmax       int
	mcusx, mcusy     int
	scans            int
	jfif             bool
	adobe            bool
	adobeTransform   uint8
	eobrun           int32
	blk              [64]int32
	allocated        int // bytes of pixel and coefficient memory, for the budget tests
	scomp            [4]*component
	nscomp           int
	ss, se, ah, al   int
}

func be16(b []byte) int { return int(b[0])<<8 | int(b[1]) }

func (d *decoder) decode() (image.Image, error) {
	data := d.br.data
	if len(data) < 2 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, formatError("missing SOI marker")
	}
	p := 2
	for {
		for p < len(data) && data[p] != 0xFF {
			p++ // stray bytes between segments, tolerated as libjpeg does
		}
		for p < len(data) && data[p] == 0xFF {
			p++
		}
		if p >= len(data) {
			return nil, io.ErrUnexpectedEOF
		}
		m := data[p]
		p++
		if m == 0 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			continue // stuffed byte, TEM or stray RSTn: no segment
		}
		if m == 0xD9 { // EOI
			break
		}
		if p+2 > len(data) {
			return nil, io.ErrUnexpectedEOF
		}
		n := be16(data[p:]) - 2
		if n < 0 {
			return nil, formatError("short segment length")
		}
		if p+2+n > len(data) {
			return nil, io.ErrUnexpectedEOF
		}
		seg := data[p+2 : p+2+n]
		p += 2 + n
		var err error
		switch {
		case m == 0xC0 || m == 0xC1 || m == 0xC2:
			err = d.processSOF(seg, m == 0xC2)
		case m == 0xC4:
			err = d.processDHT(seg)
		case m == 0xCC || (m >= 0xC9 && m <= 0xCB) || (m >= 0xCD && m <= 0xCF):
			err = unsupported("arithmetic coding")
		case m == 0xC3 || (m >= 0xC5 && m <= 0xC7):
			err = unsupported("lossless or hierarchical JPEG")
		case m == 0xDB:
			err = d.processDQT(seg)
		case m == 0xDD:
			if len(seg) != 2 {
				err = formatError("bad DRI length")
			} else {
				d.ri = be16(seg)
			}
		case m == 0xDC:
			err = unsupported("DNL marker")
		case m == 0xE0:
			if len(seg) >= 5 && string(seg[:5]) == "JFIF\x00" {
				d.jfif = true
			}
		case m == 0xEE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe = true
				d.adobeTransform = seg[11]
			}
		case m == 0xDA:
			if err = d.processSOS(seg); err == nil {
				p, err = d.decodeScan(p)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if !d.sof {
		return nil, formatError("missing SOF marker")
	}
	if d.scans == 0 {
		return nil, formatError("missing SOS marker")
	}
	if d.progressive {
		d.reconstruct()
	}
	return d.image()
}

func (d *decoder) processDQT(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if tq > 3 {
			return formatError("bad Tq value")
		}
		seg = seg[1:]
		q := &d.quant[tq]
		switch pq {
		case 0:
			if len(seg) < 64 {
				return formatError("short DQT")
			}
			for i := range q {
				q[i] = int32(seg[i])
			}
			seg = seg[64:]
		case 1:
			if len(seg) < 128 {
				return formatError("short DQT")
			}
			for i := range q {
				q[i] = int32(be16(seg[2*i:]))
			}
			seg = seg[128:]
		default:
			return formatError("bad Pq value")
		}
		d.qdef[tq] = true
	}
	return nil
}

func (d *decoder) processDHT(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return formatError("short DHT")
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || th > 3 {
			return formatError("bad Tc or Th value")
		}
		var counts [16]int
		total := 0
		for i := range counts {
			counts[i] = int(seg[1+i])
			total += counts[i]
		}
		if total == 0 || total > 256 {
			return formatError("bad Huffman table size")
		}
		seg = seg[17:]
		if len(seg) < total {
			return formatError("short DHT")
		}
		t := &d.dc[th]
		if tc == 1 {
			t = &d.ac[th]
		}
		if err := t.build(&counts, seg[:total]); err != nil {
			return err
		}
		seg = seg[total:]
	}
	return nil
}

func (d *decoder) processSOF(seg []byte, progressive bool) error {
	if d.sof {
		return formatError("multiple SOF markers")
	}
	if len(seg) < 6 {
		return formatError("short SOF")
	}
	if seg[0] != 8 {
		return unsupported("precision other than 8 bits")
	}
	d.height, d.width, d.ncomp = be16(seg[1:]), be16(seg[3:]), int(seg[5])
	if d.height == 0 {
		return unsupported("height defined by DNL")
	}
	if d.width == 0 {
		return formatError("zero width")
	}
	switch d.ncomp {
	case 1, 3, 4:
	default:
		return formatError("bad component count")
	}
	if len(seg) != 6+3*d.ncomp {
		return formatError("bad SOF length")
	}
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		b := seg[6+3*i:]
		c.id, c.h, c.v, c.tq = b[0], int(b[1]>>4), int(b[1]&15), b[2]
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return formatError("bad sampling factor")
		}
		if c.tq > 3 {
			return formatError("bad Tq value")
		}
		for j := 0; j < i; j++ {
			if d.comp[j].id == c.id {
				return formatError("repeated component identifier")
			}
		}
	}
	if d.ncomp == 4 {
		// Encoders write CMYK and YCCK with all channels at full resolution, or with the
		// middle two halved both ways (C and K, or Y and K, full).
		hv := func(c *component) int { return c.h<<4 | c.v }
		c := &d.comp
		if hv(&c[0]) != 0x11 && hv(&c[0]) != 0x22 || hv(&c[1]) != 0x11 || hv(&c[2]) != 0x11 || hv(&c[3]) != hv(&c[0]) {
			return unsupported("4-component subsampling")
		}
	} else if d.ncomp == 1 {
		// A single-component frame is coded in non-interleaved order: one block per MCU.
		d.comp[0].h, d.comp[0].v = 1, 1
	} else {
		y, cb, cr := &d.comp[0], &d.comp[1], &d.comp[2]
		if y.h%cb.h != 0 || y.v%cb.v != 0 || cr.h != cb.h || cr.v != cb.v {
			return unsupported("subsampling ratio")
		}
		if _, ok := ratio(y.h/cb.h, y.v/cb.v); !ok {
			return unsupported("subsampling ratio")
		}
	}
	if d.maxPixels > 0 && int64(d.width)*int64(d.height) > int64(d.maxPixels) {
		return ErrTooLarge
	}
	d.sof, d.progressive = true, progressive
	d.hmax, d.vmax = 1, 1
	for i := 0; i < d.ncomp; i++ {
		d.hmax, d.vmax = max(d.hmax, d.comp[i].h), max(d.vmax, d.comp[i].v)
	}
	d.mcusx = (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcusy = (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	d.shift = chooseShift(d.width, d.height, d.minW, d.minH)
	d.bs = 8 >> d.shift
	d.nslot = d.bs * d.bs
	d.idct = [4]func(*[64]int32, []uint8, int){idct8, idct4, idct2, idct1}[d.shift]
	for k := range d.slot {
		r, c := int(unzig[k])/8, int(unzig[k])%8
		d.slot[k] = -1
		if r < d.bs && c < d.bs {
			d.slot[k] = int8(r*d.bs + c)
			d.slotZ[r*d.bs+c] = uint8(k)
		}
	}
	for i := 0; i < d.ncomp; i++ {
		c := &d.comp[i]
		cw := (d.width*c.h + d.hmax - 1) / d.hmax
		ch := (d.height*c.v + d.vmax - 1) / d.vmax
		c.cbw, c.cbh = (cw+7)/8, (ch+7)/8
		c.stride = c.cbw * d.bs
		c.pix = make([]uint8, c.stride*c.cbh*d.bs)
		d.allocated += len(c.pix)
		if progressive {
			nb := c.cbw * c.cbh
			c.coef = make([]int16, nb*d.nslot)
			c.nz = make([]uint64, nb)
			d.allocated += 2*len(c.coef) + 8*len(c.nz)
		}
	}
	return nil
}

func ratio(h, v int) (image.YCbCrSubsampleRatio, bool) {
	switch h<<4 | v {
	case 0x11:
		return image.YCbCrSubsampleRatio444, true
	case 0x21:
		return image.YCbCrSubsampleRatio422, true
	case 0x22:
		return image.YCbCrSubsampleRatio420, true
	case 0x12:
		return image.YCbCrSubsampleRatio440, true
	case 0x41:
		return image.YCbCrSubsampleRatio411, true
	case 0x42:
		return image.YCbCrSubsampleRatio410, true
	}
	return 0, false
}

func (d *decoder) isRGB() bool {
	if d.jfif {
		return false
	}
	if d.adobe && d.adobeTransform == 0 {
		return true
	}
	return d.comp[0].id == 'R' && d.comp[1].id == 'G' && d.comp[2].id == 'B'
}

func (d *decoder) image() (image.Image, error) {
	ow := (d.width + 1<<d.shift - 1) >> d.shift
	oh := (d.height + 1<<d.shift - 1) >> d.shift
	r := image.Rect(0, 0, ow, oh)
	if d.ncomp == 1 {
		c := &d.comp[0]
		return &image.Gray{Pix: c.pix, Stride: c.stride, Rect: r}, nil
	}
	if d.ncomp == 4 {
		return d.cmyk(r)
	}
	if d.isRGB() {
		return d.rgb(r)
	}
	y, cb, cr := &d.comp[0], &d.comp[1], &d.comp[2]
	sr, _ := ratio(y.h/cb.h, y.v/cb.v)
	return &image.YCbCr{Y: y.pix, Cb: cb.pix, Cr: cr.pix, YStride: y.stride, CStride: cb.stride,
		SubsampleRatio: sr, Rect: r}, nil
}

// rgb assembles a 3-component frame coded without colour transform.
func (d *decoder) rgb(r image.Rectangle) (image.Image, error) {
	// Subsampled G and B (rare) are replicated, as image/jpeg does.
	c := &d.comp
	sx, sy := c[0].h/c[1].h, c[0].v/c[1].v
	img := image.NewRGBA(r)
	d.allocated += len(img.Pix)
	for y := 0; y < r.Dy(); y++ {
		p := img.Pix[y*img.Stride : y*img.Stride+4*r.Dx()]
		o, co := y*c[0].stride, y/sy*c[1].stride
		for x := 0; x < r.Dx(); x++ {
			p[4*x], p[4*x+1], p[4*x+2], p[4*x+3] = c[0].pix[o+x], c[1].pix[co+x/sx], c[2].pix[co+x/sx], 255
		}
	}
	return img, nil
}

// cmyk assembles a 4-component frame. Adobe's transform flag 0 means inverted CMYK
// samples; otherwise the first three channels are YCbCr for the inverted CMY (YCCK).
func (d *decoder) cmyk(r image.Rectangle) (image.Image, error) {
	if !d.adobe {
		return nil, unsupported("4-component JPEG without Adobe APP14 colour transform")
	}
	img := image.NewCMYK(r)
	d.allocated += len(img.Pix)
	c := &d.comp
	half := [4]bool{}
	for t := range half {
		half[t] = c[t].h != c[0].h || c[t].v != c[0].v
	}
	at := func(t, x, y int) uint8 {
		if half[t] {
			x, y = x/2, y/2
		}
		return c[t].pix[y*c[t].stride+x]
	}
	for y := 0; y < r.Dy(); y++ {
		p := img.Pix[y*img.Stride:]
		for x := 0; x < r.Dx(); x++ {
			q := p[4*x : 4*x+4 : 4*x+4]
			if d.adobeTransform != 0 {
				q[0], q[1], q[2] = color.YCbCrToRGB(at(0, x, y), at(1, x, y), at(2, x, y))
			} else {
				q[0], q[1], q[2] = 255-at(0, x, y), 255-at(1, x, y), 255-at(2, x, y)
			}
			q[3] = 255 - at(3, x, y)
		}
	}
	return img, nil
}
