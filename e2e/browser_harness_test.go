package e2e

// Browser tests: a headless Chromium, driven over the DevTools protocol by
// chromedp, opens the pages of a real picbed (startPicbed) the way a person
// would, at a desktop or a phone size.
//
// Chromium is found on PATH (chromium, chromium-browser, google-chrome) or at
// PICBED_CHROMIUM. Without it the browser tests skip, unless
// PICBED_REQUIRE_BROWSER=1 (as .ci/run sets) makes that a failure.
//
// A page test looks like this:
//
//	b := newBrowser(t, desktopViewport)
//	in := startPicbed(t, t.TempDir())
//	b.navigate(in.base + "/")
//	title := browseGet(b, chromedp.Title())
//	b.browse(chromedp.Click(chromedp.CSS("#upload")))
//	n := evalJS[int](b, `document.querySelectorAll(".thumb").length`)
//	b.assertNoJSErrors()
//
// Every helper fails the test when the browser reports an error; the failure
// names the page's URL and a screenshot of it. Like t.Fatal, the helpers are
// for the test's own goroutine. The browser talks to loopback
// only: a request for any other host is refused by the browser itself and
// fails the test when it ends.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browserTimeout bounds one test's browser actions, counted from
// newBrowser: an action still running then fails the test (with a screenshot
// of the page), so a hung page fails instead of hanging CI. A browser that no
// longer answers at all is killed browserKillGrace later.
const (
	browserTimeout   = 60 * time.Second
	browserKillGrace = 20 * time.Second
)

// browserFlags are the Chromium switches every browser test starts with, on
// top of chromedp's defaults. TestBrowserHarness checks that the running
// browser has them.
var browserFlags = []string{
	"headless",
	"no-sandbox", // CI runs as root, where the sandbox cannot start
	"disable-gpu",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
	"no-first-run",
}

// browserNetworkFlags keep the browser's traffic on loopback: every request
// for another host goes to a proxy on a loopback port nothing listens on
// (Chromium never sends loopback requests to a proxy), and no host but
// localhost, 127.0.0.1 and [::1] resolves. Such a request is still recorded,
// and assertLocalOnly reports it.
var browserNetworkFlags = map[string]string{
	"proxy-server":        "http://127.0.0.1:9",
	"host-resolver-rules": "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
}

// viewport is the size of the page the browser shows.
type viewport struct {
	name          string // for subtests: t.Run(v.name, ...)
	width, height int64
	scale         float64 // device pixels per CSS pixel
	// mobile turns on mobile emulation: the page's <meta name=viewport>
	// applies, scrollbars overlay, touch events are on and the user agent is
	// a phone's.
	mobile bool
}

var (
	desktopViewport = viewport{name: "desktop", width: 1280, height: 900, scale: 1}
	phoneViewport   = viewport{name: "phone", width: 390, height: 844, scale: 3, mobile: true}
)

// phoneUserAgent is Chrome on Android.
const phoneUserAgent = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"

// browser is one headless Chromium with one tab, for one test.
type browser struct {
	t *testing.T
	// ctx is the tab until browserTimeout runs out: pass it to chromedp.Run
	// and chromedp.Do for anything the helpers do not cover.
	ctx     context.Context
	tab     context.Context // the tab without the time limit, for fail
	exe     string
	profile string        // the --user-data-dir
	out     *lockedBuffer // Chromium's own output
	desktop string        // the browser's own user agent

	mu       sync.Mutex
	jsErrs   []string
	nonLocal []string
	shots    int
	ended    bool // the test is over: no more t.Logf
}

// errNoChromium means no Chromium was found.
var errNoChromium = errors.New("no Chromium found")

// browserSkipMessage is the skip reason when Chromium is missing.
const browserSkipMessage = "browser tests need Chromium: apt-get install chromium (set PICBED_REQUIRE_BROWSER=1 to make this a failure)"

