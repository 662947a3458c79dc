package e2e

// Load: the loadtest program (loadtest/) drives the real binary with mixed
// uploads, downloads and deletes from many clients; peak memory is read
// from /proc; slow clients trickle headers and bodies while normal clients
// keep working.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	loadtestOnce sync.Once
	loadtestBin  string
	loadtestErr  error
)

// buildLoadtest builds loadtest/ next to the picbed binary, once.
func buildLoadtest(t testing.TB) string {
	t.Helper()
	loadtestOnce.Do(func() {
		loadtestBin = filepath.Join(filepath.Dir(picbedBin), "loadtest")
		build := exec.Command("go", "build", "-o", loadtestBin, "./loadtest")
		build.Dir = repoRoot
		out, err := build.CombinedOutput()
		if err != nil {
			loadtestErr = fmt.Errorf("build loadtest: %v\n%s", err, out)
		}
	})
	if loadtestErr != nil {
		t.Fatal(loadtestErr)
	}
	return loadtestBin
}

// loadSummary is the JSON summary loadtest prints with -json.
type loadSummary struct {
	Clients       int      `json:"clients"`
	Requests      int64    `json:"requests"`
	Failures      int64    `json:"failures"`
	UploadsSmall  int64    `json:"uploads_small"`
	UploadsLarge  int64    `json:"uploads_large"`
	UploadBytes   int64    `json:"upload_bytes"`
	Downloads     int64    `json:"downloads"`
	Deletes       int64    `json:"deletes"`
	Verified      int64    `json:"verified"`
	Lost          int64    `json:"lost"`
	Seconds       float64  `json:"seconds"`
	FailureSample []string `json:"failure_sample"`
}

