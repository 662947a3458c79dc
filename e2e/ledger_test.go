package e2e

// What the clients of a crash or disk-full test were told (the ledger), and
// the checks of a data dir against it: bbolt's own check, the store's
// start-up recovery, records and files agreeing, every answered image there.

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
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
