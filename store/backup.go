package store

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The backup format: a tar stream (optionally gzip-compressed as a whole)
// holding
//
//	images/YYYY/MM/DD/NAME[.th|.md].EXT   every file the snapshot's records name
//	picbed.db                             the bbolt snapshot
//	picbed-backup.json                    the manifest, last
//
// The manifest comes last so that a truncated backup (no manifest) is
// refused by Restore.
const (
	backupFormat       = "picbed-backup"
	backupVersion      = 1
	backupManifestName = "picbed-backup.json"
	backupDBName       = "picbed.db"
	backupImagesPrefix = "images/"
	// maxManifestBytes bounds the manifest Restore reads into memory.
	maxManifestBytes = 1 << 20
)

// BackupInfo describes a backup written by Backup or read by Restore.
type BackupInfo struct {
	Images     int   `json:"images"`      // image records in the backup
	Files      int   `json:"files"`       // image files (full, thumb, medium)
	ImageBytes int64 `json:"image_bytes"` // their total size
	DBBytes    int64 `json:"db_bytes"`    // size of the database snapshot
	// Skipped counts records of the snapshot left out because a file of
	// theirs was missing or had the wrong size (removed or damaged by
	// hand); a consistent data dir has none.
	Skipped int `json:"skipped,omitempty"`
}

type backupManifest struct {
	Format   string    `json:"format"`
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Schema   int       `json:"schema"`
	DBSHA256 string    `json:"db_sha256"`
	BackupInfo
}

// Backup writes a consistent backup of the store to w (see the format
// above) while uploads and deletes go on. The database is copied in one
// read transaction (tx.WriteTo) to a temp file in tmp/; from then until
// Backup returns, DeleteImage leaves files in place, so every file the
// snapshot names is still there, with the bytes it had, when it is copied.
// Images committed after the snapshot are not in the backup, neither
// their records nor their files. Records whose files are missing are left
// out of the backup's database (BackupInfo.Skipped). The copied database
// asks for a full sweep at its first open. Backup returns write errors of
// w and wrapped I/O and database errors; w then holds no manifest.
func (s *Store) Backup(w io.Writer) (BackupInfo, error) {
	var info BackupInfo
	snap, err := os.CreateTemp(s.tmpDir, "backup-*.db")
	if err != nil {
		return info, wrap(err, "backup: create snapshot file")
	}
	defer os.Remove(snap.Name())
	defer snap.Close()

	s.fileMu.Lock()
	s.backups++
	s.fileMu.Unlock()
	defer s.endBackup()
	// Deletes that finished before this point are not in the snapshot;
	// later ones keep their files until endBackup.
	err = s.db.View(func(tx *bolt.Tx) error {
		_, err := tx.WriteTo(snap)
		return err
	})
	if err == nil {
		err = snap.Close()
	}
	if err != nil {
		return info, wrap(err, "backup: snapshot database")
	}

	db, err := bolt.Open(snap.Name(), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return info, wrap(err, "backup: open snapshot")
	}
	defer db.Close()
	tw := tar.NewWriter(w)
	var skipped []Image
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			img, err := decodeImage(bytesToID(k), v)
			if err != nil {
				return err
			}
			n, bytes, ok, err := s.backupImage(tw, img)
			if err != nil {
				return err
			}
			if !ok {
				skipped = append(skipped, img)
				return nil
			}
			info.Images++
			info.Files += n
			info.ImageBytes += bytes
			return nil
		})
	})
	if err != nil {
		return info, wrap(err, "backup: image files")
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, img := range skipped {
			if err := deleteImageTx(tx, img); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(metaFullSweep, []byte("1"))
	})
	if err == nil {
		err = db.Close()
	}
	if err != nil {
		return info, wrap(err, "backup: finish snapshot")
	}
	info.Skipped = len(skipped)
	for _, img := range skipped {
		s.log.Warn("store: backup left out an image whose files are missing", slog.Uint64("image_id", img.ID), slog.String("file", img.File(Full)))
	}

	sum, size, err := addFileToTar(tw, backupDBName, snap.Name(), 0o600)
	if err != nil {
		return info, wrap(err, "backup: database")
	}
	info.DBBytes = size
	man, err := json.MarshalIndent(backupManifest{
		Format: backupFormat, Version: backupVersion, Created: time.Now().UTC().Truncate(time.Second),
		Schema: schemaVersion, DBSHA256: sum, BackupInfo: info,
	}, "", "  ")
	if err != nil {
		return info, err
	}
	hdr := &tar.Header{Name: backupManifestName, Mode: 0o600, Size: int64(len(man)), ModTime: time.Now(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return info, wrap(err, "backup: manifest")
	}
	if _, err := tw.Write(man); err != nil {
		return info, wrap(err, "backup: manifest")
	}
	if err := tw.Close(); err != nil {
		return info, wrap(err, "backup: finish")
	}
	return info, nil
}

