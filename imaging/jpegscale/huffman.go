package jpegscale

// huffTable is a Huffman decoding table (ITU T.81 C and F.2.2.3) with a 9-bit lookup for
// the common short codes.
type huffTable struct {
	lut     [1 << lutBits]uint16 // (code length << 8) | symbol; 0 when the code is longer
	maxcode [17]int32            // largest code of each length, -1 if none
	valptr  [17]int32            // index in vals of the first code of each length, minus that code
	vals    [256]uint8
	defined bool
}

const lutBits = 9

// build fills t from the 16 code-length counts and the symbols (B.2.4.2, C.2).
func (t *huffTable) build(counts *[16]int, vals []uint8) error {
	*t = huffTable{}
	copy(t.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		if code+n > 1<<l {
			return formatError("bad Huffman code lengths")
		}
		t.valptr[l] = k - code
		if n == 0 {
			t.maxcode[l] = -1
		} else {
			t.maxcode[l] = code + n - 1
		}
		if l <= lutBits {
			for i := int32(0); i < n; i++ {
				c := code + i
				sym := t.vals[k+i]
				shift := uint(lutBits - l)
				base := c << shift
				for j := int32(0); j < 1<<shift; j++ {
					t.lut[base+j] = uint16(l)<<8 | uint16(sym)
				}
			}
		}
		code += n
		k += n
		code <<= 1
	}
	t.defined = true
	return nil
}

// bitReader reads entropy-coded bits (F.2.2.5): 0xFF00 is a stuffed 0xFF, any other 0xFF
// sequence is a marker, after which zero bits are supplied (as libjpeg does).
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64 // valid bits are the top n
	n      uint
	marker bool // pos is at a marker
	eof    bool // zero bits were supplied past the end of the data
	// padBits counts the zero bits supplied at a marker or the end of data; consuming
	// them (n < padBits) means the entropy-coded data was too short.
	padBits uint
}

func (b *bitReader) reset(pos int) {
	b.pos, b.acc, b.n, b.marker, b.padBits = pos, 0, 0, false, 0
}

func (b *bitReader) fill() {
	for b.n <= 56 {
		var c byte
		switch {
		case b.marker:
			b.padBits += 8
		case b.pos >= len(b.data):
			b.eof = true
			b.padBits += 8
		default:
			c = b.data[b.pos]
			if c != 0xFF {
				b.pos++
			} else if b.pos+1 < len(b.data) && b.data[b.pos+1] == 0 {
				b.pos += 2
			} else {
				if b.pos+1 >= len(b.data) {
					b.eof = true
				}
				b.marker = true
				b.padBits += 8
				c = 0
			}
		}
		b.acc |= uint64(c) << (56 - b.n)
		b.n += 8
	}
}

// short reports whether bits past the end of the entropy-coded data were consumed.
func (b *bitReader) short() bool { return b.n < b.padBits }

// decode reads one Huffman-coded symbol; ok is false for a code not in t.
func (b *bitReader) decode(t *huffTable) (uint8, bool) {
	if b.n < 16 {
		b.fill()
	}
	if e := t.lut[b.acc>>(64-lutBits)]; e != 0 {
		l := uint(e >> 8)
		b.acc <<= l
		b.n -= l
		return uint8(e), true
	}
	sym, l := t.slow(b.acc)
	b.acc <<= l
	b.n -= l
	return sym, l != 0
}

// slow decodes a code longer than lutBits from the top of acc; it returns the symbol and
// the code length, 0 for an invalid code.
func (t *huffTable) slow(acc uint64) (uint8, uint) {
	for l := uint(lutBits + 1); l <= 16; l++ {
		c := int32(acc >> (64 - l))
		if c <= t.maxcode[l] {
			return t.vals[uint8(t.valptr[l]+c)], l
		}
	}
	return 0, 0
}

// receiveExtend reads s bits and sign-extends them (F.2.2.1); s <= 16.
func (b *bitReader) receiveExtend(s uint8) int32 {
	if s == 0 {
		return 0
	}
	if b.n < uint(s) {
		b.fill()
	}
	v := int32(b.acc >> (64 - uint(s)))
	b.acc <<= s
	b.n -= uint(s)
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

func (b *bitReader) bit() bool {
	if b.n == 0 {
		b.fill()
	}
	v := b.acc>>63 != 0
	b.acc <<= 1
	b.n--
	return v
}
