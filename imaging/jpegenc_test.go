package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"picbed/imaging/jpegscale"
)

func TestJPEGZigzag(t *testing.T) {
	want := [64]uint8{0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
		41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37,
		44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63}
	if jpegZigzag != want {
		t.Fatalf("zigzag %v\nwant    %v", jpegZigzag, want)
	}
}

// dqtTables returns the quantisation tables of a JPEG's DQT segments, in zigzag order.
func dqtTables(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var tabs [][]byte
	markers, payloads := jpegSegments(t, b)
	for i, m := range markers {
		if m != 0xDB {
			continue
		}
		p := payloads[i]
		for len(p) >= 65 {
			if p[0]>>4 != 0 {
				t.Fatal("16-bit table")
			}
			tabs = append(tabs, p[1:65])
			p = p[65:]
		}
	}
	return tabs
}

// TestJPEGQuantTablesMatchImageJPEG compares the scaled tables with those image/jpeg writes.
func TestJPEGQuantTablesMatchImageJPEG(t *testing.T) {
	m := image.NewRGBA(rect(8, 8))
	for _, q := range []int{1, 10, 49, 50, 75, 90, 95, 100} {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		want := dqtTables(t, b.Bytes())
		b.Reset()
		if err := encodeJPEG444(&b, m, q); err != nil {
			t.Fatal(err)
		}
		got := dqtTables(t, b.Bytes())
		if len(got) != 2 || len(want) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
			t.Errorf("q%d: tables %v, image/jpeg's %v", q, got, want)
		}
	}
}

// TestFDCT compares the AAN transform with T.81's definition of the forward DCT.
func TestFDCT(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 50; n++ {
		var in [64]float64
		var b [64]float32
		for i := range in {
			in[i] = float64(rng.IntN(256) - 128)
			b[i] = float32(in[i])
		}
		fdct8x8(&b)
		for u := 0; u < 8; u++ {
			for v := 0; v < 8; v++ {
				cu, cv := 1.0, 1.0
				if u == 0 {
					cu = 1 / math.Sqrt2
				}
				if v == 0 {
					cv = 1 / math.Sqrt2
				}
				s := 0.0
				for y := 0; y < 8; y++ {
					for x := 0; x < 8; x++ {
						s += in[y*8+x] * math.Cos(float64(2*y+1)*float64(u)*math.Pi/16) * math.Cos(float64(2*x+1)*float64(v)*math.Pi/16)
					}
				}
				want := cu * cv * s / 4
				got := float64(b[u*8+v]) / (8 * jpegAAN[u] * jpegAAN[v])
				if math.Abs(got-want) > 1e-3*max(1, math.Abs(want)) {
					t.Fatalf("block %d (%d,%d): %g, want %g", n, u, v, got, want)
				}
			}
		}
	}
}

// TestOptimalHuffman checks the tables for prefix-freeness, the 16-bit limit and the
// absence of an all-ones code, including frequencies that want codes longer than 16 bits.
func TestOptimalHuffman(t *testing.T) {
	var fib [256]int
	a, b := 1, 1
	for i := 0; i < 40; i++ { // Fibonacci frequencies: an unlimited code would be 40 bits deep
		fib[i] = a
		a, b = b, a+b
	}
	var one, flat [256]int
	one[7] = 100
	for i := range flat {
		flat[i] = 1 + i%3
	}
	for name, freq := range map[string]*[256]int{"fibonacci": &fib, "one symbol": &one, "flat": &flat} {
		h := optimalHuffman(freq)
		kraft := 0.0
		n := 0
		for l := 1; l <= 16; l++ {
			n += int(h.bits[l])
			kraft += float64(h.bits[l]) / float64(int(1)<<l)
		}
		if kraft >= 1 {
			t.Errorf("%s: Kraft sum %g, want < 1 (the all-ones code stays free)", name, kraft)
		}
		for s, f := range freq {
			if f > 0 && (h.size[s] == 0 || h.size[s] > 16) {
				t.Errorf("%s: symbol %d of frequency %d has length %d", name, s, f, h.size[s])
			}
		}
		if n != len(h.vals) {
			t.Errorf("%s: %d codes for %d symbols", name, n, len(h.vals))
		}
		// Prefix-free: no code is a prefix of another.
		for _, s1 := range h.vals {
			for _, s2 := range h.vals {
				l1, l2 := h.size[s1], h.size[s2]
				if s1 != s2 && l1 <= l2 && h.code[s2]>>(l2-l1) == h.code[s1] {
					t.Fatalf("%s: code of %d is a prefix of that of %d", name, s1, s2)
				}
			}
		}
	}
}

