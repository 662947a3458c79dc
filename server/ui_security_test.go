package server

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"picbed/ingest"
	"picbed/server/site"
	"picbed/store"
)

// maxLoginFailures is the login throttle's limit (site.Logins).
const maxLoginFailures = site.MaxLoginFailures

// Regression tests of the web UI's security review (docs/security.md, "Web
// UI"). The cases that other tests already cover are listed there with
// their names.

// behindProxy is a config whose loopback peer is a trusted proxy, so each
// request can come from the address its X-Forwarded-For names.
func behindProxy() Config {
	return Config{Site: site.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}}
}

func viaProxy(n int) []string { return []string{"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", n)} }

// multipartBody is a multipart form of fields plus a file part of size bytes.
func multipartBody(fields map[string]string, size int) (*bytes.Buffer, string) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if size > 0 {
		fw, _ := mw.CreateFormFile("junk", "junk.bin")
		fw.Write(bytes.Repeat([]byte("z"), size))
	}
	mw.Close()
	return &body, mw.FormDataContentType()
}

// TestWebBodiesAreBounded: every browser POST but an upload reads at most
// maxFormBytes, whatever its content type and wherever its CSRF token is.
// Before the fix a multipart body (token in the header) was parsed without
// limit, its file parts spilling to the temp dir, and a url-encoded one
// with the token in the header was read up to net/http's 10 MB.
func TestWebBodiesAreBounded(t *testing.T) {
	g := newGalleryHost(t, Config{})
	img := g.upload(g.aliceKey, "before")
	alice, guest := g.client("alice"), g.client("")
	alice.get("/my") // the session's CSRF token
	big := 3 * maxFormBytes

	send := func(w *webClient, path, ctype string, body *bytes.Buffer) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", g.http.URL+path, body)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set(csrfHeader, w.csrf)
		return w.do(req)
	}
	for _, tc := range []struct {
		name string
		w    *webClient
		path string
	}{
		{"guest login", guest, "/login"},
		{"guest language switch", guest, "/lang"},
		{"guest album unlock", guest, "/album/" + g.enc(img.ID) + "/unlock"},
		{"image edit", alice, "/image/" + g.enc(img.ID) + "/edit"},
		{"account e-mail", alice, "/account/email"},
	} {
		t.Run(tc.name+" multipart", func(t *testing.T) {
			body, ct := multipartBody(map[string]string{"title": "after", "lang": "zh-CN"}, big)
			if resp, _ := send(tc.w, tc.path, ct, body); resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%d MB multipart: %d, want 413", big>>20, resp.StatusCode)
			}
		})
		t.Run(tc.name+" url-encoded with the CSRF header", func(t *testing.T) {
			body := bytes.NewBufferString("title=after&lang=zh-CN&x=" + strings.Repeat("a", big))
			if resp, _ := send(tc.w, tc.path, "application/x-www-form-urlencoded", body); resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("%d MB url-encoded: %d, want 413", big>>20, resp.StatusCode)
			}
		})
	}
	if got := g.mustImage(img.ID).Title; got != "before" {
		t.Errorf("an oversized edit changed the title to %q", got)
	}
	// JSON bodies of the album endpoints are bounded too.
	ids := make([]string, 0, 200000)
	for range cap(ids) {
		ids = append(ids, g.enc(img.ID))
	}
	alice.get("/my")
	if resp, _ := alice.postJSON("/albums", map[string]any{"title": "x", "image_ids": ids}); resp.StatusCode < 400 {
		t.Errorf("%d ids in a JSON body: %d", len(ids), resp.StatusCode)
	}
	// Small multipart forms still work (the token in the header).
	body, ct := multipartBody(map[string]string{"lang": "zh-CN", "back": "/my"}, 0)
	if resp, _ := send(guest, "/lang", ct, body); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("small multipart language switch: %d", resp.StatusCode)
	}
	// Uploads are not bound by the form limit.
	pic := image.NewNRGBA(image.Rect(0, 0, 900, 900))
	x := uint32(2463534242)
	for i := range pic.Pix { // noise: PNG cannot compress it
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		pic.Pix[i] = uint8(x)
	}
	pic.Set(0, 0, color.NRGBA{1, 2, 3, 255})
	var pngBytes bytes.Buffer
	png.Encode(&pngBytes, pic)
	if pngBytes.Len() <= maxFormBytes {
		t.Fatalf("test image of %d bytes is not over the form limit", pngBytes.Len())
	}
	alice.get("/")
	if status, _, raw := alice.webUpload(alice.csrf, nil, "big.png", pngBytes.Bytes()); status != 200 {
		t.Errorf("upload of %d bytes: %d %s", pngBytes.Len(), status, raw)
	}
}

