package server

// Hostile input against the API handler: every case asserts the exact answer
// a client gets and that nothing stored changed (same records, same files
// anywhere under the test's temp dir, empty tmp/), or, for inputs that are
// accepted, exactly one new image in images/YYYY/MM/DD and nothing else.

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"picbed/ingest"
	"picbed/server/site"
	"picbed/store"
)

// hostileState is what a data dir holds: image records and every file under
// the test's temp dir (the data dir's parent), so a write outside the data
// dir shows up too.
type hostileState struct {
	records []string          // "id file"
	files   map[string]string // path relative to the temp root -> md5
}

func (h *testHost) dataDir() string { return filepath.Dir(h.store.ImagesDir()) }

func (h *testHost) tmpDir() string { return filepath.Join(h.dataDir(), "tmp") }

func (h *testHost) state(t *testing.T) hostileState {
	t.Helper()
	var st hostileState
	for _, owner := range []string{"tester"} {
		u, err := h.store.UserByName(owner)
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := h.store.Images(u.ID, 0, store.MaxImagesLimit)
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range imgs {
			st.records = append(st.records, fmt.Sprintf("%d %s", img.ID, img.File(store.Full)))
		}
	}
	if guests, _ := h.store.Images(0, 0, store.MaxImagesLimit); len(guests) != 0 {
		t.Errorf("%d guest images: the API only stores images of key holders", len(guests))
	}
	sort.Strings(st.records)
	st.files = map[string]string{}
	root := filepath.Dir(h.dataDir())
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, "picbed.db") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum := md5.Sum(b)
		st.files[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitTmpEmpty fails unless tmp/ is empty within a second: the staging files
// of a request are removed when its handler returns, which can be just after
// a long answer reached the client.
func (h *testHost) waitTmpEmpty(t *testing.T) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		entries, err := os.ReadDir(h.tmpDir())
		if err != nil {
			t.Fatal(err)
		}
		left = left[:0]
		for _, e := range entries {
			left = append(left, e.Name())
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tmp/ still holds %v", left)
		}
	}
}

// assertUnchanged checks that nothing stored changed since before.
func (h *testHost) assertUnchanged(t *testing.T, before hostileState) {
	t.Helper()
	h.waitTmpEmpty(t)
	after := h.state(t)
	if strings.Join(after.records, ",") != strings.Join(before.records, ",") {
		t.Errorf("records changed:\nbefore %v\nafter  %v", before.records, after.records)
	}
	for p, sum := range after.files {
		if before.files[p] != sum {
			t.Errorf("file %s appeared or changed", p)
		}
	}
	for p := range before.files {
		if _, ok := after.files[p]; !ok {
			t.Errorf("file %s disappeared", p)
		}
	}
}

// storedFileRE is the shape of every stored file, relative to the data dir.
var storedFileRE = regexp.MustCompile(`^images/\d{4}/\d{2}/\d{2}/[A-Za-z0-9_-][A-Za-z0-9._-]*\.(jpg|png|gif|webp)$`)

// assertOneNewImage checks that exactly one record was added, and only its
// files appeared, all in images/YYYY/MM/DD with clean names. It returns the
// new record.
func (h *testHost) assertOneNewImage(t *testing.T, before hostileState) store.Image {
	t.Helper()
	h.waitTmpEmpty(t)
	after := h.state(t)
	if len(after.records) != len(before.records)+1 {
		t.Fatalf("records: %d before, %d after, want one more", len(before.records), len(after.records))
	}
	u, _ := h.store.UserByName("tester")
	imgs, _ := h.store.Images(u.ID, 0, 1)
	img := imgs[0]
	want := map[string]bool{}
	for _, v := range []store.Variant{store.Full, store.Thumb, store.Medium} {
		if v == store.Full || (v == store.Thumb && img.ThumbSize > 0) || (v == store.Medium && img.MediumSize > 0) {
			want[filepath.Base(h.dataDir())+"/images/"+img.File(v)] = true
		}
	}
	for p, sum := range after.files {
		if before.files[p] == sum {
			continue
		}
		if !want[p] {
			t.Errorf("unexpected file %s", p)
		}
		if !storedFileRE.MatchString(strings.TrimPrefix(p, filepath.Base(h.dataDir())+"/")) {
			t.Errorf("stored file %q is not images/YYYY/MM/DD/CLEAN.EXT", p)
		}
		delete(want, p)
	}
	for p := range want {
		t.Errorf("file %s of the new record is missing", p)
	}
	return img
}

// newHostileHost is newTestHost without flood limits: they are tested in
// ratelimit_test.go, and here would only cap the number of cases per host.
func newHostileHost(t *testing.T, cfg Config) *testHost {
	t.Helper()
	cfg.Site.FloodLimits = &site.FloodLimits{}
	return newTestHost(t, cfg)
}

