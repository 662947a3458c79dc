package server

import (
	"container/list"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"picbed/store"
)

// fileServer serves the image tree: /images/YYYY/MM/DD/NAME.EXT and its
// .th/.md siblings. It writes straight to net/http's response writer with an
// *os.File, so the body goes out through sendfile.
//
// Stored files never change in place (a new upload gets a new name), so the
// metadata of a file and the header values derived from it are kept in a
// small LRU cache (fileMeta): a conditional request that matches is answered
// 304 without any system call on the file, a plain GET opens the file but
// skips the Stat, and HEAD touches nothing. Files of up to smallFileBytes
// (thumbnails, small screenshots) keep their bytes in the cache too, within
// fileCacheBodyBytes, and a GET of one is a single write from memory. Files do get deleted, so the
// server calls forgetImages after every deletion, and an entry also
// expires after fileCacheTTL as a backstop (for deletions that bypass the
// server, e.g. the store used directly).
type fileServer struct {
	dir   string
	cache *fileCache

	// Requests answered by the connection-level fast path, and
	// connections it handed to net/http (fastconn.go).
	fastAnswers, handoffs atomic.Int64
}

func newFileServer(dir string) *fileServer {
	return &fileServer{dir: dir, cache: newFileCache(fileCacheEntries, fileCacheTTL)}
}

const (
	// fileCacheEntries bounds the metadata cache: about 300 bytes an entry.
	fileCacheEntries = 4096
	// fileCacheTTL is how long an entry is believed without looking at the
	// disk again.
	fileCacheTTL = 10 * time.Second
	// smallFileBytes is the largest file whose bytes the cache keeps too:
	// thumbnails and small screenshots, the most requested files, are
	// then answered with one write and no open, read or close of the file.
	smallFileBytes = 32 << 10
	// fileCacheBodyBytes bounds the bytes kept of small files, so the cache
	// costs at most this much memory on a Raspberry Pi.
	fileCacheBodyBytes = 8 << 20
)

// imageTypes maps the stored extensions, which were chosen by sniffing the
// content at upload, to their Content-Type. Nothing else is ever served.
var imageTypes = map[string]string{
	"jpg":  "image/jpeg",
	"png":  "image/png",
	"gif":  "image/gif",
	"webp": "image/webp",
}

// Header values shared by every image answer. net/http only reads them; the
// slices are never modified.
var (
	hdrCacheControl = []string{"public, max-age=31536000, immutable"}
	hdrNoSniff      = []string{"nosniff"}
	hdrCSP          = []string{"sandbox"}
	hdrCORP         = []string{"cross-origin"}
	hdrAcceptRanges = []string{"bytes"}
)

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

// fileMeta is what the cache keeps of one file: its size and modification
// time and the header values made from them.
type fileMeta struct {
	size    int64
	modTime time.Time
	etag    string // strong validator, with its quotes

	ctype, etagHdr, lastMod, length []string

	body []byte // the whole file when it is small enough, else nil
}

func newFileMeta(ext string, st fs.FileInfo) *fileMeta {
	m := &fileMeta{size: st.Size(), modTime: st.ModTime()}
	// Size and modification time identify the bytes of an immutable file.
	m.etag = `"` + strconv.FormatInt(m.size, 36) + "-" + strconv.FormatInt(m.modTime.UnixNano(), 36) + `"`
	m.ctype = []string{imageTypes[ext]}
	m.etagHdr = []string{m.etag}
	m.lastMod = []string{m.modTime.UTC().Format(http.TimeFormat)}
	m.length = []string{strconv.FormatInt(m.size, 10)}
	return m
}

// withoutBody returns a copy of m that does not hold the file's bytes.
func (m *fileMeta) withoutBody() *fileMeta {
	c := *m
	c.body = nil
	return &c
}

