package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
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

func TestUserEmail(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	alice, err := s.CreateUserWithEmail("alice", "Alice@Example.COM", "secret1", false)
	if err != nil {
		t.Fatal(err)
	}
	if alice.Email != "alice@example.com" {
		t.Fatalf("Email = %q, want it lower-cased", alice.Email)
	}
	bob, err := s.CreateUser("bob", "secret1", false)
	if err != nil || bob.Email != "" {
		t.Fatalf("CreateUser = %+v, %v", bob, err)
	}

	t.Run("e-mail is unique case-insensitively", func(t *testing.T) {
		if _, err := s.CreateUserWithEmail("alice2", "ALICE@example.com", "secret1", false); !errors.Is(err, ErrConflict) {
			t.Fatalf("CreateUserWithEmail with a taken address: %v, want ErrConflict", err)
		}
		if err := s.SetUserEmail(bob.ID, "alice@EXAMPLE.com"); !errors.Is(err, ErrConflict) {
			t.Fatalf("SetUserEmail with a taken address: %v, want ErrConflict", err)
		}
	})
	t.Run("the name is still checked", func(t *testing.T) {
		if _, err := s.CreateUserWithEmail("ALICE", "other@example.com", "secret1", false); !errors.Is(err, ErrConflict) {
			t.Fatalf("taken name: %v, want ErrConflict", err)
		}
	})
	for _, tc := range []struct{ name, email string }{
		{"no at", "alice.example.com"},
		{"two ats", "a@b@example.com"},
		{"empty local part", "@example.com"},
		{"empty domain", "alice@"},
		{"space", "al ice@example.com"},
		{"leading space", " alice@example.com"},
		{"control character", "alice\x01@example.com"},
		{"newline", "alice@example.com\n"},
		{"invalid UTF-8", "al\xffice@example.com"},
		{"too long", strings.Repeat("a", MaxEmailLen-len("@example.com")+1) + "@example.com"},
	} {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			if _, err := s.CreateUserWithEmail("carol", tc.email, "secret1", false); !errors.Is(err, ErrInvalid) {
				t.Fatalf("CreateUserWithEmail(%q): %v, want ErrInvalid", tc.email, err)
			}
			if err := s.SetUserEmail(bob.ID, tc.email); !errors.Is(err, ErrInvalid) {
				t.Fatalf("SetUserEmail(%q): %v, want ErrInvalid", tc.email, err)
			}
		})
	}
	t.Run("longest address is accepted", func(t *testing.T) {
		email := strings.Repeat("a", MaxEmailLen-len("@example.com")) + "@example.com"
		if err := s.SetUserEmail(bob.ID, email); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserEmail(bob.ID, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("non-ASCII address", func(t *testing.T) {
		if err := s.SetUserEmail(bob.ID, "Bob@例子.测试"); err != nil {
			t.Fatal(err)
		}
		if u, err := s.CheckPassword("bob@例子.测试", "secret1"); err != nil || u.ID != bob.ID {
			t.Fatalf("login by non-ASCII address: %+v, %v", u, err)
		}
	})

	t.Run("login by e-mail", func(t *testing.T) {
		for _, subject := range []string{"alice@example.com", "ALICE@Example.com", "alice", "Alice"} {
			u, err := s.CheckPassword(subject, "secret1")
			if err != nil || u.ID != alice.ID || u.Email != "alice@example.com" {
				t.Fatalf("CheckPassword(%q) = %+v, %v", subject, u, err)
			}
		}
		for _, tc := range []struct{ subject, pw string }{
			{"alice@example.com", "wrong-pw"},
			{"nobody@example.com", "secret1"},
			{"@", "secret1"},
		} {
			if _, err := s.CheckPassword(tc.subject, tc.pw); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("CheckPassword(%q, %q): %v, want ErrUnauthorized", tc.subject, tc.pw, err)
			}
		}
	})

	t.Run("changing the address frees the old one", func(t *testing.T) {
		if err := s.SetUserEmail(alice.ID, "a2@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserEmail(alice.ID, "A2@example.com"); err != nil {
			t.Fatalf("setting the same address again: %v", err)
		}
		if _, err := s.CheckPassword("alice@example.com", "secret1"); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("old address still logs in: %v", err)
		}
		if _, err := s.CreateUserWithEmail("dave", "alice@example.com", "secret1", false); err != nil {
			t.Fatalf("old address not free: %v", err)
		}
		if err := s.SetUserEmail(alice.ID, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckPassword("a2@example.com", "secret1"); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("removed address still logs in: %v", err)
		}
		if err := s.SetUserEmail(999, "x@example.com"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetUserEmail(999): %v", err)
		}
	})

	t.Run("survives reopen", func(t *testing.T) {
		if err := s.SetUserEmail(alice.ID, "alice@example.org"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = mustOpenStore(t, dir)
		u, err := s.CheckPassword("alice@example.org", "secret1")
		if err != nil || u.ID != alice.ID {
			t.Fatalf("after reopen: %+v, %v", u, err)
		}
		if got, err := s.User(alice.ID); err != nil || got.Email != "alice@example.org" {
			t.Fatalf("User after reopen = %+v, %v", got, err)
		}
	})
}

func TestCheckUserPassword(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	u, err := s.CreateUser("alice", "secret1", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckUserPassword(u.ID, "secret1"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, pw := range []string{"secret2", "", strings.Repeat("s", MaxPasswordLen+1)} {
		if err := s.CheckUserPassword(u.ID, pw); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("CheckUserPassword(%q): %v, want ErrUnauthorized", pw, err)
		}
	}
	if err := s.CheckUserPassword(999, "secret1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v, want ErrNotFound", err)
	}
}

func TestCreateFirstAdmin(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	if has, err := s.HasAdmin(); err != nil || has {
		t.Fatalf("HasAdmin on a new store = %v, %v", has, err)
	}
	if _, err := s.CreateUser("plain", "secret1", false); err != nil {
		t.Fatal(err)
	}
	if has, _ := s.HasAdmin(); has {
		t.Fatal("HasAdmin true with only a non-admin user")
	}
	if _, err := s.CreateFirstAdmin("x", "root@example.com", "secret1"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad name: %v, want ErrInvalid", err)
	}

	// Two installers race: exactly one wins.
	const racers = 2
	var (
		wg      sync.WaitGroup
		results [racers]error
		users   [racers]User
	)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			users[i], results[i] = s.CreateFirstAdmin(fmt.Sprintf("admin%d", i), fmt.Sprintf("admin%d@example.com", i), "secret1")
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range results {
		switch {
		case err == nil:
			won++
			if !users[i].Admin || users[i].Email != fmt.Sprintf("admin%d@example.com", i) {
				t.Fatalf("winner = %+v", users[i])
			}
		case !errors.Is(err, ErrConflict):
			t.Fatalf("loser's error = %v, want ErrConflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d installers won, want exactly 1 (%v)", won, results)
	}
	if has, err := s.HasAdmin(); err != nil || !has {
		t.Fatalf("HasAdmin after install = %v, %v", has, err)
	}
	if _, err := s.CreateFirstAdmin("late", "", "secret1"); !errors.Is(err, ErrConflict) {
		t.Fatalf("third installer: %v, want ErrConflict", err)
	}
	all, _ := s.Users()
	if len(all) != 2 {
		t.Fatalf("users = %+v, want the plain user and one admin", all)
	}
}

func TestLastAdminProtection(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	root, err := s.CreateUser("root", "secret1", true)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := s.CreateUser("plain", "secret1", false)
	if err != nil {
		t.Fatal(err)
	}
	refuse := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("%s: %v, want ErrConflict", what, err)
		}
		if u, _ := s.User(root.ID); !u.Admin || u.Disabled {
			t.Fatalf("%s changed the last admin anyway: %+v", what, u)
		}
	}
	refuse("disable the only admin", s.SetUserDisabled(root.ID, true))
	refuse("demote the only admin", s.SetUserAdmin(root.ID, false))
	if err := s.SetUserDisabled(plain.ID, true); err != nil {
		t.Fatalf("disabling a non-admin: %v", err)
	}
	if err := s.SetUserAdmin(root.ID, true); err != nil {
		t.Fatalf("no-op on the last admin: %v", err)
	}

	// A disabled admin does not count.
	second, err := s.CreateUser("second", "secret1", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserDisabled(second.ID, true); err != nil {
		t.Fatal(err)
	}
	refuse("disable the only enabled admin", s.SetUserDisabled(root.ID, true))
	if err := s.SetUserDisabled(second.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserAdmin(root.ID, false); err != nil {
		t.Fatalf("demoting one of two admins: %v", err)
	}
	if err := s.SetUserDisabled(second.ID, true); !errors.Is(err, ErrConflict) {
		t.Fatalf("disabling the remaining admin: %v, want ErrConflict", err)
	}
}

func TestDeleteUser(t *testing.T) {
	for _, deleteImages := range []bool{false, true} {
		t.Run(fmt.Sprintf("deleteImages=%v", deleteImages), func(t *testing.T) {
			s := mustOpenStore(t, t.TempDir())
			root, err := s.CreateUser("root", "secret1", true)
			if err != nil {
				t.Fatal(err)
			}
			alice, err := s.CreateUserWithEmail("alice", "alice@example.com", "secret1", false)
			if err != nil {
				t.Fatal(err)
			}
			album, err := s.CreateAlbum(alice.ID, "trip", "", PrivacyPassword, "albumpw")
			if err != nil {
				t.Fatal(err)
			}
			key, _, _ := s.CreateAPIKey(alice.ID)
			token, _, err := s.CreateSession(alice.ID, time.Hour, false, "")
			if err != nil {
				t.Fatal(err)
			}
			inAlbum := mustPut(t, s, Image{OwnerID: alice.ID, AlbumID: album.ID, Name: "in", Ext: "png", Date: testDate, MD5: "inmd5", Expires: testDate}, threeFiles("in"))
			loose := mustPut(t, s, Image{OwnerID: alice.ID, Name: "loose", Ext: "png", Date: testDate, MD5: "loosemd5"}, threeFiles("loose"))
			guest := mustPut(t, s, Image{Name: "guest", Ext: "png", Date: testDate}, threeFiles("guest"))
			rootImg := mustPut(t, s, Image{OwnerID: root.ID, Name: "root", Ext: "png", Date: testDate}, threeFiles("root"))
			rootKey, _, _ := s.CreateAPIKey(root.ID)
			rootToken, _, _ := s.CreateSession(root.ID, time.Hour, false, "")

			got, err := s.DeleteUser(alice.ID, deleteImages)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.User(alice.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("user still there: %v", err)
			}
			if _, _, err := s.AuthAPIKey(key); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("API key still works: %v", err)
			}
			if keys, _ := s.APIKeys(alice.ID); len(keys) != 0 {
				t.Fatalf("keys left: %+v", keys)
			}
			if _, _, err := s.Session(token, time.Now()); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("session still works: %v", err)
			}
			if _, err := s.Album(album.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("album still there: %v", err)
			}
			if list, _ := s.Albums(alice.ID); len(list) != 0 {
				t.Fatalf("albums left: %+v", list)
			}
			if n, _ := s.CountImages(alice.ID); n != 0 {
				t.Fatalf("%d images still indexed under the deleted user", n)
			}
			// The name and address are free again.
			again, err := s.CreateUserWithEmail("ALICE", "alice@example.com", "secret1", false)
			if err != nil {
				t.Fatalf("name or e-mail not freed: %v", err)
			}
			if again.ID == alice.ID {
				t.Fatal("user id reused")
			}

			if deleteImages {
				if !reflect.DeepEqual(ids(got), []uint64{inAlbum.ID, loose.ID}) {
					t.Fatalf("DeleteUser returned %v, want the user's images", ids(got))
				}
				for _, img := range []Image{inAlbum, loose} {
					if _, err := s.Image(img.ID); !errors.Is(err, ErrNotFound) {
						t.Fatalf("image %q survived: %v", img.Name, err)
					}
					if _, err := os.Stat(s.FilePath(img, Full)); !errors.Is(err, fs.ErrNotExist) {
						t.Fatalf("file of %q left: %v", img.Name, err)
					}
				}
				if guests, _ := s.Images(0, 0, 0); !reflect.DeepEqual(ids(guests), []uint64{guest.ID}) {
					t.Fatalf("guest images = %v", ids(guests))
				}
				if _, err := s.FindDuplicate(0, "inmd5"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("md5 entry: %v", err)
				}
				if exp, _ := s.ExpiredImages(testDate, 0); len(exp) != 0 {
					t.Fatalf("expiry entry kept: %v", ids(exp))
				}
			} else {
				if got != nil {
					t.Fatalf("DeleteUser returned %v, want nil", ids(got))
				}
				for _, img := range []Image{inAlbum, loose} {
					now, err := s.Image(img.ID)
					if err != nil || now.OwnerID != 0 || now.AlbumID != 0 {
						t.Fatalf("re-owned image = %+v, %v", now, err)
					}
					if _, err := os.Stat(s.FilePath(img, Full)); err != nil {
						t.Fatalf("file of kept image: %v", err)
					}
				}
				if guests, _ := s.Images(0, 0, 0); !reflect.DeepEqual(ids(guests), []uint64{guest.ID, loose.ID, inAlbum.ID}) {
					t.Fatalf("Images(0) = %v, want the re-owned images with the guest one", ids(guests))
				}
				for md5, want := range map[string]uint64{"inmd5": inAlbum.ID, "loosemd5": loose.ID} {
					if dup, err := s.FindDuplicate(0, md5); err != nil || dup.ID != want {
						t.Fatalf("FindDuplicate(0, %s) = %+v, %v", md5, dup, err)
					}
					if _, err := s.FindDuplicate(alice.ID, md5); !errors.Is(err, ErrNotFound) {
						t.Fatalf("md5 entry under the deleted user: %v", err)
					}
				}
				if exp, _ := s.ExpiredImages(testDate, 0); !reflect.DeepEqual(ids(exp), []uint64{inAlbum.ID}) {
					t.Fatalf("expiry index = %v", ids(exp))
				}
				var albumEntries int
				s.db.View(func(tx *bolt.Tx) error { albumEntries = tx.Bucket(bucketImagesByAlbum).Stats().KeyN; return nil })
				if albumEntries != 0 {
					t.Fatalf("%d images_by_album entries left", albumEntries)
				}
			}

			// Nobody else was touched.
			if _, err := s.Image(rootImg.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.AuthAPIKey(rootKey); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Session(rootToken, time.Now()); err != nil {
				t.Fatal(err)
			}

			// The last enabled admin cannot be deleted; another admin can.
			if _, err := s.DeleteUser(root.ID, deleteImages); !errors.Is(err, ErrConflict) {
				t.Fatalf("deleting the last admin: %v, want ErrConflict", err)
			}
			if _, err := s.User(root.ID); err != nil {
				t.Fatalf("last admin gone: %v", err)
			}
			other, _ := s.CreateUser("other", "secret1", true)
			if _, err := s.DeleteUser(other.ID, deleteImages); err != nil {
				t.Fatalf("deleting one of two admins: %v", err)
			}
			if _, err := s.DeleteUser(999, deleteImages); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown user: %v", err)
			}
		})
	}
}