// rawPost sends body with content type ct and returns status and body.
func (h *testHost) rawPost(t *testing.T, query, ct string, body io.Reader, hdr http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", h.http.URL+"/api/1/upload"+query, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// apiError400 checks a Chevereto error answer: HTTP 400 and the exact
// message and code.
func apiError400(t *testing.T, status int, raw []byte, message string, code int) {
	t.Helper()
	var doc struct {
		StatusCode int `json:"status_code"`
		Error      struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("HTTP %d, answer is not JSON: %v: %.200q", status, err, raw)
	}
	if status != 400 || doc.StatusCode != 400 || doc.Error.Message != message || doc.Error.Code != code {
		t.Errorf("HTTP %d, error %q (%d), want 400 %q (%d): %.300s", status, doc.Error.Message, doc.Error.Code, message, code, raw)
	}
}

func imagingTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "imaging", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withPNGChunk inserts a chunk right after IHDR of an encoded PNG.
func withPNGChunk(png []byte, typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	at := 8 + 12 + 13 // signature, IHDR
	return append(append(append([]byte{}, png[:at]...), c...), png[at:]...)
}

// withGIFComment inserts a comment extension after the header, logical
// screen descriptor and global colour table of a GIF.
func withGIFComment(gif []byte, text string) []byte {
	at := 13
	if gif[10]&0x80 != 0 {
		at += 3 << (gif[10]&7 + 1)
	}
	ext := []byte{0x21, 0xfe}
	for s := text; len(s) > 0; {
		n := min(len(s), 255)
		ext = append(ext, byte(n))
		ext = append(ext, s[:n]...)
		s = s[n:]
	}
	ext = append(ext, 0)
	return append(append(append([]byte{}, gif[:at]...), ext...), gif[at:]...)
}

// webpCanvas is a WebP whose VP8X header declares a w x h canvas, with an
// empty lossless bitstream and no pixel data (as imaging's webp bomb).
func webpCanvas(w, h int) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00")
	b = append(b, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	b = append(b, "VP8L\x05\x00\x00\x00\x2f\x00\x00\x00\x00\x00"...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// deflateBombPNG is a PNG declaring w x h 8-bit grey pixels whose IDAT
// inflates to inflated bytes of zeros.
func deflateBombPNG(t *testing.T, w, h, inflated int) []byte {
	t.Helper()
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 0, 0, 0, 0)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zeros := make([]byte, 1<<20)
	for n := inflated; n > 0; n -= len(zeros) {
		zw.Write(zeros[:min(n, len(zeros))])
	}
	zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		c = append(c, typ...)
		c = append(c, data...)
		out = append(out, binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))...)
	}
	chunk("IHDR", ihdr)
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return out
}

// TestHostileFilesAreRefused: files that are not images picbed takes get the
// exact Chevereto error and leave nothing behind.
func TestHostileFilesAreRefused(t *testing.T) {
	h := newHostileHost(t, Config{})
	const (
		noInfo  = "Can't get target upload source info"
		invalid = "Invalid image"
		bomb    = "Image too large - max 50 megapixels"
	)
	formats := []struct{ ext, file string }{
		{"jpg", "small.jpg"}, {"png", "small.png"}, {"gif", "anim.gif"}, {"webp", "image.webp"}, {"bmp", "image.bmp"},
	}
	type refusal struct {
		name, file string
		data       []byte
		message    string
		code       int
	}
	var cases []refusal
	for _, f := range formats {
		full := readTestdata(t, f.file)
		if f.ext == "jpg" {
			// JPEG's signature is three bytes: four are a JPEG cut short.
			cases = append(cases, refusal{".jpg with only 4 bytes is invalid", "magic.jpg", full[:4], invalid, 311})
		} else {
			cases = append(cases, refusal{"." + f.ext + " with only 4 bytes of its signature is no image", "magic." + f.ext, full[:4], noInfo, 310})
		}
		cases = append(cases,
			refusal{"zero-byte ." + f.ext + " is no image", "empty." + f.ext, []byte{}, noInfo, 310},
			refusal{"." + f.ext + " cut inside its header is invalid", "cut." + f.ext, full[:20], invalid, 311},
			refusal{"." + f.ext + " cut inside its first image data is invalid", "half." + f.ext, full[:min(len(full)/2, 400)], invalid, 311},
		)
	}
	cases = append(cases, []refusal{
		{"text named .png is no image", "notes.png", readTestdata(t, "notimage.txt"), noInfo, 310},
		{"text starting with BM named .bmp is no image", "notes.bmp", []byte("BMW sales report, 2026\n"), noInfo, 310},
		{"text starting with GIF8 is no image", "notes.gif", []byte("GIF8 is how GIF files start\n"), noInfo, 310},
		{"SVG with script is no image", "x.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>`), noInfo, 310},
		{"SVG with XML prolog named .png is no image", "x.png", imagingTestdata(t, "image.svg"), noInfo, 310},
		{"HTML page named .jpg is no image", "x.jpg", imagingTestdata(t, "page.html"), noInfo, 310},
		{"HTML with a BOM named .gif is no image", "x.gif", []byte("\xef\xbb\xbf<!doctype html><script>alert(1)</script>"), noInfo, 310},
		// "<h" and "tm" read as a 26684x28020 logical screen.
		{"HTML behind a GIF magic is refused by its absurd size", "x.gif", []byte("GIF89a<html><script>alert(1)</script></html>"), bomb, 313},
		{"GIF magic then garbage is invalid", "x.gif", []byte("GIF89a\x10\x00\x10\x00\x00\x00\x00<script>alert(1)</script>"), invalid, 311},
		{"TIFF is an unavailable format", "x.tif", imagingTestdata(t, "tiff-64x64.tif"), "Unavailable image format", 313},
		{"PNG header declaring 50000x50000 is refused from the header", "bomb.png", imagingTestdata(t, "png-bomb-50000x50000.png"), bomb, 313},
		{"GIF header declaring 50000x50000 is refused from the header", "bomb.gif", imagingTestdata(t, "gif-bomb-50000x50000.gif"), bomb, 313},
		{"JPEG header declaring 50000x50000 is refused from the header", "bomb.jpg", imagingTestdata(t, "jpeg-bomb-50000x50000.jpg"), bomb, 313},
		{"BMP header declaring 50000x50000 is refused from the header", "bomb.bmp", imagingTestdata(t, "bmp-bomb-50000x50000.bmp"), bomb, 313},
		// x/image/webp reads no canvas wider than 16384 at all.
		{"WebP VP8X canvas of 50000x50000 is invalid", "bomb.webp", webpCanvas(50000, 50000), invalid, 311},
		{"WebP of 16384x16384 is refused from the header", "bomb2.webp", imagingTestdata(t, "webp-bomb-16384x16384.webp"), bomb, 313},
		{"PNG of width zero is invalid", "zero.png", imagingTestdata(t, "png-zero-width.png"), invalid, 311},
	}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			status, _, raw := h.post(t, nil, tc.file, tc.data, nil)
			apiError400(t, status, raw, tc.message, tc.code)
			h.assertUnchanged(t, before)
		})
	}
}

