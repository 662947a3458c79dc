package server

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// fileServer serves the image tree: /images/YYYY/MM/DD/NAME.EXT and its
// .th/.md siblings. It writes straight to net/http's response writer with an
// *os.File, so the body goes out through sendfile, and lets
// http.ServeContent answer Range, HEAD, If-None-Match and If-Modified-Since.
type fileServer struct {
	dir string
}

func newFileServer(dir string) *fileServer { return &fileServer{dir: dir} }

// imageTypes maps the stored extensions, which were chosen by sniffing the
// content at upload, to their Content-Type. Nothing else is ever served.
var imageTypes = map[string]string{
	"jpg":  "image/jpeg",
	"png":  "image/png",
	"gif":  "image/gif",
	"webp": "image/webp",
}

// cleanImagePath checks that p (after /images/) has the exact shape of a
// stored file, "YYYY/MM/DD/NAME.EXT", so no other file of the data dir can
// be named, and returns its extension.
func cleanImagePath(p string) (ext string, ok bool) {
	parts := strings.Split(p, "/")
	if len(parts) != 4 || len(parts[0]) != 4 || len(parts[1]) != 2 || len(parts[2]) != 2 {
		return "", false
	}
	for _, d := range parts[:3] {
		if _, err := strconv.Atoi(d); err != nil || strings.ContainsAny(d, "+-") {
			return "", false
		}
	}
	name := parts[3]
	if name == "" || name[0] == '.' || len(name) > 255 {
		return "", false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return "", false
		}
	}
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return "", false
	}
	ext = name[i+1:]
	if _, ok := imageTypes[ext]; !ok {
		return "", false
	}
	return ext, true
}

func (fsrv *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rel := strings.TrimPrefix(r.URL.Path, "/images/")
	ext, ok := cleanImagePath(rel)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(fsrv.dir + "/" + rel)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			http.Error(w, "cannot read image", http.StatusInternalServerError)
			return
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", imageTypes[ext])
	// Stored files never change in place (a new upload gets a new name), so
	// size and modification time identify the bytes: a strong validator.
	h.Set("ETag", `"`+strconv.FormatInt(st.Size(), 36)+"-"+strconv.FormatInt(st.ModTime().UnixNano(), 36)+`"`)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	http.ServeContent(w, r, "", st.ModTime(), f)
}
