package e2e

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// walkImages calls fn for every file of the data dir's image tree.
func walkImages(t testing.TB, data string, fn func(rel string)) {
	t.Helper()
	root := filepath.Join(data, "images")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			fn(filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRestartKeepsEverything stops and restarts picbed on the same data dir:
// images, URLs, keys and delete links keep working.
func TestRestartKeepsEverything(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "bob")
	in := startPicbed(t, data)
	a, err := upload(in.base, key, "photo.png", fixture(t, "photo.png"))
	if err != nil || a.status != 200 {
		t.Fatalf("%v HTTP %d %s", err, a.status, a.body)
	}
	first := decodeAPI(t, a.body).Image
	in.stop()

	in2 := startPicbed(t, data)
	// The port changes between runs; everything else must not.
	rebase := func(u string) string { return strings.Replace(u, in.base, in2.base, 1) }
	got := fetchImage(t, rebase(first.URL), "image/png", 600, 375)
	if fmt.Sprintf("%x", md5.Sum(got)) != first.MD5 {
		t.Errorf("after restart the image bytes differ from md5 %s", first.MD5)
	}
	fetchImage(t, rebase(first.Thumb.URL), "image/png", 160, 160)
	fetchImage(t, rebase(first.Medium.URL), "image/png", 500, 313)
	if resp, _ := get(t, rebase(first.URLViewer)); resp.StatusCode != 200 {
		t.Errorf("viewer after restart: %s", resp.Status)
	}
	// The same key still works, and the same bytes give the same image.
	a, err = upload(in2.base, key, "photo.png", fixture(t, "photo.png"))
	if err != nil {
		t.Fatalf("re-upload after restart: %v", err)
	}
	again := decodeAPI(t, a.body).Image
	if a.status != 200 || again.IDEncoded != first.IDEncoded {
		t.Errorf("re-upload after restart: HTTP %d id %q, want the stored %q", a.status, again.IDEncoded, first.IDEncoded)
	}
	checkDeleteLink(t, rebase(first.DeleteURL), rebase(first.URL))
}

// TestSecondInstanceRefused starts a second picbed on a data dir in use: it
// must fail at once and say why, and the first keeps serving.
func TestSecondInstanceRefused(t *testing.T) {
	data := t.TempDir()
	in := startPicbed(t, data)
	start := time.Now()
	cmd := exec.Command(picbedBin, "--addr", "127.0.0.1:0", "--data", data)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("second instance exited 0:\n%s", out)
	}
	if !strings.Contains(string(out), "in use by another picbed") {
		t.Errorf("second instance said %q, want it to name the data dir in use", out)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second instance took %v to fail", d)
	}
	if resp, _ := get(t, in.base+"/"); resp.StatusCode != 200 {
		t.Errorf("first instance after the second failed: %s", resp.Status)
	}
}

// TestCommandsWhileServing runs the user and key commands against a data
// dir with and without a running server.
func TestCommandsWhileServing(t *testing.T) {
	data := t.TempDir()
	offline := newUserKey(t, data, "carol") // no server yet: direct
	in := startPicbed(t, data)
	online := strings.TrimSpace(picbed(t, "", "key", "create", "carol", "--data", data)) // through the server
	picbed(t, "another-password\n", "user", "add", "dave", "--admin", "--password-stdin", "--data", data)
	daveKey := strings.TrimSpace(picbed(t, "", "key", "create", "dave", "--data", data))
	for _, k := range []string{offline, online, daveKey} {
		if a, err := upload(in.base, k, "small.jpg", fixture(t, "small.jpg")); err != nil || a.status != 200 {
			t.Errorf("upload with key %s…: %v HTTP %d %s", k[:8], err, a.status, a.body)
		}
	}
	list := picbed(t, "", "key", "list", "carol", "--data", data)
	if strings.Count(list, "\n") != 3 || !strings.Contains(list, offline[:10]) || strings.Contains(list, offline) {
		t.Errorf("key list shows:\n%s\nwant a header and two keys by prefix, never a whole key", list)
	}
	if _, err := picbedErr("x\n", "user", "add", "carol", "--password-stdin", "--data", data); err == nil {
		t.Error("adding an existing user succeeded")
	}
	// Revoke by prefix: the key stops working at once.
	picbed(t, "", "key", "revoke", "carol", offline[:10], "--data", data)
	a, err := upload(in.base, offline, "small.png", fixture(t, "small.png"))
	if err != nil || a.status != 400 || !bytes.Contains(a.body, []byte("Invalid API v1 key.")) {
		t.Errorf("revoked key: %v HTTP %d %s", err, a.status, a.body)
	}
	in.stop()
	// With the server gone the commands open the data dir themselves.
	picbed(t, "", "key", "list", "dave", "--data", data)
}

