// Package server is picbed's HTTP side. This package holds the routes table
// (routes.go: every path of the site, grouped by who may call it), the web
// app's pages and its session handling, and the background jobs; the doors
// and rooms it mounts live in packages of their own: the Chevereto API
// (api/chevereto), what every door shares (site), the URL fetcher (fetch)
// the image files and their fast path (imagefiles) and the control socket
// (control). A handler parses and authorizes a request, hands an
// upload to site and ingest, reads and changes records through store, and
// renders its dialect's answer; it holds no database transaction and
// decodes no image.
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
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"picbed/ingest"
	"picbed/server/api/chevereto"
	"picbed/server/api/lsky"
	"picbed/server/fetch"
	"picbed/server/imagefiles"
	"picbed/server/site"
	"picbed/store"
)

// Limits of the HTTP server.
const (
	// readHeaderTimeout bounds slow request headers (slowloris).
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes idle keep-alive connections.
	idleTimeout = 120 * time.Second
)

// Config is the server's configuration, validated by the caller.
type Config struct {
	// Site is the configuration shared by every door (URLs, proxies,
	// limits).
	Site site.Config
	// Settings are the values of the settings page until an admin saves
	// it (the command line's ⚙ flags); once saved, the saved ones win.
	Settings site.Settings
	// DecodeWorkers bounds concurrent image decodes. 0 means the CPU count.
	DecodeWorkers int
}

// Deps are what a Server works with.
type Deps struct {
	Store *store.Store
	// UI holds the embedded templates and static assets (the ui/ folder).
	UI fs.FS
	// Log receives the request and background logs; nil means
	// slog.Default().
	Log *slog.Logger
	// Fetcher downloads URL sources; nil means one that dials public
	// addresses only (fetch.Fetcher's defaults).
	Fetcher *fetch.Fetcher
	// ImageObserver, when not nil, is told of every answer to a request
	// under /images/ and of every connection the fast path hands to
	// net/http: where metrics attach.
	ImageObserver imagefiles.Observer
}

// Server serves picbed over HTTP.
type Server struct {
	cfg   Config
	store *store.Store
	log   *slog.Logger
	echo  *echo.Echo
	files *imagefiles.Handler
	pages *template.Template
	// now is the clock of every part (site limits, ingest dates, pages);
	// tests replace it.
	now func() time.Time

	site      *site.Site
	ingest    *ingest.Ingester
	chevereto *chevereto.API
	lsky      *lsky.API

	secret   []byte // HMAC key of CSRF tokens and guest ids (store.Secret)
	i18n     *catalog
	assets   *assetTree
	hasAdmin atomic.Bool  // once true stays true: the last admin cannot be removed
	logins   *site.Logins // the site's, shared with the API doors
}

// New returns a server over d.Store.
func New(cfg Config, d Deps) (*Server, error) {
	st := d.Store
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	if cfg.DecodeWorkers <= 0 {
		cfg.DecodeWorkers = runtime.NumCPU()
	}
	if cfg.Site.Location == nil {
		cfg.Site.Location = time.Local
	}
	pages, err := template.New("").Funcs(template.FuncMap{}).ParseFS(d.UI, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("server: parse templates: %w", err)
	}
	static, err := fs.Sub(d.UI, "static")
	if err != nil {
		return nil, fmt.Errorf("server: static assets: %w", err)
	}
	s := &Server{
		cfg:   cfg,
		store: st,
		log:   log,
		pages: pages,
		now:   time.Now,
	}
	clock := func() time.Time { return s.now() }
	fetcher := d.Fetcher
	if fetcher == nil {
		fetcher = &fetch.Fetcher{}
	}
	s.ingest = ingest.New(st, ingest.Config{DecodeWorkers: cfg.DecodeWorkers, Now: clock})
	if s.site, err = site.New(cfg.Site, st, s.ingest, fetcher, cfg.Settings, log, clock); err != nil {
		return nil, err
	}
	s.chevereto = chevereto.New(s.site)
	s.lsky = lsky.New(s.site)
	s.secret = st.Secret()
	if s.i18n, err = loadCatalog(d.UI); err != nil {
		return nil, err
	}
	if s.assets, err = newAssetTree(static); err != nil {
		return nil, fmt.Errorf("server: static assets: %w", err)
	}
	s.logins = s.site.Logins()
	s.files = imagefiles.New(st, imagefiles.Options{Observer: d.ImageObserver})
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
		ReadTimeout:       site.UploadReadTimeout,
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