// TestTruncatedAnimationKeepsItsFirstFrames: a GIF cut after its first
// frame is accepted and stored as received, as browsers show such files; an
// image cut before its first frame is complete is refused (above).
func TestTruncatedAnimationKeepsItsFirstFrames(t *testing.T) {
	h := newHostileHost(t, Config{})
	gif := readTestdata(t, "anim.gif")[:1448] // inside the second of three frames
	before := h.state(t)
	status, doc, raw := h.post(t, nil, "cut.gif", gif, nil)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	img := imageOf(t, doc, raw)
	rec := h.assertOneNewImage(t, before)
	stored, _ := os.ReadFile(h.store.FilePath(rec, store.Full))
	if !bytes.Equal(stored, gif) || img["is_animated"] != "1" || img["width"] != "600" {
		t.Errorf("stored %d bytes (sent %d), animated %v, width %v", len(stored), len(gif), img["is_animated"], img["width"])
	}
}

// TestBombsAllocateLittle: pixel and deflate bombs are refused without
// allocating anything near their decoded size.
func TestBombsAllocateLittle(t *testing.T) {
	h := newHostileHost(t, Config{})
	for _, tc := range []struct {
		name       string
		data       []byte
		decoded    uint64 // bytes a full decode would take
		message    string
		code       int
		allocLimit uint64
	}{
		{"PNG declaring 50000x50000 RGBA", imagingTestdata(t, "png-bomb-50000x50000.png"), 50000 * 50000 * 4, "Image too large - max 50 megapixels", 313, 8 << 20},
		{"JPEG declaring 50000x50000", imagingTestdata(t, "jpeg-bomb-50000x50000.jpg"), 50000 * 50000 * 3, "Image too large - max 50 megapixels", 313, 8 << 20},
		{"GIF declaring 50000x50000", imagingTestdata(t, "gif-bomb-50000x50000.gif"), 50000 * 50000, "Image too large - max 50 megapixels", 313, 8 << 20},
		{"WebP declaring 50000x50000", webpCanvas(50000, 50000), 50000 * 50000 * 4, "Invalid image", 311, 8 << 20},
		{"WebP declaring 16384x16384", imagingTestdata(t, "webp-bomb-16384x16384.webp"), 16384 * 16384 * 4, "Image too large - max 50 megapixels", 313, 8 << 20},
		{"deflate bomb PNG declaring 50000x50000", deflateBombPNG(t, 50000, 50000, 64<<20), 50000 * 50000, "Image too large - max 50 megapixels", 313, 8 << 20},
		// 1000x1000 is within the budget: the first 1 MB of pixels is
		// decoded, then the 256 MB of surplus zeros are refused after one
		// byte.
		{"deflate bomb PNG inflating to 256 MB more than its 1000x1000 pixels", deflateBombPNG(t, 1000, 1000, 1001*1000+256<<20), 256 << 20, "Invalid image", 311, 32 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			var status int
			var raw []byte
			alloc := allocated(func() { status, _, raw = h.post(t, nil, "bomb.png", tc.data, nil) })
			apiError400(t, status, raw, tc.message, tc.code)
			if alloc > tc.allocLimit {
				t.Errorf("allocated %d MB for a %d kB file (a decode would take %d MB), limit %d MB",
					alloc>>20, len(tc.data)>>10, tc.decoded>>20, tc.allocLimit>>20)
			}
			t.Logf("%d kB file, %d MB decoded, %.1f MB allocated", len(tc.data)>>10, tc.decoded>>20, float64(alloc)/(1<<20))
			h.assertUnchanged(t, before)
		})
	}
}

// allocated returns the bytes allocated in this process while fn runs; the
// server runs in this process, so its allocations count.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// httpGet GETs u and returns the answer and its body.
func httpGet(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestPolyglotsAreStoredAsImages: image files carrying HTML, script or an
// archive are accepted as the image they are, served only as that image
// type with nosniff and a sandbox CSP, and under the default EXIF=strip the
// PNG text chunk and the JPEG trailer are gone from the stored bytes. A GIF
// is stored untouched, so its comment stays, inert behind those headers.
func TestPolyglotsAreStoredAsImages(t *testing.T) {
	const payload = `<html><script>alert(document.domain)</script></html>`
	h := newHostileHost(t, Config{})
	for _, tc := range []struct {
		name, file string
		data       []byte
		mime, ext  string
		hidden     string // must not be in the stored file
		kept       bool   // the payload stays (GIF is stored untouched)
	}{
		{"PNG with HTML in a tEXt chunk", "poly.png", withPNGChunk(readTestdata(t, "small.png"), "tEXt", []byte("Comment\x00"+payload)), "image/png", "png", payload, false},
		{"PNG with HTML in an iTXt chunk", "poly2.png", withPNGChunk(readTestdata(t, "photo.png"), "iTXt", []byte("Comment\x00\x00\x00\x00\x00"+payload)), "image/png", "png", payload, false},
		{"GIF with HTML in a comment extension", "poly.gif", withGIFComment(readTestdata(t, "anim.gif"), payload), "image/gif", "gif", payload, true},
		{"JPEG with a ZIP archive after its end", "poly.jpg", imagingTestdata(t, "jpeg-polyglot-zip.jpg"), "image/jpeg", "jpg", "PK\x03\x04", false},
		{"JPEG with HTML after its end", "poly2.jpg", append(append([]byte{}, readTestdata(t, "photo.jpg")...), payload...), "image/jpeg", "jpg", payload, false},
		{"PNG named .html is stored as .png", "page.html", withPNGChunk(imagingTestdata(t, "png-600x375.png"), "tEXt", []byte("x\x00"+payload)), "image/png", "png", payload, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Contains(tc.data, []byte(tc.hidden)) {
				t.Fatal("test file lacks its payload")
			}
			before := h.state(t)
			status, doc, raw := h.post(t, nil, tc.file, tc.data, nil)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			img := imageOf(t, doc, raw)
			if img["extension"] != tc.ext || img["mime"] != tc.mime {
				t.Errorf("stored as %v %v, want %s %s", img["extension"], img["mime"], tc.ext, tc.mime)
			}
			rec := h.assertOneNewImage(t, before)
			resp, body := httpGet(t, img["url"].(string))
			for k, want := range map[string]string{
				"Content-Type":            tc.mime,
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": "sandbox",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			stored, err := os.ReadFile(h.store.FilePath(rec, store.Full))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, stored) {
				t.Error("served bytes differ from the stored file")
			}
			if got := bytes.Contains(stored, []byte(tc.hidden)); got != tc.kept {
				t.Errorf("stored file contains the payload: %v, want %v", got, tc.kept)
			}
		})
	}
}