// TestGracefulShutdownFinishesUploads sends SIGTERM while an upload body is
// still arriving: the upload completes and is answered, then picbed exits 0.
func TestGracefulShutdownFinishesUploads(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "erin")
	in := startPicbed(t, data)
	bd := "------------------------slowupload0123456789"
	body := multipartBody(bd, part{name: "key", data: []byte(key)},
		part{name: "source", filename: "slow.png", ctype: "image/png", data: fixture(t, "photo.png")})
	pr, pw := io.Pipe()
	req := mustRequest(t, "POST", in.base+"/api/1/upload", nil, map[string]string{"Content-Type": "multipart/form-data; boundary=" + bd})
	req.Body = pr
	req.ContentLength = int64(len(body))
	type result struct {
		resp *http.Response
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{resp, b, err}
	}()
	half := len(body) / 2
	if _, err := pw.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	in.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	// New connections are refused while the old one finishes.
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(in.base, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("picbed still accepts connections after SIGTERM")
	}
	pw.Write(body[half:])
	pw.Close()
	r := <-done
	if r.err != nil || r.resp.StatusCode != 200 {
		t.Fatalf("upload in flight at SIGTERM: %v %v %s", r.err, r.resp, r.body)
	}
	select {
	case err := <-in.exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("picbed did not exit after finishing the upload")
	}
	in.cmd.ProcessState = &os.ProcessState{} // already reaped; keep stop() from signalling
	in2 := startPicbed(t, data)
	u := strings.Replace(decodeAPI(t, r.body).Image.URL, in.base, in2.base, 1)
	fetchImage(t, u, "image/png", 600, 375)
}

// TestImageServing checks the headers and conditional answers of image files.
func TestImageServing(t *testing.T) {
	data := t.TempDir()
	key := newUserKey(t, data, "frank")
	in := startPicbed(t, data)
	a, err := upload(in.base, key, "photo.jpg", fixture(t, "photo.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img := decodeAPI(t, a.body).Image
	resp, full := get(t, img.URL)
	h := resp.Header
	for k, want := range map[string]string{
		"Content-Type":            "image/jpeg",
		"Cache-Control":           "public, max-age=31536000, immutable",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "sandbox",
		"Accept-Ranges":           "bytes",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	etag, lastMod := h.Get("ETag"), h.Get("Last-Modified")
	if !strings.HasPrefix(etag, `"`) || lastMod == "" {
		t.Fatalf("ETag %q Last-Modified %q", etag, lastMod)
	}
	if resp, b := do(t, mustRequest(t, "GET", img.URL, nil, map[string]string{"If-None-Match": etag})); resp.StatusCode != 304 || len(b) != 0 {
		t.Errorf("If-None-Match: %s with %d bytes", resp.Status, len(b))
	}
	if resp, _ := do(t, mustRequest(t, "GET", img.URL, nil, map[string]string{"If-Modified-Since": lastMod})); resp.StatusCode != 304 {
		t.Errorf("If-Modified-Since: %s", resp.Status)
	}
	if resp, b := do(t, mustRequest(t, "GET", img.URL, nil, map[string]string{"Range": "bytes=10-19"})); resp.StatusCode != 206 || !bytes.Equal(b, full[10:20]) {
		t.Errorf("Range: %s %d bytes", resp.Status, len(b))
	}
	if resp, b := do(t, mustRequest(t, "HEAD", img.URL, nil, nil)); resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != int64(len(full)) {
		t.Errorf("HEAD: %s %d bytes, length %d", resp.Status, len(b), resp.ContentLength)
	}
	for _, p := range []string{"/images/../picbed.db", "/images/2026/01/01/x.html", "/images/picbed.db", "/images/" + strings.Repeat("../", 5) + "etc/passwd", "/images/2026/11/27/nope.jpg"} {
		req := mustRequest(t, "GET", in.base+"/", nil, nil)
		req.URL.Path = p
		req.URL.RawPath = p
		if resp, _ := do(t, req); resp.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
	}
	// Viewer: the short URL redirects to the canonical one.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := client.Get(img.URLShort)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 301 || in.base+r.Header.Get("Location") != img.URLViewer {
		t.Errorf("short URL: %s to %q, want 301 to %s", r.Status, r.Header.Get("Location"), img.URLViewer)
	}
	if resp, _ := get(t, in.base+"/image/nosuch.zzzzz"); resp.StatusCode != 404 {
		t.Errorf("unknown image: %s", resp.Status)
	}
}
