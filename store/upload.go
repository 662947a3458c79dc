package store

import (
	"fmt"
	"os"
	"sync"
)

// sourceSlot is the Upload slot of the received bytes (not a Variant).
const sourceSlot = -1

// An Upload is a staging area for one image: temp files in dir/tmp that
// PutImage turns into the image's files. It is not safe for concurrent use.
type Upload struct {
	s     *Store
	mu    sync.Mutex
	files map[int]*os.File // slot -> temp file (possibly closed by the caller)
	used  bool             // PutImage has taken it
}

// NewUpload starts a staging area. It creates nothing on disk until Create
// or Source is called, and currently never fails. Call Discard (or PutImage)
// when done; temp files of an upload never finished are removed at the next
// Open.
func (s *Store) NewUpload() (*Upload, error) {
	return &Upload{s: s, files: make(map[int]*os.File)}, nil
}

// Create returns a new empty temp file (mode 0644) that will become variant
// v of the image. The caller writes it and may Seek or ReadAt it; closing it
// is optional. Creating the same variant again replaces the earlier file.
// It returns ErrInvalid for an unknown variant or an Upload already given to
// PutImage or discarded.
func (u *Upload) Create(v Variant) (*os.File, error) {
	if v != Full && v != Thumb && v != Medium {
		return nil, fmt.Errorf("%w: unknown variant %d", ErrInvalid, v)
	}
	return u.create(int(v), fmt.Sprintf("v%d-*", v), 0o644)
}

// Source returns a new empty temp file (mode 0600) for the received upload
// bytes, which is removed at PutImage or Discard. Calling it again replaces
// the earlier file.
func (u *Upload) Source() (*os.File, error) {
	return u.create(sourceSlot, "src-*", 0o600)
}

func (u *Upload) create(slot int, pattern string, mode os.FileMode) (*os.File, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used {
		return nil, fmt.Errorf("%w: upload already used", ErrInvalid)
	}
	f, err := os.CreateTemp(u.s.tmpDir, pattern)
	if err != nil {
		return nil, wrap(err, "create temp file")
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, wrap(err, "chmod temp file")
	}
	if old := u.files[slot]; old != nil {
		old.Close()
		os.Remove(old.Name())
	}
	u.files[slot] = f
	return f, nil
}

// Discard closes and removes every temp file of the upload and makes it
// unusable. It is safe to call after PutImage and more than once.
func (u *Upload) Discard() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.used = true
	for slot, f := range u.files {
		f.Close() // the caller may have closed it already
		os.Remove(f.Name())
		delete(u.files, slot)
	}
}

// take marks the upload as used and returns the temp file paths of the
// image variants.
func (u *Upload) take() (map[Variant]string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used {
		return nil, fmt.Errorf("%w: upload already used", ErrInvalid)
	}
	u.used = true
	paths := make(map[Variant]string)
	for slot, f := range u.files {
		if slot != sourceSlot {
			paths[Variant(slot)] = f.Name()
		}
	}
	return paths, nil
}
