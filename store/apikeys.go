package store

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	// apiKeyPrefix marks picbed keys so they are recognizable in logs and
	// by secret scanners.
	apiKeyPrefix = "pb_"
	// apiKeyRandomBytes is 160 bits of randomness: far beyond guessing,
	// which is why a fast SHA-256 is an adequate hash to store.
	apiKeyRandomBytes = 20
	// apiKeyLen is the full key length: prefix + 40 hex.
	apiKeyLen = len(apiKeyPrefix) + 2*apiKeyRandomBytes
	// APIKeyPrefixLen is how much of a key is kept in clear (APIKey.Prefix)
	// to let a user tell their keys apart.
	APIKeyPrefixLen = 10
	// lastUsedGranularity limits LastUsed writes to one per key per hour,
	// so authenticating an upload does not cost a database fsync.
	lastUsedGranularity = time.Hour
)

// APIKey describes a key without the key itself, which is never stored.
type APIKey struct {
	ID       uint64
	UserID   uint64
	Prefix   string // first APIKeyPrefixLen characters of the key, e.g. "pb_1a2b3c4"
	Created  time.Time
	LastUsed time.Time // zero if never used; accurate to about an hour
}

type keyRecord struct {
	V        int       `json:"v"`
	ID       uint64    `json:"id"`
	UserID   uint64    `json:"user_id"`
	Prefix   string    `json:"prefix"`
	Hash     string    `json:"sha256"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitzero"`
}

func (r keyRecord) key() APIKey {
	return APIKey{ID: r.ID, UserID: r.UserID, Prefix: r.Prefix, Created: r.Created, LastUsed: r.LastUsed}
}

func hashKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// CreateAPIKey makes a new API key for user userID and returns it in clear;
// only its SHA-256 is stored, so it cannot be shown again. It returns
// ErrNotFound if there is no such user.
func (s *Store) CreateAPIKey(userID uint64) (string, APIKey, error) {
	key, rec := newKey(userID)
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		rec, err = createKeyTx(tx, rec)
		return err
	})
	if err != nil {
		return "", APIKey{}, wrap(err, "create api key for user %d", userID)
	}
	return key, rec.key(), nil
}

// RegenerateAPIKey replaces every key of user userID by one new key, in
// one transaction: the old keys stop working at once. It returns the new
// key in clear, as CreateAPIKey does, or ErrNotFound if there is no such
// user.
func (s *Store) RegenerateAPIKey(userID uint64) (string, APIKey, error) {
	key, rec := newKey(userID)
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := deleteUserKeysTx(tx, userID); err != nil {
			return err
		}
		var err error
		rec, err = createKeyTx(tx, rec)
		return err
	})
	if err != nil {
		return "", APIKey{}, wrap(err, "regenerate api key of user %d", userID)
	}
	return key, rec.key(), nil
}

// newKey makes a random key and its record (without an id) for userID.
func newKey(userID uint64) (string, keyRecord) {
	raw := make([]byte, apiKeyRandomBytes)
	rand.Read(raw)
	key := apiKeyPrefix + hex.EncodeToString(raw)
	return key, keyRecord{
		V: schemaVersion, UserID: userID, Prefix: key[:APIKeyPrefixLen],
		Hash: hex.EncodeToString(hashKey(key)), Created: time.Now().UTC().Truncate(time.Second),
	}
}

// createKeyTx stores rec with a new id; ErrNotFound if its user does not
// exist.
func createKeyTx(tx *bolt.Tx, rec keyRecord) (keyRecord, error) {
	if _, err := getUser(tx, rec.UserID); err != nil {
		return rec, err
	}
	sum, err := hex.DecodeString(rec.Hash)
	if err != nil {
		return rec, err
	}
	keys := tx.Bucket(bucketKeys)
	if rec.ID, err = keys.NextSequence(); err != nil {
		return rec, err
	}
	if err := putJSON(keys, u64(rec.ID), rec); err != nil {
		return rec, err
	}
	if err := tx.Bucket(bucketKeysByHash).Put(sum, u64(rec.ID)); err != nil {
		return rec, err
	}
	return rec, tx.Bucket(bucketKeysByUser).Put(join2(rec.UserID, rec.ID), nil)
}

// deleteUserKeysTx deletes every key of userID with its index entries.
func deleteUserKeysTx(tx *bolt.Tx, userID uint64) error {
	var ids []uint64
	prefix := u64(userID)
	c := tx.Bucket(bucketKeysByUser).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, bytesToID(k[8:]))
	}
	for _, id := range ids {
		rec, err := getKey(tx, id)
		if err != nil {
			return err
		}
		if err := deleteKeyTx(tx, rec); err != nil {
			return err
		}
	}
	return nil
}

