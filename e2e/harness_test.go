// Package e2e holds picbed's end-to-end tests. TestMain builds the real
// binary once (CGO_ENABLED=0, from the module root); each test starts it on
// loopback with a data dir under t.TempDir() and talks to it over HTTP and
// through its command line, as a user and their clients would. The browser
// tests (browser_*_test.go) open its pages in a headless Chromium.
//
// This file holds the harness: TestMain, a running picbed (startPicbed),
// its commands (picbed, newUserKey) and what tests read off its process.
// upload_test.go has the one upload helper, fixture_test.go the one reader
// of testdata/.
package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the module root as the tests see it: go test runs them in
// e2e/, one folder below it. The binary, loadtest/ and testdata/ are found
// from here.
const repoRoot = ".."

// picbedBin is the binary built by TestMain.
var picbedBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "picbed-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	picbedBin = filepath.Join(dir, "picbed")
	// -buildvcs=auto: stamp the commit (picbed version) even where GOFLAGS
	// turns it off, and still build from a tree without .git.
	build := exec.Command("go", "build", "-buildvcs=auto", "-o", picbedBin, ".")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build picbed: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// instance is a running picbed process.
type instance struct {
	t      testing.TB
	data   string
	base   string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan error
}

var listenRE = regexp.MustCompile(`msg="picbed listening" addr=(\S+)`)

// startPicbed starts the binary on a free loopback port over data and waits
// until it listens. It is stopped (SIGTERM) when the test ends.
func startPicbed(t testing.TB, data string, args ...string) *instance {
	t.Helper()
	cmd := exec.Command(picbedBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, args...)...)
	cmd.Env = cleanEnv()
	pr, pw := io.Pipe()
	logBuf := &lockedBuffer{}
	// The log buffer first: once the scanner sees the listening line, the
	// buffer already holds it.
	cmd.Stderr = io.MultiWriter(logBuf, pw)
	cmd.Stdout = logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, data: data, cmd: cmd, log: logBuf, exited: make(chan error, 1)}
	go func() {
		in.exited <- cmd.Wait()
		pw.Close()
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	select {
	case addr := <-found:
		in.base = "http://" + addr
	case err := <-in.exited:
		t.Fatalf("picbed exited before listening: %v\n%s", err, logBuf)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("picbed did not listen within 20s:\n%s", logBuf)
	}
	t.Cleanup(func() { in.stop() })
	return in
}

// stop ends the process with SIGTERM and checks that it exits cleanly.
func (in *instance) stop() {
	if in.cmd.ProcessState != nil {
		return
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-in.exited:
		if err != nil {
			in.t.Errorf("picbed exited with %v after SIGTERM:\n%s", err, in.log)
		}
	case <-time.After(40 * time.Second):
		in.cmd.Process.Kill()
		in.t.Errorf("picbed did not stop within 40s of SIGTERM")
	}
}

// cleanEnv is the environment without PICBED_ settings of the machine.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PICBED_") {
			env = append(env, kv)
		}
	}
	return env
}

// picbed runs a picbed command and returns its stdout; it fails the test
// when the command fails.
func picbed(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := picbedErr(stdin, args...)
	if err != nil {
		t.Fatalf("picbed %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// picbedErr runs a picbed command and returns its stdout, or an error with
// its stderr.
func picbedErr(stdin string, args ...string) (string, error) {
	cmd := exec.Command(picbedBin, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%v: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// newUserKey creates user name with the password "secret-password" and
// returns a new key. userAdd are more flags of user add: "--admin" makes an
// admin, exempt from the per-address flood limits, which loopback clients
// making hundreds of uploads a minute would hit.
func newUserKey(t testing.TB, data, name string, userAdd ...string) string {
	t.Helper()
	args := append([]string{"user", "add", name}, userAdd...)
	picbed(t, "secret-password\n", append(args, "--password-stdin", "--data", data)...)
	key := strings.TrimSpace(picbed(t, "", "key", "create", name, "--data", data))
	if !strings.HasPrefix(key, "pb_") || strings.ContainsAny(key, " \n") {
		t.Fatalf("key create printed %q, want one pb_ key", key)
	}
	return key
}

// peakRSS returns the peak resident set size (VmHWM) of a running process
// in bytes.
func peakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to read peak memory from: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// waitEmpty fails the test unless dir is empty within d: an upload's
// staging files go when it is answered, or just after.
func waitEmpty(t testing.TB, dir string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(5 * time.Millisecond) {
		ents, err := os.ReadDir(dir)
		if err == nil && len(ents) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still holds %d entries (%v)", dir, len(ents), err)
		}
	}
}

// envInt reads a positive integer from the environment, or def.
func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
