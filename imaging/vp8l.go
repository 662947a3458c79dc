package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"sort"

	"github.com/HugoSmits86/nativewebp"
	"golang.org/x/image/webp"
)

// WebP derived images are lossless (VP8L). nativewebp v0.9.3 writes them well, but its
// Huffman code lengths are limited by a heuristic only: when a histogram is skewed enough a
// length reaches 16 or more, which VP8L cannot express (lengths stop at 15, and 16-18 are
// repeat codes), and the file does not decode (x/image/webp: "invalid Huffman tree", libwebp:
// BITSTREAM_ERROR), or the encoder panics. About 1 in 14 sizes of a resized plasma photo did
// that (testdata/webp-lossy-700x508.webp at 100..700 px wide), with either resize filter.
// So every nativewebp output is decoded once before it is used, and a failure falls back to
// encodeVP8L below, a plain encoder that is valid by construction.

// encodeWebP writes m as a lossless WebP that decodes.
func encodeWebP(w io.Writer, m *image.RGBA) error {
	var buf bytes.Buffer
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = errors.New("nativewebp panicked")
			}
		}()
		return nativewebp.Encode(&buf, m, nil)
	}()
	if err == nil {
		if _, err = webp.Decode(bytes.NewReader(buf.Bytes())); err == nil {
			_, err = w.Write(buf.Bytes())
			return err
		}
	}
	buf.Reset()
	if err := encodeVP8L(&buf, m); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// vp8lBits is an LSB-first bit writer.
type vp8lBits struct {
	buf []byte
	acc uint64
	n   uint
}

func (b *vp8lBits) put(v uint32, n uint) {
	b.acc |= uint64(v) << b.n
	b.n += n
	for b.n >= 8 {
		b.buf = append(b.buf, byte(b.acc))
		b.acc >>= 8
		b.n -= 8
	}
}

func (b *vp8lBits) flush() {
	if b.n > 0 {
		b.buf = append(b.buf, byte(b.acc))
		b.acc, b.n = 0, 0
	}
}

// vp8lCode is a canonical prefix code: per symbol its length and its bits, reversed for
// LSB-first writing.
type vp8lCode struct {
	length []uint8
	bits   []uint16
	single int // the only symbol when exactly one has a non-zero frequency, else -1
}

// huffmanCodeSizes runs T.81 Annex K.2 on freq: codesize holds each symbol's Huffman code
// length before any limit (0 for symbols that do not occur; ties go to the higher index),
// and counts[l] the number of codes of length l once lengths over maxLen are folded back
// (len(counts) > maxLen; the entries beyond maxLen end up 0). The JPEG and VP8L encoders
// share it.
func huffmanCodeSizes(freq []int, maxLen int) (codesize, counts []int) {
	n := len(freq)
	f := append([]int(nil), freq...)
	codesize = make([]int, n)
	others := make([]int, n)
	for i := range others {
		others[i] = -1
	}
	for {
		// c1: the least frequent symbol, c2: the next one.
		c1, c2 := -1, -1
		for i := 0; i < n; i++ {
			if f[i] > 0 && (c1 < 0 || f[i] <= f[c1]) {
				c1 = i
			}
		}
		for i := 0; i < n; i++ {
			if f[i] > 0 && i != c1 && (c2 < 0 || f[i] <= f[c2]) {
				c2 = i
			}
		}
		if c2 < 0 {
			break
		}
		f[c1] += f[c2]
		f[c2] = 0
		codesize[c1]++
		for others[c1] >= 0 {
			c1 = others[c1]
			codesize[c1]++
		}
		others[c1] = c2
		codesize[c2]++
		for others[c2] >= 0 {
			c2 = others[c2]
			codesize[c2]++
		}
	}
	maxSeen := 0
	for _, c := range codesize {
		maxSeen = max(maxSeen, c)
	}
	counts = make([]int, max(maxSeen, maxLen)+1)
	for _, c := range codesize {
		if c > 0 {
			counts[c]++
		}
	}
	for i := len(counts) - 1; i > maxLen; i-- {
		for counts[i] > 0 {
			j := i - 2
			for counts[j] == 0 {
				j--
			}
			counts[i] -= 2
			counts[i-1]++
			counts[j+1] += 2
			counts[j]--
		}
	}
	return codesize, counts
}