// TestWrongExtensionsFollowTheContent: the content decides the type and the
// stored extension, never the client's file name.
func TestWrongExtensionsFollowTheContent(t *testing.T) {
	h := newHostileHost(t, Config{})
	for _, tc := range []struct {
		name, file, fixture, ext, orig string
	}{
		{"PNG named .jpg is stored as .png", "shot.jpg", "small.png", "png", "shot.jpg"},
		{"JPEG named .png is stored as .jpg", "shot.png", "small.jpg", "jpg", "shot.png"},
		{"GIF named .webp is stored as .gif", "anim.webp", "anim.gif", "gif", "anim.webp"},
		{"WebP named .gif is stored as .webp", "pic.gif", "image.webp", "webp", "pic.gif"},
		{"BMP named .jpg is stored as .png", "scan.jpg", "image.bmp", "png", "scan.jpg"},
		{"PNG without an extension gets .png", "noext", "photo.png", "png", "noext.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			status, doc, raw := h.post(t, nil, tc.file, readTestdata(t, tc.fixture), nil)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			img := imageOf(t, doc, raw)
			rec := h.assertOneNewImage(t, before)
			if rec.Ext != tc.ext || img["extension"] != tc.ext || !strings.HasSuffix(img["url"].(string), "."+tc.ext) {
				t.Errorf("stored ext %q, answer %v %v, want %s", rec.Ext, img["extension"], img["url"], tc.ext)
			}
			if img["original_filename"] != tc.orig {
				t.Errorf("original_filename %q, want %q", img["original_filename"], tc.orig)
			}
		})
	}
}

// postNamed posts a file part whose Content-Disposition carries filename
// as given, quotes and backslashes escaped as clients do; a filename
// starting with "*=" is sent as is, for RFC 5987 names
// (filename*=UTF-8 then two quotes and the percent-encoded name).
func (h *testHost) postNamed(t *testing.T, filename string, data []byte, fields map[string]string) (int, map[string]any, []byte) {
	t.Helper()
	var body bytes.Buffer
	bd := "hostile-boundary-0123456789"
	fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n%s\r\n", bd, h.key)
	for k, v := range fields {
		fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", bd, k, v)
	}
	disp := `filename="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(filename) + `"`
	if strings.HasPrefix(filename, "*=") {
		disp = "filename" + filename
	}
	fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"source\"; %s\r\nContent-Type: application/octet-stream\r\n\r\n", bd, disp)
	body.Write(data)
	fmt.Fprintf(&body, "\r\n--%s--\r\n", bd)
	status, raw := h.rawPost(t, "", "multipart/form-data; boundary="+bd, &body, nil)
	var doc map[string]any
	json.Unmarshal(raw, &doc)
	return status, doc, raw
}

// viewerPage fetches the viewer page of an answer's image.
func viewerPage(t *testing.T, img map[string]any) string {
	t.Helper()
	resp, body := httpGet(t, img["url_viewer"].(string))
	if resp.StatusCode != 200 {
		t.Fatalf("viewer %s: %s", img["url_viewer"], resp.Status)
	}
	return string(body)
}