// runLoadtest runs loadtest against in and returns its summary. The run
// itself fails the test only through the caller's checks.
func runLoadtest(t testing.TB, in *instance, key string, args ...string) loadSummary {
	t.Helper()
	cmd := exec.Command(buildLoadtest(t), append([]string{"-url", in.base, "-key", key, "-json"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var s loadSummary
	if jerr := json.Unmarshal(stdout.Bytes(), &s); jerr != nil {
		t.Fatalf("loadtest %s: %v %v\n%s%s", strings.Join(args, " "), err, jerr, stdout.String(), stderr.String())
	}
	return s
}

func mb(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/(1<<20)) }

// TestLoad sends a mixed load from 24 clients: 1000 operations by default,
// or for PICBED_LOAD_SECONDS seconds (PICBED_LOAD_CLIENTS clients). No
// request that should succeed may fail and no answered image may be lost.
func TestLoad(t *testing.T) {
	clients := envInt(t, "PICBED_LOAD_CLIENTS", 24)
	args := []string{"-clients", strconv.Itoa(clients), "-requests", "1000"}
	if secs := envInt(t, "PICBED_LOAD_SECONDS", 0); secs > 0 {
		args = []string{"-clients", strconv.Itoa(clients), "-requests", "0", "-duration", strconv.Itoa(secs) + "s"}
	}
	data := t.TempDir()
	key := newUserKey(t, data, "load", "--admin")
	in := startPicbed(t, data)
	s := runLoadtest(t, in, key, args...)
	rss := peakRSS(t, in.cmd.Process.Pid)
	t.Logf("%d clients, %d requests in %.1fs: %d small + %d 12 MP uploads (%.1f MB), %d downloads, %d deletes; %d images verified by md5 at the end; %d failures, %d lost; picbed peak RSS %s",
		s.Clients, s.Requests, s.Seconds, s.UploadsSmall, s.UploadsLarge, float64(s.UploadBytes)/1e6, s.Downloads, s.Deletes, s.Verified, s.Failures, s.Lost, mb(rss))
	if s.Failures != 0 || s.Lost != 0 {
		t.Errorf("%d failed requests, %d images lost; first failures:\n%s\npicbed log:\n%s", s.Failures, s.Lost, strings.Join(s.FailureSample, "\n"), in.log)
	}
	if s.UploadsSmall == 0 || s.Verified == 0 {
		t.Errorf("the load stored nothing: %+v", s)
	}
}

// TestDecodeWorkersBoundMemory sends 16 simultaneous 12-megapixel JPEGs to
// picbed at --decode-workers 1 and 2 and records its peak RSS: the uploads
// queue for a decode slot instead of all decoding at once. With
// PICBED_MEMORY_MATRIX=1 it also runs 4 and 16 workers, each with and
// without --memory-limit 128MB.
func TestDecodeWorkersBoundMemory(t *testing.T) {
	type budget struct{ workers, limit string }
	budgets := []budget{{"1", ""}, {"2", ""}}
	if os.Getenv("PICBED_MEMORY_MATRIX") == "1" {
		budgets = nil
		for _, w := range []string{"1", "2", "4", "16"} {
			budgets = append(budgets, budget{w, ""}, budget{w, "128MB"})
		}
	}
	data := t.TempDir()
	key := newUserKey(t, data, "memory", "--admin")
	for _, b := range budgets {
		args := []string{"--decode-workers", b.workers}
		if b.limit != "" {
			args = append(args, "--memory-limit", b.limit)
		}
		in := startPicbed(t, data, args...)
		s := runLoadtest(t, in, key, "-clients", "16", "-only-large")
		rss := peakRSS(t, in.cmd.Process.Pid)
		in.stop()
		t.Logf("--decode-workers %s --memory-limit %q: 16 concurrent 12 MP uploads (%.1f MB) in %.1fs, %d verified, %d failures; picbed peak RSS %s",
			b.workers, b.limit, float64(s.UploadBytes)/1e6, s.Seconds, s.Verified, s.Failures, mb(rss))
		if s.Failures != 0 || s.Lost != 0 || s.UploadsLarge != 16 {
			t.Errorf("workers %s: %d of 16 stored, %d failures, %d lost:\n%s", b.workers, s.UploadsLarge, s.Failures, s.Lost, strings.Join(s.FailureSample, "\n"))
		}
		// One 12 MP decode needs about 40 MB; 16 at once took ~700 MB on
		// the reference machine. One worker must stay far below that.
		if b.workers == "1" && b.limit == "" && rss > 256<<20 {
			t.Errorf("--decode-workers 1: peak RSS %s, want under 256 MB", mb(rss))
		}
	}
}

// trickleReader yields its data in chunks of n bytes, one per every.
type trickleReader struct {
	data  []byte
	n     int
	every time.Duration
}

func (r *trickleReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.every)
	k := copy(p[:min(len(p), r.n)], r.data)
	r.data = r.data[k:]
	return k, nil
}

// TestSlowClients opens 100 connections that trickle their headers and 20
// that trickle an upload body while normal clients upload and download:
// the normal requests all succeed, header tricklers are cut by
// ReadHeaderTimeout (10 s) and body tricklers by --upload-stall-timeout
// (2 s here), long before the 5-minute body limit; an upload that is slow
// but keeps above 16 KiB per stall period still succeeds.
func TestSlowClients(t *testing.T) {
	const (
		headerTricklers = 100
		bodyTricklers   = 20
		stall           = 2 * time.Second
	)
	data := t.TempDir()
	key := newUserKey(t, data, "slow", "--admin")
	in := startPicbed(t, data, "--upload-stall-timeout", stall.String())
	addr := strings.TrimPrefix(in.base, "http://")
	small, photo := fixture(t, "small.png"), fixture(t, "noise300.png")

	// cut dials, sends head, then trickles tail a few bytes at a time until
	// the server closes the connection; it returns how long that took and
	// the first line of any answer.
	cut := func(head string, tail []byte, chunk int, every time.Duration) (time.Duration, string, error) {
		start := time.Now()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return 0, "", err
		}
		defer c.Close()
		c.SetDeadline(start.Add(60 * time.Second)) // the test's own bound
		closed := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(c).ReadString('\n')
			io.Copy(io.Discard, c)
			closed <- strings.TrimSpace(line)
		}()
		if _, err := io.WriteString(c, head); err != nil {
			return 0, "", err
		}
		for len(tail) > 0 {
			select {
			case line := <-closed:
				return time.Since(start), line, nil
			case <-time.After(every):
			}
			k := min(chunk, len(tail))
			if _, err := c.Write(tail[:k]); err != nil {
				break // reset by the server: wait for the reader to see it
			}
			tail = tail[k:]
		}
		return time.Since(start), <-closed, nil
	}

	type result struct {
		d    time.Duration
		line string
		err  error
	}
	headerRes := make(chan result, headerTricklers)
	bodyRes := make(chan result, bodyTricklers)
	var slow sync.WaitGroup
	for i := range headerTricklers {
		slow.Go(func() {
			tail := []byte(strings.Repeat(fmt.Sprintf("X-Slow-%d: x\r\n", i), 1000))
			d, line, err := cut("POST /api/1/upload HTTP/1.1\r\nHost: "+addr+"\r\n", tail, 4, 200*time.Millisecond)
			headerRes <- result{d, line, err}
		})
	}
	bd := "------------------------slowbody0123456789"
	body := multipartBody(bd, part{name: "source", filename: "slow.png", ctype: "image/png", data: photo})
	for range bodyTricklers {
		slow.Go(func() {
			head := fmt.Sprintf("POST /api/1/upload HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n", addr, key, bd, len(body))
			d, line, err := cut(head, body, 50, 250*time.Millisecond)
			bodyRes <- result{d, line, err}
		})
	}
	// A slow but honest upload: 24 KiB every 0.5 s, about 7 s in all.
	honest := make(chan error, 1)
	slow.Go(func() {
		req, _ := http.NewRequest("POST", in.base+"/api/1/upload", &trickleReader{data: body, n: 24 << 10, every: 500 * time.Millisecond})
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+bd)
		req.Header.Set("X-API-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			honest <- err
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			err = fmt.Errorf("HTTP %d %s", resp.StatusCode, b)
		}
		honest <- err
	})
	slowDone := make(chan struct{})
	go func() { slow.Wait(); close(slowDone) }()

	// Normal clients work while the slow ones hold their connections.
	var ok, failed atomic.Int64
	var normal sync.WaitGroup
	var failMu sync.Mutex
	var failures []string
	for w := range 4 {
		normal.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-slowDone:
					return
				default:
				}
				a, err := upload(in.base, key, fmt.Sprintf("n%d-%d.png", w, i), small, withClient(c))
				if err == nil {
					err = a.jsonErr
				}
				status, b := a.status, a.body
				if err == nil && status == 200 {
					var resp *http.Response
					if resp, err = c.Get(a.doc.Image.URL); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						status = resp.StatusCode
					}
				}
				if err != nil || status != 200 {
					failed.Add(1)
					failMu.Lock()
					failures = append(failures, fmt.Sprintf("%d %v %.200s", status, err, b))
					failMu.Unlock()
					continue
				}
				ok.Add(1)
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	select {
	case <-slowDone:
	case <-time.After(90 * time.Second):
		t.Fatal("slow clients still connected after 90 s")
	}
	normal.Wait()
	close(headerRes)
	close(bodyRes)

	var maxHeader, maxBody time.Duration
	for r := range headerRes {
		if r.err != nil {
			t.Errorf("header trickler: %v", r.err)
		}
		maxHeader = max(maxHeader, r.d)
		if r.d > 20*time.Second {
			t.Errorf("a header trickler held its connection for %s (ReadHeaderTimeout is 10 s)", r.d)
		}
	}
	lines := map[string]int{}
	for r := range bodyRes {
		if r.err != nil {
			t.Errorf("body trickler: %v", r.err)
		}
		lines[r.line]++
		maxBody = max(maxBody, r.d)
		if r.d > stall+8*time.Second {
			t.Errorf("a body trickler held its connection for %s (stall timeout %s)", r.d, stall)
		}
	}
	if err := <-honest; err != nil {
		t.Errorf("slow but steady upload: %v", err)
	}
	t.Logf("%d header tricklers cut after at most %s, %d body tricklers after at most %s (answers %v); %d normal uploads+downloads meanwhile, %d failed",
		headerTricklers, maxHeader.Round(100*time.Millisecond), bodyTricklers, maxBody.Round(100*time.Millisecond), lines, ok.Load(), failed.Load())
	if failed.Load() > 0 || ok.Load() == 0 {
		t.Errorf("normal requests during the slow-client attack: %d ok, %d failed: %v", ok.Load(), failed.Load(), failures)
	}
}

