package site

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

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
	s := &Site{cfg: Config{UploadStallTimeout: time.Second}}
	w := &deadlineRecorder{}
	r, _ := http.NewRequest("POST", "/", nil)
	r.Body = &oneRead{data: make([]byte, MinBodyProgress+10)}
	release := s.GuardSlowBody(w, r)
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
	release = s.GuardSlowBody(w, r)
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
