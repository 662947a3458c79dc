package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"
)

// Limits on user input. Names are used in profile URLs, so they are kept to
// a URL-safe alphabet.
const (
	// MinUserNameLen and MaxUserNameLen bound user names: short enough
	// for a profile URL, long enough to avoid squatting on two letters.
	MinUserNameLen = 3
	MaxUserNameLen = 32
	// MinPasswordLen is a floor against empty or trivial passwords.
	MinPasswordLen = 6
	// MaxPasswordLen bounds the work per login; passwords are pre-hashed
	// with SHA-256 before bcrypt, so bcrypt's own 72-byte limit does not
	// truncate them.
	MaxPasswordLen = 128
)

// pwScheme names how passwordHash was made, so imported hashes (plain
// bcrypt from Chevereto) can be added later without guessing.
const pwScheme = "bcrypt-sha256-b64"

// MaxEmailLen is the longest e-mail address accepted (RFC 5321's limit on
// a forward path, which is what a mail server would accept anyway).
const MaxEmailLen = 254

// User is an account. Admin users manage the install.
type User struct {
	ID       uint64
	Name     string
	Email    string // lower-case; "" if none
	Admin    bool
	Disabled bool
	Created  time.Time
}

type userRecord struct {
	V            int       `json:"v"`
	ID           uint64    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email,omitempty"`
	Admin        bool      `json:"admin,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"`
	Created      time.Time `json:"created"`
	PasswordHash string    `json:"password_hash"`
	PWScheme     string    `json:"pw_scheme"`
}

func (r userRecord) user() User {
	return User{ID: r.ID, Name: r.Name, Email: r.Email, Admin: r.Admin, Disabled: r.Disabled, Created: r.Created}
}

// enabledAdmin reports whether the user counts for last-admin protection.
func (r userRecord) enabledAdmin() bool { return r.Admin && !r.Disabled }

func validUserName(name string) error {
	if len(name) < MinUserNameLen || len(name) > MaxUserNameLen {
		return fmt.Errorf("%w: user name must be %d to %d characters", ErrInvalid, MinUserNameLen, MaxUserNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("%w: user name may only contain letters, digits and _", ErrInvalid)
		}
	}
	return nil
}

// normalizeEmail checks the shape of an e-mail address and lower-cases it.
// It does not try to implement RFC 5322: one '@' between a non-empty local
// part and domain, no spaces or control characters, valid UTF-8. "" is
// accepted and means no address.
func normalizeEmail(email string) (string, error) {
	if email == "" {
		return "", nil
	}
	if !utf8.ValidString(email) {
		return "", fmt.Errorf("%w: e-mail address is not valid UTF-8", ErrInvalid)
	}
	for _, r := range email {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", fmt.Errorf("%w: e-mail address may not contain spaces or control characters", ErrInvalid)
		}
	}
	at := strings.IndexByte(email, '@')
	if at <= 0 || at == len(email)-1 || strings.Count(email, "@") != 1 {
		return "", fmt.Errorf("%w: e-mail address must be local@domain", ErrInvalid)
	}
	email = strings.ToLower(email)
	if len(email) > MaxEmailLen {
		return "", fmt.Errorf("%w: e-mail address is longer than %d bytes", ErrInvalid, MaxEmailLen)
	}
	return email, nil
}

