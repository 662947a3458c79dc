// Package imagefiles serves a store's image files over HTTP: the files
// under /images/, YYYY/MM/DD/NAME.EXT and their .th/.md siblings, as
// store.ParseImageFile defines them, opened through store.OpenFile and
// nothing else.
//
// Handler is the net/http side: Range, every conditional header, HEAD, with
// the files' metadata (and the bytes of small ones) in a small cache.
// Listener is the connection-level fast path in front of net/http: it
// answers plain GET and HEAD requests of image files on a connection
// itself and hands every other connection, with the bytes it read, to
// net/http. Both write the same bytes for the same answer
// (imageAnswerHeaders), and both report every answer to an Observer, where
// metrics attach.
//
// Stored files never change in place (a new upload gets a new name), so
// what the cache holds stays true until the file is deleted: the caller
// must call Forget after every deletion, and an entry also expires after
// fileCacheTTL as a backstop (for deletions that bypass the caller, e.g.
// the store used directly).
package imagefiles

import (
	"container/list"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"picbed/store"
)

// Prefix is the URL path under which Handler and Listener serve image
// files: Prefix + "2026/11/27/name.jpg".
const Prefix = "/images/"

// Handler serves the image files of a store (see the package comment). It
// writes straight to net/http's response writer with the store's file, an
// *os.File for the local tree, so the body goes out through sendfile.
//
// A conditional request that matches the cache is answered 304 without any
// system call on the file, a plain GET opens the file but skips the Stat,
// and HEAD touches nothing. Files of up to smallFileBytes (thumbnails,
// small screenshots) keep their bytes in the cache too, within
// fileCacheBodyBytes, and a GET of one is a single write from memory.
type Handler struct {
	st    *store.Store
	cache *fileCache
	obs   Observer
}

// Options configures New. The zero value is usable.
type Options struct {
	// Observer, when not nil, is told of every answer and every hand-off.
	Observer Observer
}

// Answer describes one answer to an image request, for an Observer.
type Answer struct {
	Status int  // the HTTP status sent: 200, 206, 304, 404, 405, 412, 416 or 500
	Fast   bool // written by the Listener's fast path, not by net/http
	Cached bool // the file's metadata came from the cache (for a 304 or HEAD: no system call on the file)
}

// Observer is where metrics attach. Its methods are called on the
// goroutine that answers, after the answer is written, and must be quick
// and safe for concurrent use.
type Observer interface {
	// Answered is called once per answer to a request under Prefix, by
	// Handler and by the Listener.
	Answered(Answer)
	// HandedOff is called when the Listener gives a connection to
	// net/http (at the first request it does not answer itself).
	HandedOff()
}

