// Package server is picbed's HTTP layer: the Chevereto API v1 dialect and
// the viewer and delete pages, with the image files served by package
// imagefiles (and its fast path) and the local control socket of the
// command line in package control. It parses requests,
// calls imaging and store, and renders each dialect's answers; it holds no
// database transactions and decodes no images itself.
package server

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"picbed/imaging"
	"picbed/server/imagefiles"
	"picbed/store"
)

// DuplicatePolicy says what an upload of bytes the same owner already
// uploaded does.
type DuplicatePolicy string

// The duplicate policies of the compat profile.
const (
	DuplicatesReuse  DuplicatePolicy = "reuse"  // answer with the stored image, HTTP 200
	DuplicatesReject DuplicatePolicy = "reject" // Chevereto's "Duplicated upload" (101)
	DuplicatesAllow  DuplicatePolicy = "allow"  // store another copy
)

// Default limits. Each is a configuration default, overridable by flags.
const (
	// DefaultMaxUpload is Chevereto V3's installer default of 25 MB (decimal).
	DefaultMaxUpload = 25_000_000
	// maxFieldBytes bounds every form field but the upload itself: titles,
	// descriptions and keys are far shorter.
	maxFieldBytes = 64 << 10
	// maxFormParts bounds the number of multipart parts or form fields in one
	// request; the API has about a dozen parameters.
	maxFormParts = 64
	// readHeaderTimeout bounds slow request headers (slowloris).
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes idle keep-alive connections.
	idleTimeout = 120 * time.Second
	// uploadReadTimeout bounds a whole request body: 25 MB at 100 kB/s.
	uploadReadTimeout = 5 * time.Minute
)

// Config is the server's configuration, validated by the caller.
type Config struct {
	// BaseURL is the public site URL without a trailing slash. Empty means
	// derived from each request.
	BaseURL string
	// ImageBaseURL is where image files are served, e.g. a CDN. Empty means
	// BaseURL + "/images".
	ImageBaseURL string
	// TrustedProxies are the peers whose X-Forwarded-For, -Proto and -Host
	// headers are believed.
	TrustedProxies []netip.Prefix
	// MaxUpload is the largest accepted image in bytes.
	MaxUpload int64
	// MaxPixels is the pixel budget checked before any decode.
	MaxPixels int
	// EXIF is the EXIF policy for stored JPEGs.
	EXIF imaging.EXIFPolicy
	// Duplicates is the duplicate upload policy.
	Duplicates DuplicatePolicy
	// URLUploads allows `source` to be an http(s) URL fetched by the server.
	URLUploads bool
	// Location is the site time zone for `date`. Nil means time.Local.
	Location *time.Location
	// DecodeWorkers bounds concurrent image decodes. 0 means the CPU count.
	DecodeWorkers int
	// UploadStallTimeout cuts an upload body that delivers less than
	// MinBodyProgress bytes within this long (slow-body clients); 0 means
	// no guard beyond the whole-body limit of 5 minutes.
	UploadStallTimeout time.Duration
	// Fetcher fetches URL sources; nil means a fetcher that only dials public
	// addresses. Tests replace it to reach loopback.
	Fetcher *Fetcher
	// FloodLimits are the per-address upload limits per minute, hour, day,
	// week and month (spec 3.3); nil means DefaultFloodLimits, a zero
	// FloodLimits no limits. Admins are exempt.
	FloodLimits *FloodLimits
	// MaxKeyFailures wrong API keys within KeyFailureWindow from one
	// address block its API requests; 0 means DefaultMaxKeyFailures (in
	// DefaultKeyFailureWindow), negative means never block.
	MaxKeyFailures   int
	KeyFailureWindow time.Duration
	// ImageObserver, when not nil, is told of every answer to a request
	// under /images/ and of every connection the fast path hands to
	// net/http: where metrics attach.
	ImageObserver imagefiles.Observer
}

// Server serves picbed over HTTP.
type Server struct {
	cfg    Config
	store  *store.Store
	log    *slog.Logger
	echo   *echo.Echo
	files  *imagefiles.Handler
	pages  *template.Template
	decode chan struct{}
	fetch  *Fetcher
	now    func() time.Time

	keyFails *keyFailures
	flood    *floodLimiter

	settings atomic.Pointer[siteSettings]
	secret   []byte // HMAC key of CSRF tokens and guest ids (store.Secret)
	i18n     *catalog
	assets   *assetTree
	hasAdmin atomic.Bool // once true stays true: the last admin cannot be removed
	logins   *loginLimiter
}