func validPassword(pw string) error {
	if len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen {
		return fmt.Errorf("%w: password must be %d to %d bytes", ErrInvalid, MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// prehash makes any password fit bcrypt's 72-byte input without NUL bytes.
func prehash(pw string) []byte {
	sum := sha256.Sum256([]byte(pw))
	return []byte(base64.StdEncoding.EncodeToString(sum[:]))
}

func hashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword(prehash(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("store: hash password: %w", err)
	}
	return string(h), nil
}

// newUserRecord validates a new user's fields and hashes the password (slow,
// so it runs before any write transaction is opened).
func newUserRecord(name, email, password string, admin bool) (userRecord, error) {
	if err := validUserName(name); err != nil {
		return userRecord{}, err
	}
	email, err := normalizeEmail(email)
	if err != nil {
		return userRecord{}, err
	}
	if err := validPassword(password); err != nil {
		return userRecord{}, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return userRecord{}, err
	}
	return userRecord{
		V: schemaVersion, Name: name, Email: email, Admin: admin, Created: time.Now().UTC().Truncate(time.Second),
		PasswordHash: hash, PWScheme: pwScheme,
	}, nil
}

// CreateUser adds a user without an e-mail address; see CreateUserWithEmail.
func (s *Store) CreateUser(name, password string, admin bool) (User, error) {
	return s.CreateUserWithEmail(name, "", password, admin)
}

// CreateUserWithEmail adds a user. name must be 3-32 of [A-Za-z0-9_] and is
// unique case-insensitively (kept as typed); email may be empty, else it
// must look like local@domain (at most MaxEmailLen bytes), is stored
// lower-cased and is unique; password must be 6-128 bytes and is stored as a
// bcrypt hash. It returns ErrInvalid (wrapped with the rule) or ErrConflict
// when the name or the e-mail address is taken.
func (s *Store) CreateUserWithEmail(name, email, password string, admin bool) (User, error) {
	rec, err := newUserRecord(name, email, password, admin)
	if err != nil {
		return User{}, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		rec, err = createUserTx(tx, rec)
		return err
	})
	if err != nil {
		return User{}, wrap(err, "create user %q", name)
	}
	return rec.user(), nil
}

// CreateFirstAdmin creates the admin user of a new install, like
// CreateUserWithEmail with admin set, but only if no admin user (enabled or
// disabled) exists yet; the check and the creation are one write
// transaction, so of two concurrent installers exactly one succeeds. It
// returns ErrConflict when an admin already exists or the name or e-mail
// address is taken, and ErrInvalid for bad fields.
func (s *Store) CreateFirstAdmin(name, email, password string) (User, error) {
	rec, err := newUserRecord(name, email, password, true)
	if err != nil {
		return User{}, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		has, err := hasAdminTx(tx)
		if err != nil {
			return err
		}
		if has {
			return fmt.Errorf("%w: an admin user already exists", ErrConflict)
		}
		rec, err = createUserTx(tx, rec)
		return err
	})
	if err != nil {
		return User{}, wrap(err, "create first admin %q", name)
	}
	return rec.user(), nil
}

func createUserTx(tx *bolt.Tx, rec userRecord) (userRecord, error) {
	byName := tx.Bucket(bucketUsersByName)
	lname := []byte(strings.ToLower(rec.Name))
	if byName.Get(lname) != nil {
		return rec, fmt.Errorf("%w: user name %q", ErrConflict, rec.Name)
	}
	byEmail := tx.Bucket(bucketUsersByEmail)
	if rec.Email != "" && byEmail.Get([]byte(rec.Email)) != nil {
		return rec, fmt.Errorf("%w: e-mail address %q", ErrConflict, rec.Email)
	}
	users := tx.Bucket(bucketUsers)
	id, err := users.NextSequence()
	if err != nil {
		return rec, err
	}
	rec.ID = id
	if err := putJSON(users, u64(id), rec); err != nil {
		return rec, err
	}
	if rec.Email != "" {
		if err := byEmail.Put([]byte(rec.Email), u64(id)); err != nil {
			return rec, err
		}
	}
	return rec, byName.Put(lname, u64(id))
}

// HasAdmin reports whether any admin user exists, enabled or disabled (the
// installer is open only while it returns false).
func (s *Store) HasAdmin() (bool, error) {
	var has bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		has, err = hasAdminTx(tx)
		return err
	})
	return has, wrap(err, "look for an admin")
}

func hasAdminTx(tx *bolt.Tx) (bool, error) {
	found := false
	err := forEachUser(tx, func(rec userRecord) bool {
		found = rec.Admin
		return !found
	})
	return found, err
}

