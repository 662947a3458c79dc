package e2e

import (
	"crypto/md5"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

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
