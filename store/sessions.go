package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

const (
	// MaxSessionsPerUser bounds the sessions (browsers) a user can have;
	// CreateSession drops the oldest beyond it, so a script logging in in
	// a loop cannot grow the database without end.
	MaxSessionsPerUser = 50
	// sessionTokenBytes is 256 bits of randomness: like API keys, far
	// beyond guessing, so a fast SHA-256 is an adequate hash to store.
	sessionTokenBytes = 32
	// maxUserAgentLen bounds the User-Agent kept with a session; it is only
	// shown to the user to tell their sessions apart.
	maxUserAgentLen = 200
)

// Session is a logged-in browser. The token that names it is never stored.
type Session struct {
	ID         uint64
	UserID     uint64
	Created    time.Time
	Expires    time.Time
	LastSeen   time.Time // currently always Created: Session does not write
	Persistent bool      // "remember me": the cookie outlives the browser
	UserAgent  string    // at most 200 bytes
}

type sessionRecord struct {
	V          int       `json:"v"`
	ID         uint64    `json:"id"`
	UserID     uint64    `json:"user_id"`
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires"`
	LastSeen   time.Time `json:"last_seen"`
	Persistent bool      `json:"persistent,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
}

func (r sessionRecord) session() Session {
	return Session{
		ID: r.ID, UserID: r.UserID, Created: r.Created, Expires: r.Expires, LastSeen: r.LastSeen,
		Persistent: r.Persistent, UserAgent: r.UserAgent,
	}
}

// truncateUTF8 cuts s to at most n bytes without splitting a character,
// dropping invalid UTF-8 first.
func truncateUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CreateSession logs user userID in: it stores a session that expires after
// ttl and returns its token, 64 lower-case hex characters (32 random bytes)
// that only the caller ever sees; the store keeps SHA-256(token). userAgent
// is kept, cut to 200 bytes, to describe the session. If the user then has
// more than MaxSessionsPerUser sessions the oldest are deleted. It returns
// ErrInvalid for ttl <= 0, ErrNotFound for an unknown user and
// ErrUnauthorized for a disabled one.
func (s *Store) CreateSession(userID uint64, ttl time.Duration, persistent bool, userAgent string) (string, Session, error) {
	if ttl <= 0 {
		return "", Session{}, fmt.Errorf("%w: session lifetime must be positive", ErrInvalid)
	}
	raw := make([]byte, sessionTokenBytes)
	rand.Read(raw)
	token := hex.EncodeToString(raw)
	sum := hashKey(token)
	now := time.Now().UTC().Truncate(time.Second)
	rec := sessionRecord{
		V: schemaVersion, UserID: userID, Created: now, Expires: now.Add(ttl), LastSeen: now,
		Persistent: persistent, UserAgent: truncateUTF8(userAgent, maxUserAgentLen),
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		u, err := getUser(tx, userID)
		if err != nil {
			return err
		}
		if u.Disabled {
			return fmt.Errorf("%w: user disabled", ErrUnauthorized)
		}
		sessions := tx.Bucket(bucketSessions)
		if rec.ID, err = sessions.NextSequence(); err != nil {
			return err
		}
		if err := putJSON(sessions, sum, rec); err != nil {
			return err
		}
		byUser := tx.Bucket(bucketSessionsByUsr)
		if err := byUser.Put(join2(userID, rec.ID), sum); err != nil {
			return err
		}
		return trimSessions(tx, userID)
	})
	if err != nil {
		return "", Session{}, wrap(err, "create session for user %d", userID)
	}
	return token, rec.session(), nil
}

// trimSessions deletes the oldest sessions of userID beyond
// MaxSessionsPerUser.
func trimSessions(tx *bolt.Tx, userID uint64) error {
	refs, err := userSessions(tx, userID)
	if err != nil {
		return err
	}
	for len(refs) > MaxSessionsPerUser {
		if err := deleteSessionTx(tx, refs[0].sum, userID, refs[0].id); err != nil {
			return err
		}
		refs = refs[1:]
	}
	return nil
}

type sessionRef struct {
	id  uint64
	sum []byte
}

// userSessions lists the sessions of userID, oldest first, with copies of
// their hashes.
func userSessions(tx *bolt.Tx, userID uint64) ([]sessionRef, error) {
	var refs []sessionRef
	prefix := u64(userID)
	c := tx.Bucket(bucketSessionsByUsr).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != 16 {
			return nil, fmt.Errorf("bad sessions_by_user key %x", k)
		}
		refs = append(refs, sessionRef{id: bytesToID(k[8:]), sum: bytes.Clone(v)})
	}
	return refs, nil
}

func deleteSessionTx(tx *bolt.Tx, sum []byte, userID, id uint64) error {
	if err := tx.Bucket(bucketSessions).Delete(sum); err != nil {
		return err
	}
	return tx.Bucket(bucketSessionsByUsr).Delete(join2(userID, id))
}

// deleteUserSessionsTx deletes every session of userID and returns how many.
func deleteUserSessionsTx(tx *bolt.Tx, userID uint64) (int, error) {
	refs, err := userSessions(tx, userID)
	if err != nil {
		return 0, err
	}
	for _, r := range refs {
		if err := deleteSessionTx(tx, r.sum, userID, r.id); err != nil {
			return 0, err
		}
	}
	return len(refs), nil
}

// sessionSum returns SHA-256(token), or nil if token does not have the
// shape CreateSession gives tokens.
func sessionSum(token string) []byte {
	if len(token) != 2*sessionTokenBytes {
		return nil
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return nil
		}
	}
	// As in AuthAPIKey, looking up the digest in non-constant time reveals
	// nothing about stored tokens.
	return hashKey(token)
}

func getSession(tx *bolt.Tx, sum []byte) (sessionRecord, error) {
	var rec sessionRecord
	v := tx.Bucket(bucketSessions).Get(sum)
	if v == nil {
		return rec, ErrNotFound
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("decode session: %w", err)
	}
	return rec, nil
}

// Session returns the session named by token and its user. It returns
// ErrUnauthorized when the token is malformed or unknown, the session has
// expired at now, or the user is disabled or deleted. It only reads.
func (s *Store) Session(token string, now time.Time) (Session, User, error) {
	unauthorized := fmt.Errorf("%w: invalid or expired session", ErrUnauthorized)
	sum := sessionSum(token)
	if sum == nil {
		return Session{}, User{}, unauthorized
	}
	var (
		srec sessionRecord
		urec userRecord
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if srec, err = getSession(tx, sum); err != nil {
			return err
		}
		urec, err = getUser(tx, srec.UserID)
		return err
	})
	if isAny(err, ErrNotFound) {
		return Session{}, User{}, unauthorized
	}
	if err != nil {
		return Session{}, User{}, wrap(err, "look up session")
	}
	if !now.Before(srec.Expires) || urec.Disabled {
		return Session{}, User{}, unauthorized
	}
	return srec.session(), urec.user(), nil
}

// DeleteSession deletes the session named by token (logout). A malformed or
// unknown token is not an error: the session is gone either way.
func (s *Store) DeleteSession(token string) error {
	sum := sessionSum(token)
	if sum == nil {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getSession(tx, sum)
		if isAny(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return deleteSessionTx(tx, sum, rec.UserID, rec.ID)
	})
	return wrap(err, "delete session")
}

// DeleteUserSessions logs user userID out everywhere. A user without
// sessions, or an unknown user, is not an error.
func (s *Store) DeleteUserSessions(userID uint64) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		_, err := deleteUserSessionsTx(tx, userID)
		return err
	})
	return wrap(err, "delete sessions of user %d", userID)
}

// DeleteExpiredSessions deletes every session expired at now and returns
// how many it deleted; meant for a periodic job (Session already refuses
// expired sessions). It reads every session record, which is cheap at
// MaxSessionsPerUser per user.
func (s *Store) DeleteExpiredSessions(now time.Time) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		type expired struct {
			sum        []byte
			userID, id uint64
		}
		var gone []expired
		c := tx.Bucket(bucketSessions).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var rec sessionRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode session: %w", err)
			}
			if !now.Before(rec.Expires) {
				gone = append(gone, expired{bytes.Clone(k), rec.UserID, rec.ID})
			}
		}
		for _, e := range gone {
			if err := deleteSessionTx(tx, e.sum, e.userID, e.id); err != nil {
				return err
			}
		}
		n = len(gone)
		return nil
	})
	if err != nil {
		return 0, wrap(err, "delete expired sessions")
	}
	return n, nil
}
