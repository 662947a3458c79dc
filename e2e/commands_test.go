package e2e

// The user and key commands, against a data dir with and without a
// running server.

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// formLogin logs in through the login page with a fresh cookie jar and
// returns the client, or nil when the password is refused.
func formLogin(t *testing.T, base, name, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page (%d)", resp.StatusCode)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"csrf": {string(m[1])}, "login": {name}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusSeeOther:
		return c
	case http.StatusUnauthorized:
		return nil
	}
	t.Fatalf("login as %s: %d", name, resp.StatusCode)
	return nil
}

// loggedIn reports whether c's session still opens the account page.
func loggedIn(t *testing.T, c *http.Client, base string) bool {
	t.Helper()
	resp, err := c.Get(base + "/account")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestUserPasswd checks `picbed user passwd`, the way back in for an admin
// who forgot their password: offline on the data dir, and while serving
// over the control socket, where it also ends the user's logins at once.
func TestUserPasswd(t *testing.T) {
	data := t.TempDir()
	picbed(t, "first-pass-1\n", "user", "add", "alice", "--admin", "--password-stdin", "--data", data)
	out := picbed(t, "second-pass-2\n", "user", "passwd", "alice", "--password-stdin", "--data", data)
	if !strings.Contains(out, "password of alice changed") {
		t.Fatalf("offline passwd said %q", out)
	}
	in := startPicbed(t, data)
	if formLogin(t, in.base, "alice", "first-pass-1") != nil {
		t.Fatal("the old password still logs in")
	}
	c := formLogin(t, in.base, "alice", "second-pass-2")
	if c == nil || !loggedIn(t, c, in.base) {
		t.Fatal("the new password does not log in")
	}
	picbed(t, "third-pass-3\n", "user", "passwd", "alice", "--password-stdin", "--data", data)
	if loggedIn(t, c, in.base) {
		t.Fatal("a login outlived the password change made while serving")
	}
	if formLogin(t, in.base, "alice", "third-pass-3") == nil {
		t.Fatal("the password set while serving does not log in")
	}
	// Errors come back readable, through the socket too.
	if _, err := picbedErr("x\n", "user", "passwd", "alice", "--password-stdin", "--data", data); err == nil {
		t.Fatal("a 1-character password was accepted")
	}
	if _, err := picbedErr("long-enough-1\n", "user", "passwd", "nobody", "--password-stdin", "--data", data); err == nil {
		t.Fatal("passwd of an unknown user succeeded")
	}
}

// TestCommandsWhileServing runs the user and key commands against a data
// dir with and without a running server.
func TestCommandsWhileServing(t *testing.T) {
	data := t.TempDir()
	offline := newUserKey(t, data, "carol") // no server yet: direct
	in := startPicbed(t, data)
	online := strings.TrimSpace(picbed(t, "", "key", "create", "carol", "--data", data)) // through the server
	picbed(t, "another-password\n", "user", "add", "dave", "--admin", "--password-stdin", "--data", data)
	daveKey := strings.TrimSpace(picbed(t, "", "key", "create", "dave", "--data", data))
	for _, k := range []string{offline, online, daveKey} {
		if a, err := upload(in.base, k, "small.jpg", fixture(t, "small.jpg")); err != nil || a.status != 200 {
			t.Errorf("upload with key %s…: %v HTTP %d %s", k[:8], err, a.status, a.body)
		}
	}
	list := picbed(t, "", "key", "list", "carol", "--data", data)
	if strings.Count(list, "\n") != 3 || !strings.Contains(list, offline[:10]) || strings.Contains(list, offline) {
		t.Errorf("key list shows:\n%s\nwant a header and two keys by prefix, never a whole key", list)
	}
	if _, err := picbedErr("x\n", "user", "add", "carol", "--password-stdin", "--data", data); err == nil {
		t.Error("adding an existing user succeeded")
	}
	// Revoke by prefix: the key stops working at once.
	picbed(t, "", "key", "revoke", "carol", offline[:10], "--data", data)
	a, err := upload(in.base, offline, "small.png", fixture(t, "small.png"))
	if err != nil || a.status != 400 || !bytes.Contains(a.body, []byte("Invalid API v1 key.")) {
		t.Errorf("revoked key: %v HTTP %d %s", err, a.status, a.body)
	}
	in.stop()
	// With the server gone the commands open the data dir themselves.
	picbed(t, "", "key", "list", "dave", "--data", data)
}

// TestFirstStartAndHelpSayWhatToDo: a fresh host's start-up log says where
// to create the admin (while there is none), and picbed --help lists the
// subcommands before the server's flags. Before, neither did.
func TestFirstStartAndHelpSayWhatToDo(t *testing.T) {
	data := t.TempDir()
	in := startPicbed(t, data)
	setup := in.base + "/setup"
	if !strings.Contains(in.log.String(), `msg="no admin yet: open the setup page in a browser to create one" url=`+setup) {
		t.Errorf("start-up log does not name %s:\n%s", setup, in.log.String())
	}
	in.stop()
	picbed(t, "secret-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", data)
	in = startPicbed(t, data)
	defer in.stop()
	if strings.Contains(in.log.String(), "no admin yet") {
		t.Error("the setup hint is logged although an admin exists")
	}

	cmd := exec.Command(picbedBin, "--help")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 2 {
		t.Errorf("picbed --help exited %d (%v)", code, err)
	}
	for _, want := range []string{"picbed user add NAME", "picbed key create NAME", "picbed backup FILE", "picbed restore FILE", "-url-uploads", "-max-upload"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("picbed --help lacks %q:\n%s", want, out)
		}
	}
}

// TestVersion: picbed version names the module version, and the commit it
// was built from when built from a git checkout.
func TestVersion(t *testing.T) {
	out := picbed(t, "", "version")
	if !strings.HasPrefix(out, "picbed ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("picbed version:\n%s", out)
	}
	head, err := exec.Command("git", "-C", repoRoot, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Logf("not a git checkout (%v): no commit to compare", err)
		return
	}
	if want := "commit " + strings.TrimSpace(string(head)); !strings.Contains(out, want) {
		t.Errorf("picbed version lacks %q:\n%s", want, out)
	}
}