// backupImage adds the files of img to tw. It opens all of them first: if
// one is missing or its size differs from the record, nothing is written
// and ok is false.
func (s *Store) backupImage(tw *tar.Writer, img Image) (files int, bytes int64, ok bool, err error) {
	type open struct {
		v  Variant
		f  fs.File
		fi fs.FileInfo
	}
	var opened []open
	defer func() {
		for _, o := range opened {
			o.f.Close()
		}
	}()
	want := map[Variant]int64{Full: img.Size, Thumb: img.ThumbSize, Medium: img.MediumSize}
	for _, v := range variants {
		if !img.has(v) {
			continue
		}
		f, err := s.storage.Open(img.File(v))
		if errors.Is(err, fs.ErrNotExist) {
			return 0, 0, false, nil
		}
		if err != nil {
			return 0, 0, false, err
		}
		opened = append(opened, open{v: v, f: f})
		fi, err := f.Stat()
		if err != nil {
			return 0, 0, false, err
		}
		if !fi.Mode().IsRegular() || fi.Size() != want[v] {
			return 0, 0, false, nil
		}
		opened[len(opened)-1].fi = fi
	}
	for _, o := range opened {
		hdr := &tar.Header{
			Name: backupImagesPrefix + img.File(o.v), Mode: 0o644, Size: o.fi.Size(),
			ModTime: o.fi.ModTime(), Typeflag: tar.TypeReg,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return 0, 0, false, err
		}
		if _, err := io.Copy(tw, o.f); err != nil {
			return 0, 0, false, err
		}
		files++
		bytes += o.fi.Size()
	}
	return files, bytes, true, nil
}

// addFileToTar adds the file at p as name and returns its SHA-256 and size.
func addFileToTar(tw *tar.Writer, name, p string, mode int64) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg}); err != nil {
		return "", 0, err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tw, h), f); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), fi.Size(), nil
}

// removeOrDeferFiles removes the files of a deleted image, or keeps them
// for endBackup while a backup runs. The caller holds fileMu. The first
// deferral of a backup records in meta that the next start must sweep
// everything, so that a crash before endBackup leaves no orphans for long.
func (s *Store) removeOrDeferFiles(img Image) {
	if s.backups == 0 {
		s.removeImageFiles(img)
		return
	}
	s.deferred = append(s.deferred, img)
	if !s.deferMarked {
		s.deferMarked = true
		err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaFullSweep, []byte("1"))
		})
		if err != nil {
			s.log.Warn("store: cannot record need for a full sweep", slog.Any("err", err))
		}
	}
}

// endBackup ends a backup; the last one to end removes the deferred files.
func (s *Store) endBackup() {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	s.backups--
	if s.backups > 0 {
		return
	}
	for _, img := range s.deferred {
		s.removeImageFiles(img)
	}
	s.deferred = nil
	if s.deferMarked && !s.dirty.Load() {
		// Every deferred file is gone: no full sweep needed after all.
		// (After Close this fails harmlessly and the next start sweeps.)
		s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Delete(metaFullSweep)
		})
	}
	s.deferMarked = false
}

// ErrNotEmpty is returned by Restore for a data dir that already holds
// something.
var ErrNotEmpty = errors.New("store: data dir is not empty")