// New returns a server over st. ui holds the embedded templates and static
// assets (the ui/ folder).
func New(cfg Config, st *store.Store, ui fs.FS, log *slog.Logger) (*Server, error) {
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = imaging.DefaultMaxPixels
	}
	if cfg.Duplicates == "" {
		cfg.Duplicates = DuplicatesReuse
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.DecodeWorkers <= 0 {
		cfg.DecodeWorkers = runtime.NumCPU()
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.ImageBaseURL = strings.TrimRight(cfg.ImageBaseURL, "/")
	if log == nil {
		log = slog.Default()
	}
	pages, err := template.New("").Funcs(template.FuncMap{}).ParseFS(ui, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("server: parse templates: %w", err)
	}
	static, err := fs.Sub(ui, "static")
	if err != nil {
		return nil, fmt.Errorf("server: static assets: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		store:  st,
		log:    log,
		pages:  pages,
		decode: make(chan struct{}, cfg.DecodeWorkers),
		fetch:  cfg.Fetcher,
		now:    time.Now,
	}
	if s.fetch == nil {
		s.fetch = NewFetcher()
	}
	floodLimits := DefaultFloodLimits
	if cfg.FloodLimits != nil {
		floodLimits = *cfg.FloodLimits
	}
	s.flood = newFloodLimiter(floodLimits)
	if cfg.MaxKeyFailures == 0 {
		cfg.MaxKeyFailures = DefaultMaxKeyFailures
	}
	if cfg.KeyFailureWindow <= 0 {
		cfg.KeyFailureWindow = DefaultKeyFailureWindow
	}
	s.keyFails = newKeyFailures(cfg.MaxKeyFailures, cfg.KeyFailureWindow)
	if s.fetch.Allow == nil {
		s.fetch.Allow = IsPublicAddr
	}
	settings, err := loadSettings(st, cfg)
	if err != nil {
		return nil, err
	}
	s.settings.Store(settings)
	s.secret = st.Secret()
	if s.i18n, err = loadCatalog(ui); err != nil {
		return nil, err
	}
	if s.assets, err = newAssetTree(static); err != nil {
		return nil, fmt.Errorf("server: static assets: %w", err)
	}
	s.logins = newLoginLimiter()
	s.files = imagefiles.New(st, imagefiles.Options{Observer: cfg.ImageObserver})
	s.echo = s.routes()
	return s, nil
}

// ServeHTTP sends image files to imagefiles (net/http's own response
// writer, so sendfile applies) and everything else through echo.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, imagefiles.Prefix) {
		s.files.ServeHTTP(w, r)
		return
	}
	s.echo.ServeHTTP(w, r)
}

// HTTPServer returns an http.Server for s with explicit timeouts.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       uploadReadTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Serve serves on ln until ctx is done, then shuts down gracefully, letting
// in-flight requests (uploads) finish for up to grace.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := s.HTTPServer()
	stopJobs := s.startJobs(ctx)
	defer stopJobs()
	var fast *imagefiles.Listener
	if _, tcp := ln.(*net.TCPListener); tcp {
		// Image requests are answered before net/http sees the
		// connection (imagefiles.Listener).
		fast = imagefiles.NewListener(ln, s.files, idleTimeout, readHeaderTimeout)
		ln = fast
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	start := time.Now()
	err := hs.Shutdown(sctx)
	if fast != nil {
		fast.Wait(max(grace-time.Since(start), 0))
	}
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// forgetImages must be called after every deletion of images (store.DeleteImage,
// DeleteImages, DeleteAlbum, DeleteUser): it drops the cached metadata and
// bytes of their files, so they answer 404 at once.
func (s *Server) forgetImages(imgs ...store.Image) {
	for _, img := range imgs {
		s.files.Forget(img.File(store.Full), img.File(store.Thumb), img.File(store.Medium))
	}
}

// siteURL is the public base URL for r: the configured one, else the
// request's scheme and host (forwarded ones only from trusted proxies).
func (s *Server) siteURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if s.fromTrustedProxy(r) {
		if p := firstHeaderValue(r, "X-Forwarded-Proto"); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstHeaderValue(r, "X-Forwarded-Host"); h != "" && validHost(h) {
			host = h
		}
	}
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

// imageBaseURL is where image files are served for r.
func (s *Server) imageBaseURL(r *http.Request) string {
	if b := s.site().ImageBaseURL; b != "" {
		return b
	}
	return s.siteURL(r) + "/images"
}

func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if len(s.cfg.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func firstHeaderValue(r *http.Request, name string) string {
	v := r.Header.Get(name)
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// validHost accepts host[:port] made of the characters DNS names, IPv4 and
// bracketed IPv6 literals use, so a forged Host header cannot inject markup
// or paths into generated URLs.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}