// enabledAdmins counts the admins who are not disabled.
func enabledAdmins(tx *bolt.Tx) (int, error) {
	n := 0
	err := forEachUser(tx, func(rec userRecord) bool {
		if rec.enabledAdmin() {
			n++
		}
		return true
	})
	return n, err
}

// forEachUser calls fn with every user record in id order until it returns
// false.
func forEachUser(tx *bolt.Tx, fn func(userRecord) bool) error {
	c := tx.Bucket(bucketUsers).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var rec userRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode user %d: %w", bytesToID(k), err)
		}
		if !fn(rec) {
			return nil
		}
	}
	return nil
}

// User returns the user with id, or ErrNotFound.
func (s *Store) User(id uint64) (User, error) {
	rec, err := s.viewUser(func(tx *bolt.Tx) (userRecord, error) { return getUser(tx, id) })
	if err != nil {
		return User{}, wrap(err, "user %d", id)
	}
	return rec.user(), nil
}

// UserByName returns the user whose name matches case-insensitively, or
// ErrNotFound.
func (s *Store) UserByName(name string) (User, error) {
	rec, err := s.viewUser(func(tx *bolt.Tx) (userRecord, error) { return getUserByName(tx, name) })
	if err != nil {
		return User{}, wrap(err, "user %q", name)
	}
	return rec.user(), nil
}

// UserByLogin returns the user a login subject names, as CheckPassword
// reads it: an e-mail address when it contains '@', else a user name, both
// case-insensitively. It returns ErrNotFound when no user matches.
func (s *Store) UserByLogin(subject string) (User, error) {
	rec, err := s.viewUser(func(tx *bolt.Tx) (userRecord, error) { return getUserByLogin(tx, subject) })
	if err != nil {
		return User{}, wrap(err, "user of login %q", subject)
	}
	return rec.user(), nil
}

// Users returns every user in id order.
func (s *Store) Users() ([]User, error) {
	users := []User{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return forEachUser(tx, func(rec userRecord) bool {
			users = append(users, rec.user())
			return true
		})
	})
	if err != nil {
		return nil, wrap(err, "list users")
	}
	return users, nil
}

// dummyHash is compared against when the user does not exist, so that a
// login for an unknown name costs as much as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword(prehash("picbed-no-such-user"), bcrypt.DefaultCost)
	if err != nil {
		panic(err)
	}
	return h
})

// CheckPassword returns the user identified by subject if password is
// theirs and the user is not disabled. subject is an e-mail address when it
// contains '@' (user names cannot), else a user name; both match
// case-insensitively. Otherwise it returns ErrUnauthorized, spending one
// bcrypt comparison in every case so the timing does not tell unknown users
// from wrong passwords.
func (s *Store) CheckPassword(subject, password string) (User, error) {
	rec, err := s.viewUser(func(tx *bolt.Tx) (userRecord, error) { return getUserByLogin(tx, subject) })
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, wrap(err, "check password")
	}
	if err != nil || !passwordMatches(rec, password) || rec.Disabled {
		return User{}, fmt.Errorf("%w: wrong user name or password", ErrUnauthorized)
	}
	return rec.user(), nil
}

// CheckUserPassword checks the current password of user id, e.g. before a
// password change; it does not look at Disabled. It returns ErrUnauthorized
// when password is wrong and ErrNotFound for an unknown user.
func (s *Store) CheckUserPassword(id uint64, password string) error {
	rec, err := s.viewUser(func(tx *bolt.Tx) (userRecord, error) { return getUser(tx, id) })
	if err != nil {
		return wrap(err, "check password of user %d", id)
	}
	if !passwordMatches(rec, password) {
		return fmt.Errorf("%w: wrong password", ErrUnauthorized)
	}
	return nil
}

