// Package bench holds the benchmark suite: bench/run.sh (run by hand, see
// docs/performance.md), its helper programs, and Go benchmarks for pprof.
package bench

import (
	"bytes"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"picbed/ingest"
	"picbed/server"
	"picbed/server/site"
	"picbed/store"
)

// BenchmarkUpload posts one image to the Chevereto API of an in-process
// server (duplicates allowed, no flood limits), for pprof:
//
//	go test ./bench -run '^$' -bench Upload -cpuprofile cpu.prof
//
// The image is PICBED_BENCH_UPLOAD (e.g. bench/out/img/shot0.png made by
// run.sh), else testdata/photo.png.
func BenchmarkUpload(b *testing.B) {
	img := benchUploadImage(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(b.TempDir(), store.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	off, err := site.ParseFloodLimits("off")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Config{Site: site.Config{FloodLimits: &off}, Settings: site.Settings{Duplicates: ingest.DuplicatesAllow}},
		server.Deps{Store: st, UI: os.DirFS("../ui"), Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	u, err := st.CreateUser("bench", "benchpassword", true)
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := st.CreateAPIKey(u.ID)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("key", key)
	w, _ := mw.CreateFormFile("source", "shot.png")
	w.Write(img)
	mw.Close()
	b.SetBytes(int64(len(img)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := http.Post(hs.URL+"/api/1/upload", mw.FormDataContentType(), bytes.NewReader(body.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("upload: %s", resp.Status)
		}
	}
}

// benchUploadImage reads PICBED_BENCH_UPLOAD, else testdata/photo.png.
func benchUploadImage(b *testing.B) []byte {
	name := os.Getenv("PICBED_BENCH_UPLOAD")
	if name == "" {
		name = "../testdata/photo.png"
	}
	img, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	return img
}

// BenchmarkDecodeOnly decodes the same image with the standard library and
// does nothing else: a lower bound on the CPU of any upload that refuses
// images it cannot decode, to set against the floor's whole upload
// (docs/performance.md, "Why uploads stay far from the floor").
func BenchmarkDecodeOnly(b *testing.B) {
	img := benchUploadImage(b)
	b.SetBytes(int64(len(img)))
	for b.Loop() {
		if _, _, err := image.Decode(bytes.NewReader(img)); err != nil {
			b.Fatal(err)
		}
	}
}
