package fetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"picbed/ingest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The fetch tests run a "public internet" on 127.0.0.2, which their Allow
// policy calls public, and a tripwire on 127.0.0.1 (private for the
// policy) on the same port, which fails the test if anything connects to
// it. Dials go through loopbackOnly, which fails the test on any address
// beyond loopback even if the guard under test lets it through.

// fetchNet is the loopback network of one fetch test.
type fetchNet struct {
	port    int
	public  *http.ServeMux
	private atomic.Int32 // connections the 127.0.0.1 tripwire accepted
	mu      sync.Mutex
	dialed  []string
	queries map[string]int
	// answers maps a host name to the addresses of its 1st, 2nd, ...
	// lookup; the last entry repeats.
	answers map[string][][]netip.Addr
}

func newFetchNet(t *testing.T) *fetchNet {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip("127.0.0.2 not usable here:", err)
	}
	n := &fetchNet{port: ln.Addr().(*net.TCPAddr).Port, public: http.NewServeMux(), queries: map[string]int{}}
	hs := &http.Server{Handler: n.public}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	trip, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", n.port))
	if err != nil {
		t.Skipf("port %d not free on 127.0.0.1: %v", n.port, err)
	}
	go func() {
		for {
			c, err := trip.Accept()
			if err != nil {
				return
			}
			n.private.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() {
		trip.Close()
		if got := n.private.Load(); got > 0 {
			t.Errorf("%d connection(s) reached the private address 127.0.0.1", got)
		}
	})
	return n
}

func (n *fetchNet) url(host, path string) string {
	return fmt.Sprintf("http://%s:%d%s", host, n.port, path)
}

// fetcher returns a Fetcher on this network: names resolve through
// answers, 127.0.0.2 counts as public, and every dial is checked to stay
// on loopback.
func (n *fetchNet) fetcher(t *testing.T) *Fetcher {
	return &Fetcher{
		Allow: func(ip netip.Addr) bool { return ip == netip.MustParseAddr("127.0.0.2") || IsPublicAddr(ip) },
		Lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
			n.mu.Lock()
			defer n.mu.Unlock()
			as, ok := n.answers[host]
			if !ok {
				return nil, fmt.Errorf("no such host %s", host)
			}
			i := min(n.queries[host], len(as)-1)
			n.queries[host]++
			return as[i], nil
		},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			n.mu.Lock()
			n.dialed = append(n.dialed, addr)
			n.mu.Unlock()
			return loopbackDial(t.Errorf)(ctx, network, addr)
		},
	}
}