// TestSecurityHeadersOnEveryBrowserAnswer: redirects, JSON answers and
// errors of the browser routes carry the pages' CSP and framing headers,
// not only rendered pages (before the fix redirects and JSON had none).
func TestSecurityHeadersOnEveryBrowserAnswer(t *testing.T) {
	g := newGalleryHost(t, Config{})
	img := g.upload(g.aliceKey, "Headers")
	alice, guest := g.client("alice"), g.client("")
	for _, tc := range []struct {
		name   string
		w      *webClient
		path   string
		status int
	}{
		{"upload page redirect", guest, "/upload?toAlbum=x", http.StatusSeeOther},
		{"login redirect of a guest", guest, "/my", http.StatusSeeOther},
		{"canonical viewer redirect", guest, "/image/" + g.enc(img.ID), http.StatusMovedPermanently},
		{"login page of a logged-in user", alice, "/login?next=/my", http.StatusSeeOther},
		{"albums.json", alice, "/albums.json", http.StatusOK},
		{"404", guest, "/album/zzzzz", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := tc.w.get(tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.status)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP %q", csp)
			}
			if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Frame-Options %q, X-Content-Type-Options %q", resp.Header.Get("X-Frame-Options"), resp.Header.Get("X-Content-Type-Options"))
			}
		})
	}
	// A refused script request (JSON error) too.
	req, _ := http.NewRequest("POST", g.http.URL+"/albums/move", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(csrfHeader, "wrong")
	resp, _ := alice.do(req)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("CSRF refusal: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}

// TestLoginThrottleCountsAccountsNotSpellings: the per-account limit counts
// the account, whichever way the login names it. Before the fix it counted
// the typed text, so alternating the name, its case and the e-mail address
// gave three times the attempts from a spread of addresses.
func TestLoginThrottleCountsAccountsNotSpellings(t *testing.T) {
	h := newTestHost(t, behindProxy())
	mustAdmin(t, h)
	u, _ := h.store.UserByName("tester")
	if err := h.store.SetUserEmail(u.ID, "tester@example.test"); err != nil {
		t.Fatal(err)
	}
	w := newWebClient(t, h)
	w.get("/login")
	spellings := []string{"tester", "TESTER", "tester@example.test", "Tester@Example.Test"}
	for i := range maxLoginFailures {
		resp, _ := w.post("/login", url.Values{"login": {spellings[i%len(spellings)]}, "password": {"wrong-password"}}, viaProxy(i)...)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i, resp.StatusCode)
		}
	}
	// The right password from yet another address, in any spelling, waits.
	for i, login := range spellings {
		resp, body := w.post("/login", url.Values{"login": {login}, "password": {"password1"}}, viaProxy(100+i)...)
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed logins") {
			t.Errorf("%s after %d failures spread over spellings and addresses: %d, want 429", login, maxLoginFailures, resp.StatusCode)
		}
	}
	// Other accounts are not affected.
	a := newWebClient(t, h)
	a.get("/login", viaProxy(200)...)
	if resp, _ := a.post("/login", url.Values{"login": {"admin"}, "password": {"adminpass1"}}, viaProxy(200)...); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another account: %d", resp.StatusCode)
	}
	// A login longer than any name or address is refused without a lookup
	// and leaves no entry of its size in the per-account table.
	before := h.srv.logins.ByName.Len()
	resp, body := w.post("/login", url.Values{"login": {strings.Repeat("x", 100000)}, "password": {"x"}}, viaProxy(300)...)
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, strings.Repeat("x", 1000)) {
		t.Errorf("100 kB login: %d (echoed: %v)", resp.StatusCode, strings.Contains(body, strings.Repeat("x", 1000)))
	}
	after := h.srv.logins.ByName.Len()
	if after != before {
		t.Errorf("per-account table grew from %d to %d entries", before, after)
	}
}

