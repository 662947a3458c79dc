package e2e

// Hostile input against the real binary: a 200 MB body against --max-upload
// 1MB, bombs and non-images, file names that try to leave the image tree,
// and polyglots. Each refusal is the exact Chevereto error with nothing
// stored; each acceptance lands in images/YYYY/MM/DD and nowhere else.

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fileSums maps every file under root (but the database) to its md5.
func fileSums(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, "picbed.db") || d.Type()&fs.ModeSocket != 0 {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := md5.Sum(b)
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// changedFiles lists the files of after that are new or different.
func changedFiles(before, after map[string]string) []string {
	var out []string
	for p, sum := range after {
		if before[p] != sum {
			out = append(out, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			out = append(out, "-"+p)
		}
	}
	return out
}

// patternBody yields n bytes of a pattern without allocating and counts them.
type patternBody struct {
	n    int64
	sent atomic.Int64
}

func (r *patternBody) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	r.n -= int64(len(p))
	r.sent.Add(int64(len(p)))
	return len(p), nil
}

func TestHostileEndToEnd(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	key := newUserKey(t, data, "hostile")
	in := startPicbed(t, data, "--max-upload", "1MB")
	tmp := filepath.Join(data, "tmp")

	t.Run("a 200 MB file part is refused while it streams", func(t *testing.T) {
		const huge = 200_000_000
		before := fileSums(t, root)
		rssBefore := peakRSS(t, in.cmd.Process.Pid)
		var peakTmp atomic.Int64
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			for {
				var n int64
				entries, _ := os.ReadDir(tmp)
				for _, e := range entries {
					if fi, err := e.Info(); err == nil {
						n += fi.Size()
					}
				}
				if n > peakTmp.Load() {
					peakTmp.Store(n)
				}
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}()

		bd := "e2e-hostile-boundary"
		head := fmt.Sprintf("--%s\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n%s\r\n--%s\r\nContent-Disposition: form-data; name=\"source\"; filename=\"huge.png\"\r\nContent-Type: image/png\r\n\r\n", bd, key, bd)
		tail := "\r\n--" + bd + "--\r\n"
		addr := strings.TrimPrefix(in.base, "http://")
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := &patternBody{n: huge}
		var writer sync.WaitGroup
		writer.Add(1)
		start := time.Now()
		go func() {
			defer writer.Done()
			w := bufio.NewWriter(conn)
			fmt.Fprintf(w, "POST /api/1/upload HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n%s", addr, bd, len(head)+huge+len(tail), head)
			if _, err := io.Copy(w, body); err == nil {
				w.WriteString(tail)
				w.Flush()
			}
		}()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		elapsed := time.Since(start)
		raw, _ := io.ReadAll(resp.Body)
		writer.Wait()
		close(stop)
		sampler.Wait()
		rssAfter := peakRSS(t, in.cmd.Process.Pid)

		r := decodeAPI(t, raw)
		if resp.StatusCode != 400 || r.Error == nil || r.Error.Message != "File too big - max 1 MB" || r.Error.Code != 313 {
			t.Errorf("HTTP %d %s", resp.StatusCode, raw)
		}
		t.Logf("answered after %v; %d MB of 200 MB sent in all; staging peak %d kB; peak RSS %d -> %d MB",
			elapsed.Round(time.Millisecond), body.sent.Load()>>20, peakTmp.Load()>>10, rssBefore>>20, rssAfter>>20)
		if elapsed > 10*time.Second {
			t.Errorf("answered after %v", elapsed)
		}
		if body.sent.Load() >= huge {
			t.Error("the server read the whole body")
		}
		if peakTmp.Load() > 1_000_001 {
			t.Errorf("staging dir held %d bytes, limit 1 MB", peakTmp.Load())
		}
		if rssAfter-rssBefore > 64<<20 {
			t.Errorf("peak RSS grew by %d MB", (rssAfter-rssBefore)>>20)
		}
		waitEmpty(t, tmp, time.Second)
		if ch := changedFiles(before, fileSums(t, root)); len(ch) != 0 {
			t.Errorf("files changed: %v", ch)
		}
	})

	t.Run("refused files leave nothing behind", func(t *testing.T) {
		for _, tc := range []struct {
			name, file string
			data       []byte
			message    string
			code       int
		}{
			{"a PNG pixel bomb", "bomb.png", fixture(t, imagingTestdata+"png-bomb-50000x50000.png"), "Image too large - max 50 megapixels", 313},
			{"a GIF pixel bomb", "bomb.gif", fixture(t, imagingTestdata+"gif-bomb-50000x50000.gif"), "Image too large - max 50 megapixels", 313},
			{"a JPEG pixel bomb", "bomb.jpg", fixture(t, imagingTestdata+"jpeg-bomb-50000x50000.jpg"), "Image too large - max 50 megapixels", 313},
			{"a WebP pixel bomb", "bomb.webp", fixture(t, imagingTestdata+"webp-bomb-16384x16384.webp"), "Image too large - max 50 megapixels", 313},
			{"an SVG", "x.svg", fixture(t, imagingTestdata+"image.svg"), "Can't get target upload source info", 310},
			{"an HTML page named .png", "x.png", fixture(t, imagingTestdata+"page.html"), "Can't get target upload source info", 310},
			{"a zero-byte .jpg", "x.jpg", []byte{}, "Can't get target upload source info", 310},
			{"a truncated PNG", "x.png", fixture(t, imagingTestdata+"png-truncated.png"), "Invalid image", 311},
			{"a truncated JPEG", "x.jpg", fixture(t, imagingTestdata+"jpeg-truncated.jpg"), "Invalid image", 311},
			{"a bomb under a traversal name", "../../../../bomb.png", fixture(t, imagingTestdata+"png-bomb-50000x50000.png"), "Image too large - max 50 megapixels", 313},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := fileSums(t, root)
				a, err := upload(in.base, key, tc.file, tc.data)
				if err != nil {
					t.Fatal(err)
				}
				r := decodeAPI(t, a.body)
				if a.status != 400 || r.Error == nil || r.Error.Message != tc.message || r.Error.Code != tc.code {
					t.Errorf("HTTP %d %s, want %q (%d)", a.status, a.body, tc.message, tc.code)
				}
				waitEmpty(t, tmp, time.Second)
				if ch := changedFiles(before, fileSums(t, root)); len(ch) != 0 {
					t.Errorf("files changed: %v", ch)
				}
			})
		}
	})

	t.Run("hostile names and polyglots land in the date folder, served as images", func(t *testing.T) {
		const payload = `<script>alert(document.domain)</script>`
		png := fixture(t, "small.png")
		chunk := binary.BigEndian.AppendUint32(nil, uint32(len("Comment\x00"+payload)))
		chunk = append(chunk, "tEXt"+"Comment\x00"+payload...)
		chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
		polyPNG := append(append(append([]byte{}, png[:33]...), chunk...), png[33:]...)
		stored := regexp.MustCompile(`^data/images/\d{4}/\d{2}/\d{2}/[A-Za-z0-9_-][A-Za-z0-9._-]*\.(png|jpg)$`)
		for _, tc := range []struct {
			name, file string
			data       []byte
			mime       string
			title      string
		}{
			{"a PNG with a script in tEXt under ../ names", "../../../../../tmp/evil.png", polyPNG, "image/png", "evil"},
			{"a JPEG with a ZIP trailer under an absolute name", "/etc/cron.d/job.jpg", fixture(t, imagingTestdata+"jpeg-polyglot-zip.jpg"), "image/jpeg", "job"},
			{"markup in the name", `"><img src=x onerror=alert(1)>.png`, append(append([]byte{}, polyPNG...), 0), "image/png", `"><img src=x onerror=alert(1)>`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := fileSums(t, root)
				a, err := upload(in.base, key, tc.file, tc.data, withField("description", payload))
				if err != nil {
					t.Fatal(err)
				}
				r := decodeAPI(t, a.body)
				if a.status != 200 {
					t.Fatalf("HTTP %d %s", a.status, a.body)
				}
				if r.Image.Title != tc.title {
					t.Errorf("title %q, want %q", r.Image.Title, tc.title)
				}
				waitEmpty(t, tmp, time.Second)
				changed := changedFiles(before, fileSums(t, root))
				if len(changed) == 0 {
					t.Fatal("nothing stored")
				}
				for _, p := range changed {
					if !stored.MatchString(p) {
						t.Errorf("file %q outside images/YYYY/MM/DD or not clean", p)
					}
				}
				fr, body := get(t, r.Image.URL)
				if ct := fr.Header.Get("Content-Type"); ct != tc.mime || fr.Header.Get("X-Content-Type-Options") != "nosniff" || fr.Header.Get("Content-Security-Policy") != "sandbox" {
					t.Errorf("served as %q, nosniff %q, CSP %q", ct, fr.Header.Get("X-Content-Type-Options"), fr.Header.Get("Content-Security-Policy"))
				}
				if bytes.Contains(body, []byte(payload)) || bytes.Contains(body, []byte("PK\x03\x04")) {
					t.Error("the stored image still carries the payload")
				}
				vr, page := get(t, r.Image.URLViewer)
				if vr.StatusCode != 200 {
					t.Fatalf("viewer: %s", vr.Status)
				}
				for _, bad := range []string{"<script>alert", "<img src=x"} {
					if bytes.Contains(page, []byte(bad)) {
						t.Errorf("viewer page holds %q unescaped", bad)
					}
				}
			})
		}
	})
}