// loopbackDial dials addr only if it is a loopback IP literal; anything
// else is reported and refused, whatever the guard under test decided.
func loopbackDial(report func(string, ...any)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || !ap.Addr().IsLoopback() {
			report("fetcher tried to dial %s", addr)
			return nil, errors.New("test: non-loopback dial")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func addrs(ss ...string) []netip.Addr {
	var as []netip.Addr
	for _, s := range ss {
		as = append(as, netip.MustParseAddr(s))
	}
	return as
}

func fetchErr(t *testing.T, f *Fetcher, rawURL string, max int64) (int64, error) {
	t.Helper()
	n, _, err := f.Fetch(context.Background(), rawURL, io.Discard, max)
	return n, err
}

// wantErr checks that err is the refusal want: the sentinel (errors.Is), or
// for a *ingest.TooBigError the same limit.
func wantErr(t *testing.T, err error, want error) {
	t.Helper()
	var big, wantBig *ingest.TooBigError
	if errors.As(want, &wantBig) {
		if !errors.As(err, &big) || big.Limit != wantBig.Limit {
			t.Errorf("error %v, want %v", err, want)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("error %v, want %v", err, want)
	}
}

func TestFetchDialsOnlyTheCheckedAddress(t *testing.T) {
	n := newFetchNet(t)
	photo := readTestdata(t, "photo.png")
	n.public.HandleFunc("/pic.png", func(w http.ResponseWriter, r *http.Request) { w.Write(photo) })
	n.public.HandleFunc("/again", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, n.url("rebind.test", "/pic.png"), http.StatusFound)
	})
	n.answers = map[string][][]netip.Addr{
		// DNS rebinding: public on the first query, private afterwards.
		"rebind.test": {addrs("127.0.0.2"), addrs("127.0.0.1")},
		"flip.test":   {addrs("127.0.0.2"), addrs("127.0.0.1")},
		// A name with a private and a public address: only the public one
		// may be dialled.
		"mixed.test": {addrs("127.0.0.1", "10.0.0.7", "169.254.169.254", "127.0.0.2")},
		// Only private addresses, IPv6 forms included.
		"private.test": {addrs("127.0.0.1", "::ffff:127.0.0.1", "::7f00:1", "fd00::1", "fe80::1", "64:ff9b::7f00:1")},
	}
	f := n.fetcher(t)

	// The first query answers public and that very address is dialled (the
	// dialer gets the checked IP literal: a name would not resolve again
	// to the private answer the next query gives).
	got, err := fetchErr(t, f, n.url("flip.test", "/pic.png"), 1<<20)
	if err != nil || got != int64(len(photo)) {
		t.Fatalf("flip.test: %d bytes, %v", got, err)
	}
	// The page redirects to its own name, which now resolves to 127.0.0.1:
	// the redirect's connection is checked again and refused.
	_, err = fetchErr(t, f, n.url("rebind.test", "/again"), 1<<20)
	wantErr(t, err, ingest.ErrURLNonPublic)
	// Later fetches keep getting the private answer and keep being refused.
	_, err = fetchErr(t, f, n.url("rebind.test", "/pic.png"), 1<<20)
	wantErr(t, err, ingest.ErrURLNonPublic)

	if got, err := fetchErr(t, f, n.url("mixed.test", "/pic.png"), 1<<20); err != nil || got != int64(len(photo)) {
		t.Errorf("mixed.test: %d bytes, %v", got, err)
	}
	_, err = fetchErr(t, f, n.url("private.test", "/pic.png"), 1<<20)
	wantErr(t, err, ingest.ErrURLNonPublic)

	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range n.dialed {
		if a != fmt.Sprintf("127.0.0.2:%d", n.port) {
			t.Errorf("dialled %s, want only the checked public address", a)
		}
	}
	if len(n.dialed) != 3 { // flip.test, rebind.test's first answer, mixed.test
		t.Errorf("dialled %v, want 3 dials", n.dialed)
	}
	if n.queries["rebind.test"] != 3 {
		t.Errorf("rebind.test resolved %d times, want once per connection (3)", n.queries["rebind.test"])
	}
}

// TestLoopbackDialCatchesABrokenGuard shows the safety net of these tests:
// with a guard that allows everything, the test dialer is the one that
// notices the attempt to leave loopback.
func TestLoopbackDialCatchesABrokenGuard(t *testing.T) {
	var reported []string
	f := &Fetcher{
		Allow:       func(netip.Addr) bool { return true },
		Lookup:      func(context.Context, string) ([]netip.Addr, error) { return addrs("169.254.169.254"), nil },
		DialContext: loopbackDial(func(format string, a ...any) { reported = append(reported, fmt.Sprintf(format, a...)) }),
	}
	if _, err := fetchErr(t, f, "http://metadata.test/latest/meta-data/", 1<<20); err == nil {
		t.Error("fetch through a broken guard succeeded")
	}
	if len(reported) != 1 || !strings.Contains(reported[0], "169.254.169.254:80") {
		t.Errorf("test dialer reported %q, want the metadata address", reported)
	}
}

// TestFetchControlHookChecksTheSocketAddress runs the production dialer:
// even when the resolution-time check passes, the Control hook refuses a
// non-public socket address before connect.
func TestFetchControlHookChecksTheSocketAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	defer ln.Close()
	var calls atomic.Int32
	f := &Fetcher{
		// Yes at resolution time, no in the Control hook.
		Allow: func(ip netip.Addr) bool { return calls.Add(1) == 1 },
	}
	_, err = fetchErr(t, f, "http://"+ln.Addr().String()+"/x.png", 1<<20)
	wantErr(t, err, ingest.ErrURLNonPublic)
	if calls.Load() != 2 {
		t.Errorf("Allow called %d times, want 2 (resolution and Control hook)", calls.Load())
	}
	time.Sleep(50 * time.Millisecond)
	if accepted.Load() != 0 {
		t.Errorf("the refused address accepted %d connection(s)", accepted.Load())
	}
}

