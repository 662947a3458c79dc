package server

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

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

// imageFile returns the path on disk of the file an image URL names.
func imageFile(h *testHost, url string) string {
	rel := url[strings.Index(url, "/images/")+len("/images/"):]
	return filepath.Join(h.store.ImagesDir(), filepath.FromSlash(rel))
}

var imageHeaders = []string{"Content-Type", "Etag", "Last-Modified", "Cache-Control", "X-Content-Type-Options",
	"Content-Security-Policy", "Cross-Origin-Resource-Policy", "Accept-Ranges", "Content-Length"}

// The answer from the cache carries the same headers and bytes as the first
// one, which filled it; HEAD and Range answer as before.
func TestFileCacheSameAnswers(t *testing.T) {
	h := newTestHost(t, Config{})
	url := uploadForFiles(t, h)["url"].(string)
	first, full := fileReq(t, "GET", url, nil)
	if first.StatusCode != 200 || len(full) == 0 {
		t.Fatalf("first GET: %s %d bytes", first.Status, len(full))
	}
	if got := h.srv.files.(*fileServer).cache.len(); got != 1 {
		t.Fatalf("cache holds %d entries, want 1", got)
	}
	second, again := fileReq(t, "GET", url, nil)
	if second.StatusCode != 200 || !bytes.Equal(again, full) {
		t.Fatalf("cached GET: %s, same bytes %v", second.Status, bytes.Equal(again, full))
	}
	head, hb := fileReq(t, "HEAD", url, nil)
	if head.StatusCode != 200 || len(hb) != 0 || head.ContentLength != int64(len(full)) {
		t.Fatalf("HEAD: %s %d bytes, length %d", head.Status, len(hb), head.ContentLength)
	}
	for _, k := range imageHeaders {
		want := first.Header.Get(k)
		if want == "" {
			t.Errorf("first GET has no %s", k)
		}
		if got := second.Header.Get(k); got != want {
			t.Errorf("cached GET %s: %q, want %q", k, got, want)
		}
		if got := head.Header.Get(k); got != want {
			t.Errorf("HEAD %s: %q, want %q", k, got, want)
		}
	}
	etag := first.Header.Get("ETag")
	for _, tc := range []struct {
		hdr        map[string]string
		status     int
		start, end int
	}{
		{map[string]string{"Range": "bytes=10-19"}, 206, 10, 20},
		{map[string]string{"Range": "bytes=-5"}, 206, len(full) - 5, len(full)},
		{map[string]string{"Range": "bytes=10-19", "If-Range": etag}, 206, 10, 20},
		{map[string]string{"Range": "bytes=10-19", "If-Range": `"other"`}, 200, 0, len(full)},
		{map[string]string{"If-Match": `"other"`}, 412, 0, 0},
		{map[string]string{"If-None-Match": `"other"`}, 200, 0, len(full)},
		{map[string]string{"If-None-Match": `"a", W/` + etag}, 304, 0, 0},
		{map[string]string{"If-None-Match": "*"}, 304, 0, 0},
		{map[string]string{"If-Modified-Since": first.Header.Get("Last-Modified")}, 304, 0, 0},
		{map[string]string{"If-Modified-Since": "Mon, 02 Jan 2006 15:04:05 GMT"}, 200, 0, len(full)},
	} {
		resp, b := fileReq(t, "GET", url, tc.hdr)
		if resp.StatusCode != tc.status {
			t.Errorf("%v: %s, want %d", tc.hdr, resp.Status, tc.status)
			continue
		}
		if tc.status != 412 && !bytes.Equal(b, full[tc.start:tc.end]) {
			t.Errorf("%v: %d bytes, want [%d:%d]", tc.hdr, len(b), tc.start, tc.end)
		}
		if tc.status == 304 {
			for _, k := range []string{"Etag", "Cache-Control", "X-Content-Type-Options", "Content-Security-Policy", "Cross-Origin-Resource-Policy"} {
				if resp.Header.Get(k) != first.Header.Get(k) {
					t.Errorf("304 %s: %q, want %q", k, resp.Header.Get(k), first.Header.Get(k))
				}
			}
		}
	}
}

