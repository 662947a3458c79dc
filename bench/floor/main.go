// Command floor is the upload floor of bench/run.sh: the least an upload
// endpoint can do. It streams the "source" part of a multipart POST to a
// new file in -dir, fsyncs it and answers a small JSON document; no
// authentication, no decoding, no database.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync/atomic"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	dir := flag.String("dir", "floor-data", "where uploads go")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	var seq atomic.Uint64
	http.HandleFunc("/api/1/upload", func(w http.ResponseWriter, r *http.Request) {
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var size int64
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if part.FormName() != "source" {
				continue
			}
			f, err := os.Create(fmt.Sprintf("%s/%d.bin", *dir, seq.Add(1)))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			size, err = io.Copy(f, part)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, `{"status_code":200,"image":{"size":%d}}`, size)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
