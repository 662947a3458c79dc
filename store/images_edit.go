package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

const (
	// MaxTitleLen bounds an image title in characters (runes), so CJK
	// titles get as many characters as Latin ones.
	MaxTitleLen = 100
	// MaxDescriptionLen bounds an image description in characters.
	MaxDescriptionLen = 5000
	// maxSearchScan bounds the records one SearchImages call reads, so a
	// search that matches little cannot walk a huge library in one
	// request. Past it the page just ends early (see SearchImages).
	maxSearchScan = 20000
)

// ClaimGuestImages gives user userID every guest image (owner 0) uploaded
// with GuestID guestID, in one transaction: their owner becomes userID,
// GuestID is cleared and the owner and MD5 indexes move with them. It
// returns how many it claimed, ErrInvalid for an empty or malformed guestID
// and ErrNotFound for an unknown user.
func (s *Store) ClaimGuestImages(guestID string, userID uint64) (int, error) {
	if guestID == "" || !validGuestID(guestID) {
		return 0, fmt.Errorf("%w: guest id", ErrInvalid)
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		if _, err := getUser(tx, userID); err != nil {
			return err
		}
		prefix := guestKey(guestID, 0)
		prefix = prefix[:len(prefix)-8]
		var ids []uint64
		c := tx.Bucket(bucketImagesByGuest).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) == len(prefix)+8 {
				ids = append(ids, bytesToID(k[len(prefix):]))
			}
		}
		for _, id := range ids {
			img, err := getImage(tx, id)
			if err != nil {
				return err
			}
			if img.OwnerID != 0 {
				continue
			}
			claimed := img
			claimed.OwnerID, claimed.GuestID = userID, ""
			if err := reindexImageTx(tx, img, claimed); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, wrap(err, "claim guest images for user %d", userID)
	}
	return n, nil
}

// SetImageText replaces the title (trimmed; 0 to MaxTitleLen characters,
// one line) and description (0 to MaxDescriptionLen characters, line breaks
// allowed) of image id and returns the updated image. It returns ErrInvalid
// for text too long, with control characters or invalid UTF-8, and
// ErrNotFound for an unknown image.
func (s *Store) SetImageText(id uint64, title, description string) (Image, error) {
	title = strings.TrimSpace(title)
	if utf8.RuneCountInString(title) > MaxTitleLen {
		return Image{}, fmt.Errorf("%w: title is longer than %d characters", ErrInvalid, MaxTitleLen)
	}
	if utf8.RuneCountInString(description) > MaxDescriptionLen {
		return Image{}, fmt.Errorf("%w: description is longer than %d characters", ErrInvalid, MaxDescriptionLen)
	}
	if err := validText("title", title, false); err != nil {
		return Image{}, err
	}
	if err := validText("description", description, true); err != nil {
		return Image{}, err
	}
	var img Image
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if img, err = getImage(tx, id); err != nil {
			return err
		}
		img.Title, img.Description = title, description
		return putJSON(tx.Bucket(bucketImages), u64(id), toRecord(img))
	})
	if err != nil {
		return Image{}, wrap(err, "set text of image %d", id)
	}
	return img, nil
}

// SetImageExpiry sets when image id is deleted automatically (the zero
// time: never), moving its expiry index entry in the same transaction, and
// returns the updated image. It returns ErrNotFound for an unknown image.
func (s *Store) SetImageExpiry(id uint64, expires time.Time) (Image, error) {
	if !expires.IsZero() {
		expires = expires.UTC().Truncate(time.Second)
	}
	var img Image
	err := s.db.Update(func(tx *bolt.Tx) error {
		old, err := getImage(tx, id)
		if err != nil {
			return err
		}
		img = old
		img.Expires = expires
		return reindexImageTx(tx, old, img)
	})
	if err != nil {
		return Image{}, wrap(err, "set expiry of image %d", id)
	}
	return img, nil
}

// SearchImages is Images restricted to the images whose Title or
// OriginalFilename contains query (trimmed) case-insensitively, Unicode
// lower-casing both sides; an empty query is Images. One call reads at
// most 20000 records of the owner (newest first from before): when it
// stops there it returns the matches found so far, so a short page does not
// prove there are no older matches (ask again with before set to the last
// id returned).
func (s *Store) SearchImages(ownerID uint64, query string, before uint64, limit int) ([]Image, error) {
	query = strings.ToLower(strings.TrimSpace(query))
	if query == "" {
		return s.Images(ownerID, before, limit)
	}
	limit = pageLimit(limit)
	imgs := []Image{}
	err := s.db.View(func(tx *bolt.Tx) error {
		images := tx.Bucket(bucketImages)
		c := tx.Bucket(bucketImagesByOwner).Cursor()
		prefix := u64(ownerID)
		scanned := 0
		for k := seekLast(c, join2(ownerID, pageStart(before))); k != nil && bytes.HasPrefix(k, prefix) && len(imgs) < limit && scanned < maxSearchScan; k, _ = c.Prev() {
			scanned++
			id := bytesToID(k[8:])
			v := images.Get(u64(id))
			if v == nil {
				return fmt.Errorf("image %d: %w", id, ErrNotFound)
			}
			// Decoding only the searched fields skips allocating EXIF
			// and the rest for the records that do not match.
			var f struct {
				Title            string `json:"title"`
				OriginalFilename string `json:"original_filename"`
			}
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode image %d: %w", id, err)
			}
			if !strings.Contains(strings.ToLower(f.Title), query) && !strings.Contains(strings.ToLower(f.OriginalFilename), query) {
				continue
			}
			img, err := getImage(tx, id)
			if err != nil {
				return err
			}
			imgs = append(imgs, img)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "search images of owner %d", ownerID)
	}
	return imgs, nil
}

// DeleteImages deletes the images ids of owner ownerID in one transaction,
// then their files (as DeleteImage does), and returns the deleted images
// (duplicate ids once). If any image does not exist or is not ownerID's it
// returns ErrNotFound and deletes nothing; more than MaxImagesLimit ids is
// ErrInvalid.
func (s *Store) DeleteImages(ownerID uint64, ids []uint64) ([]Image, error) {
	if len(ids) > MaxImagesLimit {
		return nil, fmt.Errorf("%w: more than %d images", ErrInvalid, MaxImagesLimit)
	}
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	var imgs []Image
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if imgs, err = ownedImages(tx, ownerID, ids); err != nil {
			return err
		}
		for _, img := range imgs {
			if err := deleteImageTx(tx, img); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "delete images of owner %d", ownerID)
	}
	for _, img := range imgs {
		s.removeOrDeferFiles(img)
	}
	return imgs, nil
}

// CountImages returns how many images owner ownerID (0 = guests) has. It
// walks the owner's index entries, which is fast for thousands of images.
func (s *Store) CountImages(ownerID uint64) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := u64(ownerID)
		c := tx.Bucket(bucketImagesByOwner).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, wrap(err, "count images of owner %d", ownerID)
	}
	return n, nil
}