// Restore unpacks a backup written by Backup (plain or gzip-compressed tar)
// into dir, which must be missing or empty (else ErrNotEmpty), then opens
// the result as a store and checks that every image record's files are
// there with the recorded sizes and the full file with its recorded MD5,
// and that no record names anything but image files (else an error that
// is ErrInvalid and ErrCorrupt, before anything is removed). It
// accepts only regular files named picbed.db, picbed-backup.json and
// images/<relative path> and fails on anything else (links, absolute or
// ".." paths, duplicates), on a database whose SHA-256 or size differs from
// the manifest, on a missing manifest (a truncated backup) and on counts
// that differ from it. On failure everything it created in dir is removed.
func Restore(r io.Reader, dir string, log *slog.Logger) (info BackupInfo, err error) {
	if log == nil {
		log = slog.Default()
	}
	created := false
	switch entries, rerr := os.ReadDir(dir); {
	case errors.Is(rerr, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return info, wrap(err, "restore: create data dir")
		}
		created = true
	case rerr != nil:
		return info, wrap(rerr, "restore: read data dir")
	case len(entries) > 0:
		return info, fmt.Errorf("%w: %s", ErrNotEmpty, dir)
	}
	defer func() {
		if err == nil {
			return
		}
		if created {
			os.RemoveAll(dir)
			return
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}()

	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return info, fmt.Errorf("%w: restore: gzip: %v", ErrInvalid, err)
		}
		defer zr.Close()
		src = zr
	}
	man, dbSum, err := unpack(tar.NewReader(src), dir, &info)
	if err != nil {
		return info, err
	}
	switch {
	case man == nil:
		return info, fmt.Errorf("%w: restore: no manifest (%s): the backup is truncated or not a picbed backup", ErrInvalid, backupManifestName)
	case man.Format != backupFormat || man.Version != backupVersion:
		return info, fmt.Errorf("%w: restore: unknown backup format %q version %d", ErrInvalid, man.Format, man.Version)
	case man.Schema > schemaVersion:
		return info, fmt.Errorf("%w: restore: the backup's schema %d is newer than this picbed (%d)", ErrInvalid, man.Schema, schemaVersion)
	case dbSum == "":
		return info, fmt.Errorf("%w: restore: the backup has no %s", ErrInvalid, backupDBName)
	case dbSum != man.DBSHA256 || info.DBBytes != man.DBBytes:
		return info, fmt.Errorf("%w: restore: %s differs from the manifest (damaged backup)", ErrInvalid, backupDBName)
	case info.Files != man.Files || info.ImageBytes != man.ImageBytes:
		return info, fmt.Errorf("%w: restore: %d files of %d bytes, the manifest says %d of %d", ErrInvalid, info.Files, info.ImageBytes, man.Files, man.ImageBytes)
	}
	// The image folders were synced as they were published; this makes
	// picbed.db, images/ and tmp/ durable.
	if err := syncDir(dir); err != nil {
		return info, wrap(err, "restore: sync")
	}

	st, err := open(dir, Options{Logger: log})
	if err != nil {
		return info, restoreDamaged(err)
	}
	n, verr := st.verifyImages()
	if cerr := st.Close(); verr == nil {
		verr = cerr
	}
	if verr != nil {
		return info, restoreDamaged(verr)
	}
	info.Images = n
	info.Skipped = man.Skipped
	if n != man.Images {
		return info, fmt.Errorf("%w: restore: %d images, the manifest says %d", ErrInvalid, n, man.Images)
	}
	return info, nil
}

// restoreDamaged words an error about a damaged database or record for
// Restore, which then has restored nothing: its manifest matched, so the
// backup was damaged before its manifest was written, or made by hand.
func restoreDamaged(err error) error {
	var d *damaged
	if !errors.As(err, &d) {
		return err
	}
	return fmt.Errorf("%w: restore: the backup's %s is damaged or was crafted: %w; nothing was restored", ErrInvalid, backupDBName, d)
}

