package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestWrapMarksFullDisk(t *testing.T) {
	err := wrap(&fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, "put image %d", 1)
	if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("wrap(ENOSPC) = %v: want both ErrNoSpace and ENOSPC", err)
	}
	if err := wrap(ErrNotFound, "image %d", 1); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrNoSpace) {
		t.Fatalf("wrap(ErrNotFound) = %v", err)
	}
	if wrap(nil, "x") != nil {
		t.Fatal("wrap(nil) != nil")
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchema, u64(schemaVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(dir, Options{}); err == nil {
		s2.Close()
		t.Fatal("opened a database of a newer schema")
	}
}

// TestLinkAcrossFileSystems covers an images/ folder mounted elsewhere: the
// bytes are copied next to the target, then linked.
func TestLinkAcrossFileSystems(t *testing.T) {
	other, err := os.MkdirTemp("/dev/shm", "picbed-test-")
	if err != nil {
		t.Skip("no /dev/shm")
	}
	defer os.RemoveAll(other)
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, []byte("bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(other, "dst.jpg")
	if err := os.Link(src, dst); !errors.Is(err, syscall.EXDEV) {
		os.Remove(dst)
		t.Skipf("/dev/shm is on the same file system as the temp dir (%v)", err)
	}
	if err := linkNoReplace(src, dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "bytes" {
		t.Fatalf("copied %q", b)
	}
	if err := linkNoReplace(src, dst); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second link: %v, want ErrExist", err)
	}
	entries, _ := os.ReadDir(other)
	if len(entries) != 1 {
		t.Fatalf("temp copies left: %v", entries)
	}
}
