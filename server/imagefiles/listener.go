package imagefiles

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"picbed/store"
)

// The image fast path at the connection level.
//
// net/http spends most of a small image answer on its own per-request work
// (parsing every header into a map, formatting the answer through two
// buffered writers, flushing): picbed's file handler is about 3% of a 304
// (docs/performance.md, "Where serving time goes"). Most connections to an
// image host carry nothing but image GETs: a blog page or a forum thread
// hotlinks a dozen images, and the browser opens connections just for them.

// Listener sits between the TCP listener and net/http. Every accepted
// connection is first read by fastConn.serve, which answers simple image requests
// itself (a GET or HEAD of /images/... from the file cache or with sendfile,
// 200 or 304) and writes each answer with one system call. At the first
// request it does not answer itself (any other path, a Range, a body, an
// unusual header, a request head it cannot parse, an HTTP/1.0 client), it
// hands the connection, with every byte it has read and not answered, to
// net/http, which serves it from then on exactly as if it had accepted it.
// So the fast path only ever decides "mine" for requests whose meaning is
// plain; everything else, errors included, keeps net/http's behaviour.
type Listener struct {
	inner net.Listener
	files *Handler

	// idle bounds the wait for the next request on a connection; header
	// bounds the rest of a request head once its first byte has come.
	idle, header time.Duration

	handoff chan net.Conn // connections for net/http
	errs    chan error    // errors of the inner Accept, for net/http
	done    chan struct{} // closed by Close
	once    sync.Once

	mu    sync.Mutex
	conns map[*fastConn]struct{} // connections being served here
	wg    sync.WaitGroup         // one per serveConn
}

// fastHeadBytes is the largest request head the fast path reads: a browser's
// image request is well under 1 kB; a longer head (big cookies) goes to
// net/http, which allows up to 1 MB.
const fastHeadBytes = 4096

// NewListener serves ln's connections through the fast path of files,
// waiting at most idle for a request and header for the rest of its head
// (pass net/http's IdleTimeout and ReadHeaderTimeout), and hands the
// connections it does not finish to whoever calls Accept: give it to
// http.Server.Serve, whose Handler sends Prefix to files. It starts
// accepting on ln at once.
func NewListener(ln net.Listener, files *Handler, idle, header time.Duration) *Listener {
	l := &Listener{
		inner:   ln,
		files:   files,
		idle:    idle,
		header:  header,
		handoff: make(chan net.Conn),
		errs:    make(chan error),
		done:    make(chan struct{}),
		conns:   make(map[*fastConn]struct{}),
	}
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	for {
		c, err := l.inner.Accept()
		if err != nil {
			// net/http decides: it retries temporary errors (too many
			// open files) after a pause and gives up on the others.
			select {
			case l.errs <- err:
				continue
			case <-l.done:
				return
			}
		}
		fc := &fastConn{Conn: c, l: l}
		l.mu.Lock()
		select {
		case <-l.done:
			l.mu.Unlock()
			c.Close()
			continue
		default:
		}
		l.conns[fc] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go fc.serve()
	}
}

// Accept returns the connections serveConn hands over.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.handoff:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and ends every connection that is waiting for its
// next request here; those in the middle of an answer end after it.
// http.Server.Shutdown calls it.
func (l *Listener) Close() error {
	err := net.ErrClosed
	l.once.Do(func() {
		l.mu.Lock()
		close(l.done)
		for fc := range l.conns {
			if fc.idle.Load() {
				fc.SetReadDeadline(time.Now())
			}
		}
		l.mu.Unlock()
		err = l.inner.Close()
	})
	return err
}

// Addr returns the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Wait waits for the connections the fast path is serving to end, for at
// most timeout, and then closes those left. Call it after Close (which
// http.Server.Shutdown calls): Shutdown does not know these connections.
func (l *Listener) Wait(timeout time.Duration) {
	ended := make(chan struct{})
	go func() { l.wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(timeout):
		l.mu.Lock()
		for fc := range l.conns {
			fc.Close()
		}
		l.mu.Unlock()
		<-ended
	}
}

