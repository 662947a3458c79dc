package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"
)

// Privacy says who may see an album.
type Privacy string

// The album privacy levels.
const (
	PrivacyPublic   Privacy = "public"
	PrivacyUnlisted Privacy = "unlisted" // link only (Chevereto private_but_link)
	PrivacyPassword Privacy = "password"
	PrivacyPrivate  Privacy = "private" // owner only
)

func (p Privacy) valid() bool {
	switch p {
	case PrivacyPublic, PrivacyUnlisted, PrivacyPassword, PrivacyPrivate:
		return true
	}
	return false
}

const (
	// MaxAlbumTitleLen bounds an album title in bytes: it is a heading and
	// a list entry, not prose.
	MaxAlbumTitleLen = 100
	// MaxAlbumDescriptionLen bounds an album description in bytes.
	MaxAlbumDescriptionLen = 5000
)

// Album is a named set of one user's images.
type Album struct {
	ID, OwnerID        uint64
	Title, Description string
	Privacy            Privacy
	HasPassword        bool // password hash never leaves the store
	// PasswordStamp changes whenever a password is set (even the same one:
	// each hash has a new salt) and is "" without one. It is a digest of
	// the hash, useless for guessing the password, for binding things
	// such as unlock cookies to the current password.
	PasswordStamp    string
	Created, Updated time.Time
	ImageCount       int
	CoverID          uint64 // newest image in the album, 0 if empty
}

