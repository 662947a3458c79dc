package server

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// assetTree serves ui/static under /static/<hash>/, where hash covers every
// file of the tree. A URL therefore never changes meaning and is cached
// forever, and ES modules can import each other by relative paths.
type assetTree struct {
	files fs.FS
	hash  string // first 12 hex digits of the tree's SHA-256
}

func newAssetTree(static fs.FS) (*assetTree, error) {
	h := sha256.New()
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		h.Write([]byte(p))
		h.Write([]byte{0})
		h.Write(sum[:])
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &assetTree{files: static, hash: hex.EncodeToString(h.Sum(nil))[:12]}, nil
}

// url returns the cacheable URL of a static file, e.g. "/static/1a2b3c/app.js".
func (a *assetTree) url(name string) string {
	return "/static/" + a.hash + "/" + strings.TrimPrefix(name, "/")
}

// handleStatic serves /static/<hash>/<name>. The current hash is cached
// forever; an old hash (a page cached before an upgrade) still gets the
// current file, revalidated on every use.
func (s *Server) handleStatic(c echo.Context) error {
	rest := c.Param("*")
	hash, name, ok := strings.Cut(rest, "/")
	if !ok {
		hash, name = "", rest
	}
	if name == "" || strings.Contains(name, "..") || !fs.ValidPath(name) {
		return echo.ErrNotFound
	}
	if st, err := fs.Stat(s.assets.files, name); err != nil || st.IsDir() {
		return echo.ErrNotFound
	}
	w := c.Response()
	if hash == s.assets.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if strings.HasSuffix(name, ".js") {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	http.ServeFileFS(w, c.Request(), s.assets.files, name)
	return nil
}
