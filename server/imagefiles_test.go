package server

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"picbed/server/imagefiles"
)

// These tests check how the server wires imagefiles in: image requests
// through the fast path in front of net/http (Serve, fastFront), and the
// deletions that must end cached entries (forgetImages). imagefiles'
// own tests cover the Handler and the Listener.

// fastFront serves srv on loopback through the connection-level fast path,
// as Server.Serve does, with net/http behind it.
func fastFront(t *testing.T, srv *Server) (*httptest.Server, *imagefiles.Listener) {
	t.Helper()
	hs := httptest.NewUnstartedServer(srv)
	fl := imagefiles.NewListener(hs.Listener, srv.files, idleTimeout, readHeaderTimeout)
	hs.Listener = fl
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		fl.Wait(5 * time.Second)
	})
	return hs, fl
}

// fileReq sends method to url with the given headers and returns the answer
// and its body.
func fileReq(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// uploadForFiles stores small.png and returns its answer's image object.
func uploadForFiles(t *testing.T, h *testHost) map[string]any {
	t.Helper()
	status, doc, raw := h.post(t, nil, "small.png", readTestdata(t, "small.png"), nil)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	return imageOf(t, doc, raw)
}

// Deleting an image through its delete link ends its cached entries at once:
// no 200 and no 304 afterwards, for GET, conditional GET and HEAD.
func TestFileCacheDeleteLink(t *testing.T) {
	h := newTestHost(t, Config{})
	img := uploadForFiles(t, h)
	urls := []string{img["url"].(string)}
	for _, k := range []string{"thumb", "medium"} {
		if m, ok := img[k].(map[string]any); ok && m["url"] != nil && m["url"] != "" {
			urls = append(urls, m["url"].(string))
		}
	}
	etags := map[string]string{}
	for _, u := range urls {
		resp, _ := fileReq(t, "GET", u, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", u, resp.Status)
		}
		etags[u] = resp.Header.Get("ETag")
		if resp, _ := fileReq(t, "GET", u, map[string]string{"If-None-Match": etags[u]}); resp.StatusCode != 304 {
			t.Fatalf("conditional GET %s: %s", u, resp.Status)
		}
	}
	if got := h.srv.files.Cached(); got != len(urls) {
		t.Fatalf("cache holds %d entries, want %d", got, len(urls))
	}
	resp, err := http.Post(img["delete_url"].(string), "application/x-www-form-urlencoded", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST delete link: %s", resp.Status)
	}
	for _, u := range urls {
		for _, c := range []struct {
			method string
			hdr    map[string]string
		}{
			{"GET", nil},
			{"GET", map[string]string{"If-None-Match": etags[u]}},
			{"GET", map[string]string{"If-Modified-Since": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}},
			{"HEAD", nil},
		} {
			if resp, _ := fileReq(t, c.method, u, c.hdr); resp.StatusCode != 404 {
				t.Errorf("%s %s %v after delete: %s, want 404", c.method, u, c.hdr, resp.Status)
			}
		}
	}
}

// The expiry sweep ends cached entries too.
func TestFileCacheExpirySweep(t *testing.T) {
	h := newTestHost(t, Config{})
	status, doc, raw := h.post(t, map[string]string{"expiration": "P1D"}, "small.png", readTestdata(t, "small.png"), nil)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	url := imageOf(t, doc, raw)["url"].(string)
	resp, _ := fileReq(t, "GET", url, nil)
	etag := resp.Header.Get("ETag")
	h.srv.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	h.srv.sweepExpired()
	if resp, _ := fileReq(t, "GET", url, map[string]string{"If-None-Match": etag}); resp.StatusCode != 404 {
		t.Errorf("conditional GET after the sweep: %s, want 404", resp.Status)
	}
}

// Shutting down ends idle fast-path connections at once instead of waiting
// for the whole grace period, and an answer under way is finished.
func TestFastPathShutdown(t *testing.T) {
	h := newTestHost(t, Config{})
	img := uploadForFiles(t, h)
	path := img["url"].(string)[strings.Index(img["url"].(string), "/images/"):]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.srv.Serve(ctx, ln, 20*time.Second) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	start := time.Now()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve still running 10 s after cancel, with one idle connection")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := br.Read(make([]byte, 10)); err != io.EOF {
		t.Errorf("idle connection after shutdown: read %d, %v; want EOF", n, err)
	}
	t.Logf("Serve returned %v after cancel", time.Since(start))
}

// fastCount counts the answers of the fast path, as metrics will.
type fastCount struct{ fast, handoffs atomic.Int64 }

func (c *fastCount) Answered(a imagefiles.Answer) {
	if a.Fast {
		c.fast.Add(1)
	}
}

func (c *fastCount) HandedOff() { c.handoffs.Add(1) }

// A connection whose image requests the fast path answered is handed to
// net/http at its first other request, and the site answers it there:
// a page (the first-visit redirect) and then an upload.
func TestFastFrontHandsOffToTheSite(t *testing.T) {
	count := &fastCount{}
	h := newTestHostDeps(t, Config{}, Deps{ImageObserver: count})
	url := uploadForFiles(t, h)["url"].(string)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 2 {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := count.fast.Load(); n != 2 {
		t.Fatalf("the fast path answered %d of the two GETs", n)
	}
	handoffs := count.handoffs.Load()
	resp, err := client.Get(h.http.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || count.handoffs.Load() != handoffs+1 {
		t.Fatalf("GET / on the same connection: %s after %d hand-offs, want 303 after one", resp.Status, count.handoffs.Load()-handoffs)
	}
	client.CloseIdleConnections()
	for range 2 {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if status, _, raw := h.post(t, nil, "small.jpg", readTestdata(t, "small.jpg"), nil); status != 200 {
		t.Fatalf("upload after fast answers: %d %s", status, raw)
	}
}
