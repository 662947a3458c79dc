package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Variant selects one of an image's files.
type Variant int

// The variants of an image, all in the same folder with the same extension.
const (
	Full   Variant = iota // NAME.EXT
	Thumb                 // NAME.th.EXT
	Medium                // NAME.md.EXT
)

var variants = []Variant{Full, Thumb, Medium}

func (v Variant) suffix() string {
	switch v {
	case Thumb:
		return ".th"
	case Medium:
		return ".md"
	}
	return ""
}

// String returns "full", "thumb" or "medium", for logs and errors.
func (v Variant) String() string {
	switch v {
	case Full:
		return "full"
	case Thumb:
		return "thumb"
	case Medium:
		return "medium"
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

const (
	// nameAttempts bounds the "mixed" retries; 64 random bits collide
	// essentially never, so running out means something else is wrong.
	nameAttempts = 8
	// DefaultImagesLimit is the page size of Images and ExpiredImages
	// when the caller gives none.
	DefaultImagesLimit = 100
	// MaxImagesLimit caps one page so a single call cannot decode the
	// whole database into memory.
	MaxImagesLimit = 1000
	// deleteTokenLen is the delete password length of Chevereto V4 (48 hex).
	deleteTokenLen = 48
	// MaxGuestIDLen bounds Image.GuestID, which is part of an index key; an
	// HMAC in hex is 64 bytes.
	MaxGuestIDLen = 128
)

// Image is the metadata of a stored image.
type Image struct {
	ID               uint64
	OwnerID          uint64 // 0 = guest
	AlbumID          uint64
	Dir              string // "2026/11/27", from Date in Options.Location
	Name             string // stored name without extension
	Ext              string // "jpg", "png", "gif", "webp"
	MIME             string
	Size             int64
	Width, Height    int
	ThumbSize        int64     // 0 = no thumbnail file
	MediumSize       int64     // 0 = no medium file
	Date             time.Time // upload instant (UTC)
	Title            string
	Description      string
	NSFW             bool
	MD5              string // of the stored full file
	SHA1             string // of the stored full file, or "" for images stored before picbed kept it
	SourceMD5        string // of the file before a requested resize, or ""
	RawMD5           string // of the bytes as received (before metadata stripping or conversion), or ""
	OriginalFilename string
	EXIF             string // JSON text or ""
	Animated         bool
	Tags             []string
	CategoryID       uint64
	Expires          time.Time // zero = never
	UploaderIP       string
	GuestID          string // opaque id of the guest who uploaded it (owner 0), or ""
}

// File returns the path of variant v relative to ImagesDir, with forward
// slashes: "2026/11/27/name.jpg", "2026/11/27/name.th.jpg",
// "2026/11/27/name.md.jpg". It does not check that the variant exists.
func (img Image) File(v Variant) string {
	return path.Join(img.Dir, img.Name+v.suffix()+"."+img.Ext)
}

// has reports whether the image has a file for variant v.
func (img Image) has(v Variant) bool {
	switch v {
	case Thumb:
		return img.ThumbSize > 0
	case Medium:
		return img.MediumSize > 0
	}
	return true
}

// FilePath returns the file system path of variant v of img.
func (s *Store) FilePath(img Image, v Variant) string {
	return filepath.Join(s.imagesDir, filepath.FromSlash(img.File(v)))
}

type imageRecord struct {
	V                int       `json:"v"`
	ID               uint64    `json:"id"`
	OwnerID          uint64    `json:"owner_id,omitempty"`
	AlbumID          uint64    `json:"album_id,omitempty"`
	Dir              string    `json:"dir"`
	Name             string    `json:"name"`
	Ext              string    `json:"ext"`
	MIME             string    `json:"mime"`
	Size             int64     `json:"size"`
	Width            int       `json:"width"`
	Height           int       `json:"height"`
	ThumbSize        int64     `json:"thumb_size,omitempty"`
	MediumSize       int64     `json:"medium_size,omitempty"`
	Date             time.Time `json:"date"`
	Title            string    `json:"title,omitempty"`
	Description      string    `json:"description,omitempty"`
	NSFW             bool      `json:"nsfw,omitempty"`
	MD5              string    `json:"md5,omitempty"`
	SHA1             string    `json:"sha1,omitempty"` // optional: records written before it have none
	SourceMD5        string    `json:"source_md5,omitempty"`
	RawMD5           string    `json:"raw_md5,omitempty"`
	OriginalFilename string    `json:"original_filename,omitempty"`
	EXIF             string    `json:"exif,omitempty"`
	Animated         bool      `json:"animated,omitempty"`
	Tags             []string  `json:"tags,omitempty"`
	CategoryID       uint64    `json:"category_id,omitempty"`
	Expires          time.Time `json:"expires,omitzero"`
	UploaderIP       string    `json:"uploader_ip,omitempty"`
	GuestID          string    `json:"guest_id,omitempty"`
}

func toRecord(img Image) imageRecord {
	return imageRecord{
		V: schemaVersion, ID: img.ID, OwnerID: img.OwnerID, AlbumID: img.AlbumID, Dir: img.Dir,
		Name: img.Name, Ext: img.Ext, MIME: img.MIME, Size: img.Size, Width: img.Width,
		Height: img.Height, ThumbSize: img.ThumbSize, MediumSize: img.MediumSize, Date: img.Date,
		Title: img.Title, Description: img.Description, NSFW: img.NSFW, MD5: img.MD5, SHA1: img.SHA1,
		SourceMD5: img.SourceMD5, RawMD5: img.RawMD5, OriginalFilename: img.OriginalFilename, EXIF: img.EXIF,
		Animated: img.Animated, Tags: append([]string(nil), img.Tags...), CategoryID: img.CategoryID,
		Expires: img.Expires, UploaderIP: img.UploaderIP, GuestID: img.GuestID,
	}
}

func (r imageRecord) image() Image {
	return Image{
		ID: r.ID, OwnerID: r.OwnerID, AlbumID: r.AlbumID, Dir: r.Dir, Name: r.Name, Ext: r.Ext,
		MIME: r.MIME, Size: r.Size, Width: r.Width, Height: r.Height, ThumbSize: r.ThumbSize,
		MediumSize: r.MediumSize, Date: r.Date, Title: r.Title, Description: r.Description,
		NSFW: r.NSFW, MD5: r.MD5, SHA1: r.SHA1, SourceMD5: r.SourceMD5, RawMD5: r.RawMD5, OriginalFilename: r.OriginalFilename,
		EXIF: r.EXIF, Animated: r.Animated, Tags: r.Tags, CategoryID: r.CategoryID,
		Expires: r.Expires, UploaderIP: r.UploaderIP, GuestID: r.GuestID,
	}
}

// fileKey is the images_by_file key of img: its full file's relative path.
func fileKey(img Image) []byte { return []byte(img.File(Full)) }

func md5Key(owner uint64, md5 string, id uint64) []byte {
	k := make([]byte, 0, 8+len(md5)+1+8)
	k = append(k, u64(owner)...)
	k = append(k, md5...)
	k = append(k, 0)
	return append(k, u64(id)...)
}

type indexEntry struct {
	bucket, key, value []byte
}

// indexEntries lists every secondary index entry of img, so that put and
// delete stay symmetric.
func indexEntries(img Image) []indexEntry {
	e := []indexEntry{
		{bucketImagesByOwner, join2(img.OwnerID, img.ID), nil},
		{bucketImagesByFile, fileKey(img), u64(img.ID)},
	}
	seen := map[string]bool{"": true}
	for _, sum := range []string{img.MD5, img.SourceMD5, img.RawMD5} {
		if !seen[sum] {
			seen[sum] = true
			e = append(e, indexEntry{bucketImagesByMD5, md5Key(img.OwnerID, sum, img.ID), nil})
		}
	}
	if img.AlbumID != 0 {
		e = append(e, indexEntry{bucketImagesByAlbum, join2(img.AlbumID, img.ID), nil})
	}
	if !img.Expires.IsZero() {
		e = append(e, indexEntry{bucketImagesByExp, join2(expiryKey(img.Expires), img.ID), nil})
	}
	if img.GuestID != "" {
		e = append(e, indexEntry{bucketImagesByGuest, guestKey(img.GuestID, img.ID), nil})
	}
	return e
}

// guestKey is the images_by_guest key guestID | 0x00 | id. guestID has no
// NUL byte (validGuestID), so one guest's prefix never matches another's.
func guestKey(guestID string, id uint64) []byte {
	k := make([]byte, 0, len(guestID)+1+8)
	k = append(k, guestID...)
	k = append(k, 0)
	return append(k, u64(id)...)
}

// validGuestID accepts what can be a images_by_guest key prefix.
func validGuestID(id string) bool {
	return len(id) <= MaxGuestIDLen && !strings.ContainsRune(id, 0)
}

func expiryKey(t time.Time) uint64 {
	if t.Unix() < 0 {
		return 0
	}
	return uint64(t.Unix())
}

// errNameTaken means a record already names the file we just linked (its
// file was missing); PutImage then tries another name.
var errNameTaken = errors.New("file name held by a record")

// PutImage stores an uploaded image and consumes u (its temp files are
// removed whatever happens). u must hold a non-empty Full file; Thumb and
// Medium are optional. Size, ThumbSize and MediumSize are taken from the
// files; Date defaults to now and is stored in UTC; Dir is derived from Date
// in Options.Location; img.Name is used as is when it is a valid cleaned
// name and passed through CleanFileName otherwise.
//
// The files are fsynced, then published to the Storage as
// <Dir>/<Name>[.th|.md].<Ext> (for the local tree: hard-linked into
// images/ and the folder fsynced); if any of those names exists (a file is
// never overwritten) the name gets 16 random hex characters appended
// ("mixed" naming) and publishing is retried. Then the record and all its
// index entries are committed in one transaction with an id from
// NextSequence. On any failure the published files are removed again. A non-zero AlbumID must name an album
// of img.OwnerID (whose Updated time is set to now). It returns the stored
// image (ID, Dir, final Name filled), ErrInvalid for a bad extension,
// missing/empty files, an album that is not the owner's or a GuestID longer
// than MaxGuestIDLen or with a NUL byte, ErrNoSpace when the disk is full,
// or a wrapped I/O or database error.
func (s *Store) PutImage(img Image, u *Upload) (Image, error) {
	if u == nil {
		return Image{}, fmt.Errorf("%w: nil upload", ErrInvalid)
	}
	defer u.Discard()
	tmp, err := u.take()
	if err != nil {
		return Image{}, err
	}
	if tmp[Full] == "" {
		return Image{}, fmt.Errorf("%w: upload has no full image file", ErrInvalid)
	}
	if !validExt(img.Ext) {
		return Image{}, fmt.Errorf("%w: extension %q", ErrInvalid, img.Ext)
	}
	if !validGuestID(img.GuestID) {
		return Image{}, fmt.Errorf("%w: guest id longer than %d bytes or with a NUL byte", ErrInvalid, MaxGuestIDLen)
	}
	if !validStoredName(img.Name) {
		img.Name = CleanFileName(img.Name)
	}
	if img.Date.IsZero() {
		img.Date = time.Now()
	}
	img.Date = img.Date.UTC()
	if !img.Expires.IsZero() {
		img.Expires = img.Expires.UTC()
	}
	img.Dir = img.Date.In(s.loc).Format("2006/01/02")
	img.ID = 0
	img.Size, img.ThumbSize, img.MediumSize = 0, 0, 0
	for v, p := range tmp {
		size, err := syncFile(p)
		if err != nil {
			return Image{}, wrap(err, "sync %s file", v)
		}
		if size == 0 {
			return Image{}, fmt.Errorf("%w: %s file is empty", ErrInvalid, v)
		}
		switch v {
		case Full:
			img.Size = size
		case Thumb:
			img.ThumbSize = size
		case Medium:
			img.MediumSize = size
		}
	}

	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	base := img.Name
	for attempt := 0; attempt < nameAttempts; attempt++ {
		if attempt > 0 {
			img.Name = mixedName(base)
		}
		files := stagedFiles(img, tmp)
		err := s.storage.Publish(files)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return Image{}, wrap(err, "store image file")
		}
		img.ID, err = s.commitImage(img)
		if err == nil {
			return img, nil
		}
		for _, f := range files {
			s.removeFile(f.Key)
		}
		if errors.Is(err, errNameTaken) {
			continue
		}
		return Image{}, wrap(err, "put image %s", img.File(Full))
	}
	return Image{}, fmt.Errorf("store: put image: no free name for %q after %d attempts", base, nameAttempts)
}

// stagedFiles lists the staged files of img's variants with their keys.
func stagedFiles(img Image, tmp map[Variant]string) []StagedFile {
	var files []StagedFile
	for _, v := range variants {
		if p, ok := tmp[v]; ok {
			files = append(files, StagedFile{Key: img.File(v), Path: p, ContentType: imageTypes[img.Ext]})
		}
	}
	return files
}

// mixedName is Chevereto's "mixed" naming: name + 16 random hex, keeping the
// result within MaxNameBytes + 16.
func mixedName(name string) string { return name + randomHex(8) }

func (s *Store) commitImage(img Image) (uint64, error) {
	var id uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketImagesByFile).Get(fileKey(img)) != nil {
			return errNameTaken
		}
		if img.AlbumID != 0 {
			a, err := getAlbum(tx, img.AlbumID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err != nil || a.OwnerID != img.OwnerID {
				return fmt.Errorf("%w: album %d does not exist or is not the owner's", ErrInvalid, img.AlbumID)
			}
			if err := touchAlbumTx(tx, img.AlbumID, time.Now().UTC().Truncate(time.Second)); err != nil {
				return err
			}
		}
		images := tx.Bucket(bucketImages)
		var err error
		if id, err = images.NextSequence(); err != nil {
			return err
		}
		img.ID = id
		return putImageTx(tx, img)
	})
	return id, err
}