// imageHeader is one header of image answers: its canonical name, its value
// for a file, and whether a 304 carries it too.
type imageHeader struct {
	name  string
	value func(m *fileMeta) []string
	in304 bool
}

// imageAnswerHeaders are the headers of image answers, sorted by name: the
// order in which net/http writes a header map, so that the connection-level
// fast path (appendAnswerHead) writes the same bytes from the same list.
// A 304 carries those of a 200 but for the representation metadata, as
// http.ServeContent sends it.
var imageAnswerHeaders = [...]imageHeader{
	{"Accept-Ranges", func(*fileMeta) []string { return hdrAcceptRanges }, false},
	{"Cache-Control", func(*fileMeta) []string { return hdrCacheControl }, true},
	{"Content-Length", func(m *fileMeta) []string { return m.length }, false},
	{"Content-Security-Policy", func(*fileMeta) []string { return hdrCSP }, true},
	{"Content-Type", func(m *fileMeta) []string { return m.ctype }, false},
	{"Cross-Origin-Resource-Policy", func(*fileMeta) []string { return hdrCORP }, true},
	{"Etag", func(m *fileMeta) []string { return m.etagHdr }, true},
	{"Last-Modified", func(m *fileMeta) []string { return m.lastMod }, false},
	{"X-Content-Type-Options", func(*fileMeta) []string { return hdrNoSniff }, true},
}

// setHeaders puts the headers of an answer about m with status (200 or 304)
// on h; Content-Length only with withLength (http.ServeContent sets its own).
func (m *fileMeta) setHeaders(h http.Header, status int, withLength bool) {
	for _, f := range imageAnswerHeaders {
		if status == http.StatusNotModified && !f.in304 || f.name == "Content-Length" && !withLength {
			continue
		}
		h[f.name] = f.value(m)
	}
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
	h := w.Header()
	simple := r.Header.Get("Range") == "" && r.Header.Get("If-Match") == "" &&
		r.Header.Get("If-Unmodified-Since") == "" && r.Header.Get("If-Range") == ""
	if m := fsrv.cache.get(rel); m != nil && simple {
		if notModified(r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since"), m) {
			m.setHeaders(h, http.StatusNotModified, false)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			m.setHeaders(h, http.StatusOK, true)
			w.WriteHeader(http.StatusOK)
			return
		}
		if m.body != nil {
			m.setHeaders(h, http.StatusOK, true)
			w.WriteHeader(http.StatusOK)
			w.Write(m.body)
			return
		}
		f, err := os.Open(fsrv.dir + "/" + rel)
		if err != nil {
			fsrv.cache.remove(rel)
			fsrv.openFailed(w, r, err)
			return
		}
		defer f.Close()
		m.setHeaders(h, http.StatusOK, true)
		w.WriteHeader(http.StatusOK)
		// net/http's response writer hands the *os.File to sendfile after
		// the first 512 bytes, as for http.ServeContent; the limit makes it
		// one sendfile call of the known size, with no extra call for EOF.
		io.CopyN(w, f, m.size)
		return
	}

	m, f, err := fsrv.fill(rel, ext)
	if err != nil {
		fsrv.openFailed(w, r, err)
		return
	}
	defer f.Close()
	m.setHeaders(h, http.StatusOK, false)
	// ServeContent answers Range, HEAD and every conditional header.
	http.ServeContent(w, r, "", m.modTime, f)
}

// fill opens the file at rel (a path cleanImagePath accepted, with its
// extension ext), caches its metadata, and its bytes when it is small, and
// returns both with the file positioned at its start. The caller closes f.
func (fsrv *fileServer) fill(rel, ext string) (m *fileMeta, f *os.File, err error) {
	gen := fsrv.cache.generation()
	if f, err = os.Open(fsrv.dir + "/" + rel); err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fs.ErrNotExist // answered 404, as any other miss
	}
	m = newFileMeta(ext, st)
	if m.size <= smallFileBytes {
		// Read the small file once for the cache; the caller sends the
		// same bytes, from the cache or from f.
		body := make([]byte, m.size)
		if _, err := io.ReadFull(f, body); err == nil {
			m.body = body
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, nil, fs.ErrNotExist
		}
	}
	fsrv.cache.put(rel, m, gen)
	return m, f, nil
}

