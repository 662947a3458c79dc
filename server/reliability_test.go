package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"picbed/server/site"
)

// TestStalledBodyIsCut: an upload body that stops arriving is answered and
// its connection closed after UploadStallTimeout, not after the 5-minute
// whole-body limit.
func TestStalledBodyIsCut(t *testing.T) {
	h := newTestHost(t, Config{Site: site.Config{UploadStallTimeout: 300 * time.Millisecond}})
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
	h := newTestHost(t, Config{Site: site.Config{UploadStallTimeout: 200 * time.Millisecond}, DecodeWorkers: 1})
	release, err := h.srv.ingest.DecodeSlot(context.Background()) // hold the only decode slot
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(time.Second)
		release()
	}()
	status, _, body := h.post(t, nil, "small.png", readTestdata(t, "small.png"), http.Header{})
	if status != http.StatusOK {
		t.Fatalf("upload queued past the stall timeout: %d %s", status, body)
	}
}