// TestEncodeJPEG444 round-trips images of awkward sizes through the encoder and both
// decoders: the output must be 4:4:4 of the right size and close to the input.
func TestEncodeJPEG444(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	noise := func(w, h int) *image.RGBA {
		m := image.NewRGBA(rect(w, h))
		for i := range m.Pix {
			m.Pix[i] = uint8(rng.IntN(256))
		}
		for i := 3; i < len(m.Pix); i += 4 {
			m.Pix[i] = 0xFF
		}
		return m
	}
	flat := image.NewRGBA(rect(33, 17))
	for i := range flat.Pix {
		flat.Pix[i] = 0xFF
	}
	for _, c := range []struct {
		name    string
		m       *image.RGBA
		q       int
		minPSNR float64
	}{
		{"1x1", noise(1, 1), 90, 30},
		{"white 33x17", flat, 90, 60},
		{"noise 7x9 q100", noise(7, 9), 100, 40},
		{"noise 64x48 q90", noise(64, 48), 90, 28},
		{"natural 500x333 q90", naturalImage(500, 333, 9), 90, 40},
		{"natural 161x160 q95", naturalImage(161, 160, 10), 95, 42},
		{"natural 160x160 q100", naturalImage(160, 160, 11), 100, 48},
	} {
		var b bytes.Buffer
		if err := encodeJPEG444(&b, c.m, c.q); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		std, err := jpeg.Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%s: image/jpeg: %v", c.name, err)
		}
		own, err := jpegscale.Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%s: jpegscale: %v", c.name, err)
		}
		y, ok := std.(*image.YCbCr)
		if !ok || y.SubsampleRatio != image.YCbCrSubsampleRatio444 || y.Rect != c.m.Rect {
			t.Fatalf("%s: decoded %T %v", c.name, std, std.Bounds())
		}
		ref := toPlanes(c.m)
		p1, p2 := psnr(ref, toPlanes(std)), psnr(ref, toPlanes(own))
		t.Logf("%s: %d bytes, PSNR %.2f dB (image/jpeg), %.2f dB (jpegscale)", c.name, b.Len(), p1, p2)
		if p1 < c.minPSNR || math.Abs(p1-p2) > 0.5 {
			t.Errorf("%s: PSNR %.2f / %.2f dB, want >= %.0f", c.name, p1, p2, c.minPSNR)
		}
	}
	if err := encodeJPEG444(new(bytes.Buffer), image.NewRGBA(rect(jpegMaxSide+1, 1)), 90); err == nil {
		t.Error("encoded a frame wider than JPEG allows")
	}
}

// TestDerivedJPEGSubsampling checks which encoder writes derived JPEGs: 4:4:4 from quality
// 90 (the default), image/jpeg's 4:2:0 below.
func TestDerivedJPEGSubsampling(t *testing.T) {
	src := encodeJPEG(t, naturalImage(800, 600, 4), 85)
	for _, c := range []struct {
		q    int
		want image.YCbCrSubsampleRatio
	}{{0, image.YCbCrSubsampleRatio444}, {90, image.YCbCrSubsampleRatio444}, {89, image.YCbCrSubsampleRatio420}} {
		_, out := mustProcess(t, src, Options{Quality: c.q})
		for name, b := range map[string][]byte{"thumb": out.thumb.Bytes(), "medium": out.medium.Bytes()} {
			m, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if y, ok := m.(*image.YCbCr); !ok || y.SubsampleRatio != c.want {
				t.Errorf("q%d %s: %T %v, want %v", c.q, name, m, m.ColorModel() == color.YCbCrModel, c.want)
			}
		}
	}
}

