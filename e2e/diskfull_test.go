package e2e

// A full disk: uploads refused with Chevereto's code 104 leave nothing
// behind, and a delete makes room again.

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

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
