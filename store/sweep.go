package store

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"log/slog"
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
// is left of their files. A record that its file index does not name is
// damage (ErrCorrupt), and nothing is deleted. It returns how many it deleted and the current
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
			// A record its file index does not point back to was changed
			// behind the store's back: deleting it would remove the files
			// of whatever image it now names.
			if got := tx.Bucket(bucketImagesByFile).Get(fileKey(img)); bytesToID(got) != img.ID {
				return damagef("image %d: its file %s is indexed as image %d", img.ID, img.File(Full), bytesToID(got))
			}
			for _, v := range variants {
				if !img.has(v) {
					continue
				}
				// Only a file that is certainly gone condemns the record;
				// EACCES or EIO must not delete data.
				if _, err := s.storage.Stat(img.File(v)); errors.Is(err, fs.ErrNotExist) {
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

// sweep removes image files that no record names from the Storage: the
// whole of it when full is set, else what may have changed since since
// (Storage.Walk). It returns how many files it removed; files it cannot
// remove are logged and mark the store dirty. Each group of the listing
// is decided and removed under fileMu, so no upload can be between its
// Publish and its commit meanwhile.
func (s *Store) sweep(full bool, since time.Time) (int, error) {
	if full {
		since = time.Time{}
	}
	removed := 0
	err := s.storage.Walk(since, func(keys []string, remove func(string) error) error {
		s.fileMu.Lock()
		defer s.fileMu.Unlock()
		var orphans []string
		err := s.db.View(func(tx *bolt.Tx) error {
			for _, key := range keys {
				ok, err := fileHasRecord(tx, key)
				if err != nil {
					return err
				}
				if !ok {
					orphans = append(orphans, key)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, key := range orphans {
			if err := remove(key); err != nil {
				s.log.Error("store: cannot remove orphan file", slog.String("file", key), slog.Any("err", err))
				s.dirty.Store(true)
				continue
			}
			s.log.Info("store: removed orphan file", slog.String("file", key))
			removed++
		}
		return nil
	})
	return removed, wrap(err, "sweep images")
}

// fileHasRecord reports whether key, as the Storage listed it, is the file
// of a variant that some image record has. Anything that is not an image
// file path has none.
func fileHasRecord(tx *bolt.Tx, key string) (bool, error) {
	f, err := ParseImageFile(key)
	if err != nil {
		return false, nil
	}
	idv := tx.Bucket(bucketImagesByFile).Get([]byte(f.Dir + "/" + f.Name + "." + f.Ext))
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
	return img.Dir == f.Dir && img.Name == f.Name && img.Ext == f.Ext && img.has(f.Variant), nil
}

// bytesToID decodes an 8-byte big-endian key (0 for any other length).
func bytesToID(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}