// unpack extracts the tar entries into dir and returns the manifest (nil if
// there is none) and the SHA-256 of picbed.db ("" if there is none). Image
// files are staged in dir/tmp and published to the local tree dir/images,
// as uploads are, so each name is taken once and no file appears
// half-written; only image file paths are accepted.
func unpack(tr *tar.Reader, dir string, info *BackupInfo) (*backupManifest, string, error) {
	tmpDir := filepath.Join(dir, "tmp")
	for _, d := range []string{tmpDir, filepath.Join(dir, "images")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", wrap(err, "restore: create folder")
		}
	}
	images := newLocalStorage(filepath.Join(dir, "images"))
	var (
		man   *backupManifest
		dbSum string
		batch []StagedFile // files of one day folder waiting to be published
	)
	// flush publishes the batch: one folder fsync for the files of a day.
	flush := func() error {
		defer func() {
			for _, f := range batch {
				os.Remove(f.Path)
			}
			batch = batch[:0]
		}()
		if len(batch) == 0 {
			return nil
		}
		err := images.Publish(batch)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: restore: an image file appears twice", ErrInvalid)
		}
		return wrap(err, "restore: publish image files")
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return man, dbSum, flush()
		}
		if err != nil {
			return nil, "", fmt.Errorf("%w: restore: read backup: %v", ErrInvalid, err)
		}
		if man != nil {
			return nil, "", fmt.Errorf("%w: restore: entry %q after the manifest", ErrInvalid, hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size < 0 {
			return nil, "", fmt.Errorf("%w: restore: %q is not a regular file", ErrInvalid, hdr.Name)
		}
		key, isImage := strings.CutPrefix(hdr.Name, backupImagesPrefix)
		var file ImageFile
		if isImage {
			if file, err = ParseImageFile(key); err != nil {
				isImage = false
			}
		}
		if !isImage || len(batch) == maxRestoreBatch || len(batch) > 0 && path.Dir(batch[0].Key) != file.Dir {
			if err := flush(); err != nil {
				return nil, "", err
			}
		}
		switch name := hdr.Name; {
		case name == backupManifestName:
			b, err := io.ReadAll(io.LimitReader(tr, maxManifestBytes+1))
			if err != nil || len(b) > maxManifestBytes {
				return nil, "", fmt.Errorf("%w: restore: manifest unreadable or too large", ErrInvalid)
			}
			man = new(backupManifest)
			if err := json.Unmarshal(b, man); err != nil {
				return nil, "", fmt.Errorf("%w: restore: manifest: %v", ErrInvalid, err)
			}
		case name == backupDBName:
			if dbSum != "" {
				return nil, "", fmt.Errorf("%w: restore: two databases", ErrInvalid)
			}
			h := sha256.New()
			n, err := writeNew(filepath.Join(dir, backupDBName), 0o600, io.TeeReader(tr, h))
			if err != nil {
				return nil, "", err
			}
			dbSum, info.DBBytes = hex.EncodeToString(h.Sum(nil)), n
		case isImage:
			staged, n, err := stageFile(tmpDir, tr)
			if err != nil {
				return nil, "", err
			}
			batch = append(batch, StagedFile{Key: key, Path: staged, ContentType: file.ContentType()})
			info.Files++
			info.ImageBytes += n
		default:
			return nil, "", fmt.Errorf("%w: restore: unexpected entry %q", ErrInvalid, name)
		}
	}
}

// maxRestoreBatch bounds the staged files Restore holds before it
// publishes them: a day folder of a large host has thousands.
const maxRestoreBatch = 256

// stageFile copies r into a new fsynced file (0644) in tmpDir and returns
// its path and size.
func stageFile(tmpDir string, r io.Reader) (string, int64, error) {
	f, err := os.CreateTemp(tmpDir, "restore-*")
	if err != nil {
		return "", 0, wrap(err, "restore: create temp file")
	}
	n, err := io.Copy(f, r)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, wrap(err, "restore: write image file")
	}
	return f.Name(), n, nil
}

// writeNew creates p (failing if it exists), copies r into it and fsyncs it.
func writeNew(p string, mode os.FileMode, r io.Reader) (int64, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return 0, fmt.Errorf("%w: restore: %s appears twice", ErrInvalid, filepath.Base(p))
	}
	if err != nil {
		return 0, wrap(err, "restore: create %s", p)
	}
	n, err := io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, wrap(err, "restore: write %s", p)
	}
	return n, nil
}

// verifyImages checks every image record: its files exist with the
// recorded sizes and the full file has the recorded MD5. It returns the
// number of images, or an ErrInvalid error naming the first bad one.
func (s *Store) verifyImages() (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			img, err := decodeImage(bytesToID(k), v)
			if err != nil {
				return err
			}
			want := map[Variant]int64{Full: img.Size, Thumb: img.ThumbSize, Medium: img.MediumSize}
			for _, v := range variants {
				if !img.has(v) {
					continue
				}
				fi, err := s.storage.Stat(img.File(v))
				if err != nil || fi.Size() != want[v] {
					return fmt.Errorf("%w: restore: image %d: %s file %s missing or of the wrong size", ErrInvalid, img.ID, v, img.File(v))
				}
			}
			if img.MD5 != "" {
				f, err := s.storage.Open(img.File(Full))
				if err != nil {
					return err
				}
				h := md5.New()
				_, err = io.Copy(h, f)
				f.Close()
				if err != nil {
					return err
				}
				if hex.EncodeToString(h.Sum(nil)) != img.MD5 {
					return fmt.Errorf("%w: restore: image %d: %s does not have its recorded md5", ErrInvalid, img.ID, img.File(Full))
				}
			}
			n++
			return nil
		})
	})
	return n, err
}
