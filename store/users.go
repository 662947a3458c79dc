package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

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

// User is an account. Admin users manage the install.
type User struct {
	ID       uint64
	Name     string
	Admin    bool
	Disabled bool
	Created  time.Time
}

type userRecord struct {
	V            int       `json:"v"`
	ID           uint64    `json:"id"`
	Name         string    `json:"name"`
	Admin        bool      `json:"admin,omitempty"`
	Disabled     bool      `json:"disabled,omitempty"`
	Created      time.Time `json:"created"`
	PasswordHash string    `json:"password_hash"`
	PWScheme     string    `json:"pw_scheme"`
}

func (r userRecord) user() User {
	return User{ID: r.ID, Name: r.Name, Admin: r.Admin, Disabled: r.Disabled, Created: r.Created}
}

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

// CreateUser adds a user. name must be 3-32 of [A-Za-z0-9_] and is unique
// case-insensitively (kept as typed); password must be 6-128 bytes and is
// stored as a bcrypt hash. It returns ErrInvalid (wrapped with the rule) or
// ErrConflict when the name is taken.
func (s *Store) CreateUser(name, password string, admin bool) (User, error) {
	if err := validUserName(name); err != nil {
		return User{}, err
	}
	if err := validPassword(password); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(password) // slow: outside the write lock
	if err != nil {
		return User{}, err
	}
	rec := userRecord{
		V: schemaVersion, Name: name, Admin: admin, Created: time.Now().UTC().Truncate(time.Second),
		PasswordHash: hash, PWScheme: pwScheme,
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		byName := tx.Bucket(bucketUsersByName)
		lname := []byte(strings.ToLower(name))
		if byName.Get(lname) != nil {
			return fmt.Errorf("%w: user name %q", ErrConflict, name)
		}
		users := tx.Bucket(bucketUsers)
		id, err := users.NextSequence()
		if err != nil {
			return err
		}
		rec.ID = id
		if err := putJSON(users, u64(id), rec); err != nil {
			return err
		}
		return byName.Put(lname, u64(id))
	})
	if err != nil {
		return User{}, wrap(err, "create user %q", name)
	}
	return rec.user(), nil
}

// User returns the user with id, or ErrNotFound.
func (s *Store) User(id uint64) (User, error) {
	var rec userRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getUser(tx, id)
		return err
	})
	if err != nil {
		return User{}, wrap(err, "user %d", id)
	}
	return rec.user(), nil
}

// UserByName returns the user whose name matches case-insensitively, or
// ErrNotFound.
func (s *Store) UserByName(name string) (User, error) {
	var rec userRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getUserByName(tx, name)
		return err
	})
	if err != nil {
		return User{}, wrap(err, "user %q", name)
	}
	return rec.user(), nil
}

// Users returns every user in id order.
func (s *Store) Users() ([]User, error) {
	users := []User{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).ForEach(func(k, v []byte) error {
			var rec userRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode user %d: %w", binary.BigEndian.Uint64(k), err)
			}
			users = append(users, rec.user())
			return nil
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

// CheckPassword returns the user named name (case-insensitive) if password
// is theirs and the user is not disabled. Otherwise it returns
// ErrUnauthorized, spending one bcrypt comparison in every case so the timing
// does not tell unknown names from wrong passwords.
func (s *Store) CheckPassword(name, password string) (User, error) {
	var rec userRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getUserByName(tx, name)
		return err
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, wrap(err, "check password")
	}
	if err != nil || len(password) > MaxPasswordLen || rec.PWScheme != pwScheme {
		bcrypt.CompareHashAndPassword(dummyHash(), prehash(password))
		return User{}, fmt.Errorf("%w: wrong user name or password", ErrUnauthorized)
	}
	if bcrypt.CompareHashAndPassword([]byte(rec.PasswordHash), prehash(password)) != nil || rec.Disabled {
		return User{}, fmt.Errorf("%w: wrong user name or password", ErrUnauthorized)
	}
	return rec.user(), nil
}

// SetPassword replaces the password of user id. It returns ErrInvalid for a
// bad password and ErrNotFound for an unknown user. API keys stay valid.
func (s *Store) SetPassword(id uint64, password string) error {
	if err := validPassword(password); err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	return s.updateUser(id, func(rec *userRecord) {
		rec.PasswordHash, rec.PWScheme = hash, pwScheme
	})
}

// SetUserDisabled enables or disables user id. A disabled user cannot log in
// and their API keys are refused. It returns ErrNotFound for an unknown user.
func (s *Store) SetUserDisabled(id uint64, disabled bool) error {
	return s.updateUser(id, func(rec *userRecord) { rec.Disabled = disabled })
}

// SetUserAdmin grants or removes admin rights of user id; ErrNotFound for an
// unknown user.
func (s *Store) SetUserAdmin(id uint64, admin bool) error {
	return s.updateUser(id, func(rec *userRecord) { rec.Admin = admin })
}

func (s *Store) updateUser(id uint64, change func(*userRecord)) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getUser(tx, id)
		if err != nil {
			return err
		}
		change(&rec)
		rec.V = schemaVersion
		return putJSON(tx.Bucket(bucketUsers), u64(id), rec)
	})
	return wrap(err, "update user %d", id)
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

func getUserByName(tx *bolt.Tx, name string) (userRecord, error) {
	v := tx.Bucket(bucketUsersByName).Get([]byte(strings.ToLower(name)))
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