// TestPasswordChangeIsThrottled: guessing the current password on the
// account page is limited like logins. Before the fix failures were
// counted but never enforced, so a stolen session could guess it forever.
func TestPasswordChangeIsThrottled(t *testing.T) {
	h := newTestHost(t, behindProxy())
	mustAdmin(t, h)
	w := newWebClient(t, h)
	w.get("/login", viaProxy(1)...)
	if resp, _ := w.post("/login", url.Values{"login": {"tester"}, "password": {"password1"}}, viaProxy(1)...); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	w.get("/account", viaProxy(1)...)
	for i := range maxLoginFailures {
		resp, _ := w.post("/account/password", url.Values{"current": {"guess-" + fmt.Sprint(i)}, "password": {"newpass123"}, "password2": {"newpass123"}}, viaProxy(10+i)...)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, resp.StatusCode)
		}
	}
	resp, body := w.post("/account/password", url.Values{"current": {"password1"}, "password": {"newpass123"}, "password2": {"newpass123"}}, viaProxy(50)...)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed logins") {
		t.Errorf("right current password after %d guesses: %d, want 429", maxLoginFailures, resp.StatusCode)
	}
	if _, err := h.store.CheckPassword("tester", "password1"); err != nil {
		t.Error("the password changed while throttled")
	}
}

// TestAlbumUnlockThrottledPerAlbum: a password album's password cannot be
// guessed from many addresses beyond the per-address budget of one. Before
// the fix only addresses were counted.
func TestAlbumUnlockThrottledPerAlbum(t *testing.T) {
	cfg := behindProxy()
	g := newGalleryHost(t, cfg)
	alice := g.client("alice")
	img := g.upload(g.aliceKey, "locked")
	locked := g.createAlbum(alice, "Locked", store.PrivacyPassword, "open-sesame", img)
	other := g.createAlbum(alice, "Other", store.PrivacyPassword, "open-sesame")
	unlock := func(a store.Album, pw string, n int) int {
		w := newWebClient(t, g.testHost)
		w.get("/login", viaProxy(n)...)
		resp, _ := w.post("/album/"+g.enc(a.ID)+"/unlock", url.Values{"password": {pw}}, viaProxy(n)...)
		return resp.StatusCode
	}
	for i := range maxLoginFailures {
		if got := unlock(locked, "guess-"+fmt.Sprint(i), i); got != http.StatusForbidden {
			t.Fatalf("guess %d: %d, want 403", i, got)
		}
	}
	if got := unlock(locked, "open-sesame", 100); got != http.StatusTooManyRequests {
		t.Errorf("right password from a fresh address after %d guesses from others: %d, want 429", maxLoginFailures, got)
	}
	if got := unlock(other, "open-sesame", 101); got != http.StatusSeeOther {
		t.Errorf("another album: %d, want 303", got)
	}
}