// findChromium returns the browser to run: the PICBED_CHROMIUM value env (a
// path or a command name) when it is set, else the first of chromium,
// chromium-browser and google-chrome that lookPath finds. It returns an
// error wrapping errNoChromium when none is found; an env value that is no
// executable is an error of its own, since someone asked for that browser.
func findChromium(env string, lookPath func(string) (string, error)) (string, error) {
	if env != "" {
		p, err := lookPath(env)
		if err != nil {
			return "", fmt.Errorf("PICBED_CHROMIUM=%s: %w", env, err)
		}
		return p, nil
	}
	names := []string{"chromium", "chromium-browser", "google-chrome"}
	for _, name := range names {
		if p, err := lookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: none of %s on PATH and PICBED_CHROMIUM is not set", errNoChromium, strings.Join(names, ", "))
}

// newBrowser starts a headless Chromium at viewport v, with a fresh profile
// under t.TempDir(), and opens a blank tab. Without Chromium it skips the
// test, or fails it when PICBED_REQUIRE_BROWSER=1. The browser is stopped
// when the test ends; its actions fail once browserTimeout has passed, and it
// is killed browserKillGrace later.
func newBrowser(t *testing.T, v viewport) *browser {
	t.Helper()
	exe, err := findChromium(os.Getenv("PICBED_CHROMIUM"), exec.LookPath)
	if err != nil {
		if !errors.Is(err, errNoChromium) {
			t.Fatalf("%v: PICBED_CHROMIUM must name a Chromium executable", err)
		}
		if os.Getenv("PICBED_REQUIRE_BROWSER") != "1" {
			t.Skip(browserSkipMessage)
		}
		t.Fatalf("PICBED_REQUIRE_BROWSER=1, but %v: apt-get install chromium, or set PICBED_CHROMIUM=/path/to/chromium", err)
	}
	profile := filepath.Join(t.TempDir(), "chromium-profile")
	b := &browser{t: t, exe: exe, profile: profile, out: &lockedBuffer{}}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(int(v.width), int(v.height)),
		chromedp.CombinedOutput(b.out),
	)
	for _, f := range browserFlags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	for name, value := range browserNetworkFlags {
		opts = append(opts, chromedp.Flag(name, value))
	}

	deadline := time.Now().Add(browserTimeout)
	killCtx, cancelKill := context.WithDeadline(context.Background(), deadline.Add(browserKillGrace))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(killCtx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx,
		chromedp.WithListener(b.listen),
		chromedp.WithErrorf(b.logf),
	)
	// The time limit goes on a child of the tab: when it runs out, the
	// browser still runs, so fail can show the page. (A limit on the tab
	// itself would stop the browser.)
	ctx, cancelCtx := context.WithDeadline(tab, deadline)
	b.ctx, b.tab = ctx, tab
	t.Cleanup(func() {
		b.assertLocalOnly()
		cancelCtx()
		cancelTab()   // closes the browser, as this tab started it
		cancelAlloc() // waits for the browser process to exit
		cancelKill()
		killProfileProcesses(profile) // helpers that outlive the browser; then t.TempDir goes
		b.mu.Lock()
		b.ended = true
		b.mu.Unlock()
	})

	// The first action starts the browser.
	ua, err := chromedp.Run(tab, chromedp.Evaluate[string]("navigator.userAgent"))
	if err != nil {
		t.Fatalf("start %s: %v\nits output:\n%s", exe, err, b.out)
	}
	b.desktop = ua
	b.setViewport(v)
	return b
}