type albumRecord struct {
	V            int       `json:"v"`
	ID           uint64    `json:"id"`
	OwnerID      uint64    `json:"owner_id"`
	Title        string    `json:"title"`
	Description  string    `json:"description,omitempty"`
	Privacy      Privacy   `json:"privacy"`
	PasswordHash string    `json:"password_hash,omitempty"`
	PWScheme     string    `json:"pw_scheme,omitempty"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

// album returns the Album of rec, counting its images in images_by_album
// (counts and covers are not stored, so no path that adds or removes
// images can get them wrong).
func (r albumRecord) album(tx *bolt.Tx) Album {
	a := Album{
		ID: r.ID, OwnerID: r.OwnerID, Title: r.Title, Description: r.Description, Privacy: r.Privacy,
		HasPassword: r.PasswordHash != "", Created: r.Created, Updated: r.Updated,
	}
	if r.PasswordHash != "" {
		sum := sha256.Sum256([]byte("album-password-stamp\x00" + r.PasswordHash))
		a.PasswordStamp = hex.EncodeToString(sum[:8])
	}
	prefix := u64(r.ID)
	c := tx.Bucket(bucketImagesByAlbum).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		a.ImageCount++
		a.CoverID = bytesToID(k[8:]) // ascending: the last one is the newest
	}
	return a
}

// validText checks a title or description: valid UTF-8 and no control
// characters except, when multiline, line breaks and tabs. Lengths are
// the caller's (albums count bytes, images characters).
func validText(what, s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, what)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return fmt.Errorf("%w: %s has control characters", ErrInvalid, what)
		}
	}
	return nil
}

// checkAlbumFields validates album fields and returns the trimmed title.
func checkAlbumFields(title, description string, privacy Privacy) (string, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		return "", fmt.Errorf("%w: album title is required", ErrInvalid)
	}
	if len(title) > MaxAlbumTitleLen {
		return "", fmt.Errorf("%w: album title is longer than %d bytes", ErrInvalid, MaxAlbumTitleLen)
	}
	if len(description) > MaxAlbumDescriptionLen {
		return "", fmt.Errorf("%w: album description is longer than %d bytes", ErrInvalid, MaxAlbumDescriptionLen)
	}
	if err := validText("album title", title, false); err != nil {
		return "", err
	}
	if err := validText("album description", description, true); err != nil {
		return "", err
	}
	if !privacy.valid() {
		return "", fmt.Errorf("%w: album privacy %q", ErrInvalid, privacy)
	}
	return title, nil
}

// CreateAlbum makes an album of user ownerID. title is trimmed and must
// then be 1 to MaxAlbumTitleLen bytes without control characters;
// description may be empty, up to MaxAlbumDescriptionLen bytes (line breaks
// allowed); privacy must be one of the Privacy constants. password is
// required (6-128 bytes, stored as a bcrypt hash) when privacy is
// PrivacyPassword and ignored otherwise. It returns ErrInvalid for bad
// fields or ownerID 0 (guests have no albums) and ErrNotFound for an unknown
// owner.
func (s *Store) CreateAlbum(ownerID uint64, title, description string, privacy Privacy, password string) (Album, error) {
	if ownerID == 0 {
		return Album{}, fmt.Errorf("%w: guests cannot have albums", ErrInvalid)
	}
	title, err := checkAlbumFields(title, description, privacy)
	if err != nil {
		return Album{}, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	rec := albumRecord{
		V: schemaVersion, OwnerID: ownerID, Title: title, Description: description, Privacy: privacy,
		Created: now, Updated: now,
	}
	if privacy == PrivacyPassword {
		if rec.PasswordHash, err = albumPasswordHash(password); err != nil {
			return Album{}, err
		}
		rec.PWScheme = pwScheme
	}
	var a Album
	err = s.db.Update(func(tx *bolt.Tx) error {
		if _, err := getUser(tx, ownerID); err != nil {
			return err
		}
		albums := tx.Bucket(bucketAlbums)
		var err error
		if rec.ID, err = albums.NextSequence(); err != nil {
			return err
		}
		if err := putJSON(albums, u64(rec.ID), rec); err != nil {
			return err
		}
		if err := tx.Bucket(bucketAlbumsByOwner).Put(join2(ownerID, rec.ID), nil); err != nil {
			return err
		}
		a = rec.album(tx)
		return nil
	})
	if err != nil {
		return Album{}, wrap(err, "create album for user %d", ownerID)
	}
	return a, nil
}

func albumPasswordHash(password string) (string, error) {
	if err := validPassword(password); err != nil {
		return "", fmt.Errorf("album %w", err)
	}
	return hashPassword(password)
}

// Album returns album id with its image count and cover, or ErrNotFound.
func (s *Store) Album(id uint64) (Album, error) {
	var a Album
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getAlbum(tx, id)
		if err != nil {
			return err
		}
		a = rec.album(tx)
		return nil
	})
	if err != nil {
		return Album{}, wrap(err, "album %d", id)
	}
	return a, nil
}

// Albums returns every album of user ownerID, newest first (empty if the
// user has none or does not exist).
func (s *Store) Albums(ownerID uint64) ([]Album, error) {
	albums := []Album{}
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := u64(ownerID)
		c := tx.Bucket(bucketAlbumsByOwner).Cursor()
		for k := seekLast(c, join2(ownerID, ^uint64(0))); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			rec, err := getAlbum(tx, bytesToID(k[8:]))
			if err != nil {
				return err
			}
			albums = append(albums, rec.album(tx))
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "list albums of user %d", ownerID)
	}
	return albums, nil
}

// UpdateAlbum replaces the title, description and privacy of album id,
// with the rules of CreateAlbum. password nil keeps the stored password;
// non-nil sets it (6-128 bytes) when privacy is PrivacyPassword and is
// ignored otherwise. Leaving PrivacyPassword deletes the stored password.
// It returns ErrInvalid for bad fields or for PrivacyPassword with neither
// a stored nor a new password, and ErrNotFound for an unknown album.
func (s *Store) UpdateAlbum(id uint64, title, description string, privacy Privacy, password *string) (Album, error) {
	title, err := checkAlbumFields(title, description, privacy)
	if err != nil {
		return Album{}, err
	}
	var hash string
	if privacy == PrivacyPassword && password != nil {
		if hash, err = albumPasswordHash(*password); err != nil {
			return Album{}, err
		}
	}
	var a Album
	err = s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getAlbum(tx, id)
		if err != nil {
			return err
		}
		switch {
		case privacy != PrivacyPassword:
			rec.PasswordHash, rec.PWScheme = "", ""
		case hash != "":
			rec.PasswordHash, rec.PWScheme = hash, pwScheme
		case rec.PasswordHash == "":
			return fmt.Errorf("%w: a password-protected album needs a password", ErrInvalid)
		}
		rec.V, rec.Title, rec.Description, rec.Privacy = schemaVersion, title, description, privacy
		rec.Updated = time.Now().UTC().Truncate(time.Second)
		if err := putJSON(tx.Bucket(bucketAlbums), u64(id), rec); err != nil {
			return err
		}
		a = rec.album(tx)
		return nil
	})
	if err != nil {
		return Album{}, wrap(err, "update album %d", id)
	}
	return a, nil
}

// CheckAlbumPassword reports whether password opens album id. It is false
// for an unknown album or one without a password, and spends one bcrypt
// comparison in every case.
func (s *Store) CheckAlbumPassword(id uint64, password string) bool {
	var rec albumRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getAlbum(tx, id)
		return err
	})
	if err != nil || rec.PasswordHash == "" || rec.PWScheme != pwScheme || len(password) > MaxPasswordLen {
		bcrypt.CompareHashAndPassword(dummyHash(), prehash(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(rec.PasswordHash), prehash(password)) == nil
}

// DeleteAlbum deletes album id in one transaction. With deleteImages its
// images are deleted too (records and index entries; their files after the
// commit, as DeleteImage does) and returned so the caller can drop caches;
// otherwise they stay, with AlbumID 0, and nil is returned. It returns
// ErrNotFound for an unknown album.
func (s *Store) DeleteAlbum(id uint64, deleteImages bool) ([]Image, error) {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	var deleted []Image
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getAlbum(tx, id)
		if err != nil {
			return err
		}
		deleted, err = deleteAlbumTx(tx, rec, deleteImages)
		return err
	})
	if err != nil {
		return nil, wrap(err, "delete album %d", id)
	}
	for _, img := range deleted {
		s.removeOrDeferFiles(img)
	}
	return deleted, nil
}

// deleteAlbumTx deletes the album of rec and either deletes its images
// (returning them) or takes them out of the album (returning nil).
func deleteAlbumTx(tx *bolt.Tx, rec albumRecord, deleteImages bool) ([]Image, error) {
	imgs, err := albumImageIDs(tx, rec.ID)
	if err != nil {
		return nil, err
	}
	deleted, err := deleteOrKeepImagesTx(tx, imgs, deleteImages, func(img *Image) { img.AlbumID = 0 })
	if err != nil {
		return nil, err
	}
	if err := tx.Bucket(bucketAlbumsByOwner).Delete(join2(rec.OwnerID, rec.ID)); err != nil {
		return nil, err
	}
	return deleted, tx.Bucket(bucketAlbums).Delete(u64(rec.ID))
}

// deleteOrKeepImagesTx deletes the images ids (returning them) or, when
// deleteImages is false, keeps them changed by keep (returning nil).
func deleteOrKeepImagesTx(tx *bolt.Tx, ids []uint64, deleteImages bool, keep func(*Image)) ([]Image, error) {
	var deleted []Image
	if deleteImages {
		deleted = make([]Image, 0, len(ids))
	}
	for _, id := range ids {
		img, err := getImage(tx, id)
		if err != nil {
			return nil, err
		}
		if deleteImages {
			if err := deleteImageTx(tx, img); err != nil {
				return nil, err
			}
			deleted = append(deleted, img)
			continue
		}
		kept := img
		keep(&kept)
		if err := reindexImageTx(tx, img, kept); err != nil {
			return nil, err
		}
	}
	return deleted, nil
}

// albumImageIDs lists the ids of the images in album id, oldest first.
func albumImageIDs(tx *bolt.Tx, id uint64) ([]uint64, error) {
	var ids []uint64
	prefix := u64(id)
	c := tx.Bucket(bucketImagesByAlbum).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) != 16 {
			return nil, fmt.Errorf("bad images_by_album key %x", k)
		}
		ids = append(ids, bytesToID(k[8:]))
	}
	return ids, nil
}

// AlbumImages returns up to limit images of album albumID with ids below
// before (0 = from the newest), newest first, with the limits of Images. It
// returns ErrNotFound for an unknown album.
func (s *Store) AlbumImages(albumID uint64, before uint64, limit int) ([]Image, error) {
	var imgs []Image
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := getAlbum(tx, albumID); err != nil {
			return err
		}
		var err error
		imgs, err = pageImages(tx, bucketImagesByAlbum, albumID, before, limit)
		return err
	})
	if err != nil {
		return nil, wrap(err, "list images of album %d", albumID)
	}
	return imgs, nil
}

// MoveImages puts the images ids of user ownerID into album albumID (0 =
// out of any album), in one transaction. Every image must exist and be
// ownerID's, and the album too, else it returns ErrNotFound and changes
// nothing. The Updated time of every album that gains or loses an image is
// set to now. It returns ErrInvalid for more than MaxImagesLimit ids.
func (s *Store) MoveImages(ownerID uint64, ids []uint64, albumID uint64) error {
	if len(ids) > MaxImagesLimit {
		return fmt.Errorf("%w: more than %d images", ErrInvalid, MaxImagesLimit)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if albumID != 0 {
			a, err := getAlbum(tx, albumID)
			if err != nil {
				return err
			}
			if a.OwnerID != ownerID {
				return fmt.Errorf("album %d: %w", albumID, ErrNotFound)
			}
		}
		imgs, err := ownedImages(tx, ownerID, ids)
		if err != nil {
			return err
		}
		touched := map[uint64]bool{}
		for _, img := range imgs {
			if img.AlbumID == albumID {
				continue
			}
			moved := img
			moved.AlbumID = albumID
			if err := reindexImageTx(tx, img, moved); err != nil {
				return err
			}
			touched[img.AlbumID], touched[albumID] = true, true
		}
		delete(touched, 0)
		now := time.Now().UTC().Truncate(time.Second)
		for id := range touched {
			if err := touchAlbumTx(tx, id, now); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(err, "move images of user %d to album %d", ownerID, albumID)
}

// ownedImages returns the images ids (duplicates dropped), or ErrNotFound
// if any of them does not exist or is not ownerID's.
func ownedImages(tx *bolt.Tx, ownerID uint64, ids []uint64) ([]Image, error) {
	seen := make(map[uint64]bool, len(ids))
	imgs := make([]Image, 0, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		img, err := getImage(tx, id)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", id, err)
		}
		if img.OwnerID != ownerID {
			return nil, fmt.Errorf("image %d: %w", id, ErrNotFound)
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// touchAlbumTx sets the Updated time of album id; an album that does not
// exist is skipped.
func touchAlbumTx(tx *bolt.Tx, id uint64, now time.Time) error {
	rec, err := getAlbum(tx, id)
	if isAny(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rec.V, rec.Updated = schemaVersion, now
	return putJSON(tx.Bucket(bucketAlbums), u64(id), rec)
}

func getAlbum(tx *bolt.Tx, id uint64) (albumRecord, error) {
	var rec albumRecord
	v := tx.Bucket(bucketAlbums).Get(u64(id))
	if v == nil {
		return rec, ErrNotFound
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("decode album %d: %w", id, err)
	}
	return rec, nil
}
