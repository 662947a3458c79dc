package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestAPIKeys(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	alice := mustCreateUser(t, s, "alice")
	bob := mustCreateUser(t, s, "bob")

	key, k, err := s.CreateAPIKey(alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^pb_[0-9a-f]{40}$`).MatchString(key) {
		t.Fatalf("key %q is not pb_ + 40 hex", key)
	}
	if k.Prefix != key[:10] || k.UserID != alice.ID || k.ID == 0 || k.Created.IsZero() {
		t.Fatalf("APIKey = %+v", k)
	}

	t.Run("AuthAPIKey accepts the key", func(t *testing.T) {
		u, got, err := s.AuthAPIKey(key)
		if err != nil || u.ID != alice.ID || got.ID != k.ID {
			t.Fatalf("AuthAPIKey = %+v, %+v, %v", u, got, err)
		}
		if got.LastUsed.IsZero() {
			t.Fatalf("LastUsed not set on first use")
		}
	})
	t.Run("AuthAPIKey rejects other keys", func(t *testing.T) {
		for _, bad := range []string{"", "pb_", key[:len(key)-1], key + "0", key[:len(key)-1] + "x",
			"pb_" + string(bytes.ToUpper([]byte(key[3:]))), "pb_0000000000000000000000000000000000000000"} {
			if _, _, err := s.AuthAPIKey(bad); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("AuthAPIKey(%q): err = %v, want ErrUnauthorized", bad, err)
			}
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		if _, _, err := s.CreateAPIKey(999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("CreateAPIKey(999): %v", err)
		}
	})

	key2, k2, err := s.CreateAPIKey(alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("APIKeys newest first, per user", func(t *testing.T) {
		keys, err := s.APIKeys(alice.ID)
		if err != nil || len(keys) != 2 || keys[0].ID != k2.ID || keys[1].ID != k.ID {
			t.Fatalf("APIKeys(alice) = %+v, %v", keys, err)
		}
		keys, err = s.APIKeys(bob.ID)
		if err != nil || len(keys) != 0 {
			t.Fatalf("APIKeys(bob) = %+v, %v", keys, err)
		}
	})
	t.Run("another user's key id is ErrNotFound", func(t *testing.T) {
		if err := s.RevokeAPIKey(bob.ID, k.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("RevokeAPIKey(bob, alice's key): %v", err)
		}
		if _, _, err := s.AuthAPIKey(key); err != nil {
			t.Fatalf("key stopped working after a refused revoke: %v", err)
		}
	})
	t.Run("revoked key is ErrUnauthorized", func(t *testing.T) {
		if err := s.RevokeAPIKey(alice.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AuthAPIKey(key); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("revoked key: err = %v, want ErrUnauthorized", err)
		}
		if err := s.RevokeAPIKey(alice.ID, k.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
		if _, _, err := s.AuthAPIKey(key2); err != nil {
			t.Fatalf("other key broken by revoke: %v", err)
		}
	})
	t.Run("disabled user's key is ErrUnauthorized", func(t *testing.T) {
		if err := s.SetUserDisabled(alice.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AuthAPIKey(key2); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
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
		for _, secret := range []string{key, key2, key[3:], key2[3:]} {
			if bytes.Contains(data, []byte(secret)) {
				t.Fatalf("plaintext key %q found in picbed.db", secret)
			}
		}
		if !bytes.Contains(data, []byte(k2.Prefix)) {
			t.Fatalf("sanity: key prefix %q not found in picbed.db; is this the right file?", k2.Prefix)
		}
	})
}

func TestAuthAPIKeyDoesNotWriteEveryCall(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	u := mustCreateUser(t, s, "alice")
	key, _, err := s.CreateAPIKey(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	writes := func() int64 { st := s.db.Stats(); return st.TxStats.GetWrite() }
	before := writes()
	if _, _, err := s.AuthAPIKey(key); err != nil { // first use writes LastUsed
		t.Fatal(err)
	}
	if writes() == before {
		t.Fatal("sanity: the LastUsed write of the first use was not counted")
	}
	before = writes()
	for range 20 {
		if _, _, err := s.AuthAPIKey(key); err != nil {
			t.Fatal(err)
		}
	}
	if after := writes(); after != before {
		t.Fatalf("20 authentications wrote %d pages", after-before)
	}
}

func TestRegenerateAPIKey(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	alice, _ := s.CreateUser("alice", "secret1", false)
	bob := mustCreateUser(t, s, "bob")
	old1, _, _ := s.CreateAPIKey(alice.ID)
	old2, _, _ := s.CreateAPIKey(alice.ID)
	bobKey, _, err := s.CreateAPIKey(bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	key, k, err := s.RegenerateAPIKey(alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^pb_[0-9a-f]{40}$`).MatchString(key) || k.UserID != alice.ID || k.Prefix != key[:APIKeyPrefixLen] {
		t.Fatalf("RegenerateAPIKey = %q, %+v", key, k)
	}
	for _, old := range []string{old1, old2} {
		if _, _, err := s.AuthAPIKey(old); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("old key still works: %v", err)
		}
	}
	if u, got, err := s.AuthAPIKey(key); err != nil || u.ID != alice.ID || got.ID != k.ID {
		t.Fatalf("new key: %+v, %+v, %v", u, got, err)
	}
	if keys, err := s.APIKeys(alice.ID); err != nil || len(keys) != 1 || keys[0].ID != k.ID {
		t.Fatalf("APIKeys after regenerate = %+v, %v; want only the new key", keys, err)
	}
	if _, _, err := s.AuthAPIKey(bobKey); err != nil {
		t.Fatalf("another user's key broken: %v", err)
	}
	if _, _, err := s.RegenerateAPIKey(999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v, want ErrNotFound", err)
	}
	// A user without keys just gets one.
	if _, _, err := s.RegenerateAPIKey(bob.ID); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.APIKeys(bob.ID); len(keys) != 1 {
		t.Fatalf("bob has %d keys, want 1", len(keys))
	}
}