// listen records the events the helpers check. It runs on chromedp's reading
// goroutine: it must be fast and must not call the browser.
func (b *browser) listen(ev any) {
	var jsErr, nonLocal string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		jsErr = exceptionText(ev.ExceptionDetails)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			jsErr = "console." + string(ev.Type) + ": " + consoleArgs(ev.Args)
		}
	case *log.EventEntryAdded:
		// The browser's own errors about the page: a script or stylesheet
		// that did not load, a CSP violation. Not its own request for
		// /favicon.ico, which a page without <link rel=icon> gets anyway.
		if e := ev.Entry; e != nil && e.Level == log.EntryLevelError && !isDefaultFavicon(e) {
			jsErr = fmt.Sprintf("%s error: %s", e.Source, e.Text)
			if e.URL != "" {
				jsErr += " (" + e.URL + ")"
			}
		}
	case *network.EventRequestWillBeSent:
		if ev.Request != nil && !isLocalURL(ev.Request.URL) {
			nonLocal = ev.Request.URL
		}
	case *network.EventWebSocketCreated:
		if !isLocalURL(ev.URL) {
			nonLocal = ev.URL
		}
	}
	if jsErr == "" && nonLocal == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if jsErr != "" {
		b.jsErrs = append(b.jsErrs, jsErr)
	}
	if nonLocal != "" {
		b.nonLocal = append(b.nonLocal, nonLocal)
	}
}

// isDefaultFavicon reports whether e is the failure of the browser's own
// request for /favicon.ico.
func isDefaultFavicon(e *log.Entry) bool {
	u, err := url.Parse(e.URL)
	return err == nil && e.Source == log.EntrySourceNetwork && u.Path == "/favicon.ico"
}

// exceptionText is an uncaught exception as the console shows it, with the
// place of the throw.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "exception"
	}
	s := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		desc, _, _ := strings.Cut(d.Exception.Description, "\n")
		s += " " + desc
	}
	if d.URL != "" {
		s += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	}
	return s
}

// consoleArgs joins the arguments of a console call.
func consoleArgs(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		var s string
		switch {
		case a.Type == runtime.RemoteObjectTypeString && json.Unmarshal(a.Value, &s) == nil:
		case a.Description != "":
			s = a.Description
		case len(a.Value) > 0:
			s = string(a.Value)
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// isLocalURL reports whether a request for u stays on this machine: an http
// or ws URL of a loopback address or localhost, or a URL that needs no
// network (data:, blob:, about:).
func isLocalURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	switch p.Scheme {
	case "data", "blob", "about":
		return true
	case "http", "https", "ws", "wss":
		h := p.Hostname()
		if h == "localhost" || strings.HasSuffix(h, ".localhost") {
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
	return false
}

// logf passes chromedp's own complaints to the test log while the test runs.
func (b *browser) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.ended {
		b.t.Logf("chromedp: "+format, args...)
	}
}

// browse runs chromedp actions in the tab. When one fails it fails the test,
// naming the page's URL and a screenshot of the page.
func (b *browser) browse(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fail(err)
	}
}

// browseGet runs one chromedp action that returns a value, such as
// chromedp.Title() or chromedp.Text(sel), and returns the value. A failure
// fails the test as browse does.
func browseGet[T any](b *browser, action chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, action)
	if err != nil {
		b.fail(err)
	}
	return v
}