// removeFile removes the image file key from the Storage; one already gone
// is fine. A failure (a key that is not an image file path included) is
// logged and makes the next start sweep the whole tree.
func (s *Store) removeFile(key string) {
	if err := s.storage.Remove(key); err != nil {
		s.log.Error("store: cannot remove image file", slog.String("file", key), slog.Any("err", err))
		s.markDirty()
	}
}

// Image returns the image with id, or ErrNotFound.
func (s *Store) Image(id uint64) (Image, error) {
	var img Image
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		img, err = getImage(tx, id)
		return err
	})
	if err != nil {
		return Image{}, wrap(err, "image %d", id)
	}
	return img, nil
}

// FindDuplicate returns the newest image of owner ownerID (0 = guests) whose
// MD5, SourceMD5 or RawMD5 equals md5, or ErrNotFound.
func (s *Store) FindDuplicate(ownerID uint64, md5 string) (Image, error) {
	var img Image
	err := s.db.View(func(tx *bolt.Tx) error {
		if md5 == "" {
			return ErrNotFound
		}
		prefix := md5Key(ownerID, md5, 0)
		prefix = prefix[:len(prefix)-8]
		c := tx.Bucket(bucketImagesByMD5).Cursor()
		k := seekLast(c, md5Key(ownerID, md5, ^uint64(0)))
		if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
			return ErrNotFound
		}
		var err error
		img, err = getImage(tx, binary.BigEndian.Uint64(k[len(prefix):]))
		return err
	})
	if err != nil {
		return Image{}, wrap(err, "find duplicate of %s", md5)
	}
	return img, nil
}