// TestMemoryFlags: --memory-limit and --decode-workers reach the runtime
// and the server (the start-up line reports both), GOMEMLIMIT keeps working
// without the flag, and bad values are refused.
func TestMemoryFlags(t *testing.T) {
	data := t.TempDir()
	// startPicbed returns on seeing the line in the pipe, maybe just before
	// it reaches the log buffer.
	logged := func(in *instance, s string) bool {
		for range 100 {
			if strings.Contains(in.log.String(), s) {
				return true
			}
			time.Sleep(20 * time.Millisecond)
		}
		return false
	}
	in := startPicbed(t, data, "--memory-limit", "256MB", "--decode-workers", "3")
	if !logged(in, "decode_workers=3 memory_limit=256000000") {
		t.Errorf("start-up line lacks the budget:\n%s", in.log)
	}
	in.stop()
	t.Setenv("GOMEMLIMIT", "300MiB")
	in = startPicbed(t, data)
	if !logged(in, fmt.Sprintf("memory_limit=%d", 300<<20)) {
		t.Errorf("GOMEMLIMIT=300MiB not in effect:\n%s", in.log)
	}
	in.stop()
	for _, args := range [][]string{
		{"--decode-workers", "0"}, {"--decode-workers", "many"},
		{"--memory-limit", "lots"}, {"--memory-limit", "0"},
		{"--upload-stall-timeout", "-1s"}, {"--upload-stall-timeout", "30"},
	} {
		if _, err := picbedErr("", append([]string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, args...)...); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("serve %s: %v, want a refusal naming the flag", strings.Join(args, " "), err)
		}
	}
}