func deleteKeyTx(tx *bolt.Tx, rec keyRecord) error {
	sum, err := hex.DecodeString(rec.Hash)
	if err != nil {
		return fmt.Errorf("decode key hash: %w", err)
	}
	if err := tx.Bucket(bucketKeysByHash).Delete(sum); err != nil {
		return err
	}
	if err := tx.Bucket(bucketKeysByUser).Delete(join2(rec.UserID, rec.ID)); err != nil {
		return err
	}
	return tx.Bucket(bucketKeys).Delete(u64(rec.ID))
}

// APIKeys returns the live keys of user userID, newest first (empty if the
// user has none or does not exist).
func (s *Store) APIKeys(userID uint64) ([]APIKey, error) {
	keys := []APIKey{}
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := u64(userID)
		c := tx.Bucket(bucketKeysByUser).Cursor()
		for k := seekLast(c, join2(userID, ^uint64(0))); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			rec, err := getKey(tx, binary.BigEndian.Uint64(k[8:]))
			if err != nil {
				return err
			}
			keys = append(keys, rec.key())
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "list api keys of user %d", userID)
	}
	return keys, nil
}

// RevokeAPIKey deletes key keyID of user userID; the key stops working at
// once. It returns ErrNotFound if there is no such key or it belongs to
// another user.
func (s *Store) RevokeAPIKey(userID, keyID uint64) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getKey(tx, keyID)
		if err != nil {
			return err
		}
		if rec.UserID != userID {
			return ErrNotFound
		}
		return deleteKeyTx(tx, rec)
	})
	return wrap(err, "revoke api key %d of user %d", keyID, userID)
}

// AuthAPIKey returns the user owning key and the key's description. It
// returns ErrUnauthorized for a malformed, unknown or revoked key and for a
// disabled user. It writes to the database at most once an hour per key (to
// refresh LastUsed), and a failure of that write is only logged.
func (s *Store) AuthAPIKey(key string) (User, APIKey, error) {
	unauthorized := fmt.Errorf("%w: invalid API key", ErrUnauthorized)
	if len(key) != apiKeyLen || key[:len(apiKeyPrefix)] != apiKeyPrefix {
		return User{}, APIKey{}, unauthorized
	}
	for i := len(apiKeyPrefix); i < len(key); i++ {
		if c := key[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return User{}, APIKey{}, unauthorized
		}
	}
	// The lookup below compares SHA-256(key) with stored digests in
	// non-constant time; that timing depends only on the digest of the
	// caller's own guess, from which no stored key's bytes can be learnt
	// (finding a key with a given digest prefix is a preimage search). The
	// checks above reveal only the public key format.
	sum := hashKey(key)
	var (
		krec keyRecord
		urec userRecord
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketKeysByHash).Get(sum)
		if len(v) != 8 {
			return ErrUnauthorized
		}
		var err error
		if krec, err = getKey(tx, binary.BigEndian.Uint64(v)); err != nil {
			return err
		}
		urec, err = getUser(tx, krec.UserID)
		return err
	})
	if err != nil {
		if isAny(err, ErrUnauthorized, ErrNotFound) {
			return User{}, APIKey{}, unauthorized
		}
		return User{}, APIKey{}, wrap(err, "authenticate api key")
	}
	if urec.Disabled {
		return User{}, APIKey{}, fmt.Errorf("%w: user disabled", ErrUnauthorized)
	}
	now := time.Now().UTC()
	if now.Sub(krec.LastUsed) >= lastUsedGranularity && s.shouldTouch(krec.ID, now) {
		krec.LastUsed = now.Truncate(time.Second)
		s.touchKey(krec.ID, krec.LastUsed)
	}
	return urec.user(), krec.key(), nil
}

// shouldTouch reports whether this process has not tried to write LastUsed
// of key id within the last hour, and remembers that it is trying now.
func (s *Store) shouldTouch(id uint64, now time.Time) bool {
	s.touchMu.Lock()
	defer s.touchMu.Unlock()
	if t, ok := s.touched[id]; ok && now.Sub(t) < lastUsedGranularity {
		return false
	}
	s.touched[id] = now
	return true
}

func (s *Store) touchKey(id uint64, at time.Time) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getKey(tx, id)
		if err != nil {
			return err
		}
		rec.LastUsed = at
		return putJSON(tx.Bucket(bucketKeys), u64(id), rec)
	})
	if err != nil {
		s.log.Warn("store: cannot update api key last use", slog.Uint64("key_id", id), slog.Any("err", err))
	}
}

func getKey(tx *bolt.Tx, id uint64) (keyRecord, error) {
	var rec keyRecord
	v := tx.Bucket(bucketKeys).Get(u64(id))
	if v == nil {
		return rec, ErrNotFound
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("decode api key %d: %w", id, err)
	}
	return rec, nil
}
