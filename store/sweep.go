package store

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// recover restores "no record without files, no file without record" after
// whatever happened since the last start, then notes what it checked.
func (s *Store) recover(start time.Time, st state) error {
	deleted, seq, err := s.dropRecordsWithoutFiles(st.checkedSeq)
	if err != nil {
		return err
	}

	mode := "skipped"
	var since time.Time
	switch {
	case st.fullSweep || st.lastSweep.IsZero():
		mode = "full"
	case !st.clean:
		mode = "recent"
		since = st.lastSweep.Add(-sweepSlack)
	}
	removed := 0
	if mode != "skipped" {
		// A folder that cannot be read should not keep picbed from
		// starting; it is logged and the next start walks everything.
		if removed, err = s.sweep(mode == "full", since); err != nil {
			s.log.Error("store: start-up sweep incomplete", slog.Any("err", err))
			s.dirty.Store(true)
		}
	}

	err = s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(metaLastSweep, u64(uint64(start.UnixNano()))); err != nil {
			return err
		}
		if err := meta.Put(metaCheckedSeq, u64(seq)); err != nil {
			return err
		}
		if s.dirty.Load() {
			return meta.Put(metaFullSweep, []byte("1"))
		}
		return meta.Delete(metaFullSweep)
	})
	if err != nil {
		return wrap(err, "record sweep")
	}
	s.log.Info("store: start-up check done",
		slog.String("sweep", mode),
		slog.Int("orphan_files_removed", removed),
		slog.Int("records_without_files_deleted", deleted),
		slog.Duration("took", time.Since(start)))
	return nil
}

// dropRecordsWithoutFiles deletes image records with ids above checkedSeq
// (created since the last start) whose files are missing, and removes what
// is left of their files. It returns how many it deleted and the current
// image sequence.
func (s *Store) dropRecordsWithoutFiles(checkedSeq uint64) (int, uint64, error) {
	var (
		broken []Image
		seq    uint64
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketImages)
		seq = b.Sequence()
		c := b.Cursor()
		for k, _ := c.Seek(u64(checkedSeq + 1)); k != nil; k, _ = c.Next() {
			img, err := getImage(tx, bytesToID(k))
			if err != nil {
				return err
			}
			for _, v := range variants {
				if !img.has(v) {
					continue
				}
				// Only a file that is certainly gone condemns the record;
				// EACCES or EIO must not delete data.
				if _, err := os.Stat(s.FilePath(img, v)); errors.Is(err, fs.ErrNotExist) {
					s.log.Warn("store: image record without its file; deleting the record",
						slog.Uint64("image_id", img.ID), slog.String("file", img.File(v)), slog.Any("err", err))
					broken = append(broken, img)
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, wrap(err, "check recent images")
	}
	if len(broken) == 0 {
		return 0, seq, nil
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, img := range broken {
			if err := deleteImageTx(tx, img); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, wrap(err, "delete images without files")
	}
	for _, img := range broken {
		s.removeImageFiles(img)
	}
	return len(broken), seq, nil
}

// sweep removes files under images/ that no record names. It always looks
// at the year and month levels (few entries) and scans a day folder when
// full is set or its mtime is not before since. It returns how many files
// it removed; files it cannot remove are logged and mark the store dirty.
func (s *Store) sweep(full bool, since time.Time) (int, error) {
	removed := 0
	years, err := readDirs(s.imagesDir)
	if err != nil {
		return 0, wrap(err, "sweep images")
	}
	removed += s.removeStrays(s.imagesDir, years.files)
	for _, y := range years.dirs {
		months, err := readDirs(filepath.Join(s.imagesDir, y))
		if err != nil {
			return removed, wrap(err, "sweep images")
		}
		removed += s.removeStrays(filepath.Join(s.imagesDir, y), months.files)
		for _, m := range months.dirs {
			monthDir := filepath.Join(s.imagesDir, y, m)
			days, err := readDirs(monthDir)
			if err != nil {
				return removed, wrap(err, "sweep images")
			}
			removed += s.removeStrays(monthDir, days.files)
			for _, d := range days.dirs {
				dayDir := filepath.Join(monthDir, d)
				if !full {
					fi, err := os.Stat(dayDir)
					if err != nil {
						return removed, wrap(err, "sweep images")
					}
					if fi.ModTime().Before(since) {
						continue
					}
				}
				n, err := s.sweepDay(y+"/"+m+"/"+d, dayDir)
				removed += n
				if err != nil {
					return removed, err
				}
			}
		}
	}
	return removed, nil
}

// sweepDay removes the files of one day folder that no record names.
func (s *Store) sweepDay(rel, dayDir string) (int, error) {
	entries, err := readDirs(dayDir)
	if err != nil {
		return 0, wrap(err, "sweep %s", rel)
	}
	var orphans []string
	err = s.db.View(func(tx *bolt.Tx) error {
		for _, name := range entries.files {
			ok, err := fileHasRecord(tx, rel, name)
			if err != nil {
				return err
			}
			if !ok {
				orphans = append(orphans, name)
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrap(err, "sweep %s", rel)
	}
	return s.removeStrays(dayDir, orphans), nil
}

// fileHasRecord reports whether the file name in day folder rel is a variant
// that some image record has.
func fileHasRecord(tx *bolt.Tx, rel, name string) (bool, error) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 {
		return false, nil
	}
	stem, ext := name[:dot], name[dot+1:]
	v := Full
	for _, cand := range []Variant{Thumb, Medium} {
		if strings.HasSuffix(stem, cand.suffix()) {
			stem, v = strings.TrimSuffix(stem, cand.suffix()), cand
			break
		}
	}
	idv := tx.Bucket(bucketImagesByFile).Get([]byte(rel + "/" + stem + "." + ext))
	if len(idv) != 8 {
		return false, nil
	}
	img, err := getImage(tx, bytesToID(idv))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return img.Name == stem && img.Ext == ext && img.has(v), nil
}

func (s *Store) removeStrays(dir string, names []string) int {
	n := 0
	for _, name := range names {
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("store: cannot remove orphan file", slog.String("path", p), slog.Any("err", err))
			s.dirty.Store(true)
			continue
		}
		s.log.Info("store: removed orphan file", slog.String("path", p))
		n++
	}
	return n
}

type dirList struct{ dirs, files []string }

// readDirs lists dir, following symlinks to folders (an admin may have moved
// a year to another disk) and treating every other non-folder as a file.
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

// bytesToID decodes an 8-byte big-endian key (0 for any other length).
func bytesToID(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}
