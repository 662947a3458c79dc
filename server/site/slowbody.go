package site

import (
	"io"
	"net/http"
	"time"
)

// MinBodyProgress is how many bytes an upload body must deliver within each
// Config.UploadStallTimeout. 16 KiB per 30 s (about 550 B/s) is far below
// any real link, yet a client trickling a byte a second is cut in 30 s
// instead of holding its connection for the whole UploadReadTimeout.
const MinBodyProgress = 16 << 10

// DefaultUploadStallTimeout is the default of Config.UploadStallTimeout.
const DefaultUploadStallTimeout = 30 * time.Second

// UploadReadTimeout bounds a whole request body: 25 MB at 100 kB/s. The
// HTTP server's ReadTimeout is set to it too.
const UploadReadTimeout = 5 * time.Minute

// stallGuard wraps a request body and moves the connection's read deadline
// to now+timeout each time another MinBodyProgress bytes have arrived, never
// past bound (the whole-body limit). A body that stalls hits the deadline:
// its Read fails and the handler answers and drops the connection.
type stallGuard struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	bound   time.Time
	n       int64 // bytes since the deadline last moved
	ended   bool  // a Read failed or hit EOF: hands off the deadline
}

func (g *stallGuard) Read(p []byte) (int, error) {
	n, err := g.ReadCloser.Read(p)
	if err != nil {
		// At EOF net/http starts its background read and clears the
		// deadline; moving it now would make that read time out, which
		// cancels the request's context (and an upload queued for a
		// decode slot with it).
		g.ended = true
		return n, err
	}
	if g.n += int64(n); g.n >= MinBodyProgress {
		g.n = 0
		g.rc.SetReadDeadline(earlier(time.Now().Add(g.timeout), g.bound))
	}
	return n, err
}

// GuardSlowBody installs a stallGuard on r.Body when the stall timeout is
// on and the connection supports read deadlines. The returned func must be
// called once the body has been read: unless the body already ended, it puts
// the deadline back to the whole-request bound, so that a stall deadline
// cannot fire while the upload waits for a decode slot.
func (s *Site) GuardSlowBody(w http.ResponseWriter, r *http.Request) (release func()) {
	if s.cfg.UploadStallTimeout <= 0 {
		return func() {}
	}
	rc := http.NewResponseController(w)
	now := time.Now()
	bound := now.Add(UploadReadTimeout)
	if err := rc.SetReadDeadline(earlier(now.Add(s.cfg.UploadStallTimeout), bound)); err != nil {
		return func() {} // not a net/http connection (e.g. a test recorder)
	}
	g := &stallGuard{ReadCloser: r.Body, rc: rc, timeout: s.cfg.UploadStallTimeout, bound: bound}
	r.Body = g
	return func() {
		if !g.ended {
			rc.SetReadDeadline(bound)
		}
	}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