// Images returns up to limit images of owner ownerID (0 = guests) with ids
// below before (0 = from the newest), newest first. limit <= 0 means
// DefaultImagesLimit; it is capped at MaxImagesLimit.
func (s *Store) Images(ownerID uint64, before uint64, limit int) ([]Image, error) {
	var imgs []Image
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		imgs, err = pageImages(tx, bucketImagesByOwner, ownerID, before, limit)
		return err
	})
	if err != nil {
		return nil, wrap(err, "list images of owner %d", ownerID)
	}
	return imgs, nil
}

// pageLimit applies DefaultImagesLimit and MaxImagesLimit to limit.
func pageLimit(limit int) int {
	if limit <= 0 {
		limit = DefaultImagesLimit
	}
	return min(limit, MaxImagesLimit)
}

// pageStart returns the highest image id a page below before may hold.
func pageStart(before uint64) uint64 {
	if before > 0 {
		return before - 1
	}
	return ^uint64(0)
}

// pageImages walks the index bucket (keys prefix | image id) backwards from
// the ids below before and returns up to limit images, newest first.
func pageImages(tx *bolt.Tx, bucket []byte, prefixID, before uint64, limit int) ([]Image, error) {
	limit = pageLimit(limit)
	imgs := []Image{}
	c := tx.Bucket(bucket).Cursor()
	prefix := u64(prefixID)
	for k := seekLast(c, join2(prefixID, pageStart(before))); k != nil && bytes.HasPrefix(k, prefix) && len(imgs) < limit; k, _ = c.Prev() {
		img, err := getImage(tx, binary.BigEndian.Uint64(k[8:]))
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// ExpiredImages returns up to limit images whose Expires is set and not
// after now, soonest first, for the caller to DeleteImage. limit <= 0 means
// DefaultImagesLimit.
func (s *Store) ExpiredImages(now time.Time, limit int) ([]Image, error) {
	if limit <= 0 {
		limit = DefaultImagesLimit
	}
	limit = min(limit, MaxImagesLimit)
	imgs := []Image{}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketImagesByExp).Cursor()
		for k, _ := c.First(); k != nil && len(imgs) < limit; k, _ = c.Next() {
			if len(k) != 16 || binary.BigEndian.Uint64(k) > expiryKey(now) {
				break
			}
			img, err := getImage(tx, binary.BigEndian.Uint64(k[8:]))
			if err != nil {
				return err
			}
			imgs = append(imgs, img)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "list expired images")
	}
	return imgs, nil
}

