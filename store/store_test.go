package store

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// mustOpenStore opens a store in dir and closes it when the test ends.
func mustOpenStore(tb testing.TB, dir string) *Store {
	tb.Helper()
	s, err := Open(dir, Options{Location: time.UTC, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// crash closes the database without Close, as if the process died: the
// clean-shutdown flag stays unset.
func crash(tb testing.TB, s *Store) {
	tb.Helper()
	s.closeOnce.Do(func() {}) // the deferred Close becomes a no-op
	if err := s.db.Close(); err != nil {
		tb.Fatal(err)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	mustOpenStore(t, dir)
	start := time.Now()
	s2, err := Open(dir, Options{})
	took := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of the same dir succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "in use by another picbed") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("message %q does not say the data dir %s is in use by another picbed", err, dir)
	}
	if took < 500*time.Millisecond || took > 3*time.Second {
		t.Fatalf("second Open failed after %v, want about 1s", took)
	}
}

func TestOpenCreatesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	s := mustOpenStore(t, dir)
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v, %v; want 0700", fi, err)
	}
	if s.ImagesDir() != filepath.Join(dir, "images") {
		t.Fatalf("ImagesDir = %q", s.ImagesDir())
	}
	for _, p := range []string{"picbed.db", "images", "tmp"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	u, err := s.CreateUser("alice", "secret1", true)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := s.CreateAPIKey(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	img := mustPut(t, s, Image{OwnerID: u.ID, Name: "keep", Ext: "jpg", Date: testDate, MD5: "abc"}, threeFiles("k"))
	salt, padding, enc, tok := s.salt, s.padding, s.EncodeID(img.ID), s.DeleteToken(img.ID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s = mustOpenStore(t, dir)
	if s.salt != salt || s.padding != padding || s.EncodeID(img.ID) != enc || s.DeleteToken(img.ID) != tok {
		t.Fatal("per-install settings changed on reopen")
	}
	if _, err := s.CheckPassword("alice", "secret1"); err != nil {
		t.Fatalf("user lost: %v", err)
	}
	if got, _, err := s.AuthAPIKey(key); err != nil || got.ID != u.ID {
		t.Fatalf("api key lost: %v", err)
	}
	got, err := s.Image(img.ID)
	if err != nil || !reflect.DeepEqual(got, img) {
		t.Fatalf("image after reopen = %+v, %v; want %+v", got, err, img)
	}
	if dup, err := s.FindDuplicate(u.ID, "abc"); err != nil || dup.ID != img.ID {
		t.Fatalf("md5 index lost: %v", err)
	}
	next := mustPut(t, s, Image{Name: "next", Ext: "jpg", Date: testDate}, threeFiles("n"))
	if next.ID <= img.ID {
		t.Fatalf("id %d reused after reopen (previous %d)", next.ID, img.ID)
	}
	for _, v := range variants {
		if _, err := os.Stat(s.FilePath(img, v)); err != nil {
			t.Fatalf("file lost: %v", err)
		}
	}
}

func TestOpenSweepsOrphansAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	real := mustPut(t, s, Image{Name: "real", Ext: "jpg", Date: testDate}, map[Variant]string{Full: "f", Thumb: "t"})
	u := newUpload(t, s, threeFiles("in flight")) // staged, never committed
	_ = u
	day := filepath.Join(s.ImagesDir(), "2026", "11", "27")
	strays := []string{
		filepath.Join(day, "linked-but-not-committed.jpg"),
		filepath.Join(day, "linked-but-not-committed.th.jpg"),
		filepath.Join(day, "real.md.jpg"), // real has no medium
		filepath.Join(day, "real.png"),    // real is a jpg
		filepath.Join(day, ".picbed-tmp-123"),
		filepath.Join(day, "noext"),
		filepath.Join(s.ImagesDir(), "2026", "stray-at-year-level.jpg"),
	}
	for _, p := range strays {
		if err := os.WriteFile(p, []byte("stray"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	crash(t, s)

	s = mustOpenStore(t, dir)
	if files := treeFiles(t, filepath.Join(dir, "tmp")); len(files) != 0 {
		t.Fatalf("tmp not cleared: %v", files)
	}
	want := []string{"2026/11/27/real.jpg", "2026/11/27/real.th.jpg"}
	if files := treeFiles(t, s.ImagesDir()); !reflect.DeepEqual(files, want) {
		t.Fatalf("images after sweep = %v, want %v", files, want)
	}
	if _, err := s.Image(real.ID); err != nil {
		t.Fatalf("real image lost: %v", err)
	}
}

func TestOpenSweepScope(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	mustPut(t, s, Image{Name: "real", Ext: "jpg", Date: testDate}, map[Variant]string{Full: "f"})
	oldDay := filepath.Join(s.ImagesDir(), "2020", "01", "02")
	if err := os.MkdirAll(oldDay, 0o755); err != nil {
		t.Fatal(err)
	}
	oldStray := filepath.Join(oldDay, "old-stray.jpg")
	if err := os.WriteFile(oldStray, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	longAgo := time.Now().Add(-72 * time.Hour)
	if err := os.Chtimes(oldDay, longAgo, longAgo); err != nil {
		t.Fatal(err)
	}
	newStray := filepath.Join(s.ImagesDir(), "2026", "11", "27", "new-stray.jpg")
	if err := os.WriteFile(newStray, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	// After a clean shutdown nothing is walked.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpenStore(t, dir)
	if !exists(newStray) || !exists(oldStray) {
		t.Fatal("clean shutdown: the sweep should have been skipped")
	}

	// After a crash only folders changed since the last sweep are walked.
	crash(t, s)
	s = mustOpenStore(t, dir)
	if exists(newStray) {
		t.Fatal("crash: stray in a recently changed folder survived")
	}
	if !exists(oldStray) {
		t.Fatal("crash: a folder untouched since before the last sweep was walked")
	}

	// A failed removal while running forces a full walk next time.
	s.markDirty()
	crash(t, s)
	s = mustOpenStore(t, dir)
	if exists(oldStray) {
		t.Fatal("full sweep requested: old stray survived")
	}
	if files := treeFiles(t, s.ImagesDir()); !reflect.DeepEqual(files, []string{"2026/11/27/real.jpg"}) {
		t.Fatalf("images = %v", files)
	}
	// ...and only once.
	var full bool
	s.db.View(func(tx *bolt.Tx) error { full = tx.Bucket(bucketMeta).Get(metaFullSweep) != nil; return nil })
	if full {
		t.Fatal("full-sweep flag not cleared after the sweep")
	}
}

func TestOpenDropsRecordsWithoutFiles(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	lost := mustPut(t, s, Image{Name: "lost", Ext: "jpg", Date: testDate, MD5: "lostmd5"}, threeFiles("l"))
	kept := mustPut(t, s, Image{Name: "kept", Ext: "jpg", Date: testDate}, threeFiles("k"))
	if err := os.Remove(s.FilePath(lost, Full)); err != nil {
		t.Fatal(err)
	}
	crash(t, s)

	s = mustOpenStore(t, dir)
	if _, err := s.Image(lost.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("record without its file survived Open: %v", err)
	}
	if _, err := s.FindDuplicate(0, "lostmd5"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("index entry of the dropped record survived: %v", err)
	}
	if _, err := s.Image(kept.ID); err != nil {
		t.Fatalf("intact image dropped: %v", err)
	}
	want := []string{"2026/11/27/kept.jpg", "2026/11/27/kept.md.jpg", "2026/11/27/kept.th.jpg"}
	if files := treeFiles(t, s.ImagesDir()); !reflect.DeepEqual(files, want) {
		t.Fatalf("images = %v, want %v (leftover variants of the dropped record removed)", files, want)
	}
}
