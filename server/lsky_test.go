package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLskyTokensShareTheLoginThrottle: wrong passwords sent to Lsky's token
// request count in the web login's tables (site.Logins), so that door
// gives no extra guesses: after the limit, the right password waits there
// and on the login page alike.
func TestLskyTokensShareTheLoginThrottle(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	var mu sync.Mutex
	clock := time.Now()
	h.srv.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	token := func(password string) (int, map[string]any) {
		t.Helper()
		resp, err := http.PostForm(h.http.URL+"/api/v1/tokens", url.Values{"email": {"tester"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var doc map[string]any
		json.Unmarshal(raw, &doc)
		return resp.StatusCode, doc
	}
	for i := range maxLoginFailures {
		if i%3 == 0 { // past Lsky's own 3-a-minute throttle of token requests
			mu.Lock()
			clock = clock.Add(61 * time.Second)
			mu.Unlock()
		}
		if status, doc := token("wrong"); status != 200 || doc["message"] != "The email address or password is incorrect." {
			t.Fatalf("wrong password %d: %d %v", i, status, doc)
		}
	}
	mu.Lock()
	clock = clock.Add(61 * time.Second)
	mu.Unlock()
	if status, doc := token("password1"); status != http.StatusTooManyRequests || doc["message"] != "Too Many Attempts." {
		t.Errorf("right password after %d failures: %d %v", maxLoginFailures, status, doc)
	}
	w := newWebClient(t, h)
	w.get("/login")
	resp, body := w.post("/login", url.Values{"login": {"tester"}, "password": {"password1"}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed logins") {
		t.Errorf("web login after the token failures: %d", resp.StatusCode)
	}
	if _, blocked := h.srv.logins.ByName.Blocked("user:tester", h.srv.now()); !blocked {
		t.Error("the account is not throttled")
	}
}