// huffmanLengths returns code lengths of at most maxLen for freq, forming a complete code
// when two or more symbols occur: huffmanCodeSizes without the JPEG reserved code point.
func huffmanLengths(freq []int, maxLen int) []uint8 {
	n := len(freq)
	_, bits := huffmanCodeSizes(freq, maxLen)
	// Hand the lengths back out, shortest to the most frequent symbols.
	order := make([]int, 0, n)
	for i, v := range freq {
		if v > 0 {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return freq[order[a]] > freq[order[b]] })
	out := make([]uint8, n)
	k := 0
	for l := 1; l <= maxLen; l++ {
		for c := 0; c < bits[l]; c++ {
			out[order[k]] = uint8(l)
			k++
		}
	}
	return out
}

// newVP8LCode builds the canonical code for freq with lengths of at most maxLen.
func newVP8LCode(freq []int, maxLen int) vp8lCode {
	c := vp8lCode{single: -1, bits: make([]uint16, len(freq))}
	used := 0
	for i, v := range freq {
		if v > 0 {
			used++
			c.single = i
		}
	}
	if used <= 1 {
		c.length = make([]uint8, len(freq))
		if used == 0 {
			c.single = 0
		}
		return c
	}
	c.single = -1
	c.length = huffmanLengths(freq, maxLen)
	// Canonical codes: by length, then by symbol.
	var count [16]int
	for _, l := range c.length {
		count[l]++
	}
	count[0] = 0
	var next [16]int
	code := 0
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for s, l := range c.length {
		if l == 0 {
			continue
		}
		v := next[l]
		next[l]++
		r := 0
		for i := 0; i < int(l); i++ { // reverse for LSB-first
			r = r<<1 | (v>>i)&1
		}
		c.bits[s] = uint16(r)
	}
	return c
}

func (c vp8lCode) write(b *vp8lBits, sym int) {
	if c.single < 0 {
		b.put(uint32(c.bits[sym]), uint(c.length[sym]))
	}
}

// vp8lCodeLengthOrder is the order in which the code length code's lengths are stored.
var vp8lCodeLengthOrder = [19]int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// writeHeader writes the code: as a simple code when one symbol occurs, else as a normal
// code whose lengths are sent literally (0-15) with a code length code of lengths <= 7.
func (c vp8lCode) writeHeader(b *vp8lBits) {
	if c.single >= 0 {
		b.put(1, 1) // simple
		b.put(0, 1) // one symbol
		if c.single < 2 {
			b.put(0, 1)
			b.put(uint32(c.single), 1)
		} else {
			b.put(1, 1)
			b.put(uint32(c.single), 8)
		}
		return
	}
	freq := make([]int, 19)
	for _, l := range c.length {
		freq[l]++
	}
	clc := newVP8LCode(freq, 7)
	var clLen [19]uint8
	if clc.single >= 0 {
		clLen[clc.single] = 1 // a one-symbol code: one length of 1, read with zero bits
	} else {
		copy(clLen[:], clc.length)
	}
	num := 4
	for i, s := range vp8lCodeLengthOrder {
		if clLen[s] > 0 {
			num = max(num, i+1)
		}
	}
	b.put(0, 1) // normal
	b.put(uint32(num-4), 4)
	for i := 0; i < num; i++ {
		b.put(uint32(clLen[vp8lCodeLengthOrder[i]]), 3)
	}
	b.put(0, 1) // max_symbol: all
	for _, l := range c.length {
		clc.write(b, int(l))
	}
}