// TestHostileFileNames: client file names never choose where a file lands:
// the stored file is images/YYYY/MM/DD/CLEAN.EXT, nothing appears anywhere
// else, original_filename is valid JSON of the name picbed kept, and the
// viewer page shows the title escaped.
func TestHostileFileNames(t *testing.T) {
	h := newHostileHost(t, Config{Settings: site.Settings{Duplicates: ingest.DuplicatesAllow}})
	long := strings.Repeat("a", 10_000) + ".png"
	for _, tc := range []struct {
		name, filename string
		stored         string // stored name without extension; "" = 32 random hex
		orig           string // original_filename in the answer
		title          string
	}{
		{"parent directories are dropped", "../../../../etc/passwd.png", "passwd", "passwd.png", "passwd"},
		{"Windows parent directories are dropped", `..\..\..\windows\win.ini.png`, "win.ini", "win.ini.png", "win.ini"},
		{"an absolute path keeps only its base name", "/var/lib/picbed/picbed.db.png", "picbed.db", "picbed.db.png", "picbed.db"},
		{"a Windows absolute path keeps only its base name", `C:\Users\me\Desktop\shot.png`, "shot", "shot.png", "shot"},
		{"a name of dots only gets a random name", "...png", "", "...png", ""},
		{"a dot-dot name gets a random name", "..", "", "..", ""},
		{"percent-encoded control characters are dropped from the stored name and title", "*=UTF-8''a%01b%1Bc%7F.png", "abc", "a\x01b\x1bc\x7f.png", "abc"},
		{"a percent-encoded NUL is dropped", "*=UTF-8''evil%00.png", "evil", "evil\x00.png", "evil"},
		{"a percent-encoded slash cannot make a path", "*=UTF-8''..%2F..%2Fx.png", "x", "x.png", "x"},
		{"an RTL override cannot fake the extension", "invoice\u202egnp.exe.png", "invoicegnp.exe", "invoice\u202egnp.exe.png", "invoicegnp.exe"},
		{"a percent-encoded RTL override cannot fake the extension", "*=UTF-8''invoice%E2%80%AEgnp.exe.png", "invoicegnp.exe", "invoice\u202egnp.exe.png", "invoicegnp.exe"},
		{"markup in the name is escaped everywhere", `"><img src=x onerror=alert(1)>.png`, "img-srcx-onerroralert1", `"><img src=x onerror=alert(1)>.png`, `"><img src=x onerror=alert(1)>`},
		{"a 10 kB name is capped", long, strings.Repeat("a", store.MaxNameBytes), long, strings.Repeat("a", ingest.MaxTitleRunes)},
		{"reserved Windows name CON", "CON", "CON", "CON.png", "CON"},
		{"reserved Windows name NUL.png", "NUL.png", "NUL", "NUL.png", "NUL"},
		{"reserved Windows name aux.jpg", "aux.jpg", "aux", "aux.jpg", "aux"},
		{"a thumbnail-like name cannot shadow a thumbnail", "x.th.png", "x", "x.th.png", "x.th"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			status, doc, raw := h.postNamed(t, tc.filename, readTestdata(t, "small.png"), nil)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			img := imageOf(t, doc, raw)
			rec := h.assertOneNewImage(t, before)
			if tc.stored == "" {
				if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(rec.Name) {
					t.Errorf("stored name %q, want 32 random hex", rec.Name)
				}
			} else if !regexp.MustCompile(`^` + regexp.QuoteMeta(tc.stored) + `([0-9a-f]{16})?$`).MatchString(rec.Name) {
				// Chevereto's "mixed" fallback appends 16 hex on a name clash.
				t.Errorf("stored name %q, want %q", rec.Name, tc.stored)
			}
			if img["original_filename"] != tc.orig {
				t.Errorf("original_filename %q, want %q", img["original_filename"], tc.orig)
			}
			if tc.title != "" && img["title"] != tc.title {
				t.Errorf("title %q, want %q", img["title"], tc.title)
			}
			if !json.Valid(raw) || bytes.ContainsAny(raw, "\u202e\x00\x01\x1b") {
				t.Errorf("answer is not ASCII-escaped JSON: %.200q", raw)
			}
			page := viewerPage(t, img)
			for _, bad := range []string{"<img src=x", "\u202e", "\x01", "\x1b"} {
				if strings.Contains(page, bad) {
					t.Errorf("viewer page contains %q unescaped", bad)
				}
			}
		})
	}
}

// TestHostileTextFields: markup and invalid UTF-8 in title and description
// are stored as text and escaped in JSON, the viewer page and its og: tags.
func TestHostileTextFields(t *testing.T) {
	h := newHostileHost(t, Config{Settings: site.Settings{Duplicates: ingest.DuplicatesAllow}})
	for _, tc := range []struct {
		name, title, description string
		wantTitle, wantDesc      string
	}{
		{"script tags", `<script>alert(1)</script>`, `<script src=//evil.example/x.js></script>`, `<script>alert(1)</script>`, `<script src=//evil.example/x.js></script>`},
		{"attribute breakout", `"><img src=x onerror=alert(1)>`, `' onmouseover='alert(1)`, `"><img src=x onerror=alert(1)>`, `' onmouseover='alert(1)`},
		{"invalid UTF-8 becomes U+FFFD", "caf\xe9 \xff\xfe", "a\xc3\x28b", "caf\ufffd \ufffd", "a\ufffd(b"},
		{"control and bidi characters are dropped", "a\x00b\x1b[31mc\u202ed", "line\r\nnext\x07", "ab[31mcd", "line\nnext"},
		{"a JSON breakout stays a string", `","status_code":200,"x":"`, `\u0000\"}`, `","status_code":200,"x":"`, `\u0000\"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			status, doc, raw := h.post(t, map[string]string{"title": tc.title, "description": tc.description}, "small.png", readTestdata(t, "small.png"), nil)
			if status != 200 {
				t.Fatalf("%d %s", status, raw)
			}
			img := imageOf(t, doc, raw)
			h.assertOneNewImage(t, before)
			if img["title"] != tc.wantTitle || img["description"] != tc.wantDesc {
				t.Errorf("title %q description %q, want %q %q", img["title"], img["description"], tc.wantTitle, tc.wantDesc)
			}
			if !bytes.ContainsAny(raw, "<>") && strings.ContainsAny(tc.wantTitle, "<>") {
				// PHP's json_encode leaves < and > as they are; they must be there.
				t.Errorf("title markup missing from JSON: %.200s", raw)
			}
			page := viewerPage(t, img)
			// The layout's own module scripts are the only <script> tags.
			if n, ours := strings.Count(page, "<script"), strings.Count(page, `<script type="module" src="/static/`); n != ours {
				t.Errorf("viewer page has %d <script tags, %d of them the layout's", n, ours)
			}
			for _, bad := range []string{"<img src=x", "onmouseover='", `"><img src=x`} {
				if strings.Contains(page, bad) {
					t.Errorf("viewer page contains %q unescaped", bad)
				}
			}
			// The escaped forms are there: in <h1>, og:title and og:description.
			for _, want := range []string{
				`<meta property="og:title" content="` + htmlAttr(tc.wantTitle) + `">`,
				`<meta property="og:description" content="` + htmlAttr(tc.wantDesc) + `">`,
			} {
				if !strings.Contains(page, want) {
					t.Errorf("viewer page lacks %s", want)
				}
			}
		})
	}
}

// htmlAttr escapes s as html/template does inside a quoted attribute.
func htmlAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "\x00", "\uFFFD", "+", "&#43;").Replace(s)
}