// evalJS evaluates a JavaScript expression in the page and returns its value
// decoded as T (a promise is awaited). Use chromedp.Void to ignore the value.
func evalJS[T any](b *browser, expr string) T {
	b.t.Helper()
	return browseGet(b, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// navigate opens u in the tab and waits for it to load.
func (b *browser) navigate(u string) {
	b.t.Helper()
	b.browse(chromedp.Navigate(u))
}

// fail fails the test for err, with the page's URL, a screenshot and the
// page's JavaScript errors so far.
func (b *browser) fail(err error) {
	b.t.Helper()
	msg := fmt.Sprintf("browser: %v", err)
	if b.ctx.Err() != nil {
		msg = fmt.Sprintf("browser: still running when the test's %v for browser actions ran out: %v", browserTimeout, err)
	}
	if b.tab.Err() != nil {
		msg += "\nthe browser is gone; its output:\n" + b.out.String()
	} else {
		// A short limit of its own: the page may be what hangs.
		ctx, cancel := context.WithTimeout(b.tab, 10*time.Second)
		defer cancel()
		// The history has the URL asked for, also when it did not load
		// and the location is chrome-error://.
		if h, err := runRetry(ctx, chromedp.NavigationEntries()); err == nil && h.CurrentIndex >= 0 && int(h.CurrentIndex) < len(h.Entries) {
			msg += "\npage: " + h.Entries[h.CurrentIndex].URL
		}
		b.mu.Lock()
		b.shots++
		path := filepath.Join(b.t.ArtifactDir(), fmt.Sprintf("failure-%d.png", b.shots))
		b.mu.Unlock()
		if shot, err := runRetry(ctx, chromedp.FullScreenshot(100)); err != nil {
			msg += "\nno screenshot: " + err.Error()
		} else if err := os.WriteFile(path, shot, 0o644); err != nil {
			msg += "\nno screenshot: " + err.Error()
		} else {
			msg += "\nscreenshot: " + path + " (go test -artifacts keeps it)"
		}
	}
	if errs := b.jsErrors(); len(errs) > 0 {
		msg += "\nJavaScript errors:\n  " + strings.Join(errs, "\n  ")
	}
	b.t.Fatal(msg)
}

// runRetry runs action until it succeeds or ctx ends: right after a failed
// navigation the tab is briefly "not attached to an active page".
func runRetry[T any](ctx context.Context, action chromedp.Action[T]) (T, error) {
	for {
		v, err := chromedp.Run(ctx, action)
		if err == nil || ctx.Err() != nil {
			return v, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// screenshot saves a PNG of the whole page, beyond the viewport too, at path.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	shot := browseGet(b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// setViewport switches the tab to viewport v; the page reflows at once.
func (b *browser) setViewport(v viewport) {
	b.t.Helper()
	ua := b.desktop
	if v.mobile {
		ua = phoneUserAgent
	}
	b.browse(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: v.width, Height: v.height, DeviceScaleFactor: v.scale, Mobile: v.mobile,
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: v.mobile})
		return err
	}))
}

// jsErrors returns the page errors so far: uncaught exceptions and promise
// rejections, console.error and failed console.assert calls, and the
// browser's error log entries (a resource that failed to load, a CSP
// violation).
func (b *browser) jsErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.jsErrs)
}

// assertNoJSErrors fails the test when the page has reported an error.
func (b *browser) assertNoJSErrors() {
	b.t.Helper()
	b.settle()
	if errs := b.jsErrors(); len(errs) > 0 {
		b.t.Errorf("the page reported %d JavaScript error(s):\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
}

// settle lets the events the page has sent so far reach the listener: the
// browser answers in order, so once a round trip is back, they are in.
func (b *browser) settle() {
	b.t.Helper()
	evalJS[chromedp.Void](b, "new Promise(r => setTimeout(r, 50))")
}

// assertLocalOnly fails the test when the page asked for anything but
// loopback. Each browser checks this by itself when its test ends.
func (b *browser) assertLocalOnly() {
	b.t.Helper()
	b.mu.Lock()
	bad := slices.Clone(b.nonLocal)
	b.mu.Unlock()
	if len(bad) > 0 {
		b.t.Errorf("the browser requested %d URL(s) off loopback; tests talk to 127.0.0.1 only:\n  %s", len(bad), strings.Join(bad, "\n  "))
	}
}

// takeNonLocal returns the requests off loopback so far and forgets them.
func (b *browser) takeNonLocal() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	bad := b.nonLocal
	b.nonLocal = nil
	return bad
}

// setFiles chooses files on disk for the <input type=file> that the CSS
// selector sel matches, as the file picker would; the input fires input and
// change events. The input may be hidden.
func (b *browser) setFiles(sel string, paths ...string) {
	b.t.Helper()
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			b.t.Fatal(err)
		}
		abs[i] = a
	}
	b.browse(chromedp.SetUploadFiles(chromedp.CSS(sel), abs))
}

// pageFile is a file made in the page for a paste or a drop.
type pageFile struct {
	name, typ string // typ is the MIME type, such as "image/png"
	data      []byte
}

