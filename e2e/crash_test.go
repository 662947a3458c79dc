package e2e

// Crash consistency: picbed is killed with SIGKILL at random moments while
// clients upload and delete, restarted on the same data dir each time, and
// the data dir is checked between runs with the store opened directly.

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// crashFixtures are the real images the crash test uploads: every format,
// with and without a medium, small and large enough to be killed mid-write.
var crashFixtures = []string{"photo.jpg", "photo.png", "small.png", "small.jpg", "anim.gif", "image.webp", "image.bmp", "noise300.png"}

// runCrashWorker uploads and deletes against base until stop is closed.
func runCrashWorker(base, key string, fixtures map[string][]byte, l *ledger, stop <-chan struct{}, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	c := &http.Client{Timeout: 30 * time.Second}
	for {
		select {
		case <-stop:
			return
		default:
		}
		if rng.IntN(4) == 0 {
			a := l.pickDeletable(rng)
			if a == nil {
				continue
			}
			status, err := postDelete(c, base+a.deletePath)
			l.mu.Lock()
			switch {
			case err != nil: // cut by the kill: the delete may or may not have happened
			case status == 200:
				a.deleted = true
				l.deletes++
			default:
				l.failures = append(l.failures, fmt.Sprintf("delete %s: HTTP %d", a.file, status))
			}
			l.mu.Unlock()
			if err != nil {
				return
			}
			continue
		}
		name := crashFixtures[rng.IntN(len(crashFixtures))]
		a, err := upload(base, key, name, fixtures[name], withClient(c))
		l.mu.Lock()
		switch {
		case err != nil: // no answer: cut by the kill
		case a.status == 200 && a.jsonErr == nil && a.doc.Image.URL != "":
			l.images = append(l.images, answerOf(a.doc))
			l.uploads++
		default:
			l.failures = append(l.failures, fmt.Sprintf("upload %s: HTTP %d %v %.300s", name, a.status, a.jsonErr, a.body))
		}
		l.mu.Unlock()
		if err != nil || a.jsonErr != nil {
			return
		}
	}
}

// TestCrashConsistency kills picbed with SIGKILL at random moments of a
// concurrent upload/delete workload (PICBED_CRASH_KILLS times, default 20)
// and checks the data dir after every kill and the served images after
// every restart.
func TestCrashConsistency(t *testing.T) {
	kills := envInt(t, "PICBED_CRASH_KILLS", 20)
	const workers = 4
	fixtures := map[string][]byte{}
	for _, name := range crashFixtures {
		fixtures[name] = fixture(t, name)
	}
	data := t.TempDir()
	key := newUserKey(t, data, "crash", "--admin")
	l := &ledger{}
	seed := rand.Uint64()
	t.Logf("seed %d, %d kills, %d workers", seed, kills, workers)
	rng := rand.New(rand.NewPCG(seed, 1))
	start := time.Now()
	orphans, leftTmp, startKills := 0, 0, 0
	for i := range kills {
		// --duplicates allow: every answered upload is its own image, so a
		// delete of one never takes another's record with it.
		in := startPicbed(t, data, "--duplicates", "allow")
		if ents, err := os.ReadDir(filepath.Join(data, "tmp")); err != nil || len(ents) != 0 {
			t.Errorf("run %d: tmp/ after start: %d entries, %v", i, len(ents), err)
		}
		if i > 0 {
			fetchAnswered(t, in.base, l)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() { runCrashWorker(in.base, key, fixtures, l, stop, seed+uint64(i*workers+w)) })
		}
		time.Sleep(time.Duration(20+rng.IntN(600)) * time.Millisecond)
		in.cmd.Process.Kill()
		<-in.exited // Wait returned: ProcessState is set and stop() is a no-op
		close(stop)
		wg.Wait()

		if i%4 == 3 {
			// Now and then a second kill lands in the next start-up itself,
			// while it empties tmp/ and sweeps what the first one left.
			cmd := exec.Command(picbedBin, "serve", "--addr", "127.0.0.1:0", "--data", data)
			cmd.Env = cleanEnv()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
			cmd.Process.Kill()
			cmd.Wait()
			startKills++
		}

		dc := checkDataDir(t, data, "crash")
		present := checkAnswered(t, data, l, dc.records)
		orphans += dc.orphans
		leftTmp += dc.tmpBeforeOpen
		l.mu.Lock()
		for _, f := range l.failures {
			t.Errorf("run %d: %s", i, f)
		}
		l.failures = nil
		t.Logf("kill %d: %d uploads and %d deletes answered so far, %d images present, %d records; the kill left %d staging files, %d orphan files",
			i+1, l.uploads, l.deletes, present, len(dc.records), dc.tmpBeforeOpen, dc.orphans)
		l.mu.Unlock()
		if t.Failed() {
			t.FailNow()
		}
	}
	in := startPicbed(t, data)
	served := fetchAnswered(t, in.base, l)
	t.Logf("survived %d kills under load and %d during start-up in %s: %d uploads and %d deletes answered, %d images served with their md5 at the end; kills left %d staging files and %d orphan files, all cleaned at start",
		kills, startKills, time.Since(start).Round(time.Second), l.uploads, l.deletes, served, leftTmp, orphans)
}