// TestHostileSourceFields: broken base64 and base64 by GET get Chevereto's
// errors; nothing is stored.
func TestHostileSourceFields(t *testing.T) {
	h := newHostileHost(t, Config{Settings: site.Settings{MaxUpload: 1_000_000}})
	good := base64.StdEncoding.EncodeToString(readTestdata(t, "small.png"))
	for _, tc := range []struct {
		name    string
		send    func(t *testing.T) (int, []byte)
		message string
		code    int
	}{
		{"base64 with a character outside the alphabet", func(t *testing.T) (int, []byte) {
			s, _, raw := h.post(t, map[string]string{"source": good[:40] + "*" + good[41:]}, "", nil, nil)
			return s, raw
		}, "Invalid base64 string.", 120},
		{"base64 without its padding", func(t *testing.T) (int, []byte) {
			s, _, raw := h.post(t, map[string]string{"source": strings.TrimRight(good, "=")}, "", nil, nil)
			return s, raw
		}, "Invalid base64 string.", 120},
		{"URL-safe base64", func(t *testing.T) (int, []byte) {
			s, _, raw := h.post(t, map[string]string{"source": base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff}, 300))}, "", nil, nil)
			return s, raw
		}, "Invalid base64 string.", 120},
		{"a data: URI", func(t *testing.T) (int, []byte) {
			s, _, raw := h.post(t, map[string]string{"source": "data:image/png;base64," + good}, "", nil, nil)
			return s, raw
		}, "Invalid base64 string.", 120},
		{"base64 of text", func(t *testing.T) (int, []byte) {
			s, _, raw := h.post(t, map[string]string{"source": base64.StdEncoding.EncodeToString([]byte("<script>alert(1)</script>"))}, "", nil, nil)
			return s, raw
		}, "Can't get target upload source info", 310},
		{"base64 by GET", func(t *testing.T) (int, []byte) {
			resp, raw := httpGet(t, h.http.URL+"/api/1/upload?key="+h.key+"&source="+url.QueryEscape(good))
			return resp.StatusCode, raw
		}, "Upload using base64 source must be done using POST method.", 130},
		{"a source of white space only", func(t *testing.T) (int, []byte) {
			s, _, raw := h.post(t, map[string]string{"source": " \r\n\t "}, "", nil, nil)
			return s, raw
		}, "Empty upload source.", 130},
		{"a URL while URL uploads are off", func(t *testing.T) (int, []byte) {
			s, _, raw := h.post(t, map[string]string{"source": "http://169.254.169.254/latest/meta-data/x.png"}, "", nil, nil)
			return s, raw
		}, "URL uploading is forbidden", 403},
		{"base64 over the size limit", func(t *testing.T) (int, []byte) {
			s, _, raw := h.post(t, map[string]string{"source": base64.StdEncoding.EncodeToString(make([]byte, 1_000_001))}, "", nil, nil)
			return s, raw
		}, "File too big - max 1 MB", 313},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			status, raw := tc.send(t)
			apiError400(t, status, raw, tc.message, tc.code)
			h.assertUnchanged(t, before)
		})
	}
}

