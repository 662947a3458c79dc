package e2e

// Crash consistency: picbed is killed with SIGKILL at random moments while
// clients upload and delete, restarted on the same data dir each time, and
// the data dir is checked between runs with the store opened directly.

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"picbed/store"
)

// crashFixtures are the real images the crash test uploads: every format,
// with and without a medium, small and large enough to be killed mid-write.
var crashFixtures = []string{"photo.jpg", "photo.png", "small.png", "small.jpg", "anim.gif", "image.webp", "image.bmp", "noise300.png"}

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

// answered is an upload the server answered with success.
type answered struct {
	id                  string // id_encoded
	file, thumb, medium string // paths under images/ ("" medium: none)
	md5                 string // image.md5 of the answer
	deletePath          string // /image/ID/delete/TOKEN
	// deleting: a delete was sent; deleted: it was answered with success.
	// A delete sent but never answered may or may not have happened.
	deleting, deleted bool
}

// relImage turns an image URL of an answer into its path under images/.
func relImage(u string) string {
	if u == "" {
		return ""
	}
	_, rel, ok := strings.Cut(u, "/images/")
	if !ok {
		return "?" + u
	}
	return rel
}

// answerOf records a successful upload answer.
func answerOf(r apiResponse) *answered {
	a := &answered{id: r.Image.IDEncoded, file: relImage(r.Image.URL), thumb: relImage(r.Image.Thumb.URL), md5: r.Image.MD5}
	if r.Image.Medium != nil {
		a.medium = relImage(r.Image.Medium.URL)
	}
	if i := strings.Index(r.Image.DeleteURL, "/image/"); i >= 0 {
		a.deletePath = r.Image.DeleteURL[i:]
	}
	return a
}