func (fsrv *fileServer) openFailed(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "cannot read image", http.StatusInternalServerError)
		return
	}
	http.NotFound(w, r)
}

// notModified reports whether a request's If-None-Match (or, without one,
// its If-Modified-Since) matches m, as http.ServeContent decides it.
func notModified(inm, ims string, m *fileMeta) bool {
	if inm != "" {
		return etagListMatches(inm, m.etag)
	}
	if ims == "" || m.modTime.IsZero() || m.modTime.Equal(time.Unix(0, 0)) {
		return false
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	return !m.modTime.Truncate(time.Second).After(t)
}

// etagListMatches is the weak comparison of RFC 9110 13.1.2 of etag against
// an If-None-Match list.
func etagListMatches(list, etag string) bool {
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		item = strings.TrimSpace(item)
		if item == "*" {
			return true
		}
		item = strings.TrimPrefix(item, "W/")
		if item == etag {
			return true
		}
	}
	return false
}

// forget drops the cached metadata of every file of img.
func (fsrv *fileServer) forget(img store.Image) {
	fsrv.cache.remove(img.File(store.Full), img.File(store.Thumb), img.File(store.Medium))
}

// forgetImages must be called after every deletion of images (store.DeleteImage,
// DeleteImages, DeleteAlbum, DeleteUser): it drops the cached metadata and
// bytes of their files, so they answer 404 at once.
func (s *Server) forgetImages(imgs ...store.Image) {
	if fsrv, ok := s.files.(*fileServer); ok {
		for _, img := range imgs {
			fsrv.forget(img)
		}
	}
}

// fileCache is a bounded LRU of fileMeta by path under /images/, whose
// entries expire after ttl.
type fileCache struct {
	mu    sync.Mutex
	max   int
	bytes int // len of the bodies held, at most fileCacheBodyBytes
	ttl   time.Duration
	gen   uint64 // bumped by every remove
	ll    *list.List
	items map[string]*list.Element
}

type fileCacheItem struct {
	key     string
	meta    *fileMeta
	expires time.Time
}

func newFileCache(max int, ttl time.Duration) *fileCache {
	return &fileCache{max: max, ttl: ttl, ll: list.New(), items: make(map[string]*list.Element)}
}

func (c *fileCache) get(key string) *fileMeta {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil
	}
	it := e.Value.(*fileCacheItem)
	if now.After(it.expires) {
		c.drop(e)
		return nil
	}
	c.ll.MoveToFront(e)
	return it.meta
}

// generation returns a value to pass to put: a put whose Stat may have
// raced with a remove is dropped.
func (c *fileCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *fileCache) put(key string, m *fileMeta, gen uint64) {
	expires := time.Now().Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if e, ok := c.items[key]; ok {
		c.drop(e)
	}
	if m.body != nil && c.bytes+len(m.body) > fileCacheBodyBytes {
		m = m.withoutBody() // over the byte budget: the metadata only
	}
	c.bytes += len(m.body)
	c.items[key] = c.ll.PushFront(&fileCacheItem{key: key, meta: m, expires: expires})
	for c.ll.Len() > c.max {
		c.drop(c.ll.Back())
	}
}

// drop removes entry e; c.mu is held.
func (c *fileCache) drop(e *list.Element) {
	it := e.Value.(*fileCacheItem)
	c.bytes -= len(it.meta.body)
	c.ll.Remove(e)
	delete(c.items, it.key)
}

func (c *fileCache) remove(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, k := range keys {
		if e, ok := c.items[k]; ok {
			c.drop(e)
		}
	}
}

func (c *fileCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