func (l *Listener) closing() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// fastConn is one connection while the fast path serves it.
type fastConn struct {
	net.Conn
	l    *Listener
	br   *bufio.Reader
	idle atomic.Bool // waiting for the first byte of a request

	out  []byte      // the answer's head, reused
	vec  [2][]byte   // head and body
	bufs net.Buffers // over vec, for one writev (WriteTo consumes it)
}

func (fc *fastConn) serve() {
	defer fc.l.wg.Done()
	fc.br = bufio.NewReaderSize(fc.Conn, fastHeadBytes)
	if !fc.loop() {
		fc.Conn.Close()
	}
	fc.l.mu.Lock()
	delete(fc.l.conns, fc)
	fc.l.mu.Unlock()
}

// loop answers requests until the connection ends (false) or is handed to
// net/http (true).
func (fc *fastConn) loop() bool {
	for {
		if fc.l.closing() && fc.br.Buffered() == 0 {
			return false
		}
		// The deadline is set before idle, so that Close's earlier
		// deadline, set once it sees idle, is the one that holds.
		fc.SetReadDeadline(time.Now().Add(fc.l.idle))
		fc.idle.Store(true)
		if fc.l.closing() { // Close may have run before idle was set
			fc.idle.Store(false)
			return false
		}
		_, err := fc.br.Peek(1)
		fc.idle.Store(false)
		if err != nil {
			return false
		}
		fc.SetReadDeadline(time.Now().Add(fc.l.header))
		var req imageRequest
		var n int
		for {
			b, _ := fc.br.Peek(fc.br.Buffered())
			var st parseStatus
			req, n, st = parseImageRequest(b)
			if st == parsedRequest {
				break
			}
			if st == notForUs || len(b) == fastHeadBytes {
				return fc.handOff()
			}
			if _, err := fc.br.Peek(len(b) + 1); err != nil {
				// A head that stops half way or comes too slowly: net/http
				// would close the connection too.
				return false
			}
		}
		sent, keep := fc.l.files.answerFast(fc, &req)
		if !sent {
			return fc.handOff()
		}
		fc.br.Discard(n)
		if !keep || req.close {
			return false
		}
	}
}

// handOff gives the connection, with the bytes read and not answered, to
// net/http. It reports false when the listener is closing and the
// connection was not taken.
func (fc *fastConn) handOff() bool {
	fc.SetReadDeadline(time.Time{})
	pc := &prefixConn{Conn: fc.Conn}
	if n := fc.br.Buffered(); n > 0 {
		b, _ := fc.br.Peek(n)
		pc.pre = bytes.Clone(b)
	}
	fc.l.mu.Lock()
	delete(fc.l.conns, fc)
	fc.l.mu.Unlock()
	if obs := fc.l.files.obs; obs != nil {
		obs.HandedOff()
	}
	select {
	case fc.l.handoff <- pc:
		return true
	case <-fc.l.done:
		return false
	}
}