func TestFetchRedirectCap(t *testing.T) {
	n := newFetchNet(t)
	photo := readTestdata(t, "photo.png")
	// /hop/N redirects to /hop/N-1; /hop/0 is the image.
	n.public.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		k, _ := strconv.Atoi(r.PathValue("n"))
		if k == 0 {
			w.Write(photo)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", k-1), http.StatusFound)
	})
	n.answers = map[string][][]netip.Addr{"img.test": {addrs("127.0.0.2")}}
	f := n.fetcher(t)
	for hops := 0; hops <= fetchMaxRedirects; hops++ {
		if got, err := fetchErr(t, f, n.url("img.test", fmt.Sprintf("/hop/%d", hops)), 1<<20); err != nil || got != int64(len(photo)) {
			t.Errorf("%d redirects: %d bytes, %v", hops, got, err)
		}
	}
	_, err := fetchErr(t, f, n.url("img.test", fmt.Sprintf("/hop/%d", fetchMaxRedirects+1)), 1<<20)
	wantErr(t, err, ingest.ErrFetchFailed)
	f.MaxRedirects = 1
	_, err = fetchErr(t, f, n.url("img.test", "/hop/2"), 1<<20)
	wantErr(t, err, ingest.ErrFetchFailed)
}

func TestFetchSizeCap(t *testing.T) {
	n := newFetchNet(t)
	var endlessSent atomic.Int64
	n.public.HandleFunc("/endless.png", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		for {
			k, err := w.Write(chunk)
			endlessSent.Add(int64(k))
			if err != nil {
				return
			}
		}
	})
	n.public.HandleFunc("/declared.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10000000")
		w.Write(make([]byte, 1000))
	})
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(make([]byte, 50<<20))
	zw.Close()
	n.public.HandleFunc("/bomb.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb.Bytes())
	})
	n.answers = map[string][][]netip.Addr{"img.test": {addrs("127.0.0.2")}}
	f := n.fetcher(t)
	const max = 200_000
	for _, path := range []string{"/endless.png", "/declared.png", "/bomb.png"} {
		t.Run(path, func(t *testing.T) {
			var w countingWriter
			_, _, err := f.Fetch(context.Background(), n.url("img.test", path), &w, max)
			wantErr(t, err, &ingest.TooBigError{Limit: 200_000})
			if w.n > max+1 {
				t.Errorf("wrote %d bytes, want at most %d", w.n, max+1)
			}
		})
	}
	if s := endlessSent.Load(); s > 8<<20 {
		t.Errorf("the endless body was read on to %d bytes", s)
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func TestFetchTimeouts(t *testing.T) {
	n := newFetchNet(t)
	stop := make(chan struct{})
	defer close(stop)
	n.public.HandleFunc("/silent.png", func(w http.ResponseWriter, r *http.Request) {
		select { // accept, read the request, never answer
		case <-stop:
		case <-r.Context().Done():
		}
	})
	n.public.HandleFunc("/trickle.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusOK)
		for { // one byte every 20 ms, forever: never too big, never done
			if _, err := w.Write([]byte{0}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	n.answers = map[string][][]netip.Addr{
		"img.test": {addrs("127.0.0.2")},
	}
	f := n.fetcher(t)
	f.ConnectTimeout = 200 * time.Millisecond
	f.TotalTimeout = 300 * time.Millisecond
	for _, path := range []string{"/silent.png", "/trickle.png"} {
		t.Run(path, func(t *testing.T) {
			start := time.Now()
			_, err := fetchErr(t, f, n.url("img.test", path), 1<<20)
			took := time.Since(start)
			wantErr(t, err, ingest.ErrFetchFailed)
			if took > 3*time.Second {
				t.Errorf("took %v with a 300 ms total timeout", took)
			}
		})
	}
	t.Run("connect", func(t *testing.T) {
		addr := hangingListener(t)
		n.answers["hang.test"] = [][]netip.Addr{{addr.Addr()}}
		f := n.fetcher(t)
		f.ConnectTimeout = 200 * time.Millisecond
		f.TotalTimeout = time.Minute
		start := time.Now()
		_, err := fetchErr(t, f, fmt.Sprintf("http://hang.test:%d/x.png", addr.Port()), 1<<20)
		took := time.Since(start)
		wantErr(t, err, ingest.ErrFetchFailed)
		if took > 3*time.Second {
			t.Errorf("connect took %v with a 200 ms connect timeout", took)
		}
	})
}

// hangingListener returns the address of a socket on 127.0.0.2 whose accept
// queue is full, so that a further connect hangs (the kernel drops the
// SYNs), as with a host that blackholes packets.
func hangingListener(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skip("raw socket:", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 2}}); err != nil {
		t.Skip("bind:", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Skip("listen:", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), uint16(sa.(*syscall.SockaddrInet4).Port))
	// Fill the queue until a connect does not complete.
	for i := 0; i < 16; i++ {
		c, err := net.DialTimeout("tcp", addr.String(), 100*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill the accept queue of a loopback socket")
	return addr
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