// DeleteImage deletes image id: first its record and index entries in one
// transaction, then its files (a file that cannot be removed is logged and
// left for the next start-up sweep). It returns ErrNotFound if there is no
// such image.
func (s *Store) DeleteImage(id uint64) error {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	var img Image
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if img, err = getImage(tx, id); err != nil {
			return err
		}
		return deleteImageTx(tx, img)
	})
	if err != nil {
		return wrap(err, "delete image %d", id)
	}
	s.removeOrDeferFiles(img)
	return nil
}

func (s *Store) removeImageFiles(img Image) {
	for _, v := range variants {
		s.removeFile(img.File(v)) // try all: a stray .md must go too
	}
}

// reindexImageTx replaces the record old by img (same id) and moves its
// index entries.
func reindexImageTx(tx *bolt.Tx, old, img Image) error {
	for _, e := range indexEntries(old) {
		if err := tx.Bucket(e.bucket).Delete(e.key); err != nil {
			return err
		}
	}
	return putImageTx(tx, img)
}

// putImageTx writes img's record under its id and its index entries.
func putImageTx(tx *bolt.Tx, img Image) error {
	if err := putJSON(tx.Bucket(bucketImages), u64(img.ID), toRecord(img)); err != nil {
		return err
	}
	for _, e := range indexEntries(img) {
		if err := tx.Bucket(e.bucket).Put(e.key, e.value); err != nil {
			return err
		}
	}
	return nil
}