// prefixConn is a connection whose first bytes were already read: Read
// returns them before reading more. It passes ReadFrom (sendfile) and
// CloseWrite through to the TCP connection, which net/http looks for.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *prefixConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// answerFast answers req on fc if it can: from the cache, or after caching
// the file's metadata. It reports whether it sent an answer (when not,
// nothing was written and net/http must answer) and whether the connection
// can carry another request.
func (h *Handler) answerFast(fc *fastConn, req *imageRequest) (sent, keep bool) {
	var f seekFile
	m := h.cache.get(req.path)
	cached := m != nil
	if m == nil {
		var err error
		if m, f, err = h.fill(req.path, req.file); err != nil {
			return false, false // not found, or unreadable: net/http says so
		}
		defer f.Close()
	}
	status := http.StatusOK
	if notModified(req.inm, req.ims, m) {
		status = http.StatusNotModified
	}
	withBody := status == http.StatusOK && !req.head
	if withBody && m.body == nil && f == nil {
		var err error
		if f, err = h.open(req.path); err != nil {
			h.cache.remove(req.path)
			return false, false
		}
		defer f.Close()
	}
	if h.obs != nil {
		// Told before the write, which may block: the answer is decided.
		h.obs.Answered(Answer{Status: status, Fast: true, Cached: cached})
	}
	fc.out = appendAnswerHead(fc.out[:0], status, m, req.close)
	switch {
	case !withBody:
		_, err := fc.Write(fc.out)
		return true, err == nil
	case m.body != nil:
		fc.vec = [2][]byte{fc.out, m.body}
		fc.bufs = fc.vec[:]
		_, err := fc.bufs.WriteTo(fc.Conn)
		return true, err == nil
	}
	// Corked, the head goes out in the same packets as the file's first
	// bytes, as with nginx's tcp_nopush: picbed served the 1.7 MB file of
	// bench/run.sh at 0.91x nginx's rate without, 1.01-1.09x with
	// (docs/performance.md).
	fc.cork(true)
	defer fc.cork(false)
	if _, err := fc.Write(fc.out); err != nil {
		return true, false
	}
	// On a TCP connection this is sendfile; a file that came out shorter
	// than its Content-Length leaves the connection unusable.
	n, err := io.Copy(fc.Conn, io.LimitReader(f, m.size))
	return true, err == nil && n == m.size
}

