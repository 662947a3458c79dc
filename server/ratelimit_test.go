package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"picbed/ingest"
	"picbed/server/site"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the only fake of these tests: limits are about time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// from makes a request come from ip, through the trusted proxy 127.0.0.1.
func from(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }

var viaLoopbackProxy = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func (h *testHost) imageCount(t *testing.T) int {
	t.Helper()
	u, err := h.store.UserByName("tester")
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := h.store.Images(u.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(imgs)
}

func TestFloodLimitsOnTheAPI(t *testing.T) {
	png := readTestdata(t, "small.png")
	clock := newFakeClock()
	h := newTestHost(t, Config{Site: site.Config{FloodLimits: &site.FloodLimits{3, 0, 0, 0, 0}, TrustedProxies: viaLoopbackProxy}, Settings: site.Settings{Duplicates: ingest.DuplicatesAllow}})
	h.srv.now = clock.Now

	// Failed uploads do not count.
	for i := 0; i < 5; i++ {
		if status, _, raw := h.post(t, nil, "x.png", []byte("not an image"), from("192.0.2.1")); status != 400 {
			t.Fatalf("non-image: %d %s", status, raw)
		}
	}
	for i := 0; i < 3; i++ {
		if status, _, raw := h.post(t, nil, "a.png", png, from("192.0.2.1")); status != 200 {
			t.Fatalf("upload %d: %d %s", i+1, status, raw)
		}
	}
	before := h.imageCount(t)
	status, _, raw := h.post(t, nil, "a.png", png, from("192.0.2.1"))
	want := `{"status_code":400,"error":{"message":"Flooding detected. You can only upload 3 images per minute","code":130,"context":"Exception"},"status_txt":"Bad Request"}`
	if status != 400 || string(raw) != want {
		t.Errorf("4th upload: %d %s\nwant 400 %s", status, raw, want)
	}
	if n := h.imageCount(t); n != before {
		t.Errorf("refused upload stored an image: %d -> %d", before, n)
	}
	// txt format: the bare message with HTTP 200, as every error.
	if status, _, raw := h.post(t, map[string]string{"format": "txt"}, "a.png", png, from("192.0.2.1")); status != 200 || string(raw) != "Flooding detected. You can only upload 3 images per minute" {
		t.Errorf("txt: %d %q", status, raw)
	}
	// Other addresses are not affected; an IPv6 /64 is one address.
	if status, _, raw := h.post(t, nil, "a.png", png, from("192.0.2.2")); status != 200 {
		t.Errorf("other address: %d %s", status, raw)
	}
	for i := 0; i < 3; i++ {
		h.post(t, nil, "a.png", png, from(fmt.Sprintf("2001:db8::%d", i+1)))
	}
	if status, _, raw := h.post(t, nil, "a.png", png, from("2001:db8::ffff:1")); status != 400 {
		t.Errorf("4th upload from the same /64: %d %s", status, raw)
	}
	clock.Add(61 * time.Second)
	if status, _, raw := h.post(t, nil, "a.png", png, from("192.0.2.1")); status != 200 {
		t.Errorf("a minute later: %d %s", status, raw)
	}

	// Admins are exempt.
	admin, err := h.store.CreateUser("boss", "password1", true)
	if err != nil {
		t.Fatal(err)
	}
	adminKey, _, err := h.store.CreateAPIKey(admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if status, _, raw := h.post(t, map[string]string{"key": adminKey}, "a.png", png, from("192.0.2.1")); status != 200 {
			t.Fatalf("admin upload %d: %d %s", i+1, status, raw)
		}
	}
}

// TestFloodLimitHoldsUnderConcurrency sends more uploads at once than the
// limit: exactly the limit succeed.
func TestFloodLimitHoldsUnderConcurrency(t *testing.T) {
	png := readTestdata(t, "small.png")
	h := newTestHost(t, Config{Site: site.Config{FloodLimits: &site.FloodLimits{0, 4, 0, 0, 0}}, Settings: site.Settings{Duplicates: ingest.DuplicatesAllow}})
	var wg sync.WaitGroup
	statuses := make(chan int, 12)
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, _ := h.post(t, nil, "a.png", png, nil)
			statuses <- status
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == 200 {
			ok++
		}
	}
	if ok != 4 || h.imageCount(t) != 4 {
		t.Errorf("%d uploads succeeded, %d stored, want 4", ok, h.imageCount(t))
	}
}

func TestDefaultFloodLimitAndOff(t *testing.T) {
	png := readTestdata(t, "small.png")
	for _, tc := range []struct {
		name   string
		limits *site.FloodLimits
		want   string
	}{
		{"default is 50 per minute", nil, "Flooding detected. You can only upload 50 images per minute"},
		{"off", &site.FloodLimits{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHost(t, Config{Site: site.Config{FloodLimits: tc.limits}, Settings: site.Settings{Duplicates: ingest.DuplicatesAllow}})
			for i := 0; i < 50; i++ {
				if status, _, raw := h.post(t, nil, "a.png", png, nil); status != 200 {
					t.Fatalf("upload %d: %d %s", i+1, status, raw)
				}
			}
			status, doc, raw := h.post(t, nil, "a.png", png, nil)
			if tc.want == "" {
				if status != 200 {
					t.Errorf("51st upload with limits off: %d %s", status, raw)
				}
				return
			}
			if msg, code := errorOf(t, doc, raw); msg != tc.want || code != 130 {
				t.Errorf("51st upload: %q %v", msg, code)
			}
		})
	}
}