func deleteImageTx(tx *bolt.Tx, img Image) error {
	for _, e := range indexEntries(img) {
		if err := tx.Bucket(e.bucket).Delete(e.key); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketImages).Delete(u64(img.ID))
}

func getImage(tx *bolt.Tx, id uint64) (Image, error) {
	v := tx.Bucket(bucketImages).Get(u64(id))
	if v == nil {
		return Image{}, ErrNotFound
	}
	return decodeImage(id, v)
}

// decodeImage decodes the record v of image id and refuses it, as an error
// that is ErrCorrupt, when it is not JSON, names another id, or has a
// folder, name or extension that is not part of an image file path
// (checkImagePaths). Every read of an image record goes through it.
func decodeImage(id uint64, v []byte) (Image, error) {
	var rec imageRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return Image{}, damagef("image %d: the record is not JSON (%v)", id, err)
	}
	if rec.ID != id {
		return Image{}, damagef("image %d: the record says it is image %d", id, rec.ID)
	}
	img := rec.image()
	if err := checkImagePaths(img); err != nil {
		return Image{}, err
	}
	return img, nil
}

// DeleteToken returns the secret that authorizes deleting image id without
// logging in (the delete_url password): 48 lowercase hex of
// HMAC-SHA256(install secret, id). It depends on nothing but the id and the
// per-install secret, so it needs no storage and reveals nothing about the
// owner.
func (s *Store) DeleteToken(id uint64) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("picbed delete token v1\x00"))
	m.Write(u64(id))
	return hex.EncodeToString(m.Sum(nil))[:deleteTokenLen]
}

// CheckDeleteToken reports whether token is DeleteToken(id), comparing in
// constant time. Upper-case hex is not accepted.
func (s *Store) CheckDeleteToken(id uint64, token string) bool {
	want := s.DeleteToken(id)
	return len(token) == len(want) && subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}

// syncFile fsyncs the file at p and returns its size.
func syncFile(p string) (int64, error) {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
