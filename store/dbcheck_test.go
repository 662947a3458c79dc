package store

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// damageFixture is a data dir closed cleanly: a user with a key and an
// album, and 60 images (enough for branch pages in the image buckets).
// It returns the dir and its picbed.db as written.
func damageFixture(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	u := mustCreateUser(t, s, "owner")
	if _, _, err := s.CreateAPIKey(u.ID); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAlbum(u.ID, "trip", "", PrivacyPublic, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		img := Image{OwnerID: u.ID, Name: fmt.Sprintf("img%02d", i), Ext: "png", Date: testDate,
			Title: strings.Repeat("a title ", 20), MD5: md5hex(fmt.Sprint(i))}
		if i%2 == 0 {
			img.AlbumID = a.ID
		}
		mustPut(t, s, img, threeFiles(fmt.Sprint(i)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, "picbed.db"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, good
}

// openDamaged writes db as dir's picbed.db (or removes it, for nil) and
// opens the store. A panic fails the test (a bus error would kill it). If
// Open succeeds, it reads all of the owner's images and closes the store.
func openDamaged(t *testing.T, dir string, db []byte) (err error) {
	t.Helper()
	p := filepath.Join(dir, "picbed.db")
	if db == nil {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	} else if err := os.WriteFile(p, db, 0o600); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Open panicked: %v", r)
		}
	}()
	s, err := Open(dir, Options{Location: time.UTC, Logger: quietLog})
	if err != nil {
		return err
	}
	defer s.Close()
	s.Images(1, 0, MaxImagesLimit) // may fail on a damaged value; must not panic
	return nil
}

// pageInfo returns the page size, page count and the free pages of db.
func pageInfo(t *testing.T, db []byte) (ps int, hw uint64, free map[uint64]bool) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(p, db, 0o600); err != nil {
		t.Fatal(err)
	}
	bdb, err := bolt.Open(p, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	free = map[uint64]bool{}
	err = bdb.View(func(tx *bolt.Tx) error {
		hw = uint64(tx.Size()) / uint64(bdb.Info().PageSize)
		for id := range hw {
			info, err := tx.Page(int(id))
			if err != nil {
				return err
			}
			if info != nil && info.Type == "free" {
				free[id] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bdb.Info().PageSize, hw, free
}

// wantDamaged checks err is the clear answer to a damaged picbed.db.
func wantDamaged(t *testing.T, err error, dir, what string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: opened", what)
	case !errors.Is(err, ErrCorrupt):
		t.Errorf("%s: %v, want ErrCorrupt", what, err)
	case !strings.Contains(err.Error(), filepath.Join(dir, "picbed.db")) || !strings.Contains(err.Error(), "restore a backup"):
		t.Errorf("%s: %q does not name the file and say to restore a backup", what, err)
	}
}

// TestOpenDamagedDatabase: a picbed.db cut short, emptied, overwritten or
// with garbled pages is refused with an error that names the file, says
// what is wrong and to restore a backup, never a panic or a bus error; no
// image file is touched. Damage that leaves nothing wrong (a zeroed free
// page, a lost newest meta page, which bbolt survives by design) opens.
func TestOpenDamagedDatabase(t *testing.T) {
	dir, good := damageFixture(t)
	images := treeState(t, filepath.Join(dir, "images"))
	ps, hw, free := pageInfo(t, good)
	unchanged := func(what string) {
		t.Helper()
		if got := treeState(t, filepath.Join(dir, "images")); !reflect.DeepEqual(got, images) {
			t.Fatalf("%s: the image files changed", what)
		}
	}
	m0, ok0 := parseMeta(good)
	m1, ok1 := parseMeta(good[ps:])
	if !ok0 || !ok1 || int(m0.pageSize) != ps || max(m0.hw, m1.hw) != hw || len(free) == 0 {
		t.Fatalf("fixture: meta pages %+v %v, %+v %v; page size %d, %d pages, %d free", m0, ok0, m1, ok1, ps, hw, len(free))
	}
	newer := 0
	if m1.txid > m0.txid {
		newer = 1
	}
	zero := func(b []byte, page int) []byte {
		b = append([]byte(nil), b...)
		clear(b[page*ps : (page+1)*ps])
		return b
	}

	for _, tc := range []struct {
		name string
		db   []byte
		want string // in the message
	}{
		// bbolt alone maps a file cut to 4 or 24 of these pages and dies
		// of a SIGBUS reading the freelist or a leaf beyond the end.
		{"cut to 4 pages", good[:4*ps], "cut short"},
		{"cut to 24 pages", good[:24*ps], "cut short"},
		{"cut in half", good[:len(good)/2], "cut short"},
		{"cut inside its last page", good[:int(hw)*ps-100], "cut short"},
		{"cut to one page", good[:ps], "cut short"},
		{"cut to 10 bytes", good[:10], "cut short"},
		{"emptied", []byte{}, "is empty"},
		{"removed", nil, "is missing"},
		{"both meta pages zeroed", zero(zero(good, 0), 1), "neither of its two header"},
		{"overwritten with text", []byte(strings.Repeat("not a database\n", 1000)), "neither of its two header"},
	} {
		err := openDamaged(t, dir, tc.db)
		wantDamaged(t, err, dir, tc.name)
		if err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q does not say %q", tc.name, err, tc.want)
		}
		unchanged(tc.name)
	}

	for _, page := range []int{newer, 1 - newer} {
		if err := openDamaged(t, dir, zero(good, page)); err != nil {
			t.Errorf("meta page %d zeroed (newer: %d): %v; bbolt falls back on the other", page, newer, err)
		}
		unchanged("a meta page zeroed")
	}

	refused := 0
	for page := uint64(2); page < hw; page++ {
		err := openDamaged(t, dir, zero(good, int(page)))
		if free[page] {
			if err != nil {
				t.Errorf("free page %d zeroed: %v", page, err)
			}
		} else {
			wantDamaged(t, err, dir, fmt.Sprintf("page %d zeroed", page))
		}
		unchanged(fmt.Sprintf("page %d zeroed", page))

		// Flipped bits in the page header, the first element and the
		// middle: refused or harmless, never a crash.
		for _, off := range []int{0, 8, 10, 11, 12, 16, 17, 20, 24, ps / 2, ps - 1} {
			b := append([]byte(nil), good...)
			b[int(page)*ps+off] ^= 0x5a
			err := openDamaged(t, dir, b)
			if err != nil {
				wantDamaged(t, err, dir, fmt.Sprintf("page %d byte %d flipped", page, off))
				refused++
			} else if !free[page] && (off == 0 || off == 8) {
				t.Errorf("page %d: flipped byte %d of its header (id, type) not noticed", page, off)
			}
			unchanged(fmt.Sprintf("page %d byte %d flipped", page, off))
		}

		// Random bytes over a page in use.
		if !free[page] {
			b := append([]byte(nil), good...)
			r := rand.New(rand.NewPCG(page, 1))
			for i := int(page) * ps; i < int(page+1)*ps; i++ {
				b[i] = byte(r.Uint32())
			}
			wantDamaged(t, openDamaged(t, dir, b), dir, fmt.Sprintf("page %d random", page))
			unchanged(fmt.Sprintf("page %d random", page))
		}
	}
	t.Logf("%d pages (%d free); %d of %d byte flips refused", hw, len(free), refused, (hw-2)*11)

	if err := openDamaged(t, dir, good); err != nil {
		t.Fatalf("the undamaged file: %v", err)
	}
}

// The file is checked under its lock: a picbed that holds it is reported
// as such, not as damage.
func TestOpenLockedIsNotDamage(t *testing.T) {
	dir := t.TempDir()
	mustOpenStore(t, dir)
	_, err := Open(dir, Options{OpenTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
}