// pasteFiles dispatches a paste event carrying files, as pasting a copied
// image does, at the element the CSS selector sel matches ("" means the
// focused element, or the body). It reports whether a handler called
// preventDefault.
func (b *browser) pasteFiles(sel string, files ...pageFile) bool {
	b.t.Helper()
	return b.dispatchFiles(sel, `[new ClipboardEvent("paste", {clipboardData: dt, bubbles: true, cancelable: true, composed: true})]`, files)
}

// dropFiles drags files from outside the browser and drops them on the
// element the CSS selector sel matches ("" means the body): it dispatches
// dragenter, dragover and drop. It reports whether a handler called
// preventDefault on the drop.
func (b *browser) dropFiles(sel string, files ...pageFile) bool {
	b.t.Helper()
	return b.dispatchFiles(sel, `["dragenter", "dragover", "drop"].map(type =>
		new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true, composed: true}))`, files)
}

// dispatchFiles builds a DataTransfer holding files, makes events from it
// with the JavaScript expression events (an array; dt is the DataTransfer),
// dispatches them in order at sel and reports whether the last one was
// canceled.
func (b *browser) dispatchFiles(sel, events string, files []pageFile) bool {
	b.t.Helper()
	type jsFile struct {
		Name string `json:"name"`
		Type string `json:"type"`
		Data string `json:"data"` // base64
	}
	js := make([]jsFile, len(files))
	for i, f := range files {
		js[i] = jsFile{f.name, f.typ, base64.StdEncoding.EncodeToString(f.data)}
	}
	filesJSON, err := json.Marshal(js)
	if err != nil {
		b.t.Fatal(err)
	}
	selJSON, _ := json.Marshal(sel)
	expr := fmt.Sprintf(`(() => {
	const sel = %s, files = %s;
	const target = sel ? document.querySelector(sel) : (document.activeElement || document.body);
	if (!target) throw new Error("no element matches " + sel);
	const dt = new DataTransfer();
	for (const f of files) {
		const bin = atob(f.data), bytes = new Uint8Array(bin.length);
		for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
		dt.items.add(new File([bytes], f.name, {type: f.type}));
	}
	let canceled = false;
	for (const ev of %s) canceled = !target.dispatchEvent(ev);
	return canceled;
})()`, selJSON, filesJSON, events)
	return evalJS[bool](b, expr)
}

