package imagefiles

import (
	"bytes"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"picbed/store"
)

// testSite is a store on a fresh data dir whose image files are served by
// a Handler, two ways: through net/http alone (plain), and as picbed
// serves them, through the Listener with net/http behind it (fast). Paths
// outside Prefix go to other, which stands for the rest of picbed.
type testSite struct {
	dir   string // the data dir
	st    *store.Store
	files *Handler
	obs   *countingObserver
	plain *httptest.Server
	fast  *httptest.Server
	ln    *Listener
}

// other is what net/http serves beside the image files in these tests: a
// redirect from / (as picbed's first visit) and POST /upload, which answers
// with the length of the multipart file part it read.
func other() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", http.RedirectHandler("/setup", http.StatusSeeOther))
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		f, _, err := r.FormFile("source")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, _ := io.Copy(io.Discard, f)
		io.WriteString(w, strconv.FormatInt(n, 10))
	})
	return mux
}

func newTestSite(t *testing.T) *testSite {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	obs := &countingObserver{}
	files := New(st, Options{Observer: obs})
	rest := other()
	// As picbed's Server.ServeHTTP: everything under Prefix is the
	// Handler's, unchanged (a ServeMux would redirect unclean paths).
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, Prefix) {
			files.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
	site := &testSite{dir: dir, st: st, files: files, obs: obs}
	site.plain = httptest.NewServer(mux)
	t.Cleanup(site.plain.Close)
	site.fast = httptest.NewUnstartedServer(mux)
	site.ln = NewListener(site.fast.Listener, files, idleTimeout, readHeaderTimeout)
	site.fast.Listener = site.ln
	site.fast.Start()
	t.Cleanup(func() {
		site.fast.Close()
		site.ln.Wait(5 * time.Second)
	})
	return site
}

// The timeouts of picbed's http.Server, which the Listener is given.
const (
	idleTimeout       = 120 * time.Second
	readHeaderTimeout = 10 * time.Second
)

// put stores the testdata file fixture as an image of its own with a
// thumbnail (small.jpg's bytes).
func (site *testSite) put(t *testing.T, fixture string) store.Image {
	t.Helper()
	u, err := site.st.NewUpload()
	if err != nil {
		t.Fatal(err)
	}
	for v, name := range map[store.Variant]string{store.Full: fixture, store.Thumb: "small.jpg"} {
		f, err := u.Create(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(readTestdata(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	ext := strings.TrimPrefix(path.Ext(fixture), ".")
	img, err := site.st.PutImage(store.Image{Name: strings.TrimSuffix(fixture, path.Ext(fixture)), Ext: ext, MIME: mime.TypeByExtension("." + ext)}, u)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// url is the fast front's URL of variant v of img.
func (site *testSite) url(img store.Image, v store.Variant) string {
	return site.fast.URL + Prefix + img.File(v)
}

// diskPath is where the local tree keeps the file an image URL names.
func (site *testSite) diskPath(url string) string {
	rel := url[strings.Index(url, Prefix)+len(Prefix):]
	return filepath.Join(site.dir, "images", filepath.FromSlash(rel))
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// countingObserver keeps every answer and counts hand-offs.
type countingObserver struct {
	mu       sync.Mutex
	answers  []Answer
	handoffs int
}

func (o *countingObserver) Answered(a Answer) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.answers = append(o.answers, a)
}

func (o *countingObserver) HandedOff() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.handoffs++
}

// fastAnswers returns how many answers the fast path wrote.
func (o *countingObserver) fastAnswers() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, a := range o.answers {
		if a.Fast {
			n++
		}
	}
	return n
}

func (o *countingObserver) handOffs() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.handoffs
}

// since returns the answers after the first n.
func (o *countingObserver) since(n int) []Answer {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Answer(nil), o.answers[n:]...)
}

func (o *countingObserver) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.answers)
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

var imageHeaders = []string{"Content-Type", "Etag", "Last-Modified", "Cache-Control", "X-Content-Type-Options",
	"Content-Security-Policy", "Cross-Origin-Resource-Policy", "Accept-Ranges", "Content-Length"}

// The answer from the cache carries the same headers and bytes as the first
// one, which filled it; HEAD and Range answer as before.
func TestFileCacheSameAnswers(t *testing.T) {
	site := newTestSite(t)
	url := site.url(site.put(t, "small.png"), store.Full)
	first, full := fileReq(t, "GET", url, nil)
	if first.StatusCode != 200 || len(full) == 0 {
		t.Fatalf("first GET: %s %d bytes", first.Status, len(full))
	}
	if got := site.files.Cached(); got != 1 {
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
	site := newTestSite(t)
	small := site.url(site.put(t, "small.png"), store.Full)
	large := site.url(site.put(t, "photo.jpg"), store.Full)
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
			path := site.diskPath(tc.url)
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

// The Observer hears of every answer, from the fast path and from
// net/http, with its status and whether the cache answered, and of every
// hand-off.
func TestObserverSeesEveryAnswer(t *testing.T) {
	site := newTestSite(t)
	img := site.put(t, "small.png")
	url := site.url(img, store.Full)
	plain := site.plain.URL + Prefix + img.File(store.Full)
	first, _ := fileReq(t, "GET", url, nil)
	etag := first.Header.Get("ETag")
	for _, tc := range []struct {
		method, url string
		hdr         map[string]string
		want        Answer
		handoff     bool
	}{
		{"GET", url, nil, Answer{Status: 200, Fast: true, Cached: true}, false},
		{"GET", url, map[string]string{"If-None-Match": etag}, Answer{Status: 304, Fast: true, Cached: true}, false},
		{"HEAD", url, nil, Answer{Status: 200, Fast: true, Cached: true}, false},
		{"GET", url, map[string]string{"Range": "bytes=0-9"}, Answer{Status: 206}, true},
		{"GET", url, map[string]string{"If-Match": `"other"`}, Answer{Status: 412}, true},
		{"GET", plain, nil, Answer{Status: 200, Cached: true}, false},
		{"GET", plain, map[string]string{"If-None-Match": etag}, Answer{Status: 304, Cached: true}, false},
		{"GET", site.plain.URL + Prefix + "2026/01/01/missing.png", nil, Answer{Status: 404}, false},
		{"GET", site.plain.URL + Prefix + "../picbed.db", nil, Answer{Status: 404}, false},
		{"POST", plain, nil, Answer{Status: 405}, false},
	} {
		n, h := site.obs.count(), site.obs.handOffs()
		// A new connection each time, so a hand-off is this request's.
		http.DefaultClient.CloseIdleConnections()
		fileReq(t, tc.method, tc.url, tc.hdr)
		got := site.obs.since(n)
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s %s %v: observed %+v, want %+v", tc.method, tc.url, tc.hdr, got, tc.want)
		}
		if handed := site.obs.handOffs() - h; handed != map[bool]int{false: 0, true: 1}[tc.handoff] {
			t.Errorf("%s %s %v: %d hand-offs", tc.method, tc.url, tc.hdr, handed)
		}
	}
	// An uncached file: the first answer fills the cache, the next comes
	// from it.
	thumb := site.url(img, store.Thumb)
	for i, cached := range []bool{false, true} {
		n := site.obs.count()
		fileReq(t, "GET", thumb, nil)
		if got := site.obs.since(n); len(got) != 1 || got[0] != (Answer{Status: 200, Fast: true, Cached: cached}) {
			t.Errorf("GET %d of the thumbnail: observed %+v", i, got)
		}
	}
}