// New returns a Handler serving st's image files.
func New(st *store.Store, opts Options) *Handler {
	return &Handler{st: st, cache: newFileCache(fileCacheEntries, fileCacheTTL), obs: opts.Observer}
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

// Header values shared by every image answer. net/http only reads them; the
// slices are never modified.
var (
	hdrCacheControl = []string{"public, max-age=31536000, immutable"}
	hdrNoSniff      = []string{"nosniff"}
	hdrCSP          = []string{"sandbox"}
	hdrCORP         = []string{"cross-origin"}
	hdrAcceptRanges = []string{"bytes"}
)

// fileMeta is what the cache keeps of one file: its size and modification
// time and the header values made from them.
type fileMeta struct {
	size    int64
	modTime time.Time
	etag    string // strong validator, with its quotes

	ctype, etagHdr, lastMod, length []string

	body []byte // the whole file when it is small enough, else nil
}

func newFileMeta(ctype string, st fs.FileInfo) *fileMeta {
	m := &fileMeta{size: st.Size(), modTime: st.ModTime()}
	// Size and modification time identify the bytes of an immutable file.
	m.etag = `"` + strconv.FormatInt(m.size, 36) + "-" + strconv.FormatInt(m.modTime.UnixNano(), 36) + `"`
	m.ctype = []string{ctype}
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

// ServeHTTP answers GET and HEAD of r.URL.Path, Prefix + an image file
// path: 200, 206, 304, 412 or 416 as http.ServeContent would, 404 for any
// other path or a missing file, 405 for other methods.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		h.answered(http.StatusMethodNotAllowed, false)
		return
	}
	rel := strings.TrimPrefix(r.URL.Path, Prefix)
	file, err := store.ParseImageFile(rel)
	if err != nil {
		http.NotFound(w, r)
		h.answered(http.StatusNotFound, false)
		return
	}
	hdr := w.Header()
	simple := r.Header.Get("Range") == "" && r.Header.Get("If-Match") == "" &&
		r.Header.Get("If-Unmodified-Since") == "" && r.Header.Get("If-Range") == ""
	if m := h.cache.get(rel); m != nil && simple {
		if notModified(r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since"), m) {
			m.setHeaders(hdr, http.StatusNotModified, false)
			w.WriteHeader(http.StatusNotModified)
			h.answered(http.StatusNotModified, true)
			return
		}
		if r.Method == http.MethodHead {
			m.setHeaders(hdr, http.StatusOK, true)
			w.WriteHeader(http.StatusOK)
			h.answered(http.StatusOK, true)
			return
		}
		if m.body != nil {
			m.setHeaders(hdr, http.StatusOK, true)
			w.WriteHeader(http.StatusOK)
			w.Write(m.body)
			h.answered(http.StatusOK, true)
			return
		}
		f, err := h.open(rel)
		if err != nil {
			h.cache.remove(rel)
			h.answered(openFailed(w, r, err), true)
			return
		}
		defer f.Close()
		m.setHeaders(hdr, http.StatusOK, true)
		w.WriteHeader(http.StatusOK)
		// net/http's response writer hands the *os.File to sendfile after
		// the first 512 bytes, as for http.ServeContent; the limit makes it
		// one sendfile call of the known size, with no extra call for EOF.
		io.CopyN(w, f, m.size)
		h.answered(http.StatusOK, true)
		return
	}

	m, f, err := h.fill(rel, file)
	if err != nil {
		h.answered(openFailed(w, r, err), false)
		return
	}
	defer f.Close()
	m.setHeaders(hdr, http.StatusOK, false)
	if h.obs != nil {
		sw := &statusWriter{ResponseWriter: w}
		w = sw
		defer func() { h.answered(sw.status, false) }()
	}
	// ServeContent answers Range, HEAD and every conditional header.
	http.ServeContent(w, r, "", m.modTime, f)
}

// Forget drops what the cache holds of the image files at paths (relative,
// as Image.File gives them), so that they answer 404 at once. Call it after
// every deletion of images (store.DeleteImage, DeleteImages, DeleteAlbum,
// DeleteUser, the expiry sweep).
func (h *Handler) Forget(paths ...string) { h.cache.remove(paths...) }

// Cached returns how many files the cache holds, for metrics and tests.
func (h *Handler) Cached() int { return h.cache.len() }

func (h *Handler) answered(status int, cached bool) {
	if h.obs != nil {
		h.obs.Answered(Answer{Status: status, Cached: cached})
	}
}

// statusWriter notes the status http.ServeContent writes, for the
// Observer. It passes ReadFrom through, so sendfile still applies.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (sw *statusWriter) WriteHeader(status int) {
	if sw.status == 0 {
		sw.status = status
	}
	sw.ResponseWriter.WriteHeader(status)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	return sw.ResponseWriter.Write(b)
}

func (sw *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	return sw.ResponseWriter.(io.ReaderFrom).ReadFrom(r)
}

// seekFile is an image file as the store opens it: an *os.File for the
// local tree.
type seekFile interface {
	fs.File
	io.Seeker
}

// errNotSeekable is what open reports for a file the store gives without
// Seek, which store.Storage promises.
var errNotSeekable = errors.New("imagefiles: the store's file cannot seek")

// open opens the image file at rel from the store.
func (h *Handler) open(rel string) (seekFile, error) {
	f, err := h.st.OpenFile(rel)
	if err != nil {
		return nil, err
	}
	sf, ok := f.(seekFile)
	if !ok {
		f.Close()
		return nil, errNotSeekable
	}
	return sf, nil
}

// fill opens the image file at rel (file, as ParseImageFile took it
// apart), caches its metadata, and its bytes when it is small, and returns
// both with the file positioned at its start. The caller closes f.
func (h *Handler) fill(rel string, file store.ImageFile) (m *fileMeta, f seekFile, err error) {
	gen := h.cache.generation()
	if f, err = h.open(rel); err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fs.ErrNotExist // answered 404, as any other miss
	}
	m = newFileMeta(file.ContentType(), st)
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
	h.cache.put(rel, m, gen)
	return m, f, nil
}

// openFailed answers a file that could not be opened and returns the
// status: 404 for a missing one, 500 for anything else.
func openFailed(w http.ResponseWriter, r *http.Request, err error) int {
	if !errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "cannot read image", http.StatusInternalServerError)
		return http.StatusInternalServerError
	}
	http.NotFound(w, r)
	return http.StatusNotFound
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