// TestOutOfRangeParameters: every V4 parameter with values out of range is
// clamped or ignored as documented, never a 500.
func TestOutOfRangeParameters(t *testing.T) {
	h := newHostileHost(t, Config{})
	manyTags := strings.Repeat("tag,", 5000) + strings.Repeat("x", 1000)
	for _, tc := range []struct {
		name   string
		fields map[string]string
		check  func(t *testing.T, img map[string]any, rec store.Image)
	}{
		{"negative width is ignored", map[string]string{"width": "-300"}, wantWidth(600)},
		{"zero width is ignored", map[string]string{"width": "0"}, wantWidth(600)},
		{"width below 16 is ignored", map[string]string{"width": "15"}, wantWidth(600)},
		{"width 16 is honoured", map[string]string{"width": "16"}, wantWidth(16)},
		{"non-numeric width is ignored", map[string]string{"width": "300px"}, wantWidth(600)},
		{"width in exponent notation is ignored", map[string]string{"width": "3e2"}, wantWidth(600)},
		{"width beyond int64 is ignored", map[string]string{"width": "99999999999999999999999"}, wantWidth(600)},
		{"width above the image width keeps the image", map[string]string{"width": "2147483647"}, wantWidth(600)},
		{"nsfw garbage is 0", map[string]string{"nsfw": "yes<script>"}, wantField("nsfw", "0")},
		{"nsfw 2 is 0", map[string]string{"nsfw": "2"}, wantField("nsfw", "0")},
		{"expiration garbage is ignored", map[string]string{"expiration": "tomorrow"}, wantExpiry(0)},
		{"negative expiration is ignored", map[string]string{"expiration": "-60"}, wantExpiry(0)},
		{"ISO duration with a negative part is ignored", map[string]string{"expiration": "P-1D"}, wantExpiry(0)},
		{"expiration of 1 second is clamped to 5 minutes", map[string]string{"expiration": "1"}, wantExpiry(ingest.MinExpiry)},
		{"huge seconds are clamped to a year", map[string]string{"expiration": "999999999999999999999"}, wantExpiry(ingest.MaxExpiry)},
		{"int64 seconds are clamped to a year", map[string]string{"expiration": "9223372036854775807"}, wantExpiry(ingest.MaxExpiry)},
		{"ISO duration of many years is clamped to a year", map[string]string{"expiration": "P999999999Y"}, wantExpiry(ingest.MaxExpiry)},
		{"ISO duration with a 10-digit number is ignored", map[string]string{"expiration": "P9999999999D"}, wantExpiry(0)},
		{"5000 tags are cut to 20", map[string]string{"tags": manyTags}, func(t *testing.T, _ map[string]any, rec store.Image) {
			if len(rec.Tags) != ingest.MaxTags {
				t.Errorf("%d tags stored", len(rec.Tags))
			}
		}},
		{"a 1000-character tag is cut to 64", map[string]string{"tags": strings.Repeat("x", 1000)}, func(t *testing.T, _ map[string]any, rec store.Image) {
			if len(rec.Tags) != 1 || len(rec.Tags[0]) != ingest.MaxTagRunes {
				t.Errorf("tags %q", rec.Tags)
			}
		}},
		{"a 10k-character title is cut to 100", map[string]string{"title": strings.Repeat("t", 10_000)}, func(t *testing.T, img map[string]any, _ store.Image) {
			if img["title"] != strings.Repeat("t", 100) {
				t.Errorf("title of %d runes", len([]rune(img["title"].(string))))
			}
		}},
		{"a 60k-character description is cut to 10000", map[string]string{"description": strings.Repeat("d", 60_000)}, func(t *testing.T, img map[string]any, _ store.Image) {
			if n := len(img["description"].(string)); n != ingest.MaxDescriptionRunes {
				t.Errorf("description of %d bytes", n)
			}
		}},
		{"garbage format answers JSON", map[string]string{"format": "xml<script>"}, nil},
		{"album and category ids of garbage are ignored", map[string]string{"album_id": "../../1", "category_id": "-1e99"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			status, doc, raw := h.post(t, tc.fields, "photo.png", readTestdata(t, "photo.png"), nil)
			if status != 200 {
				t.Fatalf("%d %.300s", status, raw)
			}
			img := imageOf(t, doc, raw)
			rec := h.assertOneNewImage(t, before)
			if tc.check != nil {
				tc.check(t, img, rec)
			}
			// Each case uploads the same bytes; start the next one afresh.
			if err := h.store.DeleteImage(rec.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func wantWidth(w int) func(*testing.T, map[string]any, store.Image) {
	return func(t *testing.T, img map[string]any, rec store.Image) {
		t.Helper()
		if rec.Width != w || img["width"] != fmt.Sprint(w) {
			t.Errorf("stored width %d, answer %v, want %d", rec.Width, img["width"], w)
		}
	}
}

func wantField(k, v string) func(*testing.T, map[string]any, store.Image) {
	return func(t *testing.T, img map[string]any, _ store.Image) {
		t.Helper()
		if img[k] != v {
			t.Errorf("%s = %v, want %q", k, img[k], v)
		}
	}
}

// wantExpiry checks the stored expiry: none for 0, else d from now (±1 min).
func wantExpiry(d time.Duration) func(*testing.T, map[string]any, store.Image) {
	return func(t *testing.T, img map[string]any, rec store.Image) {
		t.Helper()
		if d == 0 {
			if !rec.Expires.IsZero() || img["expiration_date_gmt"] != nil {
				t.Errorf("expires %v (%v), want never", rec.Expires, img["expiration_date_gmt"])
			}
			return
		}
		if got := time.Until(rec.Expires); got < d-time.Minute || got > d+time.Minute {
			t.Errorf("expires in %v, want %v", got, d)
		}
	}
}

// TestRawControlCharactersInHeaders: a part header with raw control
// characters or NUL (no client sends them; RFC 5987 encoding is the way) is
// a malformed body.
func TestRawControlCharactersInHeaders(t *testing.T) {
	h := newHostileHost(t, Config{})
	for _, tc := range []struct{ name, filename string }{
		{"a raw NUL in a file name", "evil\x00.png"},
		{"a raw escape sequence in a file name", "a\x1b[2Jb.png"},
		{"a raw DEL in a file name", "a\x7f.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			status, _, raw := h.postNamed(t, tc.filename, readTestdata(t, "small.png"), nil)
			apiError400(t, status, raw, "Malformed request body", 400)
			h.assertUnchanged(t, before)
		})
	}
}

// TestHostileKeys: absurd keys are refused as invalid before the body is
// stored.
func TestHostileKeys(t *testing.T) {
	h := newHostileHost(t, Config{})
	for _, tc := range []struct{ name, key string }{
		{"a 10 kB key", strings.Repeat("k", 10_000)},
		{"a key with NUL and markup", "pb_\x00<script>"},
		{"a key of invalid UTF-8", "pb_\xff\xfe"},
		{"a real key with a space appended", h.key + " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			status, _, raw := h.post(t, map[string]string{"key": tc.key}, "small.png", readTestdata(t, "small.png"), nil)
			apiError400(t, status, raw, "Invalid API v1 key.", 100)
			h.assertUnchanged(t, before)
		})
	}
}

// patternReader yields n bytes of a repeating pattern without allocating.
type patternReader struct {
	n    int64
	sent atomic.Int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = byte('A' + i%26)
	}
	r.n -= int64(len(p))
	r.sent.Add(int64(len(p)))
	return len(p), nil
}

// streamPost writes head, then body, then tail to a raw connection while
// reading the answer concurrently, as a client that keeps sending after the
// server answered. It returns the status, the answer, the bytes of body
// that left before the answer came and those that left in all, until the
// server closed the connection.
func streamPost(t *testing.T, addr, path string, header http.Header, length int64, head []byte, body *patternReader, tail []byte) (int, []byte, int64, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w := bufio.NewWriter(conn)
		fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, addr, length)
		header.Write(w)
		w.WriteString("\r\n")
		w.Write(head)
		if _, err := io.Copy(w, body); err != nil {
			return // the server closed the connection: expected
		}
		w.Write(tail)
		w.Flush()
	}()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	sentAtAnswer := body.sent.Load()
	raw, _ := io.ReadAll(resp.Body)
	wg.Wait() // until the server closes the connection
	return resp.StatusCode, raw, sentAtAnswer, body.sent.Load()
}