// A conditional GET is answered from the cache without looking at the disk:
// with the file moved away behind picbed's back it still answers 304 (the
// file is immutable; only a deletion, which picbed is told of, or the TTL
// ends an entry). A small file's plain GET is answered from the cached bytes
// as well; a large file's plain GET, which must open the file, notices and
// drops the entry.
func TestFileCache304WithoutDisk(t *testing.T) {
	h := newTestHost(t, Config{})
	small := uploadForFiles(t, h)["url"].(string)
	status, doc, raw := h.post(t, nil, "photo.jpg", readTestdata(t, "photo.jpg"), nil)
	if status != 200 {
		t.Fatalf("%d %s", status, raw)
	}
	large := imageOf(t, doc, raw)["url"].(string)
	for _, tc := range []struct {
		name, url  string
		fromMemory bool
	}{{"small", small, true}, {"large", large, false}} {
		t.Run(tc.name, func(t *testing.T) {
			first, body := fileReq(t, "GET", tc.url, nil)
			if got := int64(len(body)) <= smallFileBytes; got != tc.fromMemory {
				t.Fatalf("fixture of %d bytes: small file = %v, want %v", len(body), got, tc.fromMemory)
			}
			fileReq(t, "GET", tc.url, nil) // fills the cache if the first did not
			etag := first.Header.Get("ETag")
			path := imageFile(h, tc.url)
			if err := os.Rename(path, path+".away"); err != nil {
				t.Fatal(err)
			}
			if resp, b := fileReq(t, "GET", tc.url, map[string]string{"If-None-Match": etag}); resp.StatusCode != 304 || len(b) != 0 {
				t.Fatalf("conditional GET from the cache: %s %d bytes, want 304", resp.Status, len(b))
			}
			resp, b := fileReq(t, "GET", tc.url, nil)
			if tc.fromMemory {
				if resp.StatusCode != 200 || !bytes.Equal(b, body) {
					t.Fatalf("GET of a small cached file: %s %d bytes, want 200 with the cached bytes", resp.Status, len(b))
				}
				return
			}
			if resp.StatusCode != 404 {
				t.Fatalf("GET of a missing file: %s, want 404", resp.Status)
			}
			if resp, _ := fileReq(t, "GET", tc.url, map[string]string{"If-None-Match": etag}); resp.StatusCode != 404 {
				t.Fatalf("conditional GET after the entry was dropped: %s, want 404", resp.Status)
			}
		})
	}
}

// TestFileCacheBodyBudget checks that the bytes of small files the cache
// keeps never exceed fileCacheBodyBytes, and are given back on removal.
func TestFileCacheBodyBudget(t *testing.T) {
	c := newFileCache(1000, time.Hour)
	body := make([]byte, smallFileBytes)
	n := fileCacheBodyBytes/smallFileBytes + 10
	for i := range n {
		m := &fileMeta{size: int64(len(body)), body: body}
		c.put(strconv.Itoa(i), m, c.generation())
	}
	if c.bytes > fileCacheBodyBytes {
		t.Fatalf("%d body bytes held, budget %d", c.bytes, fileCacheBodyBytes)
	}
	withBody := 0
	for i := range n {
		if m := c.get(strconv.Itoa(i)); m == nil {
			t.Fatalf("entry %d lost: the byte budget must only drop bodies", i)
		} else if m.body != nil {
			withBody++
		}
	}
	if withBody != fileCacheBodyBytes/smallFileBytes {
		t.Fatalf("%d entries with bodies, want %d", withBody, fileCacheBodyBytes/smallFileBytes)
	}
	for i := range n {
		c.remove(strconv.Itoa(i))
	}
	if c.bytes != 0 || c.len() != 0 {
		t.Fatalf("after removing everything: %d bytes, %d entries", c.bytes, c.len())
	}
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
	if got := h.srv.files.(*fileServer).cache.len(); got != len(urls) {
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

func TestFileCacheBoundsAndTTL(t *testing.T) {
	c := newFileCache(2, time.Hour)
	m := &fileMeta{}
	for _, k := range []string{"a", "b"} {
		c.put(k, m, c.generation())
	}
	c.get("a") // a is now the most recently used
	c.put("c", m, c.generation())
	if c.len() != 2 || c.get("b") != nil || c.get("a") == nil || c.get("c") == nil {
		t.Errorf("LRU: len %d, b evicted %v", c.len(), c.get("b") == nil)
	}
	// A put whose Stat may have raced with a deletion is dropped.
	gen := c.generation()
	c.remove("a")
	c.put("a", m, gen)
	if c.get("a") != nil {
		t.Error("a put older than a remove was kept")
	}
	short := newFileCache(10, time.Nanosecond)
	short.put("x", m, short.generation())
	time.Sleep(time.Millisecond)
	if short.get("x") != nil || short.len() != 0 {
		t.Error("an expired entry was returned")
	}
}