// encodeVP8L writes m as a lossless WebP: subtract-green and one predictor (the clamped
// gradient L+T-TL) for the whole image, then every pixel as four literal symbols under
// optimal prefix codes. No backward references or colour cache: it is the fallback, and
// it is valid by construction.
func encodeVP8L(w io.Writer, m *image.RGBA) error {
	width, height := m.Rect.Dx(), m.Rect.Dy()
	if width < 1 || height < 1 || width > 1<<14 || height > 1<<14 {
		return errors.New("webp: image size out of range")
	}
	// ARGB in NRGBA terms (WebP stores unpremultiplied colour), green subtracted.
	px := make([][4]uint8, width*height) // a, r, g, b
	alpha := false
	for y := 0; y < height; y++ {
		row := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
		for x := 0; x < width; x++ {
			q := row[4*x : 4*x+4]
			a := q[3]
			r, g, bl := q[0], q[1], q[2]
			if a != 0xFF {
				alpha = true
				if a == 0 {
					r, g, bl = 0, 0, 0
				} else { // as color.NRGBAModel converts (and nativewebp, through it)
					r = uint8(int(r) * 0xFFFF / int(a) >> 8)
					g = uint8(int(g) * 0xFFFF / int(a) >> 8)
					bl = uint8(int(bl) * 0xFFFF / int(a) >> 8)
				}
			}
			px[y*width+x] = [4]uint8{a, r - g, g, bl - g}
		}
	}
	// Predictor residuals, from the bottom right so each prediction reads original values.
	res := make([][4]uint8, len(px))
	for y := height - 1; y >= 0; y-- {
		for x := width - 1; x >= 0; x-- {
			i := y*width + x
			var p [4]uint8
			switch {
			case x == 0 && y == 0:
				p = [4]uint8{0xFF, 0, 0, 0}
			case y == 0:
				p = px[i-1]
			case x == 0:
				p = px[i-width]
			default:
				l, t, tl := px[i-1], px[i-width], px[i-width-1]
				for c := range p {
					p[c] = uint8(min(255, max(0, int(l[c])+int(t[c])-int(tl[c]))))
				}
			}
			for c := range p {
				res[i][c] = px[i][c] - p[c]
			}
		}
	}
	var fg, fr, fb, fa [256]int
	for _, v := range res {
		fa[v[0]]++
		fr[v[1]]++
		fg[v[2]]++
		fb[v[3]]++
	}
	green := newVP8LCode(append(fg[:], make([]int, 24)...), 15) // 256 literals + 24 length prefixes
	red, blue, alp := newVP8LCode(fr[:], 15), newVP8LCode(fb[:], 15), newVP8LCode(fa[:], 15)
	dist := newVP8LCode(make([]int, 40), 15)

	b := &vp8lBits{buf: make([]byte, 0, len(px)*2)}
	b.put(0x2F, 8)
	b.put(uint32(width-1), 14)
	b.put(uint32(height-1), 14)
	if alpha {
		b.put(1, 1)
	} else {
		b.put(0, 1)
	}
	b.put(0, 3) // version
	b.put(1, 1) // transform: subtract green
	b.put(2, 2)
	b.put(1, 1) // transform: predictor
	b.put(0, 2)
	const sizeBits = 9 // 512x512 blocks
	b.put(sizeBits-2, 3)
	// The predictor image: every block mode 12 (green channel); one-symbol codes, so its
	// pixels take no bits at all.
	b.put(0, 1) // no colour cache
	mode := []int{12}
	newVP8LCode(append(countOf(mode, 256), make([]int, 24)...), 15).writeHeader(b)
	for range 3 {
		newVP8LCode(countOf([]int{0}, 256), 15).writeHeader(b) // red, blue, alpha 0
	}
	dist.writeHeader(b)
	b.put(0, 1) // end of transforms
	b.put(0, 1) // no colour cache
	b.put(0, 1) // no meta prefix codes
	green.writeHeader(b)
	red.writeHeader(b)
	blue.writeHeader(b)
	alp.writeHeader(b)
	dist.writeHeader(b)
	for _, v := range res {
		green.write(b, int(v[2]))
		red.write(b, int(v[1]))
		blue.write(b, int(v[3]))
		alp.write(b, int(v[0]))
	}
	b.flush()
	data := b.buf
	if len(data)%2 == 1 {
		data = append(data, 0)
	}
	var hdr [20]byte
	copy(hdr[0:], "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(12+len(data)))
	copy(hdr[8:], "WEBPVP8L")
	binary.LittleEndian.PutUint32(hdr[16:], uint32(len(b.buf)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(data)
	return err
}

// countOf returns a histogram of n symbols in which each of syms occurs once.
func countOf(syms []int, n int) []int {
	f := make([]int, n)
	for _, s := range syms {
		f[s]++
	}
	return f
}
