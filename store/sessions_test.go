package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	alice := mustCreateUser(t, s, "alice")
	bob := mustCreateUser(t, s, "bob")
	ua := "Mozilla/5.0 " + strings.Repeat("é", 150) // 312 bytes
	token, sess, err := s.CreateSession(alice.ID, time.Hour, true, ua)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(token) {
		t.Fatalf("token %q is not 64 hex", token)
	}
	if sess.ID == 0 || sess.UserID != alice.ID || !sess.Persistent || sess.Created.IsZero() ||
		sess.Expires.Sub(sess.Created) != time.Hour || !sess.LastSeen.Equal(sess.Created) {
		t.Fatalf("Session = %+v", sess)
	}
	if len(sess.UserAgent) > 200 || !strings.HasPrefix(ua, sess.UserAgent) || !strings.HasSuffix(sess.UserAgent, "é") {
		t.Fatalf("UserAgent %q (%d bytes) not cut to 200 bytes at a character boundary", sess.UserAgent, len(sess.UserAgent))
	}
	now := time.Now()
	// reopen registers the new store's Close on the test, not a subtest.
	reopen := func() { s = mustOpenStore(t, dir) }

	t.Run("the token finds the session and its user", func(t *testing.T) {
		got, u, err := s.Session(token, now)
		if err != nil || got != sess || u.ID != alice.ID {
			t.Fatalf("Session = %+v, %+v, %v; want %+v", got, u, err, sess)
		}
	})
	t.Run("refused tokens", func(t *testing.T) {
		for _, bad := range []string{"", token[:63], token + "0", strings.ToUpper(token), token[:63] + "g", strings.Repeat("0", 64)} {
			if _, _, err := s.Session(bad, now); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("Session(%q): %v, want ErrUnauthorized", bad, err)
			}
		}
	})
	t.Run("expired session", func(t *testing.T) {
		if _, _, err := s.Session(token, sess.Expires); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("at Expires: %v, want ErrUnauthorized", err)
		}
		if _, _, err := s.Session(token, sess.Expires.Add(-time.Second)); err != nil {
			t.Fatalf("a second before Expires: %v", err)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		if _, _, err := s.CreateSession(999, time.Hour, false, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown user: %v, want ErrNotFound", err)
		}
		if _, _, err := s.CreateSession(alice.ID, 0, false, ""); !errors.Is(err, ErrInvalid) {
			t.Fatalf("ttl 0: %v, want ErrInvalid", err)
		}
	})
	t.Run("logout", func(t *testing.T) {
		tok2, _, err := s.CreateSession(alice.ID, time.Hour, false, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(tok2); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Session(tok2, now); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("after logout: %v, want ErrUnauthorized", err)
		}
		for _, again := range []string{tok2, "not-a-token", ""} {
			if err := s.DeleteSession(again); err != nil {
				t.Fatalf("DeleteSession(%q): %v, want nil", again, err)
			}
		}
		if _, _, err := s.Session(token, now); err != nil {
			t.Fatalf("other session ended by logout: %v", err)
		}
	})
	t.Run("only the hash is in the database file", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, "picbed.db"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(token)) {
			t.Fatal("plaintext session token found in picbed.db")
		}
		reopen()
		if got, _, err := s.Session(token, now); err != nil || got != sess {
			t.Fatalf("session after reopen = %+v, %v", got, err)
		}
	})
	t.Run("disabled or deleted user", func(t *testing.T) {
		btok, _, err := s.CreateSession(bob.ID, time.Hour, false, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserDisabled(bob.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Session(btok, now); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("disabled user's session: %v, want ErrUnauthorized", err)
		}
		if _, _, err := s.CreateSession(bob.ID, time.Hour, false, ""); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("CreateSession for a disabled user: %v, want ErrUnauthorized", err)
		}
		if err := s.SetUserDisabled(bob.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Session(btok, now); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("disabling did not delete the session: %v", err)
		}
	})
	t.Run("SetPassword logs out everywhere", func(t *testing.T) {
		if err := s.SetPassword(alice.ID, "secret2"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Session(token, now); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("session survived a password change: %v", err)
		}
	})
}

func TestDeleteUserSessions(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	alice, _ := s.CreateUser("alice", "secret1", false)
	bob, _ := s.CreateUser("bob", "secret1", false)
	a1, _, _ := s.CreateSession(alice.ID, time.Hour, false, "")
	a2, _, _ := s.CreateSession(alice.ID, time.Hour, false, "")
	b1, _, err := s.CreateSession(bob.ID, time.Hour, false, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUserSessions(alice.ID); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a1, a2} {
		if _, _, err := s.Session(tok, time.Now()); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("alice's session survived: %v", err)
		}
	}
	if _, _, err := s.Session(b1, time.Now()); err != nil {
		t.Fatalf("bob's session ended: %v", err)
	}
	if err := s.DeleteUserSessions(999); err != nil {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestMaxSessionsPerUser(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	u, _ := s.CreateUser("alice", "secret1", false)
	var tokens []string
	for range MaxSessionsPerUser + 2 {
		tok, _, err := s.CreateSession(u.ID, time.Hour, false, "")
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	now := time.Now()
	for i, tok := range tokens {
		_, _, err := s.Session(tok, now)
		if i < 2 && !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("session %d (among the oldest) survived: %v", i, err)
		}
		if i >= 2 && err != nil {
			t.Fatalf("session %d dropped: %v", i, err)
		}
	}
}

func TestDeleteExpiredSessions(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	u, _ := s.CreateUser("alice", "secret1", false)
	short, _, _ := s.CreateSession(u.ID, time.Minute, false, "")
	long, _, err := s.CreateSession(u.ID, 24*time.Hour, true, "")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpiredSessions(time.Now()); err != nil || n != 0 {
		t.Fatalf("nothing expired yet: %d, %v", n, err)
	}
	later := time.Now().Add(time.Hour)
	if n, err := s.DeleteExpiredSessions(later); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	if _, _, err := s.Session(short, time.Now()); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("expired session not deleted: %v", err)
	}
	if _, _, err := s.Session(long, later); err != nil {
		t.Fatalf("live session deleted: %v", err)
	}
	// The per-user index was cleaned too: 50 new sessions keep the long one.
	for range MaxSessionsPerUser - 1 {
		if _, _, err := s.CreateSession(u.ID, time.Hour, false, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Session(long, time.Now()); err != nil {
		t.Fatalf("index still counts the deleted session: %v", err)
	}
}