// passwordMatches does one bcrypt comparison whatever rec is (the zero
// record of an unknown user compares against dummyHash).
func passwordMatches(rec userRecord, password string) bool {
	if rec.ID == 0 || len(password) > MaxPasswordLen || rec.PWScheme != pwScheme {
		bcrypt.CompareHashAndPassword(dummyHash(), prehash(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(rec.PasswordHash), prehash(password)) == nil
}

// SetPassword replaces the password of user id and logs them out
// everywhere (deletes their sessions, in the same transaction). It returns
// ErrInvalid for a bad password and ErrNotFound for an unknown user. API
// keys stay valid.
func (s *Store) SetPassword(id uint64, password string) error {
	if err := validPassword(password); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	return s.updateUser(id, func(tx *bolt.Tx, rec *userRecord) error {
		rec.PasswordHash, rec.PWScheme = hash, pwScheme
		_, err := deleteUserSessionsTx(tx, id)
		return err
	})
}

// SetUserEmail sets the e-mail address of user id (lower-cased; "" removes
// it). It returns ErrInvalid for a malformed address, ErrConflict when
// another user has it and ErrNotFound for an unknown user.
func (s *Store) SetUserEmail(id uint64, email string) error {
	email, err := normalizeEmail(email)
	if err != nil {
		return err
	}
	return s.updateUser(id, func(tx *bolt.Tx, rec *userRecord) error {
		if rec.Email == email {
			return nil
		}
		byEmail := tx.Bucket(bucketUsersByEmail)
		if email != "" {
			if v := byEmail.Get([]byte(email)); v != nil && bytesToID(v) != id {
				return fmt.Errorf("%w: e-mail address %q", ErrConflict, email)
			}
			if err := byEmail.Put([]byte(email), u64(id)); err != nil {
				return err
			}
		}
		if rec.Email != "" {
			if err := byEmail.Delete([]byte(rec.Email)); err != nil {
				return err
			}
		}
		rec.Email = email
		return nil
	})
}

// SetUserDisabled enables or disables user id. A disabled user cannot log in,
// their API keys are refused, and disabling deletes their sessions. It
// returns ErrConflict when that would leave no enabled admin and ErrNotFound
// for an unknown user.
func (s *Store) SetUserDisabled(id uint64, disabled bool) error {
	return s.updateUser(id, func(tx *bolt.Tx, rec *userRecord) error {
		rec.Disabled = disabled
		if !disabled {
			return nil
		}
		_, err := deleteUserSessionsTx(tx, id)
		return err
	})
}

// SetUserAdmin grants or removes admin rights of user id. It returns
// ErrConflict when that would leave no enabled admin and ErrNotFound for an
// unknown user.
func (s *Store) SetUserAdmin(id uint64, admin bool) error {
	return s.updateUser(id, func(_ *bolt.Tx, rec *userRecord) error {
		rec.Admin = admin
		return nil
	})
}

// DeleteUser deletes user id in one transaction: their record, name and
// e-mail index entries, API keys, sessions and albums. With deleteImages
// their images are deleted too (records and index entries; the files after
// the commit, as DeleteImage does) and returned so the caller can drop
// caches. Otherwise their images become guest images (owner 0, AlbumID 0,
// indexes moved) and nil is returned. It returns ErrConflict for the last
// enabled admin and ErrNotFound for an unknown user.
func (s *Store) DeleteUser(id uint64, deleteImages bool) ([]Image, error) {
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	var deleted []Image
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getUser(tx, id)
		if err != nil {
			return err
		}
		if rec.enabledAdmin() {
			if err := keepAnAdmin(tx); err != nil {
				return err
			}
		}
		if deleted, err = dropUserImagesTx(tx, id, deleteImages); err != nil {
			return err
		}
		if err := deleteUserAlbumsTx(tx, id); err != nil {
			return err
		}
		if err := deleteUserKeysTx(tx, id); err != nil {
			return err
		}
		if _, err := deleteUserSessionsTx(tx, id); err != nil {
			return err
		}
		if rec.Email != "" {
			if err := tx.Bucket(bucketUsersByEmail).Delete([]byte(rec.Email)); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketUsersByName).Delete([]byte(strings.ToLower(rec.Name))); err != nil {
			return err
		}
		return tx.Bucket(bucketUsers).Delete(u64(id))
	})
	if err != nil {
		return nil, wrap(err, "delete user %d", id)
	}
	for _, img := range deleted {
		s.removeOrDeferFiles(img)
	}
	return deleted, nil
}