// TestHugeBodiesAreRefusedWhileStreaming: bodies far over the limit are
// answered long before they end, and neither memory nor the staging dir ever
// holds more than the limit.
func TestHugeBodiesAreRefusedWhileStreaming(t *testing.T) {
	const limit = 1_000_000
	const huge = 200_000_000
	h := newHostileHost(t, Config{Settings: site.Settings{MaxUpload: limit}})
	addr := strings.TrimPrefix(h.http.URL, "http://")
	bd := "huge-boundary-0123456789"
	mp := http.Header{"Content-Type": {"multipart/form-data; boundary=" + bd}}
	partHead := func(name, filename string) []byte {
		s := fmt.Sprintf("--%s\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n%s\r\n--%s\r\nContent-Disposition: form-data; name=%q", bd, h.key, bd, name)
		if filename != "" {
			s += fmt.Sprintf("; filename=%q", filename)
		}
		return []byte(s + "\r\n\r\n")
	}
	tail := []byte("\r\n--" + bd + "--\r\n")
	for _, tc := range []struct {
		name    string
		header  http.Header
		head    []byte
		message string
		code    int
	}{
		{"a 200 MB file part", mp, partHead("source", "huge.png"), "File too big - max 1 MB", 313},
		{"a 200 MB base64 source field", mp, partHead("source", ""), "File too big - max 1 MB", 313},
		{"a 200 MB description field", mp, partHead("description", ""), "Request field too long", 400},
		{"a 200 MB urlencoded body", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("key=" + h.key + "&source="), "File too big - max 1 MB", 313},
		{"a 200 MB body of no form type", http.Header{"Content-Type": {"application/octet-stream"}, "X-Api-Key": {h.key}}, nil, "Empty upload source.", 130},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			var maxTmp atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // sample the staging dir while the body streams
				defer wg.Done()
				for {
					var n int64
					entries, _ := os.ReadDir(h.tmpDir())
					for _, e := range entries {
						if fi, err := e.Info(); err == nil {
							n += fi.Size()
						}
					}
					if n > maxTmp.Load() {
						maxTmp.Store(n)
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
			body := &patternReader{n: huge}
			start := time.Now()
			var status int
			var raw []byte
			var sent, total int64
			alloc := allocated(func() {
				status, raw, sent, total = streamPost(t, addr, "/api/1/upload", tc.header, int64(len(tc.head))+huge+int64(len(tail)), tc.head, body, tail)
			})
			elapsed := time.Since(start)
			close(stop)
			wg.Wait()
			apiError400(t, status, raw, tc.message, tc.code)
			t.Logf("answered after %v, %d MB sent by then (loopback socket buffers), %d MB sent until the server closed, %d MB allocated, staging peak %d kB",
				elapsed.Round(time.Millisecond), sent>>20, total>>20, alloc>>20, maxTmp.Load()>>10)
			if elapsed > 10*time.Second {
				t.Errorf("answered after %v", elapsed)
			}
			// The rest of the body is never read: the client can only fill the
			// socket buffers before the server closes the connection.
			if sent >= huge || total >= huge {
				t.Errorf("the whole body was sent (%d MB by the answer, %d MB in all)", sent>>20, total>>20)
			}
			if alloc > 32<<20 {
				t.Errorf("allocated %d MB while refusing a 200 MB body", alloc>>20)
			}
			if maxTmp.Load() > limit+1 {
				t.Errorf("staging dir held %d bytes, limit %d", maxTmp.Load(), limit)
			}
			h.assertUnchanged(t, before)
		})
	}
}

// TestManyParts: thousands of parts or fields are refused after the
// allowed number, whatever their form.
func TestManyParts(t *testing.T) {
	h := newHostileHost(t, Config{})
	manyMultipart := func(n int) (string, io.Reader) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("key", h.key)
		for i := 0; i < n; i++ {
			mw.WriteField(fmt.Sprintf("f%d", i), "x")
		}
		w, _ := mw.CreateFormFile("source", "small.png")
		w.Write(readTestdata(t, "small.png"))
		mw.Close()
		return mw.FormDataContentType(), &b
	}
	manyFiles := func(n int) (string, io.Reader) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("key", h.key)
		for i := 0; i < n; i++ {
			w, _ := mw.CreateFormFile("source", "small.png")
			w.Write(readTestdata(t, "small.png"))
		}
		mw.Close()
		return mw.FormDataContentType(), &b
	}
	for _, tc := range []struct {
		name    string
		body    func() (string, io.Reader)
		message string
		code    int
	}{
		{"5000 multipart fields", func() (string, io.Reader) { return manyMultipart(5000) }, "Too many request fields", 400},
		{"66 multipart parts", func() (string, io.Reader) { return manyMultipart(64) }, "Too many request fields", 400},
		{"two source files", func() (string, io.Reader) { return manyFiles(2) }, "Too many request fields", 400},
		{"1000 source files", func() (string, io.Reader) { return manyFiles(1000) }, "Too many request fields", 400},
		{"5000 urlencoded fields", func() (string, io.Reader) {
			var b strings.Builder
			b.WriteString("key=" + h.key)
			for i := 0; i < 5000; i++ {
				fmt.Fprintf(&b, "&f%d=x", i)
			}
			return "application/x-www-form-urlencoded", strings.NewReader(b.String())
		}, "Too many request fields", 400},
		// Only the first value of a field counts; the body limit bounds the rest.
		{"5000 values of one urlencoded field", func() (string, io.Reader) {
			return "application/x-www-form-urlencoded", strings.NewReader("key=" + h.key + strings.Repeat("&source=", 5000))
		}, "Empty upload source.", 130},
		{"a part with 10000 header lines", func() (string, io.Reader) {
			bd := "many-headers"
			s := "--" + bd + "\r\nContent-Disposition: form-data; name=\"key\"\r\n" + strings.Repeat("X-A: b\r\n", 10000) + "\r\n" + h.key + "\r\n--" + bd + "--\r\n"
			return "multipart/form-data; boundary=" + bd, strings.NewReader(s)
		}, "Malformed request body", 400},
		{"a multipart body without a boundary", func() (string, io.Reader) { return "multipart/form-data", strings.NewReader("--x\r\n") }, "Malformed request body", 400},
		{"a multipart body that never ends", func() (string, io.Reader) {
			return "multipart/form-data; boundary=b", strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n" + h.key)
		}, "Malformed request body", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.state(t)
			ct, body := tc.body()
			status, raw := h.rawPost(t, "", ct, body, nil)
			apiError400(t, status, raw, tc.message, tc.code)
			h.assertUnchanged(t, before)
		})
	}
}
