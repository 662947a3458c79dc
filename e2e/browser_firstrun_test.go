package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserFirstRun walks through the installer of a fresh host: every
// page leads to "create the admin account", the form logs the new admin in,
// and afterwards the installer is gone.
func TestBrowserFirstRun(t *testing.T) {
	in := startPicbed(t, t.TempDir())
	b := newBrowser(t, desktopViewport)
	for _, p := range []string{"/", "/my", "/login"} {
		b.navigate(in.base + p)
		if got := evalJS[string](b, "location.pathname"); got != "/setup" {
			t.Fatalf("%s on a fresh host went to %s, want /setup", p, got)
		}
	}
	if h := evalJS[string](b, `document.querySelector("h1").textContent`); h != "Create the admin account" {
		t.Fatalf("installer heading %q", h)
	}
	// A mismatched repeat is refused with the form kept.
	b.browse(
		chromedp.SendKeys(`input[name=username]`, "owner"),
		chromedp.SendKeys(`input[name=password]`, "owner-password"),
		chromedp.SendKeys(`input[name=password2]`, "other-password"),
		chromedp.Click(`form[action="/setup"] button[type=submit]`),
	)
	waitPage(b, "mismatch refused", `document.querySelector(".alert.error") && document.querySelector(".alert.error").textContent.includes("do not match")`, 10*time.Second)
	if v := evalJS[string](b, `document.querySelector("input[name=username]").value`); v != "owner" {
		t.Fatalf("user name not kept after a refused form: %q", v)
	}
	b.browse(
		chromedp.SetValue(`input[name=password]`, "owner-password"),
		chromedp.SetValue(`input[name=password2]`, "owner-password"),
		chromedp.Click(`form[action="/setup"] button[type=submit]`),
	)
	waitPage(b, "logged in on the upload page", `location.pathname === "/" && document.querySelector("[data-upload-input]")`, 10*time.Second)
	nav := evalJS[string](b, `document.querySelector("nav.nav").textContent`)
	for _, want := range []string{"owner", "Admin", "Log out"} {
		if !strings.Contains(nav, want) {
			t.Errorf("menu after setup lacks %q: %q", want, nav)
		}
	}
	// The installer is gone, for this browser and for anyone else.
	resp, err := http.Get(in.base + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /setup after setup: %d, want 404", resp.StatusCode)
	}
	// The admin exists for the command line too.
	if out := picbed(t, "", "key", "create", "owner", "--data", in.data); !strings.HasPrefix(out, "pb_") {
		t.Fatalf("key for the new admin: %q", out)
	}
	// The refused form's 400 is the one error the browser may log.
	for _, e := range b.jsErrors() {
		if !strings.Contains(e, "status of 400") || !strings.Contains(e, "/setup") {
			t.Errorf("page error: %s", e)
		}
	}
}