// BenchmarkEncodeJPEG compares the 4:4:4 encoder with image/jpeg (4:2:0) on a 500x333 medium.
func BenchmarkEncodeJPEG(b *testing.B) {
	m := naturalImage(500, 333, 12)
	b.Run("imagejpeg-420", func(b *testing.B) {
		for b.Loop() {
			if err := jpeg.Encode(new(bytes.Buffer), m, &jpeg.Options{Quality: 90}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("own-444", func(b *testing.B) {
		for b.Loop() {
			if err := encodeJPEG444(new(bytes.Buffer), m, 90); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestJPEGPSNREstimate: the PSNR appendJPEG444 computes in the DCT domain is the PSNR of its
// output, decoded by image/jpeg, against the pixels it was given, within 0.5 dB below 45 dB
// (where jpegMinPSNR decides) and 1 dB above, on the mediums of the PSNR test's sources;
// sampledJPEGPSNR's estimate from a sample of the blocks is within 1 dB of it.
func TestJPEGPSNREstimate(t *testing.T) {
	for _, c := range psnrCases(t) {
		data := c.data(t)
		res, _ := mustProcess(t, data, Options{})
		if res.Width <= DefaultMediumWidth {
			continue
		}
		raw := rawMedium(t, data)
		sampled := sampledJPEGPSNR(raw, []int{90, 94, 97})
		for i, q := range []int{90, 94, 97} {
			b, est, err := appendJPEG444(nil, raw, q, true)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			got := psnr(toPlanes(raw), toPlanes(dec))
			t.Logf("%s q%d: estimated %.2f dB (from one block in %d: %.2f dB), measured %.2f dB", c.name, q, est, jpegSampleEvery, sampled[i], got)
			if math.Abs(sampled[i]-est) > 1 {
				t.Errorf("%s q%d: estimated %.2f dB from the sample, %.2f dB from all blocks", c.name, q, sampled[i], est)
			}
			tol := 0.5
			if got >= 45 {
				tol = 1
			}
			if math.Abs(est-got) > tol {
				t.Errorf("%s q%d: estimated %.2f dB, measured %.2f dB", c.name, q, est, got)
			}
		}
	}
}

// TestDerivedJPEGQualityFloor: a JPEG medium is written at quality 90, 94 or 97, leaving at
// least jpegMinPSNR unless at 97; thumbnails, the stored full image and outputs below
// quality 90 keep the quality asked for. Of the two sources, the detailed
// one must be raised and the smooth one not, or the test proves nothing.
func TestDerivedJPEGQualityFloor(t *testing.T) {
	tables := func(q int) []byte {
		var zz []byte
		qt := jpegQuantTables(q)
		for _, tab := range qt {
			for _, n := range jpegZigzag {
				zz = append(zz, byte(tab[n]))
			}
		}
		return zz
	}
	qualityOf := func(b []byte) int {
		got := bytes.Join(dqtTables(t, b), nil)
		for q := 1; q <= 100; q++ {
			if bytes.Equal(got, tables(q)) {
				return q
			}
		}
		t.Fatalf("tables of no quality: %v", got)
		return 0
	}
	detailed := image.NewRGBA(rect(1200, 900))
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range detailed.Pix {
		detailed.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			detailed.Pix[i] = 255
		}
	}
	raised := map[string]bool{}
	for name, src := range map[string][]byte{
		"detailed": encodeJPEG(t, detailed, 95),
		"smooth":   encodeJPEG(t, naturalImage(1200, 900, 8), 95),
	} {
		_, out := mustProcess(t, src, Options{})
		raw := rawMedium(t, src)
		got := qualityOf(out.medium.Bytes())
		_, est, _ := appendJPEG444(nil, raw, got, true)
		t.Logf("%s: medium at quality %d, %.2f dB (%d bytes)", name, got, est, out.medium.Len())
		if last := jpegRetryQualities[len(jpegRetryQualities)-1]; est < jpegMinPSNR && got != last {
			t.Errorf("%s: medium at quality %d leaves %.2f dB", name, got, est)
		}
		if got != DefaultQuality && !slices.Contains(jpegRetryQualities[:], got) {
			t.Errorf("%s: medium at quality %d", name, got)
		}
		raised[name] = got > DefaultQuality
		if q := qualityOf(out.thumb.Bytes()); q != DefaultQuality {
			t.Errorf("%s: thumbnail at quality %d, want %d", name, q, DefaultQuality)
		}
		_, out = mustProcess(t, src, Options{Quality: 89})
		if q := qualityOf(out.medium.Bytes()); q != 89 {
			t.Errorf("%s at quality 89: medium at %d", name, q)
		}
	}
	if !raised["detailed"] || raised["smooth"] {
		t.Errorf("raised: %v; want the detailed source only", raised)
	}
	if q := qualityOf(mustEncodeFull(t, detailed)); q != DefaultQuality {
		t.Errorf("stored full image at quality %d, want %d", q, DefaultQuality)
	}
}

// mustEncodeFull encodes m as the stored full image of a JPEG upload is encoded.
func mustEncodeFull(t *testing.T, m *image.RGBA) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := (encoder{format: JPEG, quality: DefaultQuality}).stored().encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