// TestPrivacyAndSessionsHold checks what the review found fine, so that it
// stays so: cookie flags, per-session CSRF tokens, and the images of
// private and password albums kept out of every page and JSON answer a
// stranger can reach.
func TestPrivacyAndSessionsHold(t *testing.T) {
	g := newGalleryHost(t, Config{})
	alice, bob := g.client("alice"), g.client("bob")
	secret := g.upload(g.aliceKey, "Secret-Private-Title")
	hidden := g.upload(g.aliceKey, "Hidden-Password-Title")
	priv := g.createAlbum(alice, "Private-Album-Name", store.PrivacyPrivate, "", secret)
	pw := g.createAlbum(alice, "Password-Album-Name", store.PrivacyPassword, "open-sesame", hidden)

	t.Run("a stranger sees no trace of private or locked images", func(t *testing.T) {
		bob.get("/my")
		for _, p := range []string{
			"/image/" + g.enc(secret.ID), "/image/x." + g.enc(secret.ID), "/album/" + g.enc(priv.ID),
			"/image/" + g.enc(hidden.ID), "/image/x." + g.enc(hidden.ID), "/album/" + g.enc(pw.ID),
			"/albums.json", "/my?q=Title", "/albums", "/album/" + g.enc(priv.ID) + "/edit",
		} {
			resp, body := bob.get(p)
			if loc := location(resp); loc != "" {
				t.Errorf("GET %s redirects to %q", p, loc)
			}
			for _, s := range []string{"Secret-Private", "Hidden-Password", "Private-Album", "Password-Album", "/delete/"} {
				if strings.Contains(body, s) {
					t.Errorf("GET %s (%d) shows %q", p, resp.StatusCode, s)
				}
			}
		}
	})
	t.Run("an unlocked password album shows no delete links", func(t *testing.T) {
		w := g.client("")
		if resp, _ := w.post("/album/"+g.enc(pw.ID)+"/unlock", url.Values{"password": {"open-sesame"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("unlock: %d", resp.StatusCode)
		}
		for _, p := range []string{site.AlbumPath(pw.Title, g.enc(pw.ID)), site.ViewerPath(hidden.Title, g.enc(hidden.ID))} {
			resp, body := w.get(p)
			if resp.StatusCode != 200 || !strings.Contains(body, "Hidden-Password") {
				t.Fatalf("GET %s after unlocking: %d", p, resp.StatusCode)
			}
			if strings.Contains(body, "/delete/") || strings.Contains(body, "&#34;delete&#34;") {
				t.Errorf("GET %s shows a delete link to a non-owner", p)
			}
		}
	})
	t.Run("a CSRF token works only in its own session", func(t *testing.T) {
		alice.get("/my")
		bob.get("/my")
		if alice.csrf == bob.csrf {
			t.Fatal("two sessions share a CSRF token")
		}
		if resp, _ := bob.post("/albums", url.Values{"title": {"x"}, "csrf": {alice.csrf}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("alice's token in bob's session: %d, want 403", resp.StatusCode)
		}
	})
	t.Run("session cookies", func(t *testing.T) {
		check := func(h *testHost, proto string, wantSecure bool) {
			t.Helper()
			w := newWebClient(t, h)
			w.get("/login", "X-Forwarded-Proto", proto)
			resp, _ := w.post("/login", url.Values{"login": {"alice"}, "password": {galleryPassword}}, "X-Forwarded-Proto", proto)
			var ck *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == sessionCookie {
					ck = c
				}
			}
			if ck == nil {
				t.Fatalf("no session cookie: %d", resp.StatusCode)
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != wantSecure {
				t.Errorf("X-Forwarded-Proto %s: HttpOnly %v SameSite %v Secure %v, want Secure %v", proto, ck.HttpOnly, ck.SameSite, ck.Secure, wantSecure)
			}
		}
		check(g.testHost, "https", false) // the peer is no trusted proxy
		p := newGalleryHost(t, behindProxy())
		check(p.testHost, "https", true)
		check(p.testHost, "http", false)
	})
}

// TestKnownBrowserLogsInWhileAccountThrottled: wrong passwords for an
// account from anywhere throttle the account, but not the browser its owner
// logged in with before (a device cookie, signed by the server, for that
// account): anyone could otherwise lock the owner out with ten requests.
// Unknown browsers still wait, and a known browser's own failures count.
func TestKnownBrowserLogsInWhileAccountThrottled(t *testing.T) {
	h := newTestHost(t, behindProxy())
	mustAdmin(t, h)
	owner := newWebClient(t, h)
	owner.get("/login", viaProxy(1)...)
	if resp, _ := owner.post("/login", url.Values{"login": {"tester"}, "password": {"password1"}}, viaProxy(1)...); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first login: %d", resp.StatusCode)
	}
	owner.get("/account", viaProxy(1)...)
	owner.post("/logout", url.Values{}, viaProxy(1)...)

	attacker := newWebClient(t, h)
	attacker.get("/login", viaProxy(2)...)
	for i := range maxLoginFailures {
		attacker.post("/login", url.Values{"login": {"tester"}, "password": {"guess-" + fmt.Sprint(i)}}, viaProxy(10+i)...)
	}
	stranger := newWebClient(t, h)
	stranger.get("/login", viaProxy(50)...)
	if resp, _ := stranger.post("/login", url.Values{"login": {"tester"}, "password": {"password1"}}, viaProxy(50)...); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right password from an unknown browser while the account is throttled: %d, want 429", resp.StatusCode)
	}
	owner.get("/login", viaProxy(60)...)
	if resp, _ := owner.post("/login", url.Values{"login": {"tester"}, "password": {"password1"}}, viaProxy(60)...); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner's known browser while the account is throttled: %d, want 303", resp.StatusCode)
	}
	owner.get("/account", viaProxy(60)...)
	owner.post("/logout", url.Values{}, viaProxy(60)...)

	// A device cookie names its account: made up or moved to another
	// account it is worthless.
	ck := cookieOf(t, owner, deviceCookie)
	forged := newWebClient(t, h)
	forged.get("/login", viaProxy(70)...)
	u, _ := url.Parse(h.http.URL)
	admin, _ := h.store.UserByName("admin")
	_, rest, _ := strings.Cut(ck, "-")
	forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: deviceCookie, Value: fmt.Sprint(admin.ID) + "-" + rest}})
	for i := range maxLoginFailures {
		attacker.post("/login", url.Values{"login": {"admin"}, "password": {"guess-" + fmt.Sprint(i)}}, viaProxy(80+i)...)
	}
	if resp, _ := forged.post("/login", url.Values{"login": {"admin"}, "password": {"adminpass1"}}, viaProxy(70)...); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a device cookie moved to another account: %d, want 429", resp.StatusCode)
	}

	// The known browser's own wrong passwords count: ten of them and it
	// waits like anyone.
	owner.get("/login", viaProxy(100)...)
	for i := range maxLoginFailures {
		owner.post("/login", url.Values{"login": {"tester"}, "password": {"mistyped-" + fmt.Sprint(i)}}, viaProxy(100+i)...)
	}
	if resp, _ := owner.post("/login", url.Values{"login": {"tester"}, "password": {"password1"}}, viaProxy(120)...); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the known browser after ten failures of its own: %d, want 429", resp.StatusCode)
	}
}