// appendAnswerHead appends the status line and headers of an answer about
// m: imageAnswerHeaders, as net/http writes them for Handler.ServeHTTP's
// cached answers (in the list's order, then Date, then Connection), so a
// client cannot tell which of the two answered.
func appendAnswerHead(b []byte, status int, m *fileMeta, close bool) []byte {
	if status == http.StatusNotModified {
		b = append(b, "HTTP/1.1 304 Not Modified\r\n"...)
	} else {
		b = append(b, "HTTP/1.1 200 OK\r\n"...)
	}
	for _, f := range imageAnswerHeaders {
		if status == http.StatusNotModified && !f.in304 {
			continue
		}
		b = append(b, f.name...)
		b = append(b, ": "...)
		b = append(b, f.value(m)[0]...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Date: "...)
	b = append(b, httpDate()...)
	if close {
		b = append(b, "\r\nConnection: close"...)
	}
	return append(b, "\r\n\r\n"...)
}

// httpDate returns the Date header value for now, formatted once a second.
func httpDate() []byte {
	now := time.Now()
	sec := now.Unix()
	if d := dateNow.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &dateValue{sec: sec, text: now.UTC().AppendFormat(nil, http.TimeFormat)}
	dateNow.Store(d)
	return d.text
}

type dateValue struct {
	sec  int64
	text []byte
}

var dateNow atomic.Pointer[dateValue]

// imageRequest is a request the fast path answers: a GET or HEAD of a file
// of the image tree, with nothing in its head that changes the answer but
// the two validators and Connection: close.
type imageRequest struct {
	head     bool   // HEAD, not GET
	path     string // after Prefix, as store.ParseImageFile accepts it
	file     store.ImageFile
	inm, ims string // If-None-Match, If-Modified-Since
	close    bool   // Connection: close
}

type parseStatus int

const (
	needMore      parseStatus = iota // no end of head yet
	parsedRequest                    // a request for the fast path
	notForUs                         // anything else: net/http answers it
)

var errNotForUs = errors.New("not for the fast path")

// parseImageRequest parses the request head at the start of b. When it
// returns parsedRequest, n is the length of the head and net/http would
// read the same request from those bytes (FuzzParseImageRequest checks
// this against http.ReadRequest). It is deliberately narrow: only CRLF line
// ends, HTTP/1.1, a path of the stored-file shape without escapes, one
// Host, header values of printable ASCII, and none of the headers that
// would make the answer anything but a plain 200 or 304 (a body, Range,
// the other preconditions, Expect, Upgrade, an unusual Connection).
func parseImageRequest(b []byte) (req imageRequest, n int, st parseStatus) {
	if !couldBeImageRequest(b) {
		return req, 0, notForUs // no need to wait for the rest
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	limit := len(b)
	if end >= 0 {
		limit = end + 4
	}
	for off := 0; ; {
		i := bytes.IndexByte(b[off:limit], '\n')
		if i < 0 {
			break
		}
		if i += off; i == 0 || b[i-1] != '\r' {
			// A line ended by a bare LF, which net/http takes: rather
			// than wait for a CRLF CRLF that may never come, let it answer.
			return req, 0, notForUs
		}
		off = i + 1
	}
	if end < 0 {
		return req, 0, needMore
	}
	n = end + 4
	if err := req.parse(b[:end+2]); err != nil {
		return imageRequest{}, 0, notForUs
	}
	return req, n, parsedRequest
}

// couldBeImageRequest reports whether b starts like a GET or HEAD of
// /images/, as far as b goes.
func couldBeImageRequest(b []byte) bool {
	for _, p := range []string{"GET /images/", "HEAD /images/"} {
		k := min(len(b), len(p))
		if string(b[:k]) == p[:k] {
			return true
		}
	}
	return false
}

// parse fills req from head, which ends with the CRLF of its last line.
func (req *imageRequest) parse(head []byte) error {
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	switch {
	case bytes.HasPrefix(line, []byte("GET /images/")):
		line = line[len("GET /images/"):]
	case bytes.HasPrefix(line, []byte("HEAD /images/")):
		req.head = true
		line = line[len("HEAD /images/"):]
	default:
		return errNotForUs
	}
	target, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok {
		return errNotForUs
	}
	path := target
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		path = target[:i]
		for _, c := range target[i+1:] {
			// The query is ignored, as by ServeHTTP; only characters that
			// url.ParseRequestURI takes as they are.
			if c <= ' ' || c >= 0x7f || c == '#' || c == '%' {
				return errNotForUs
			}
		}
	}
	req.path = string(path)
	var err error
	if req.file, err = store.ParseImageFile(req.path); err != nil {
		return errNotForUs
	}

	hosts := 0
	seen := 0 // bit set of the validators already seen
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return errNotForUs
		}
		name := line[:colon]
		for _, c := range name {
			if !isTokenByte(c) {
				return errNotForUs
			}
		}
		value := line[colon+1:]
		for _, c := range value {
			if (c < ' ' && c != '\t') || c >= 0x7f {
				return errNotForUs
			}
		}
		value = bytes.Trim(value, " \t")
		switch {
		case asciiEqualFold(name, "Host"):
			hosts++
			if len(value) == 0 {
				return errNotForUs
			}
			for _, c := range value {
				if !isHostByte(c) {
					return errNotForUs
				}
			}
		case asciiEqualFold(name, "If-None-Match"):
			if seen&1 != 0 {
				return errNotForUs
			}
			seen |= 1
			req.inm = string(value)
		case asciiEqualFold(name, "If-Modified-Since"):
			if seen&2 != 0 {
				return errNotForUs
			}
			seen |= 2
			req.ims = string(value)
		case asciiEqualFold(name, "Connection"):
			if seen&4 != 0 {
				return errNotForUs
			}
			seen |= 4
			for _, tok := range bytes.Split(value, []byte(",")) {
				tok = bytes.Trim(tok, " \t")
				switch {
				case asciiEqualFold(tok, "close"):
					req.close = true
				case asciiEqualFold(tok, "keep-alive"):
				default:
					return errNotForUs
				}
			}
		case asciiEqualFold(name, "Content-Length"), asciiEqualFold(name, "Transfer-Encoding"),
			asciiEqualFold(name, "Range"), asciiEqualFold(name, "If-Range"),
			asciiEqualFold(name, "If-Match"), asciiEqualFold(name, "If-Unmodified-Since"),
			asciiEqualFold(name, "Expect"), asciiEqualFold(name, "Upgrade"),
			asciiEqualFold(name, "Trailer"), asciiEqualFold(name, "Te"):
			return errNotForUs
		}
	}
	if hosts != 1 {
		return errNotForUs
	}
	return nil
}

// isTokenByte reports whether c may appear in a header name (RFC 9110 5.6.2).
func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// isHostByte is the narrow set of Host characters the fast path takes:
// names, IPv4 and bracketed IPv6 literals, ports.
func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
