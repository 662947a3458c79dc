package server

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// webClient is a browser stand-in: a cookie jar, no redirect following, and
// the CSRF token of the last page it read.
type webClient struct {
	t    *testing.T
	h    *testHost
	c    *http.Client
	csrf string
}

func newWebClient(t *testing.T, h *testHost) *webClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &webClient{t: t, h: h, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func (w *webClient) do(req *http.Request) (*http.Response, string) {
	w.t.Helper()
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	if m := csrfInput.FindSubmatch(b); m != nil {
		w.csrf = string(m[1])
	}
	return resp, string(b)
}

// get fetches path and remembers the page's CSRF token.
func (w *webClient) get(path string, hdr ...string) (*http.Response, string) {
	w.t.Helper()
	req, _ := http.NewRequest("GET", w.h.http.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return w.do(req)
}

// post sends a url-encoded form; the csrf field is added from the last page
// unless vals has one.
func (w *webClient) post(path string, vals url.Values, hdr ...string) (*http.Response, string) {
	w.t.Helper()
	if vals == nil {
		vals = url.Values{}
	}
	if _, ok := vals["csrf"]; !ok {
		vals.Set("csrf", w.csrf)
	}
	req, _ := http.NewRequest("POST", w.h.http.URL+path, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return w.do(req)
}

// login logs in through the form and fails the test unless it works.
func (w *webClient) login(name, password string, remember bool) {
	w.t.Helper()
	w.get("/login")
	vals := url.Values{"login": {name}, "password": {password}}
	if remember {
		vals.Set("remember", "1")
	}
	resp, body := w.post("/login", vals)
	if resp.StatusCode != http.StatusSeeOther {
		w.t.Fatalf("login as %s: %d %s", name, resp.StatusCode, body)
	}
}

// mustAdmin makes the host past its first run: an admin exists.
func mustAdmin(t *testing.T, h *testHost) {
	t.Helper()
	if _, err := h.store.CreateUserWithEmail("admin", "admin@example.test", "adminpass1", true); err != nil {
		t.Fatal(err)
	}
}

func location(resp *http.Response) string { return resp.Header.Get("Location") }

func TestFirstRunLeadsToInstaller(t *testing.T) {
	h := newTestHost(t, Config{})
	w := newWebClient(t, h)
	for _, p := range []string{"/", "/login", "/account", "/no-such-page"} {
		resp, _ := w.get(p)
		if resp.StatusCode != http.StatusSeeOther || location(resp) != "/setup" {
			t.Errorf("GET %s before an admin exists: %d to %q, want 303 to /setup", p, resp.StatusCode, location(resp))
		}
	}
	resp, body := w.get("/setup")
	if resp.StatusCode != 200 || !strings.Contains(body, "Create the admin account") {
		t.Fatalf("GET /setup: %d", resp.StatusCode)
	}
	// Without the token the installer refuses, and nothing is created.
	resp, _ = w.post("/setup", url.Values{"csrf": {"0000"}, "username": {"boss"}, "password": {"secret12"}, "password2": {"secret12"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("setup without CSRF token: %d, want 403", resp.StatusCode)
	}
	if ok, _ := h.store.HasAdmin(); ok {
		t.Fatal("an admin was created by a request without CSRF token")
	}
	resp, body = w.post("/setup", url.Values{"username": {"boss"}, "password": {"secret12"}, "password2": {"other123"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The passwords do not match.") {
		t.Fatalf("mismatched passwords: %d", resp.StatusCode)
	}
	resp, _ = w.post("/setup", url.Values{"username": {"boss"}, "email": {"Boss@Example.test"}, "password": {"secret12"}, "password2": {"secret12"}})
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/" {
		t.Fatalf("setup: %d to %q", resp.StatusCode, location(resp))
	}
	u, err := h.store.UserByName("boss")
	if err != nil || !u.Admin {
		t.Fatalf("admin after setup: %+v, %v", u, err)
	}
	// Logged in at once, and the installer is gone for everyone.
	if _, body := w.get("/account"); !strings.Contains(body, "boss") {
		t.Fatal("not logged in after setup")
	}
	for _, c := range []*webClient{w, newWebClient(t, h)} {
		if resp, _ := c.get("/setup"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /setup after setup: %d, want 404", resp.StatusCode)
		}
	}
	other := newWebClient(t, h)
	other.get("/login")
	resp, _ = other.post("/setup", url.Values{"username": {"mallory"}, "password": {"secret12"}, "password2": {"secret12"}})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("second setup: %d, want 404", resp.StatusCode)
	}
}

func TestCSRFRefused(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	w := newWebClient(t, h)
	w.login("tester", "password1", false)
	w.get("/account")
	good := w.csrf

	other := newWebClient(t, h)
	other.login("admin", "adminpass1", false)
	other.get("/account")

	cases := []struct {
		name string
		vals url.Values
		hdr  []string
	}{
		{"no token", url.Values{"csrf": {""}}, nil},
		{"wrong token", url.Values{"csrf": {strings.Repeat("0", 40)}}, nil},
		{"another session's token", url.Values{"csrf": {other.csrf}}, nil},
		{"right token from another site", url.Values{"csrf": {good}}, []string{"Origin", "https://evil.example"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.vals.Set("email", "changed@example.test")
			resp, body := w.post("/account/email", tc.vals, tc.hdr...)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "The form has expired") {
				t.Fatalf("status %d, want 403 with the explanation", resp.StatusCode)
			}
			if u, _ := h.store.UserByName("tester"); u.Email != "" {
				t.Fatalf("e-mail changed to %q by a refused request", u.Email)
			}
		})
	}
	// Scripts get the refusal as JSON.
	req, _ := http.NewRequest("POST", h.http.URL+"/account/email", strings.NewReader("email=x%40y.z"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", "bad")
	resp, body := w.do(req)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"status_code":403`) {
		t.Fatalf("script with a bad token: %d %s", resp.StatusCode, body)
	}
	resp, _ = w.post("/account/email", url.Values{"csrf": {good}, "email": {"tester@example.test"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the right token: %d", resp.StatusCode)
	}
	if u, _ := h.store.UserByName("tester"); u.Email != "tester@example.test" {
		t.Fatalf("e-mail = %q", u.Email)
	}
	// The token changes at login: a token from before login is refused after.
	g := newWebClient(t, h)
	g.get("/login")
	before := g.csrf
	g.login("tester", "password1", false)
	if resp, _ := g.post("/account/email", url.Values{"csrf": {before}, "email": {"a@b.c"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("guest-time token after login: %d, want 403", resp.StatusCode)
	}
}

func TestSessionExpiry(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	now := time.Now()
	h.srv.now = func() time.Time { return now }

	short := newWebClient(t, h)
	short.login("tester", "password1", false)
	long := newWebClient(t, h)
	long.login("tester", "password1", true)

	loggedIn := func(w *webClient) bool {
		resp, _ := w.get("/account")
		return resp.StatusCode == http.StatusOK
	}
	if !loggedIn(short) || !loggedIn(long) {
		t.Fatal("not logged in right after login")
	}
	now = now.Add(sessionTTL + time.Minute)
	if loggedIn(short) {
		t.Error("a session without 'keep me logged in' outlived its day")
	}
	resp, _ := short.get("/account")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(location(resp), "/login?next=") {
		t.Errorf("expired session: %d to %q, want the login page", resp.StatusCode, location(resp))
	}
	if !loggedIn(long) {
		t.Error("a kept login ended after a day")
	}
	now = now.Add(persistentSessionTTL)
	if loggedIn(long) {
		t.Error("a kept login outlived 30 days")
	}
}

func TestLogoutEndsSession(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	w := newWebClient(t, h)
	w.login("tester", "password1", true)
	u, _ := url.Parse(h.http.URL)
	stolen := w.c.Jar.Cookies(u)
	w.get("/account")
	if resp, _ := w.post("/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	// A copy of the old cookie is worth nothing after logout.
	replay := newWebClient(t, h)
	replay.c.Jar.SetCookies(u, stolen)
	if resp, _ := replay.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("old session cookie after logout: %d, want a redirect to the login page", resp.StatusCode)
	}
}

func TestLoginByEmailAndThrottling(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	w := newWebClient(t, h)
	w.login("ADMIN@example.test", "adminpass1", false)
	if _, body := w.get("/account"); !strings.Contains(body, "admin") {
		t.Fatal("login by e-mail did not log in")
	}

	a := newWebClient(t, h)
	a.get("/login")
	for i := range maxLoginFailures {
		resp, body := a.post("/login", url.Values{"login": {"tester"}, "password": {"wrong-" + string(rune('a'+i))}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name, e-mail or password.") {
			t.Fatalf("wrong password %d: %d", i, resp.StatusCode)
		}
	}
	// Now even the right password waits, from this address...
	resp, body := a.post("/login", url.Values{"login": {"tester"}, "password": {"password1"}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed logins") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d failures: %d, want 429 with Retry-After", maxLoginFailures, resp.StatusCode)
	}
	// ... and for this account from anywhere (the test client shares the
	// address, so check the per-name table directly).
	if _, blocked := h.srv.logins.ByName.Blocked("user:tester", h.srv.now()); !blocked {
		t.Fatal("the account itself is not throttled")
	}
	if _, blocked := h.srv.logins.ByName.Blocked("user:admin", h.srv.now()); blocked {
		t.Fatal("an innocent account is throttled")
	}
}

func TestLanguageChoice(t *testing.T) {
	h := newTestHost(t, Config{})
	mustAdmin(t, h)
	w := newWebClient(t, h)
	_, body := w.get("/login", "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
	if !strings.Contains(body, `<html lang="zh-CN"`) || !strings.Contains(body, "保持登录") {
		t.Fatal("Accept-Language zh-CN did not give the Chinese page")
	}
	_, body = w.get("/login", "Accept-Language", "en-GB,en;q=0.9")
	if !strings.Contains(body, "Keep me logged in") {
		t.Fatal("English page missing")
	}
	resp, _ := w.post("/lang", url.Values{"lang": {"zh-CN"}, "back": {"/login"}})
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/login" {
		t.Fatalf("switch: %d to %q", resp.StatusCode, location(resp))
	}
	// Remembered over the browser's own preference.
	if _, body = w.get("/login", "Accept-Language", "en"); !strings.Contains(body, "保持登录") {
		t.Fatal("the language choice was not remembered")
	}
	// back may only be a path on this site.
	resp, _ = w.post("/lang", url.Values{"lang": {"en"}, "back": {"//evil.example/x"}})
	if location(resp) != "/" {
		t.Fatalf("open redirect through /lang: %q", location(resp))
	}
}
