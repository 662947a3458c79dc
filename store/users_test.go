package store

import (
	"errors"
	"strings"
	"testing"
)

func TestCreateUser(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	u, err := s.CreateUser("Alice_1", "secret1", true)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == 0 || u.Name != "Alice_1" || !u.Admin || u.Disabled || u.Created.IsZero() {
		t.Fatalf("CreateUser returned %+v", u)
	}

	t.Run("name is unique case-insensitively", func(t *testing.T) {
		if _, err := s.CreateUser("alice_1", "secret2", false); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate name: err = %v, want ErrConflict", err)
		}
	})
	t.Run("lookup is case-insensitive and keeps the typed name", func(t *testing.T) {
		got, err := s.UserByName("ALICE_1")
		if err != nil || got.ID != u.ID || got.Name != "Alice_1" {
			t.Fatalf("UserByName = %+v, %v", got, err)
		}
		got, err = s.User(u.ID)
		if err != nil || got != u {
			t.Fatalf("User = %+v, %v; want %+v", got, err, u)
		}
	})
	t.Run("unknown user is ErrNotFound", func(t *testing.T) {
		if _, err := s.User(999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("User(999): %v", err)
		}
		if _, err := s.UserByName("nobody"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UserByName(nobody): %v", err)
		}
	})

	for _, tc := range []struct{ name, user, pw string }{
		{"name too short", "ab", "secret1"},
		{"name too long", strings.Repeat("a", 33), "secret1"},
		{"name with dash", "bob-x", "secret1"},
		{"name with space", "bob x", "secret1"},
		{"name with non-ASCII", "bøb", "secret1"},
		{"password too short", "bob", "12345"},
		{"password too long", "bob", strings.Repeat("p", 129)},
	} {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			if _, err := s.CreateUser(tc.user, tc.pw, false); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}

	t.Run("Users lists in id order", func(t *testing.T) {
		b, err := s.CreateUser("bob", strings.Repeat("p", 128), false)
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.Users()
		if err != nil || len(all) != 2 || all[0].ID != u.ID || all[1].ID != b.ID {
			t.Fatalf("Users = %+v, %v", all, err)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	long := strings.Repeat("x", 100) // beyond bcrypt's 72 bytes
	u, err := s.CreateUser("carol", long, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.CheckPassword("Carol", long); err != nil || got.ID != u.ID {
		t.Fatalf("right password: %+v, %v", got, err)
	}
	for _, tc := range []struct{ name, user, pw string }{
		{"wrong password", "carol", "wrong-password"},
		{"password differing after byte 72", "carol", strings.Repeat("x", 99) + "y"},
		{"unknown user", "dave", long},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.CheckPassword(tc.user, tc.pw); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
		})
	}
	t.Run("disabled user", func(t *testing.T) {
		if err := s.SetUserDisabled(u.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckPassword("carol", long); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		if err := s.SetUserDisabled(u.ID, false); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("SetPassword", func(t *testing.T) {
		if err := s.SetPassword(u.ID, "newpass"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckPassword("carol", long); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("old password still works: %v", err)
		}
		if _, err := s.CheckPassword("carol", "newpass"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		if err := s.SetPassword(999, "newpass"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetPassword(999): %v", err)
		}
	})
}