// dropUserImagesTx deletes the images of userID (returning them) or, when
// !deleteImages, gives them to the guests outside any album (returning nil).
func dropUserImagesTx(tx *bolt.Tx, userID uint64, deleteImages bool) ([]Image, error) {
	var ids []uint64
	prefix := u64(userID)
	c := tx.Bucket(bucketImagesByOwner).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, bytesToID(k[8:]))
	}
	return deleteOrKeepImagesTx(tx, ids, deleteImages, func(img *Image) { img.OwnerID, img.AlbumID = 0, 0 })
}

// deleteUserAlbumsTx deletes the albums of userID; images still in them
// (normally none: the caller dropped the user's images first) stay,
// outside any album.
func deleteUserAlbumsTx(tx *bolt.Tx, userID uint64) error {
	var ids []uint64
	prefix := u64(userID)
	c := tx.Bucket(bucketAlbumsByOwner).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, bytesToID(k[8:]))
	}
	for _, albumID := range ids {
		rec, err := getAlbum(tx, albumID)
		if err != nil {
			return err
		}
		if _, err := deleteAlbumTx(tx, rec, false); err != nil {
			return err
		}
	}
	return nil
}

// updateUser applies change to user id's record in one transaction, refusing
// with ErrConflict a change that takes away the last enabled admin.
func (s *Store) updateUser(id uint64, change func(*bolt.Tx, *userRecord) error) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getUser(tx, id)
		if err != nil {
			return err
		}
		was := rec.enabledAdmin()
		if err := change(tx, &rec); err != nil {
			return err
		}
		if was && !rec.enabledAdmin() {
			if err := keepAnAdmin(tx); err != nil {
				return err
			}
		}
		rec.V = schemaVersion
		return putJSON(tx.Bucket(bucketUsers), u64(id), rec)
	})
	return wrap(err, "update user %d", id)
}

// keepAnAdmin returns ErrConflict if there is at most one enabled admin:
// the caller is about to take that one away.
func keepAnAdmin(tx *bolt.Tx) error {
	n, err := enabledAdmins(tx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return fmt.Errorf("%w: this is the last enabled admin", ErrConflict)
	}
	return nil
}

func getUser(tx *bolt.Tx, id uint64) (userRecord, error) {
	var rec userRecord
	v := tx.Bucket(bucketUsers).Get(u64(id))
	if v == nil {
		return rec, ErrNotFound
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("decode user %d: %w", id, err)
	}
	return rec, nil
}

// viewUser reads one user record with get in a read transaction.
func (s *Store) viewUser(get func(*bolt.Tx) (userRecord, error)) (userRecord, error) {
	var rec userRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = get(tx)
		return err
	})
	return rec, err
}

// getUserByLogin finds the user a login subject names: an e-mail address
// when it contains '@' (user names cannot), else a user name.
func getUserByLogin(tx *bolt.Tx, subject string) (userRecord, error) {
	if strings.Contains(subject, "@") {
		return getUserByEmail(tx, subject)
	}
	return getUserByName(tx, subject)
}

func getUserByName(tx *bolt.Tx, name string) (userRecord, error) {
	v := tx.Bucket(bucketUsersByName).Get([]byte(strings.ToLower(name)))
	if len(v) != 8 {
		return userRecord{}, ErrNotFound
	}
	return getUser(tx, binary.BigEndian.Uint64(v))
}

func getUserByEmail(tx *bolt.Tx, email string) (userRecord, error) {
	v := tx.Bucket(bucketUsersByEmail).Get([]byte(strings.ToLower(email)))
	if len(v) != 8 {
		return userRecord{}, ErrNotFound
	}
	return getUser(tx, binary.BigEndian.Uint64(v))
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}