// cookieOf returns the value of w's cookie name for the test server.
func cookieOf(t *testing.T, w *webClient, name string) string {
	t.Helper()
	u, _ := url.Parse(w.h.http.URL)
	for _, ck := range w.c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	t.Fatalf("no cookie %s", name)
	return ""
}

// TestGuestIDsComeFromTheServer: a guest id the client made up is replaced
// by one the server signed, and a login rotates it. Before, any well-formed
// pb_guest value was taken and kept across login, so whoever could plant a
// cookie for the host (a sibling subdomain, another app on the host name)
// knew the victim's guest id: their guest uploads and form token.
func TestGuestIDsComeFromTheServer(t *testing.T) {
	h := newTestHost(t, Config{Settings: site.Settings{Duplicates: ingest.DuplicatesAllow}})
	mustAdmin(t, h)
	setSite(t, h, func(s *site.Settings) { s.GuestUploads = true })
	png := readTestdata(t, "small.png")

	planted := strings.Repeat("ab", 16) // the old format: 32 hex characters
	v := newWebClient(t, h)
	u, _ := url.Parse(h.http.URL)
	v.c.Jar.SetCookies(u, []*http.Cookie{{Name: guestCookie, Value: planted}})
	v.get("/")
	issued := cookieOf(t, v, guestCookie)
	if issued == planted || !h.srv.validSigned("guest", issued) {
		t.Fatalf("guest cookie after a planted one: %q", issued)
	}
	_, doc, raw := v.webUpload(v.csrf, nil, "small.png", png)
	img := storedImage(t, h, doc, raw)
	if img.GuestID == h.srv.guestID(&visitor{guest: planted}) {
		t.Error("the upload carries the planted guest id")
	}
	v.get("/")
	if again := cookieOf(t, v, guestCookie); again != issued {
		t.Errorf("the server's own guest cookie was replaced: %q then %q", issued, again)
	}

	// An attacker holding the victim's server-issued id learns nothing of
	// what the browser does after its owner logs in.
	v.login("tester", "password1", false)
	rotated := cookieOf(t, v, guestCookie)
	if rotated == issued || !h.srv.validSigned("guest", rotated) {
		t.Errorf("guest cookie not rotated at login: %q then %q", issued, rotated)
	}
	if got, _ := h.store.Image(img.ID); got.OwnerID == 0 {
		t.Error("the browser's guest upload was not claimed at login")
	}
	v.post("/logout", url.Values{})
	v.get("/")
	_, doc, raw = v.webUpload(v.csrf, nil, "again.png", png)
	later := storedImage(t, h, doc, raw)
	if later.GuestID == h.srv.guestID(&visitor{guest: issued}) {
		t.Error("a guest upload after the login carries the guest id from before it")
	}
}