// postDelete POSTs a delete link; ok means an answer of 200.
func postDelete(c *http.Client, url string) (status int, err error) {
	resp, err := c.Post(url, "application/x-www-form-urlencoded", nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// ledger is what the clients of a crash test were told, shared by workers.
type ledger struct {
	mu     sync.Mutex
	images []*answered
	// failures are answers that are neither success nor a cut connection.
	failures []string
	uploads  int // answered with success
	deletes  int // answered with success
}

// pickDeletable claims a random image nobody is deleting.
func (l *ledger) pickDeletable(rng *rand.Rand) *answered {
	l.mu.Lock()
	defer l.mu.Unlock()
	var live []*answered
	for _, a := range l.images {
		if !a.deleting {
			live = append(live, a)
		}
	}
	if len(live) == 0 {
		return nil
	}
	a := live[rng.IntN(len(live))]
	a.deleting = true
	return a
}

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

var startupCheckRE = regexp.MustCompile(`orphan_files_removed=(\d+) records_without_files_deleted=(\d+)`)

// dirCheck is what checkDataDir found.
type dirCheck struct {
	records       map[string]store.Image // by encoded id
	orphans       int                    // files the start-up sweep removed
	tmpBeforeOpen int                    // staging files left by the crash
}

// checkDataDir checks a data dir no process has open: the bbolt file passes
// bbolt's own consistency check, the store opens (running its start-up
// recovery), no record was missing its files, and afterwards records and
// files agree exactly and tmp/ is empty. It returns the records of owner.
func checkDataDir(t testing.TB, data, owner string) dirCheck {
	t.Helper()
	var dc dirCheck
	if ents, err := os.ReadDir(filepath.Join(data, "tmp")); err == nil {
		dc.tmpBeforeOpen = len(ents)
	}
	db, err := bolt.Open(filepath.Join(data, "picbed.db"), 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("bbolt cannot open the database: %v", err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	db.Close()
	if err != nil {
		t.Fatalf("bbolt check of the database: %v", err)
	}

	var logBuf lockedBuffer
	st, err := store.Open(data, store.Options{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatalf("store.Open after the kill: %v\n%s", err, logBuf.String())
	}
	defer st.Close()
	m := startupCheckRE.FindStringSubmatch(logBuf.String())
	if m == nil {
		t.Fatalf("store.Open logged no start-up check:\n%s", logBuf.String())
	}
	dc.orphans, _ = strconv.Atoi(m[1])
	if m[2] != "0" {
		t.Errorf("store.Open deleted %s records whose files were missing: a committed record lost its files\n%s", m[2], logBuf.String())
	}
	if ents, err := os.ReadDir(filepath.Join(data, "tmp")); err != nil || len(ents) != 0 {
		t.Errorf("tmp/ after store.Open: %d entries, %v", len(ents), err)
	}

	u, err := st.UserByName(owner)
	if err != nil {
		t.Fatal(err)
	}
	dc.records = map[string]store.Image{}
	want := map[string]int64{} // every file a record names -> its size
	for before := uint64(0); ; {
		imgs, err := st.Images(u.ID, before, store.MaxImagesLimit)
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) == 0 {
			break
		}
		for _, img := range imgs {
			again, err := st.Image(img.ID)
			if err != nil || again.File(store.Full) != img.File(store.Full) {
				t.Errorf("Image(%d): %v", img.ID, err)
			}
			dc.records[st.EncodeID(img.ID)] = img
			want[img.File(store.Full)] = img.Size
			want[img.File(store.Thumb)] = img.ThumbSize
			if img.MediumSize > 0 {
				want[img.File(store.Medium)] = img.MediumSize
			}
			before = img.ID
		}
	}
	seen := map[string]bool{}
	walkImages(t, data, func(rel string) {
		seen[rel] = true
		size, ok := want[rel]
		if !ok {
			t.Errorf("file without a record after start-up: images/%s", rel)
			return
		}
		if fi, err := os.Stat(filepath.Join(data, "images", rel)); err != nil || fi.Size() != size {
			t.Errorf("images/%s: %v, size differs from the record's %d", rel, err, size)
		}
	})
	for rel := range want {
		if !seen[rel] {
			t.Errorf("record names a missing file: images/%s", rel)
		}
	}
	return dc
}

// checkAnswered checks the ledger against the records: every upload
// answered with success is there, complete and with the answered md5,
// unless a delete of it was answered with success; then nothing is left.
func checkAnswered(t testing.TB, data string, l *ledger, records map[string]store.Image) (present int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.images {
		img, ok := records[a.id]
		switch {
		case a.deleted:
			// Its files are gone too, or their names were reused by a
			// later upload: checkDataDir found no file without a record.
			if ok {
				t.Errorf("image %s (images/%s): deleted with a success answer, but its record is back", a.id, a.file)
			}
			continue
		case !ok && a.deleting:
			a.deleted = true // a delete in flight at the kill happened
			continue
		case !ok:
			t.Errorf("images/%s: upload answered with success, but its record is gone", a.file)
			continue
		}
		present++
		a.deleting = false // a delete in flight at the kill did not happen
		if img.File(store.Full) != a.file || img.File(store.Thumb) != a.thumb || (a.medium != "") != (img.MediumSize > 0) || (a.medium != "" && img.File(store.Medium) != a.medium) {
			t.Errorf("images/%s: record variants %q %q differ from the answer %q %q", a.file, img.File(store.Thumb), img.File(store.Medium), a.thumb, a.medium)
		}
		b, err := os.ReadFile(filepath.Join(data, "images", a.file))
		if sum := md5.Sum(b); err != nil || hex.EncodeToString(sum[:]) != a.md5 {
			t.Errorf("images/%s: md5 %x (%v), answered %s", a.file, sum, err, a.md5)
		}
	}
	return present
}

// fetchAnswered downloads every live answered image from base and compares
// the md5 of the served original with the answer.
func fetchAnswered(t testing.TB, base string, l *ledger) int {
	t.Helper()
	l.mu.Lock()
	live := slices.DeleteFunc(slices.Clone(l.images), func(a *answered) bool { return a.deleting })
	l.mu.Unlock()
	for _, a := range live {
		for _, f := range []string{a.thumb, a.medium} {
			if f == "" {
				continue
			}
			if resp, _ := get(t, base+"/images/"+f); resp.StatusCode != 200 {
				t.Errorf("GET images/%s: %s", f, resp.Status)
			}
		}
		resp, b := get(t, base+"/images/"+a.file)
		if sum := md5.Sum(b); resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != a.md5 {
			t.Errorf("GET images/%s: %s, md5 %x, answered %s", a.file, resp.Status, sum, a.md5)
		}
	}
	return len(live)
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

// TestDiskFull fills a 2 MB tmpfs data dir with uploads until picbed answers
// Chevereto's "No space left on storage" (104), fills the rest with 4 KiB
// filler files and gives them back one by one with uploads in between (so
// the disk runs out in each variant write and in the bbolt commit), checks
// that the refused uploads left no file and no record behind, frees space
// with a delete link and uploads again. It needs root to mount the tmpfs and skips otherwise, unless
// PICBED_REQUIRE_ROOT_TESTS=1 (CI) makes that a failure.
func TestDiskFull(t *testing.T) {
	skip := t.Skipf
	if os.Getenv("PICBED_REQUIRE_ROOT_TESTS") == "1" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("TestDiskFull needs root to mount a 2 MB tmpfs (PICBED_REQUIRE_ROOT_TESTS=1 makes this a failure)")
	}
	mnt := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		skip("cannot mount a tmpfs on %s: %v %s", mnt, err, out)
	}
	// Registered before startPicbed's cleanup, so it runs after picbed stopped.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	data := filepath.Join(mnt, "data")
	key := newUserKey(t, data, "full", "--admin")
	in := startPicbed(t, data, "--duplicates", "allow")
	c := &http.Client{Timeout: 30 * time.Second}
	l := &ledger{}
	// try uploads name and reports whether it was refused for lack of space.
	try := func(name string) (full bool) {
		t.Helper()
		a, err := upload(in.base, key, name, fixture(t, name), withClient(c))
		r := a.doc
		switch {
		case err != nil || a.jsonErr != nil:
			t.Fatalf("upload %s: %v %v %s", name, err, a.jsonErr, a.body)
		case a.status == 200:
			l.images = append(l.images, answerOf(r))
			return false
		case a.status == 400 && r.Error != nil && r.Error.Code == 104 && r.Error.Message == "No space left on storage" && r.StatusCode == 400:
			waitEmpty(t, filepath.Join(data, "tmp"), 5*time.Second) // after a refused upload
			return true
		}
		t.Fatalf("upload %s on a full disk: HTTP %d %s\nlog:\n%s", name, a.status, a.body, in.log)
		return false
	}
	refused := 0
	// Large incompressible images until the first refusal.
	for _, name := range []string{"noise300.png"} {
		for range 100 {
			if try(name) {
				refused++
				break
			}
		}
	}
	if refused == 0 || len(l.images) == 0 {
		t.Fatalf("%d uploads stored, %d refused: the disk never filled", len(l.images), refused)
	}
	// Squeeze: take what is left with 4 KiB filler files (outside the data
	// dir), then give them back one at a time with a small upload after
	// each, so that the disk runs out at each step in turn: the received
	// bytes, each variant, the database commit.
	fillDir := filepath.Join(mnt, "filler")
	if err := os.Mkdir(fillDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var fillers []string
	for i := 0; ; i++ {
		p := filepath.Join(fillDir, strconv.Itoa(i))
		if err := os.WriteFile(p, make([]byte, 4096), 0o644); err != nil {
			os.Remove(p)
			break
		}
		fillers = append(fillers, p)
	}
	squeezed := 0
	for _, p := range fillers {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"small.jpg", "small.png"} {
			if try(name) {
				squeezed++
			}
		}
	}
	refused += squeezed
	t.Logf("disk full: %d uploads stored, %d refused with code 104 (%d while %d filler pages were given back one by one)", len(l.images), refused, squeezed, len(fillers))

	// Exactly the answered files are on disk: no partial file of a refusal.
	want := map[string]bool{}
	for _, a := range l.images {
		for _, f := range []string{a.file, a.thumb, a.medium} {
			if f != "" {
				want[f] = true
			}
		}
	}
	walkImages(t, data, func(rel string) {
		if !want[rel] {
			t.Errorf("images/%s: no successful upload answered this file", rel)
		}
		delete(want, rel)
	})
	for rel := range want {
		t.Errorf("images/%s: answered, but missing", rel)
	}

	// Free space through a delete link; uploads work again.
	if status, err := postDelete(c, in.base+l.images[0].deletePath); err != nil || status != 200 {
		t.Fatalf("delete on a full disk: %d %v", status, err)
	}
	l.images[0].deleted, l.images[0].deleting = true, true
	if try("photo.png") {
		t.Fatalf("upload still refused after freeing space\nlog:\n%s", in.log)
	}
	fetchAnswered(t, in.base, l)

	in.stop()
	dc := checkDataDir(t, data, "full")
	if dc.orphans != 0 {
		t.Errorf("the start-up sweep removed %d files after a clean stop", dc.orphans)
	}
	if present := checkAnswered(t, data, l, dc.records); present != len(dc.records) || present != len(l.images)-1 {
		t.Errorf("%d records, %d answered images present, want %d", len(dc.records), present, len(l.images)-1)
	}
}
