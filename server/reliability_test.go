package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"picbed/store"
)

// TestFullDiskIsNoSpaceError: however a full disk reaches the error mapper
// (from store, from a staging file, wrapped by imaging), the client gets
// Chevereto's "No space left on storage" (104), not an internal error.
func TestFullDiskIsNoSpaceError(t *testing.T) {
	h := newTestHost(t, Config{})
	write := &fs.PathError{Op: "write", Path: "/data/tmp/v0-1", Err: syscall.ENOSPC}
	for name, err := range map[string]error{
		"store sentinel":            fmt.Errorf("store: put image: %w: %w", store.ErrNoSpace, syscall.ENOSPC),
		"staging file write":        write,
		"write wrapped by imaging":  fmt.Errorf("imaging: encode thumbnail: %w", write),
		"quota exceeded":            &fs.PathError{Op: "write", Path: "/data/tmp/src-1", Err: syscall.EDQUOT},
		"already the dialect error": errNoSpace,
	} {
		if got := h.srv.toAPIError(err); got != errNoSpace {
			t.Errorf("%s: mapped to %+v, want %+v", name, got, errNoSpace)
		}
	}
	if got := h.srv.toAPIError(errors.New("disk on fire")); got != errInternal {
		t.Errorf("unknown error: %+v, want the internal error", got)
	}
}

// TestStalledBodyIsCut: an upload body that stops arriving is answered and
// its connection closed after UploadStallTimeout, not after the 5-minute
// whole-body limit.
func TestStalledBodyIsCut(t *testing.T) {
	h := newTestHost(t, Config{UploadStallTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", strings.TrimPrefix(h.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	fmt.Fprintf(c, "POST /api/1/upload HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"source\"; filename=\"a.png\"\r\n\r\n\x89PNG", h.key)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stalled body cut after %s, want about 300ms", took)
	}
	if resp.StatusCode != http.StatusBadRequest || !resp.Close {
		t.Errorf("stalled body: %s close=%v %s, want 400 and the connection closed", resp.Status, resp.Close, body)
	}
}

// TestStallGuardLiftedForDecodeQueue: once the body is in, an upload may
// wait for a decode slot longer than the stall timeout; the guard's read
// deadline must not cancel it (net/http's background read cancels the
// request context when a deadline fires).
func TestStallGuardLiftedForDecodeQueue(t *testing.T) {
	h := newTestHost(t, Config{UploadStallTimeout: 200 * time.Millisecond, DecodeWorkers: 1})
	h.srv.decode <- struct{}{} // hold the only decode slot
	go func() {
		time.Sleep(time.Second)
		<-h.srv.decode
	}()
	status, _, body := h.post(t, nil, "small.png", readTestdata(t, "small.png"), http.Header{})
	if status != http.StatusOK {
		t.Fatalf("upload queued past the stall timeout: %d %s", status, body)
	}
}

// deadlineRecorder is a ResponseWriter whose read deadlines are recorded.
type deadlineRecorder struct {
	http.ResponseWriter
	set []time.Time
}

func (d *deadlineRecorder) SetReadDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// oneRead returns all its data in one Read, together with io.EOF.
type oneRead struct{ data []byte }

func (o *oneRead) Read(p []byte) (int, error) {
	n := copy(p, o.data)
	o.data = o.data[n:]
	return n, io.EOF
}

func (o *oneRead) Close() error { return nil }

// TestStallGuardLeavesDeadlineAtEOF: the read that ends the body, even when
// it completes a progress step, and the release after it must not set a
// read deadline: net/http has started its background read by then, and a
// deadline firing there cancels the request.
func TestStallGuardLeavesDeadlineAtEOF(t *testing.T) {
	s := &Server{cfg: Config{UploadStallTimeout: time.Second}}
	w := &deadlineRecorder{}
	r, _ := http.NewRequest("POST", "/", nil)
	r.Body = &oneRead{data: make([]byte, MinBodyProgress+10)}
	release := s.guardSlowBody(w, r)
	if len(w.set) != 1 {
		t.Fatalf("guard set %d deadlines at the start, want 1", len(w.set))
	}
	if _, err := io.ReadAll(r.Body); err != nil {
		t.Fatal(err)
	}
	release()
	if len(w.set) != 1 {
		t.Errorf("deadline moved at or after EOF: %v", w.set)
	}

	// A body read in steps moves the deadline forward once per step and
	// back to the whole-body bound when released before its end.
	w = &deadlineRecorder{}
	r.Body = io.NopCloser(strings.NewReader(strings.Repeat("x", 3*MinBodyProgress)))
	release = s.guardSlowBody(w, r)
	buf := make([]byte, MinBodyProgress)
	for range 2 {
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			t.Fatal(err)
		}
	}
	release()
	if len(w.set) != 4 || !w.set[3].After(w.set[2].Add(time.Minute)) {
		t.Errorf("deadlines %v: want the start, two steps, then the whole-body bound", w.set)
	}
}
