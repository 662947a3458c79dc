package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"picbed/store"
)

// BenchmarkServeImage measures the image file path over loopback HTTP with
// keep-alive clients, for pprof (see docs/performance.md):
//
//	go test ./server -run '^$' -bench ServeImage -cpuprofile cpu.prof
//
// "nocache" is the path before the metadata cache (open, Stat,
// http.ServeContent on every request); "cache" is the fast path.
func BenchmarkServeImage(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(b.TempDir(), store.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Config{}, Deps{Store: st, UI: os.DirFS("../ui"), Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	// The file server does not consult the database: a file in the tree is
	// enough. 20 kB, like a typical small image.
	rel := "2026/11/27/bench.jpg"
	body := make([]byte, 20000)
	if err := os.MkdirAll(filepath.Join(st.ImagesDir(), "2026/11/27"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.ImagesDir(), rel), body, 0o644); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	url := hs.URL + "/images/" + rel
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	resp, err := client.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	fsrv := srv.files.(*fileServer)
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