// TestFailedKeysBlockTheAddress: ten wrong keys from one address block its
// wrong keys (refused with their own message and Retry-After, answered
// slowly, bodies not read) but never a valid key: behind a NAT or a proxy
// without --trusted-proxies every client shares the address, and keys are
// long random secrets. Before, the right key of every user at that address
// was refused for ten minutes.
func TestFailedKeysBlockTheAddress(t *testing.T) {
	png := readTestdata(t, "small.png")
	clock := newFakeClock()
	var logged lockedLog
	const delay = 50 * time.Millisecond
	h := newTestHostDeps(t, Config{Site: site.Config{TrustedProxies: viaLoopbackProxy, FloodLimits: &site.FloodLimits{}, KeyFailureDelay: delay}},
		Deps{Log: slog.New(slog.NewTextHandler(&logged, nil))})
	h.srv.now = clock.Now
	wrong := "pb_" + "0123456789012345678901234567890123456789"
	withKey := func(ip, key string) http.Header {
		hdr := from(ip)
		hdr.Set("X-API-Key", key)
		return hdr
	}
	// Requests without a key are no guesses: they never count.
	for i := 0; i < 2*site.DefaultMaxKeyFailures; i++ {
		h.post(t, map[string]string{"key": ""}, "a.png", png, from("192.0.2.1"))
	}
	for i := 0; i < site.DefaultMaxKeyFailures; i++ {
		status, doc, raw := h.post(t, nil, "a.png", png, withKey("192.0.2.1", wrong))
		if msg, _ := errorOf(t, doc, raw); status != 400 || msg != "Invalid API v1 key." {
			t.Fatalf("wrong key %d: %d %s", i+1, status, raw)
		}
		// A right key between the wrong ones is not slowed down.
		if i == site.DefaultMaxKeyFailures-2 {
			if status, _, raw := h.post(t, nil, "a.png", png, withKey("192.0.2.1", h.key)); status != 200 {
				t.Fatalf("right key before the limit: %d %s", status, raw)
			}
		}
		clock.Add(time.Second)
	}
	if n := strings.Count(logged.String(), `msg="API key guesses throttled`); n != 1 || !strings.Contains(logged.String(), "ip=192.0.2.1") {
		t.Errorf("the block was logged %d times (want once, with the address):\n%s", n, logged.String())
	}
	// Now wrong keys (and requests without one) get the blocked refusal,
	// slowly, and a body key is not even read...
	want := `{"status_code":400,"error":{"message":"Too many failed API key attempts. Try again later.","code":100,"context":"Exception"},"status_txt":"Bad Request"}`
	for _, hdr := range []http.Header{withKey("192.0.2.1", wrong), from("192.0.2.1")} {
		req, _ := http.NewRequest("POST", h.http.URL+"/api/1/upload", nil)
		req.Header = hdr
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var buf [512]byte
		n, _ := resp.Body.Read(buf[:])
		resp.Body.Close()
		if resp.StatusCode != 400 || string(buf[:n]) != want {
			t.Errorf("blocked address: %d %s", resp.StatusCode, buf[:n])
		}
		if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > int(site.DefaultKeyFailureWindow/time.Second) {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
		if took := time.Since(start); took < delay {
			t.Errorf("a refusal of the blocked address came after %s, want at least %s", took, delay)
		}
	}
	// ... a wrong key in the form is refused before its file is staged...
	if status, doc, raw := h.post(t, map[string]string{"key": wrong}, "a.png", png, from("192.0.2.1")); status != 400 {
		t.Errorf("wrong body key: %d %s", status, raw)
	} else if msg, _ := errorOf(t, doc, raw); msg != "Too many failed API key attempts. Try again later." {
		t.Errorf("wrong body key: %q", msg)
	}
	h.waitTmpEmpty(t)
	// ... but the right key passes, in the header or in the form.
	before := h.imageCount(t)
	if status, _, raw := h.post(t, nil, "photo.png", readTestdata(t, "photo.png"), withKey("192.0.2.1", h.key)); status != 200 {
		t.Errorf("right key from the blocked address: %d %s", status, raw)
	}
	if status, _, raw := h.post(t, map[string]string{"key": h.key}, "b.png", readTestdata(t, "small.jpg"), from("192.0.2.1")); status != 200 {
		t.Errorf("right form key from the blocked address: %d %s", status, raw)
	}
	if got := h.imageCount(t); got != before+2 {
		t.Errorf("%d images after two right keys, want %d", got, before+2)
	}
	// Other addresses keep working.
	if status, _, raw := h.post(t, nil, "a.png", png, withKey("192.0.2.2", h.key)); status != 200 {
		t.Errorf("other address: %d %s", status, raw)
	}
	// Once the first failure is older than the window, a wrong key is an
	// ordinary one again; one more failure blocks it again (the other nine
	// are still in the window).
	clock.Add(site.DefaultKeyFailureWindow - site.DefaultMaxKeyFailures*time.Second + time.Second/2)
	if status, doc, raw := h.post(t, nil, "a.png", png, withKey("192.0.2.1", wrong)); status != 400 {
		t.Errorf("after the window: %d %s", status, raw)
	} else if msg, _ := errorOf(t, doc, raw); msg != "Too many failed API key attempts. Try again later." {
		t.Errorf("the tenth failure in the window: %q", msg)
	}
	clock.Add(site.DefaultKeyFailureWindow)
	if status, doc, raw := h.post(t, nil, "a.png", png, withKey("192.0.2.1", wrong)); status != 400 {
		t.Errorf("a window later: %d %s", status, raw)
	} else if msg, _ := errorOf(t, doc, raw); msg != "Invalid API v1 key." {
		t.Errorf("a wrong key a window later: %q", msg)
	}
}

// lockedLog collects log output written from several goroutines.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