// killProfileProcesses kills what is left of a browser that used the profile
// dir (its helper processes can outlive it), so that the directory can go.
// It reads /proc and does nothing where there is none.
func killProfileProcesses(dir string) {
	want := "--user-data-dir=" + dir
	for range 50 {
		found := 0
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil {
				continue
			}
			if slices.Contains(strings.Split(string(cmdline), "\x00"), want) {
				found++
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if found == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browserPID is the process id of the browser.
func (b *browser) browserPID() int {
	c := chromedp.FromContext(b.ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		b.t.Fatal("the browser has no process")
	}
	return c.Browser.Process().Pid
}

// TestBrowserHarness proves the browser helpers against the real picbed: the
// home page loads with the required browser flags, screenshots are PNGs of
// the page, the paste, drop and file input helpers deliver their files
// byte for byte, page errors are captured, and requests off loopback are
// refused and recorded.
func TestBrowserHarness(t *testing.T) {
	b := newBrowser(t, desktopViewport)
	in := startPicbed(t, t.TempDir())

	b.navigate(in.base + "/")
	if title := browseGet(b, chromedp.Title()); !strings.Contains(strings.ToLower(title), "picbed") {
		t.Errorf("home page title %q does not contain picbed", title)
	}

	// The browser really runs with the required flags.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", b.browserPID()))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	for _, f := range browserFlags {
		if !slices.Contains(args, "--"+f) {
			t.Errorf("browser started without --%s: %q", f, args)
		}
	}
	for name, value := range browserNetworkFlags {
		if !slices.Contains(args, "--"+name+"="+value) {
			t.Errorf("browser started without --%s=%s: %q", name, value, args)
		}
	}
	if !slices.Contains(args, "--user-data-dir="+b.profile) {
		t.Errorf("browser started without --user-data-dir=%s: %q", b.profile, args)
	}

	// The viewport, and a full-page screenshot of it.
	if w := evalJS[int](b, "window.innerWidth"); w != 1280 {
		t.Errorf("desktop innerWidth %d, want 1280", w)
	}
	shotPath := filepath.Join(t.ArtifactDir(), "home-desktop.png")
	b.screenshot(shotPath)
	checkScreenshot(t, shotPath, 1280, 900)

	// Paste: a listener records what a paste delivers, as an upload page's
	// would.
	evalJS[chromedp.Void](b, `(() => {
	window.__pasted = [];
	document.addEventListener("paste", async e => {
		e.preventDefault();
		for (const f of e.clipboardData.files) {
			const bytes = Array.from(new Uint8Array(await f.arrayBuffer()));
			window.__pasted.push({name: f.name, type: f.type, size: f.size, bytes});
		}
	});
})()`)
	red := tinyPNG(t, 3, 2, color.NRGBA{255, 0, 0, 255})
	blue := tinyPNG(t, 5, 5, color.NRGBA{0, 0, 255, 255})
	if !b.pasteFiles("", pageFile{"image.png", "image/png", red}, pageFile{"second.png", "image/png", blue}) {
		t.Error("pasteFiles: the page's preventDefault did not reach the event")
	}
	type delivered struct {
		Name  string `json:"name"`
		Type  string `json:"type"`
		Size  int    `json:"size"`
		Bytes []byte `json:"-"`
		Raw   []int  `json:"bytes"`
	}
	readBack := func(global string) []delivered {
		t.Helper()
		got := evalJS[[]delivered](b, fmt.Sprintf(`new Promise(r => {
	const poll = () => window.%[1]s && window.%[1]s.length >= 2 ? r(window.%[1]s) : setTimeout(poll, 20);
	poll();
})`, global))
		for i := range got {
			for _, v := range got[i].Raw {
				got[i].Bytes = append(got[i].Bytes, byte(v))
			}
		}
		return got
	}
	checkDelivered := func(what string, got []delivered) {
		t.Helper()
		want := []delivered{{Name: "image.png", Type: "image/png", Bytes: red}, {Name: "second.png", Type: "image/png", Bytes: blue}}
		if len(got) != len(want) {
			t.Fatalf("%s delivered %d files, want %d", what, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Name != w.Name || g.Type != w.Type || g.Size != len(w.Bytes) || !bytes.Equal(g.Bytes, w.Bytes) {
				t.Errorf("%s file %d: got %s %s %d bytes (same bytes: %v), want %s %s %d bytes",
					what, i, g.Name, g.Type, g.Size, bytes.Equal(g.Bytes, w.Bytes), w.Name, w.Type, len(w.Bytes))
			}
		}
	}
	checkDelivered("paste", readBack("__pasted"))

	// Drop, on an element.
	evalJS[chromedp.Void](b, `(() => {
	const zone = document.createElement("div");
	zone.id = "__harness_drop";
	zone.textContent = "drop here";
	document.body.append(zone);
	window.__dropped = [];
	zone.addEventListener("dragover", e => e.preventDefault());
	zone.addEventListener("drop", async e => {
		e.preventDefault();
		for (const f of e.dataTransfer.files) {
			const bytes = Array.from(new Uint8Array(await f.arrayBuffer()));
			window.__dropped.push({name: f.name, type: f.type, size: f.size, bytes});
		}
	});
})()`)
	if !b.dropFiles("#__harness_drop", pageFile{"image.png", "image/png", red}, pageFile{"second.png", "image/png", blue}) {
		t.Error("dropFiles: the page's preventDefault did not reach the drop event")
	}
	checkDelivered("drop", readBack("__dropped"))

	// A file input, hidden as upload pages often hide theirs.
	dir := t.TempDir()
	redPath, bluePath := filepath.Join(dir, "image.png"), filepath.Join(dir, "second.png")
	if err := os.WriteFile(redPath, red, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bluePath, blue, 0o644); err != nil {
		t.Fatal(err)
	}
	evalJS[chromedp.Void](b, `(() => {
	const input = document.createElement("input");
	input.type = "file";
	input.multiple = true;
	input.id = "__harness_file";
	input.hidden = true;
	document.body.append(input);
	window.__chosen = [];
	input.addEventListener("change", async () => {
		for (const f of input.files) {
			const bytes = Array.from(new Uint8Array(await f.arrayBuffer()));
			window.__chosen.push({name: f.name, type: f.type, size: f.size, bytes});
		}
	});
})()`)
	b.setFiles("#__harness_file", redPath, bluePath)
	if n := evalJS[int](b, `document.getElementById("__harness_file").files.length`); n != 2 {
		t.Errorf("file input holds %d files, want 2", n)
	}
	checkDelivered("file input (change event)", readBack("__chosen"))

	b.assertNoJSErrors()

	// Page errors are captured: an uncaught exception, an unhandled
	// rejection and console.error.
	evalJS[chromedp.Void](b, `setTimeout(() => { throw new Error("harness boom") });
Promise.reject(new Error("harness rejected"));
console.error("harness console", 42)`)
	deadline := time.Now().Add(10 * time.Second)
	var errs []string
	for {
		b.settle()
		errs = b.jsErrors()
		all := strings.Join(errs, "\n")
		if strings.Contains(all, "harness boom") && strings.Contains(all, "harness rejected") && strings.Contains(all, "harness console 42") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("page errors not all captured: %q", errs)
		}
	}
	t.Logf("captured page errors: %q", errs)

	// A request off loopback is refused by the browser, and recorded. The
	// pages' CSP already stops a fetch, so this is a navigation.
	if got := b.takeNonLocal(); len(got) > 0 {
		t.Fatalf("the home page requested off-loopback URLs: %q", got)
	}
	const offLoopback = "http://picbed-harness.invalid/"
	if err := chromedp.Do(b.ctx, chromedp.Navigate(offLoopback)); !errors.Is(err, chromedp.ErrPageLoad) {
		t.Errorf("navigating off loopback: got %v, want a page load error", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		got := b.takeNonLocal()
		if slices.Contains(got, offLoopback) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the request for %s was not recorded: %q", offLoopback, got)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The phone viewport.
	b.setViewport(phoneViewport)
	b.navigate(in.base + "/")
	if w := evalJS[int](b, "window.innerWidth"); w != 390 {
		t.Errorf("phone innerWidth %d, want 390", w)
	}
	if !evalJS[bool](b, `matchMedia("(pointer: coarse)").matches && navigator.maxTouchPoints > 0`) {
		t.Error("phone viewport has no touch")
	}
	phonePath := filepath.Join(t.ArtifactDir(), "home-phone.png")
	b.screenshot(phonePath)
	checkScreenshot(t, phonePath, 390*3, 844*3)
}

// checkScreenshot checks that path is a PNG of width w and at least height h.
func checkScreenshot(t *testing.T, path string, w, h int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	if cfg.Width != w || cfg.Height < h {
		t.Errorf("screenshot %s is %dx%d, want %d wide and at least %d high", path, cfg.Width, cfg.Height, w, h)
	}
	t.Logf("screenshot: %s (%dx%d)", path, cfg.Width, cfg.Height)
}

func TestFindChromium(t *testing.T) {
	look := func(found ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			if slices.Contains(found, name) {
				return "/usr/bin/" + name, nil
			}
			return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
		}
	}
	for _, tc := range []struct {
		env     string
		found   []string
		want    string
		missing bool // errNoChromium: skip the browser tests
		fails   bool // another error: fail them
	}{
		{found: []string{"chromium", "google-chrome"}, want: "/usr/bin/chromium"},
		{found: []string{"chromium-browser"}, want: "/usr/bin/chromium-browser"},
		{found: []string{"google-chrome"}, want: "/usr/bin/google-chrome"},
		{found: nil, missing: true},
		{found: []string{"firefox"}, missing: true},
		{env: "my-chrome", found: []string{"chromium", "my-chrome"}, want: "/usr/bin/my-chrome"},
		{env: "/opt/nowhere/chrome", found: []string{"chromium"}, fails: true},
	} {
		got, err := findChromium(tc.env, look(tc.found...))
		switch {
		case tc.missing:
			if !errors.Is(err, errNoChromium) {
				t.Errorf("env %q, PATH %q: got %q, %v; want errNoChromium", tc.env, tc.found, got, err)
			}
		case tc.fails:
			if err == nil || errors.Is(err, errNoChromium) {
				t.Errorf("env %q, PATH %q: got %q, %v; want an error other than errNoChromium", tc.env, tc.found, got, err)
			}
		case err != nil || got != tc.want:
			t.Errorf("env %q, PATH %q: got %q, %v; want %q", tc.env, tc.found, got, err, tc.want)
		}
	}

	// With the real exec.LookPath: an executable file named by path, and
	// a PATH without any browser.
	dir := t.TempDir()
	fake := filepath.Join(dir, "chrome")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findChromium(fake, exec.LookPath); err != nil || got != fake {
		t.Errorf("PICBED_CHROMIUM=%s: got %q, %v", fake, got, err)
	}
	t.Setenv("PATH", dir)
	if got, err := findChromium("", exec.LookPath); !errors.Is(err, errNoChromium) {
		t.Errorf("PATH without a browser: got %q, %v; want errNoChromium", got, err)
	}
	if _, err := findChromium(filepath.Join(dir, "missing"), exec.LookPath); err == nil || errors.Is(err, errNoChromium) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PICBED_CHROMIUM naming no file: %v", err)
	}
}

func TestIsLocalURL(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8080/":           true,
		"http://127.0.0.2/x":               true,
		"http://localhost:1234/a?b":        true,
		"http://app.localhost/":            true,
		"http://[::1]:80/":                 true,
		"ws://127.0.0.1:9/socket":          true,
		"data:image/png;base64,AAAA":       true,
		"blob:http://127.0.0.1:8080/uuid":  true,
		"about:blank":                      true,
		"https://fonts.example.com/a.css":  false,
		"http://192.168.1.10/":             false,
		"http://10.0.0.1/":                 false,
		"https://8.8.8.8/":                 false,
		"http://localhost.example.com/":    false,
		"http://127.0.0.1.example.com/":    false,
		"ftp://127.0.0.1/":                 false,
		"chrome-extension://abc/page.html": false,
		"wss://example.com/":               false,
		"::not a url":                      false,
	} {
		if got := isLocalURL(u); got != want {
			t.Errorf("isLocalURL(%q) = %v, want %v", u, got, want)
		}
	}
}

// waitPage polls the JavaScript condition cond in the page until it is
// true, failing the test after d with what the page shows.
func waitPage(b *browser, what, cond string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	// A navigation may be half done: no document yet counts as false.
	expr := "(() => { try { return !!(" + cond + "); } catch { return false; } })()"
	for !evalJS[bool](b, expr) {
		if time.Now().After(deadline) {
			b.fail(fmt.Errorf("%s: still not true after %v: %s", what, d, cond))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// browserLogin logs in through the login form and waits for the upload page.
func browserLogin(b *browser, base, name, password string) {
	b.t.Helper()
	b.navigate(base + "/login")
	submitLogin(b, name, password)
	waitPage(b, "logged in", `location.pathname === "/" && document.readyState === "complete" && document.querySelector("[data-upload-input]")`, 10*time.Second)
}

// submitLogin fills in and sends the login form of the page the browser
// shows; where it leads is for the caller to wait for.
func submitLogin(b *browser, name, password string) {
	b.t.Helper()
	b.browse(
		chromedp.SendKeys(`input[name=login]`, name),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
	)
}

// browserLogout logs the browser out with the top bar's button.
func browserLogout(b *browser) {
	b.t.Helper()
	b.browse(
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.nav a[href="/login"]`)),
	)
}
