package imagefiles

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"picbed/store"
)

// BenchmarkServeImage measures the image file path over loopback HTTP with
// keep-alive clients, for pprof (see docs/performance.md):
//
//	go test ./server/imagefiles -run '^$' -bench ServeImage -cpuprofile cpu.prof
//
// "nocache" is the path before the metadata cache (open, Stat,
// http.ServeContent on every request); "cache" is the cached path. Both go
// through net/http; BenchmarkServeImageFast goes through the Listener.
func BenchmarkServeImage(b *testing.B) {
	files, rel := benchFiles(b)
	benchServe(b, httptest.NewServer(files), files, rel)
}

// BenchmarkServeImageFast is BenchmarkServeImage through the Listener, as
// picbed serves: the "cache" cases are answered by the fast path.
func BenchmarkServeImageFast(b *testing.B) {
	files, rel := benchFiles(b)
	hs := httptest.NewUnstartedServer(files)
	ln := NewListener(hs.Listener, files, idleTimeout, readHeaderTimeout)
	hs.Listener = ln
	hs.Start()
	defer ln.Wait(5 * time.Second)
	benchServe(b, hs, files, rel)
}

// benchFiles opens a store with one 20 kB file in its tree, like a typical
// small image, and returns its Handler and the file's path. The Handler
// does not consult the database: a file in the tree is enough.
func benchFiles(b *testing.B) (*Handler, string) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := b.TempDir()
	st, err := store.Open(dir, store.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	rel := "2026/11/27/bench.jpg"
	body := make([]byte, 20000)
	if err := os.MkdirAll(filepath.Join(dir, "images", "2026/11/27"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "images", rel), body, 0o644); err != nil {
		b.Fatal(err)
	}
	return New(st, Options{}), rel
}

func benchServe(b *testing.B, hs *httptest.Server, fsrv *Handler, rel string) {
	defer hs.Close()
	url := hs.URL + Prefix + rel
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	resp, err := client.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	for _, c := range []struct {
		name  string
		cache bool
		inm   string
		want  int
	}{
		{"200/nocache", false, "", 200},
		{"200/cache", true, "", 200},
		{"304/nocache", false, etag, 304},
		{"304/cache", true, etag, 304},
	} {
		b.Run(c.name, func(b *testing.B) {
			max := fileCacheEntries
			if !c.cache {
				max = 0
			}
			fsrv.cache = newFileCache(max, fileCacheTTL)
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest("GET", url, nil)
				if c.inm != "" {
					req.Header.Set("If-None-Match", c.inm)
				}
				for pb.Next() {
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != c.want {
						b.Errorf("%s: %d", c.name, resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
