package store

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"
)

// stage writes a staged file with body under the data dir's tmp/.
func stage(tb testing.TB, dir, body string) string {
	tb.Helper()
	f, err := os.CreateTemp(filepath.Join(dir, "tmp"), "stage-*")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(body); err != nil {
		tb.Fatal(err)
	}
	return f.Name()
}

// The local tree opens, stats, publishes and removes image file paths
// only: a key a crafted record could hold, naming a file outside the
// images or another file of the data dir, is refused and the file stays.
func TestLocalStorageRefusesOtherPaths(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	victim := filepath.Join(filepath.Dir(dir), "victim", "important.txt")
	if err := os.MkdirAll(filepath.Dir(victim), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(victim)) })
	staged := stage(t, dir, "evil")
	for _, key := range []string{
		"../../victim/important.txt",
		"../" + filepath.Base(filepath.Dir(victim)) + "/important.txt",
		"../picbed.db",
		"2026/11/27/../../../../picbed.db",
		"2026/11/27/a.txt",
		"",
	} {
		if err := s.storage.Remove(key); !errors.Is(err, ErrInvalid) {
			t.Errorf("Remove(%q) = %v, want ErrInvalid", key, err)
		}
		if _, err := s.storage.Stat(key); !errors.Is(err, ErrInvalid) {
			t.Errorf("Stat(%q) = %v, want ErrInvalid", key, err)
		}
		if f, err := s.OpenFile(key); !errors.Is(err, ErrInvalid) {
			if f != nil {
				f.Close()
			}
			t.Errorf("OpenFile(%q) = %v, want ErrInvalid", key, err)
		}
		if err := s.storage.Publish([]StagedFile{{Key: key, Path: staged}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Publish(%q) = %v, want ErrInvalid", key, err)
		}
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "keep me" {
		t.Fatalf("the file outside the data dir: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "picbed.db")); err != nil {
		t.Fatal(err)
	}
}

// Publish is "put if absent" for all the files of an image: a taken name
// fails with fs.ErrExist and leaves nothing of the call behind, and the
// existing file keeps its bytes.
func TestLocalStoragePublishNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	taken := "2026/11/27/a.th.png"
	if err := s.storage.Publish([]StagedFile{{Key: taken, Path: stage(t, dir, "first")}}); err != nil {
		t.Fatal(err)
	}
	err := s.storage.Publish([]StagedFile{
		{Key: "2026/11/27/a.png", Path: stage(t, dir, "full")},
		{Key: taken, Path: stage(t, dir, "second")},
	})
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Publish over a taken name: %v, want ErrExist", err)
	}
	if files := treeFiles(t, s.ImagesDir()); !reflect.DeepEqual(files, []string{taken}) {
		t.Fatalf("images after the refused Publish: %v", files)
	}
	f, err := s.OpenFile(taken)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.(*os.File); !ok {
		t.Errorf("OpenFile gave a %T, want an *os.File (sendfile)", f)
	}
	if b, _ := io.ReadAll(f); string(b) != "first" {
		t.Errorf("the taken file holds %q", b)
	}
	if err := s.storage.Remove("2026/11/27/never.png"); err != nil {
		t.Errorf("Remove of a missing file: %v", err)
	}
}

// Walk lists every file, also what is not an image file, and the remove
// function it passes removes only what it listed in that group.
func TestLocalStorageWalkRemovesOnlyListed(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	for _, rel := range []string{"2026/11/27/a.png", "2026/11/27/.picbed-tmp-1", "2026/11/28/b.jpg", "2026/stray.jpg"} {
		p := filepath.Join(s.ImagesDir(), filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var listed []string
	err := s.storage.Walk(time.Time{}, func(keys []string, remove func(string) error) error {
		listed = append(listed, keys...)
		for _, other := range []string{"2026/11/28/b.jpg", "../picbed.db"} {
			if !slices.Contains(keys, other) {
				if err := remove(other); !errors.Is(err, ErrInvalid) {
					t.Errorf("remove(%q) in the group %v: %v, want ErrInvalid", other, keys, err)
				}
			}
		}
		if slices.Contains(keys, "2026/11/27/.picbed-tmp-1") {
			return remove("2026/11/27/.picbed-tmp-1")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(listed)
	want := []string{"2026/11/27/.picbed-tmp-1", "2026/11/27/a.png", "2026/11/28/b.jpg", "2026/stray.jpg"}
	if !reflect.DeepEqual(listed, want) {
		t.Errorf("listed %v, want %v", listed, want)
	}
	if files := treeFiles(t, s.ImagesDir()); !reflect.DeepEqual(files, []string{"2026/11/27/a.png", "2026/11/28/b.jpg", "2026/stray.jpg"}) {
		t.Errorf("after the walk: %v", files)
	}
}
