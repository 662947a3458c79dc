package jpegscale

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func init() { debugPanics = true }

// testFiles lists the JPEGs of Go's image/testdata, x/image's testdata (when the module is
// in the module cache), imaging/testdata and $JPEGSCALE_EXTRA_DIR/*.jpg when set.
func testFiles(t testing.TB) []string {
	var files []string
	out, _ := exec.Command("go", "env", "GOROOT").Output()
	goroot := filepath.Join(strings.TrimSpace(string(out)), "src", "image", "testdata")
	if m, _ := filepath.Glob(filepath.Join(goroot, "*.jpeg")); len(m) > 0 {
		files = append(files, m...)
	} else {
		t.Logf("no JPEGs under %s (GOROOT sources absent): differential coverage reduced", goroot)
	}
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/image").Output(); err == nil {
		m, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "testdata", "*.jpeg"))
		files = append(files, m...)
	}
	if dir := os.Getenv("JPEGSCALE_EXTRA_DIR"); dir != "" {
		// Opt-in: e.g. the benchmark photos bench/ fetches (bench/out/img).
		m, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
		files = append(files, m...)
	}
	m, _ := filepath.Glob("../testdata/*.jpg")
	files = append(files, m...)
	if len(files) == 0 {
		t.Skip("no test JPEGs found")
	}
	return files
}

// testBudget keeps the bomb in imaging/testdata from allocating gigabytes.
const testBudget = 1 << 26

// maxDiffYCCK bounds CMYK output converted from YCCK, where a difference of 1 in Y, Cb
// and Cr grows through the YCbCr-to-RGB matrix (measured: 3, jpeg-cmyk-progressive.jpg).
const maxDiffYCCK = 3

// maxDiffBound is the largest per-sample difference seen against image/jpeg at full scale.
const maxDiffBound = 1

func sampleDiff(a, b image.Image) (int, error) {
	if a.Bounds() != b.Bounds() {
		return 0, fmt.Errorf("bounds %v, want %v", a.Bounds(), b.Bounds())
	}
	if fmt.Sprintf("%T", a) != fmt.Sprintf("%T", b) {
		return 0, fmt.Errorf("type %T, want %T", a, b)
	}
	r := a.Bounds()
	worst := 0
	upd := func(x, y uint8) {
		dv := int(x) - int(y)
		worst = max(worst, dv, -dv)
	}
	switch a := a.(type) {
	case *image.Gray:
		b := b.(*image.Gray)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				upd(a.GrayAt(x, y).Y, b.GrayAt(x, y).Y)
			}
		}
	case *image.YCbCr:
		b := b.(*image.YCbCr)
		if a.SubsampleRatio != b.SubsampleRatio {
			return 0, fmt.Errorf("ratio %v, want %v", a.SubsampleRatio, b.SubsampleRatio)
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				upd(a.Y[a.YOffset(x, y)], b.Y[b.YOffset(x, y)])
				upd(a.Cb[a.COffset(x, y)], b.Cb[b.COffset(x, y)])
				upd(a.Cr[a.COffset(x, y)], b.Cr[b.COffset(x, y)])
			}
		}
	case *image.CMYK:
		b := b.(*image.CMYK)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for i := 0; i < 4*r.Dx(); i++ {
				upd(a.Pix[a.PixOffset(r.Min.X, y)+i], b.Pix[b.PixOffset(r.Min.X, y)+i])
			}
		}
	case *image.RGBA:
		b := b.(*image.RGBA)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for i := 0; i < 4*r.Dx(); i++ {
				upd(a.Pix[a.PixOffset(r.Min.X, y)+i], b.Pix[b.PixOffset(r.Min.X, y)+i])
			}
		}
	default:
		return 0, fmt.Errorf("unexpected type %T", a)
	}
	return worst, nil
}

func TestDifferential(t *testing.T) {
	var decoded, unsupportedN, bothFail int
	for _, f := range testFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(data)); err == nil && int64(cfg.Width)*int64(cfg.Height) > testBudget {
			// image/jpeg would allocate the whole frame (gigabytes for the bomb) first.
			if _, _, err := decode(bytes.NewReader(data), -1, -1, testBudget); !errors.Is(err, ErrTooLarge) {
				t.Errorf("%s: %dx%d over the budget: err %v, want ErrTooLarge", name, cfg.Width, cfg.Height, err)
			}
			t.Logf("%s: %dx%d refused before allocation (budget %d pixels)", name, cfg.Width, cfg.Height, testBudget)
			continue
		}
		want, werr := jpeg.Decode(bytes.NewReader(data))
		got, _, gerr := decode(bytes.NewReader(data), -1, -1, testBudget)
		switch {
		case werr != nil && gerr != nil:
			bothFail++
			t.Logf("%s: both fail: stdlib %v; jpegscale %v", name, werr, gerr)
		case werr != nil:
			t.Errorf("%s: stdlib fails (%v) but jpegscale decodes", name, werr)
		case errors.Is(gerr, ErrUnsupported):
			unsupportedN++
			t.Logf("%s: unsupported: %v", name, gerr)
		case gerr != nil:
			t.Errorf("%s: %v (stdlib decodes it)", name, gerr)
		default:
			d, err := sampleDiff(got, want)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			decoded++
			t.Logf("%s: %T %v max diff %d", name, got, got.Bounds(), d)
			bound := maxDiffBound
			if strings.Contains(name, "cmyk") {
				bound = maxDiffYCCK
			}
			if d > bound {
				t.Errorf("%s: max sample difference %d > %d", name, d, bound)
			}
		}
	}
	t.Logf("decoded %d, unsupported %d, rejected by both %d", decoded, unsupportedN, bothFail)
}

// expectUnsupported lists the files this package does not decode yet; the differential
// test logs them, this test keeps the list honest.
func TestUnsupportedIsExplicit(t *testing.T) {
	for _, f := range testFiles(t) {
		data, _ := os.ReadFile(f)
		_, _, err := decode(bytes.NewReader(data), -1, -1, testBudget)
		if err != nil && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) {
			if _, serr := jpeg.Decode(bytes.NewReader(data)); serr == nil { // never the bomb: ErrTooLarge above
				t.Errorf("%s: %v", filepath.Base(f), err)
			}
		}
	}
}
