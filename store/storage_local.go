package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// localStorage is the Storage of the file tree under root (<data>/images):
// one file per key, at root/YYYY/MM/DD/NAME[.th|.md].EXT. A staged file in
// <data>/tmp, on the same file system, is published by a hard link, which
// never replaces an existing name, so a name is never taken twice and a
// file never appears half-written.
type localStorage struct {
	root string
}

// newLocalStorage returns the tree under root, which must exist.
func newLocalStorage(root string) *localStorage { return &localStorage{root: root} }

// path returns the file system path of key, which the caller has checked
// with ParseImageFile (or got from a folder listing).
func (l *localStorage) path(key string) string {
	return l.root + string(filepath.Separator) + filepath.FromSlash(key)
}

func checkKey(key string) error {
	_, err := ParseImageFile(key)
	return err
}

// Publish links every staged file to its key, creating the day folder if
// needed, then fsyncs the folders it linked into. If a name exists, or
// anything fails, it removes the links it made.
func (l *localStorage) Publish(files []StagedFile) error {
	for _, f := range files {
		if err := checkKey(f.Key); err != nil {
			return fmt.Errorf("publish %q: %w", f.Key, err)
		}
	}
	var (
		linked []string
		dirs   []string
	)
	undo := func() {
		for _, p := range linked {
			os.Remove(p)
		}
	}
	for _, f := range files {
		dir := path.Dir(f.Key)
		if !slices.Contains(dirs, dir) {
			if err := l.makeDayDir(dir); err != nil {
				undo()
				return err
			}
			dirs = append(dirs, dir)
		}
		dst := l.path(f.Key)
		if err := linkNoReplace(f.Path, dst); err != nil {
			undo()
			return err
		}
		linked = append(linked, dst)
	}
	for _, dir := range dirs {
		if err := syncDir(l.path(dir)); err != nil {
			undo()
			return err
		}
	}
	return nil
}

// makeDayDir creates the YYYY/MM/DD folder dir and, if it was new, fsyncs
// its parents so the folder itself survives a crash.
func (l *localStorage) makeDayDir(dir string) error {
	dayDir := l.path(dir)
	if _, err := os.Stat(dayDir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dayDir, 0o755); err != nil {
		return fmt.Errorf("create image folder: %w", err)
	}
	for d := filepath.Dir(dayDir); ; d = filepath.Dir(d) {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("sync image folder: %w", err)
		}
		if d == l.root || d == filepath.Dir(d) {
			return nil
		}
	}
}

// Open opens the file of key; the result is an *os.File.
func (l *localStorage) Open(key string) (fs.File, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(l.path(key))
	if err != nil {
		return nil, err // an *os.File in an fs.File must not be a typed nil
	}
	return f, nil
}

// Stat describes the file of key.
func (l *localStorage) Stat(key string) (fs.FileInfo, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return os.Stat(l.path(key))
}

// Remove removes the file of key.
func (l *localStorage) Remove(key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return removeIfExists(l.path(key))
}

func removeIfExists(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Walk lists the files at the root, at the year and month levels (none
// belongs there) and in the day folders, skipping, when since is set, day
// folders not modified since then: a name appearing or disappearing changes
// its folder's mtime. Folders are followed through symlinks (an admin may
// have moved a year to another disk); anything in a day folder that is not
// a folder is listed as a file.
func (l *localStorage) Walk(since time.Time, fn func(keys []string, remove func(key string) error) error) error {
	group := func(rel string, names []string) error {
		keys := make([]string, len(names))
		for i, n := range names {
			keys[i] = path.Join(rel, n)
		}
		var listed map[string]bool // made at the first removal
		remove := func(key string) error {
			if listed == nil {
				listed = make(map[string]bool, len(keys))
				for _, k := range keys {
					listed[k] = true
				}
			}
			if !listed[key] {
				return fmt.Errorf("%w: %q was not listed in this group", ErrInvalid, key)
			}
			return removeIfExists(l.path(key))
		}
		return fn(keys, remove)
	}
	years, err := readDirs(l.root)
	if err != nil {
		return err
	}
	if err := group("", years.files); err != nil {
		return err
	}
	for _, y := range years.dirs {
		months, err := readDirs(l.path(y))
		if err != nil {
			return err
		}
		if err := group(y, months.files); err != nil {
			return err
		}
		for _, m := range months.dirs {
			days, err := readDirs(l.path(y + "/" + m))
			if err != nil {
				return err
			}
			if err := group(y+"/"+m, days.files); err != nil {
				return err
			}
			for _, d := range days.dirs {
				rel := y + "/" + m + "/" + d
				if !since.IsZero() {
					fi, err := os.Stat(l.path(rel))
					if err != nil {
						return err
					}
					if fi.ModTime().Before(since) {
						continue
					}
				}
				files, err := readDirs(l.path(rel))
				if err != nil {
					return err
				}
				if err := group(rel, files.files); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

type dirList struct{ dirs, files []string }

// readDirs lists dir, following symlinks to folders and treating every
// other non-folder as a file.
func readDirs(dir string) (dirList, error) {
	var l dirList
	entries, err := os.ReadDir(dir)
	if err != nil {
		return l, err
	}
	for _, e := range entries {
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.IsDir() {
				isDir = true
			}
		}
		if isDir {
			l.dirs = append(l.dirs, e.Name())
		} else if e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0 {
			l.files = append(l.files, e.Name())
		}
	}
	return l, nil
}

// linkNoReplace makes dst a new name of src, failing with os.ErrExist if dst
// exists. When dst is on another file system (EXDEV) the bytes are copied to
// a hidden temp file in dst's folder first, which is then linked.
func linkNoReplace(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		return err
	}
	tmp, err := copyNear(src, filepath.Dir(dst))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, dst)
}

// copyNear copies src into a fsynced temp file (0644) in dir. A crash can
// leave it behind; the start-up sweep removes it since no record names it.
func copyNear(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, ".picbed-tmp-*")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(0o644)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// syncDir fsyncs a folder so that names created or removed in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
