package store

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func ids(imgs []Image) []uint64 {
	out := []uint64{}
	for _, img := range imgs {
		out = append(out, img.ID)
	}
	return out
}

func mustAlbum(tb testing.TB, s *Store, id uint64) Album {
	tb.Helper()
	a, err := s.Album(id)
	if err != nil {
		tb.Fatalf("Album(%d): %v", id, err)
	}
	return a
}

// backdateAlbum sets the Updated time of album id to t.
func backdateAlbum(tb testing.TB, s *Store, id uint64, t time.Time) {
	tb.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		rec, err := getAlbum(tx, id)
		if err != nil {
			return err
		}
		rec.Updated = t
		return putJSON(tx.Bucket(bucketAlbums), u64(id), rec)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func TestAlbumCRUD(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	alice := mustCreateUser(t, s, "alice")
	a, err := s.CreateAlbum(alice.ID, "  旅行 2026 ", "line one\nline two\ttabbed", PrivacyUnlisted, "ignored pw")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.OwnerID != alice.ID || a.Title != "旅行 2026" || a.Description != "line one\nline two\ttabbed" ||
		a.Privacy != PrivacyUnlisted || a.HasPassword || a.Created.IsZero() || !a.Updated.Equal(a.Created) ||
		a.ImageCount != 0 || a.CoverID != 0 {
		t.Fatalf("CreateAlbum = %+v", a)
	}
	if got := mustAlbum(t, s, a.ID); !reflect.DeepEqual(got, a) {
		t.Fatalf("Album = %+v, want %+v", got, a)
	}
	b, err := s.CreateAlbum(alice.ID, "second", "", PrivacyPassword, "albumpw")
	if err != nil {
		t.Fatal(err)
	}
	if !b.HasPassword {
		t.Fatalf("password album without password: %+v", b)
	}
	if list, err := s.Albums(alice.ID); err != nil || !reflect.DeepEqual(list, []Album{b, a}) {
		t.Fatalf("Albums = %+v, %v; want newest first", list, err)
	}
	if list, err := s.Albums(999); err != nil || len(list) != 0 {
		t.Fatalf("Albums(unknown) = %+v, %v", list, err)
	}

	t.Run("refused fields", func(t *testing.T) {
		for _, tc := range []struct {
			name, title, desc string
			privacy           Privacy
			pw                string
		}{
			{"empty title", "", "", PrivacyPublic, ""},
			{"blank title", " \t ", "", PrivacyPublic, ""},
			{"title of 101 bytes", strings.Repeat("a", 101), "", PrivacyPublic, ""},
			{"title of 34 Chinese characters (102 bytes)", strings.Repeat("图", 34), "", PrivacyPublic, ""},
			{"title with a newline", "a\nb", "", PrivacyPublic, ""},
			{"title with invalid UTF-8", "a\xff", "", PrivacyPublic, ""},
			{"description too long", "t", strings.Repeat("d", MaxAlbumDescriptionLen+1), PrivacyPublic, ""},
			{"description with a control character", "t", "a\x00b", PrivacyPublic, ""},
			{"unknown privacy", "t", "", Privacy("friends"), ""},
			{"empty privacy", "t", "", "", ""},
			{"password privacy without password", "t", "", PrivacyPassword, ""},
			{"password too short", "t", "", PrivacyPassword, "12345"},
			{"password too long", "t", "", PrivacyPassword, strings.Repeat("p", MaxPasswordLen+1)},
		} {
			if _, err := s.CreateAlbum(alice.ID, tc.title, tc.desc, tc.privacy, tc.pw); !errors.Is(err, ErrInvalid) {
				t.Errorf("CreateAlbum %s: %v, want ErrInvalid", tc.name, err)
			}
			pw := tc.pw
			if _, err := s.UpdateAlbum(a.ID, tc.title, tc.desc, tc.privacy, &pw); !errors.Is(err, ErrInvalid) {
				t.Errorf("UpdateAlbum %s: %v, want ErrInvalid", tc.name, err)
			}
		}
		if _, err := s.CreateAlbum(0, "guest album", "", PrivacyPublic, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("owner 0: %v, want ErrInvalid", err)
		}
		if _, err := s.CreateAlbum(999, "t", "", PrivacyPublic, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown owner: %v, want ErrNotFound", err)
		}
		if _, err := s.CreateAlbum(alice.ID, strings.Repeat("图", 33)+"a", strings.Repeat("d", MaxAlbumDescriptionLen), PrivacyPrivate, ""); err != nil {
			t.Errorf("title of exactly 100 bytes and longest description: %v", err)
		}
		if got := mustAlbum(t, s, a.ID); !reflect.DeepEqual(got, a) {
			t.Fatalf("refused updates changed the album: %+v", got)
		}
	})

	t.Run("password rules", func(t *testing.T) {
		if !s.CheckAlbumPassword(b.ID, "albumpw") {
			t.Fatal("right album password refused")
		}
		for _, pw := range []string{"", "albumpw2", strings.Repeat("x", 200)} {
			if s.CheckAlbumPassword(b.ID, pw) {
				t.Fatalf("wrong album password %q accepted", pw)
			}
		}
		if s.CheckAlbumPassword(a.ID, "") || s.CheckAlbumPassword(999, "albumpw") {
			t.Fatal("album without password or unknown album accepted a password")
		}
		// nil keeps the stored password.
		got, err := s.UpdateAlbum(b.ID, "second renamed", "d", PrivacyPassword, nil)
		if err != nil || !got.HasPassword || got.Title != "second renamed" || !s.CheckAlbumPassword(b.ID, "albumpw") {
			t.Fatalf("UpdateAlbum keeping the password = %+v, %v", got, err)
		}
		// A new one replaces it.
		pw := "newalbumpw"
		if _, err := s.UpdateAlbum(b.ID, "second", "", PrivacyPassword, &pw); err != nil {
			t.Fatal(err)
		}
		if s.CheckAlbumPassword(b.ID, "albumpw") || !s.CheckAlbumPassword(b.ID, pw) {
			t.Fatal("new album password not in effect")
		}
		// Leaving password privacy drops it, and it does not come back.
		got, err = s.UpdateAlbum(b.ID, "second", "", PrivacyPublic, nil)
		if err != nil || got.HasPassword || got.Privacy != PrivacyPublic || s.CheckAlbumPassword(b.ID, pw) {
			t.Fatalf("UpdateAlbum to public = %+v, %v", got, err)
		}
		if _, err := s.UpdateAlbum(b.ID, "second", "", PrivacyPassword, nil); !errors.Is(err, ErrInvalid) {
			t.Fatalf("password privacy with no stored password and nil: %v, want ErrInvalid", err)
		}
		// Switching an album without one to password privacy with a password.
		if got, err := s.UpdateAlbum(a.ID, a.Title, a.Description, PrivacyPassword, &pw); err != nil || !got.HasPassword {
			t.Fatalf("UpdateAlbum to password = %+v, %v", got, err)
		}
		if !s.CheckAlbumPassword(a.ID, pw) {
			t.Fatal("password set by UpdateAlbum refused")
		}
		if _, err := s.UpdateAlbum(999, "t", "", PrivacyPublic, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UpdateAlbum(unknown): %v", err)
		}
	})

	t.Run("survive reopen", func(t *testing.T) {
		before := mustAlbum(t, s, a.ID)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s := mustOpenStore(t, dir)
		if got := mustAlbum(t, s, a.ID); !reflect.DeepEqual(got, before) {
			t.Fatalf("album after reopen = %+v, want %+v", got, before)
		}
		if !s.CheckAlbumPassword(a.ID, "newalbumpw") {
			t.Fatal("album password lost on reopen")
		}
		if list, _ := s.Albums(alice.ID); len(list) != 3 {
			t.Fatalf("Albums after reopen: %d, want 3", len(list))
		}
	})
}

func TestAlbumCountsAndCover(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	alice, album := mustUserAlbum(t, s, "alice")
	other, err := s.CreateAlbum(alice.ID, "other", "", PrivacyPrivate, "")
	if err != nil {
		t.Fatal(err)
	}
	put := func(name string, albumID uint64) Image {
		return mustPut(t, s, Image{OwnerID: alice.ID, AlbumID: albumID, Name: name, Ext: "png", Date: testDate}, map[Variant]string{Full: name})
	}
	want := func(a Album, count int, cover uint64) {
		t.Helper()
		got := mustAlbum(t, s, a.ID)
		if got.ImageCount != count || got.CoverID != cover {
			t.Fatalf("album %q: count %d cover %d, want %d and %d", got.Title, got.ImageCount, got.CoverID, count, cover)
		}
	}
	i1 := put("one", album.ID)
	i2 := put("two", album.ID)
	loose := put("loose", 0)
	want(album, 2, i2.ID)
	want(other, 0, 0)
	if list, _ := s.Albums(alice.ID); list[1].ImageCount != 2 || list[1].CoverID != i2.ID {
		t.Fatalf("Albums does not count: %+v", list[1])
	}

	got, err := s.AlbumImages(album.ID, 0, 0)
	if err != nil || !reflect.DeepEqual(ids(got), []uint64{i2.ID, i1.ID}) {
		t.Fatalf("AlbumImages = %v, %v", ids(got), err)
	}
	if got, _ := s.AlbumImages(album.ID, i2.ID, 1); !reflect.DeepEqual(ids(got), []uint64{i1.ID}) {
		t.Fatalf("AlbumImages page 2 = %v", ids(got))
	}
	if _, err := s.AlbumImages(999, 0, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("AlbumImages(unknown): %v, want ErrNotFound", err)
	}

	// Move the newest out: the cover falls back, the target gains it.
	longAgo := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, a := range []Album{album, other} {
		backdateAlbum(t, s, a.ID, longAgo)
	}
	if err := s.MoveImages(alice.ID, []uint64{i2.ID, i2.ID}, other.ID); err != nil {
		t.Fatal(err)
	}
	want(album, 1, i1.ID)
	want(other, 1, i2.ID)
	for _, a := range []Album{album, other} {
		if got := mustAlbum(t, s, a.ID); !got.Updated.After(longAgo) {
			t.Fatalf("album %q Updated not bumped by MoveImages", a.Title)
		}
	}
	backdateAlbum(t, s, other.ID, longAgo)
	three := put("three", other.ID)
	if got := mustAlbum(t, s, other.ID); !got.Updated.After(longAgo) {
		t.Fatal("album Updated not bumped by PutImage")
	}
	if err := s.DeleteImage(three.ID); err != nil {
		t.Fatal(err)
	}
	if img, _ := s.Image(i2.ID); img.AlbumID != other.ID {
		t.Fatalf("moved image's AlbumID = %d", img.AlbumID)
	}
	// Into no album, and a loose image into one.
	if err := s.MoveImages(alice.ID, []uint64{i1.ID, loose.ID}, 0); err != nil {
		t.Fatal(err)
	}
	want(album, 0, 0)
	if err := s.MoveImages(alice.ID, []uint64{loose.ID}, album.ID); err != nil {
		t.Fatal(err)
	}
	want(album, 1, loose.ID)

	// Deleting and expiring images keep counts right.
	if err := s.DeleteImage(loose.ID); err != nil {
		t.Fatal(err)
	}
	want(album, 0, 0)
	exp := mustPut(t, s, Image{OwnerID: alice.ID, AlbumID: other.ID, Name: "exp", Ext: "png", Date: testDate, Expires: testDate}, map[Variant]string{Full: "e"})
	want(other, 2, exp.ID)
	expired, err := s.ExpiredImages(testDate.Add(time.Hour), 0)
	if err != nil || len(expired) != 1 {
		t.Fatalf("ExpiredImages = %v, %v", ids(expired), err)
	}
	if err := s.DeleteImage(expired[0].ID); err != nil {
		t.Fatal(err)
	}
	want(other, 1, i2.ID)
}

func TestPutImageRefusesForeignAlbum(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	alice, album := mustUserAlbum(t, s, "alice")
	bob, _ := mustUserAlbum(t, s, "bob")
	for _, tc := range []struct {
		name           string
		owner, albumID uint64
	}{
		{"another user's album", bob.ID, album.ID},
		{"a guest into an album", 0, album.ID},
		{"an album that does not exist", alice.ID, 999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.PutImage(Image{OwnerID: tc.owner, AlbumID: tc.albumID, Name: "x", Ext: "png", Date: testDate}, newUpload(t, s, threeFiles("x")))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("PutImage: %v, want ErrInvalid", err)
			}
			if files := treeFiles(t, s.ImagesDir()); len(files) != 0 {
				t.Fatalf("files left behind: %v", files)
			}
		})
	}
}

func TestMoveImagesIsAllOrNothing(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	alice, aliceAlbum := mustUserAlbum(t, s, "alice")
	bob, bobAlbum := mustUserAlbum(t, s, "bob")
	mine := mustPut(t, s, Image{OwnerID: alice.ID, Name: "mine", Ext: "png", Date: testDate}, map[Variant]string{Full: "m"})
	theirs := mustPut(t, s, Image{OwnerID: bob.ID, Name: "theirs", Ext: "png", Date: testDate}, map[Variant]string{Full: "t"})
	guest := mustPut(t, s, Image{Name: "guest", Ext: "png", Date: testDate}, map[Variant]string{Full: "g"})
	for _, tc := range []struct {
		name    string
		ids     []uint64
		albumID uint64
		want    error
	}{
		{"another user's image", []uint64{mine.ID, theirs.ID}, aliceAlbum.ID, ErrNotFound},
		{"a guest image", []uint64{mine.ID, guest.ID}, aliceAlbum.ID, ErrNotFound},
		{"an image that does not exist", []uint64{mine.ID, 999}, aliceAlbum.ID, ErrNotFound},
		{"another user's album", []uint64{mine.ID}, bobAlbum.ID, ErrNotFound},
		{"an album that does not exist", []uint64{mine.ID}, 999, ErrNotFound},
		{"too many ids", make([]uint64, MaxImagesLimit+1), aliceAlbum.ID, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.MoveImages(alice.ID, tc.ids, tc.albumID); !errors.Is(err, tc.want) {
				t.Fatalf("MoveImages: %v, want %v", err, tc.want)
			}
			for _, img := range []Image{mine, theirs, guest} {
				if got, _ := s.Image(img.ID); got.AlbumID != 0 {
					t.Fatalf("image %q moved to album %d by a refused MoveImages", got.Name, got.AlbumID)
				}
			}
			if a := mustAlbum(t, s, aliceAlbum.ID); a.ImageCount != 0 {
				t.Fatalf("album count %d after a refused MoveImages", a.ImageCount)
			}
		})
	}
	if err := s.MoveImages(alice.ID, nil, aliceAlbum.ID); err != nil {
		t.Fatalf("moving nothing: %v", err)
	}
}

func TestDeleteAlbum(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	alice, keepImages := mustUserAlbum(t, s, "alice")
	dropImages, err := s.CreateAlbum(alice.ID, "drop", "", PrivacyPublic, "")
	if err != nil {
		t.Fatal(err)
	}
	k1 := mustPut(t, s, Image{OwnerID: alice.ID, AlbumID: keepImages.ID, Name: "k1", Ext: "png", Date: testDate, MD5: "k1md5"}, threeFiles("k1"))
	d1 := mustPut(t, s, Image{OwnerID: alice.ID, AlbumID: dropImages.ID, Name: "d1", Ext: "png", Date: testDate, MD5: "d1md5", Expires: testDate}, threeFiles("d1"))
	d2 := mustPut(t, s, Image{OwnerID: alice.ID, AlbumID: dropImages.ID, Name: "d2", Ext: "png", Date: testDate}, threeFiles("d2"))
	loose := mustPut(t, s, Image{OwnerID: alice.ID, Name: "loose", Ext: "png", Date: testDate}, threeFiles("l"))

	t.Run("keeping the images", func(t *testing.T) {
		got, err := s.DeleteAlbum(keepImages.ID, false)
		if err != nil || got != nil {
			t.Fatalf("DeleteAlbum = %v, %v; want nil, nil", got, err)
		}
		if _, err := s.Album(keepImages.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("album still there: %v", err)
		}
		img, err := s.Image(k1.ID)
		if err != nil || img.AlbumID != 0 {
			t.Fatalf("image = %+v, %v; want kept with AlbumID 0", img, err)
		}
		if _, err := os.Stat(s.FilePath(k1, Full)); err != nil {
			t.Fatalf("kept image's file: %v", err)
		}
		if dup, err := s.FindDuplicate(alice.ID, "k1md5"); err != nil || dup.AlbumID != 0 {
			t.Fatalf("md5 index after detaching: %+v, %v", dup, err)
		}
		if list, _ := s.Albums(alice.ID); len(list) != 1 || list[0].ID != dropImages.ID {
			t.Fatalf("Albums = %+v", list)
		}
	})
	t.Run("deleting the images", func(t *testing.T) {
		got, err := s.DeleteAlbum(dropImages.ID, true)
		if err != nil || !reflect.DeepEqual(ids(got), []uint64{d1.ID, d2.ID}) {
			t.Fatalf("DeleteAlbum = %v, %v; want images %d and %d", ids(got), err, d1.ID, d2.ID)
		}
		for _, img := range []Image{d1, d2} {
			if _, err := s.Image(img.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("image %q survived: %v", img.Name, err)
			}
			for _, v := range variants {
				if _, err := os.Stat(s.FilePath(img, v)); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("%s %v file still there: %v", img.Name, v, err)
				}
			}
		}
		if _, err := s.FindDuplicate(alice.ID, "d1md5"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("md5 index entry kept: %v", err)
		}
		if exp, _ := s.ExpiredImages(testDate.Add(time.Hour), 0); len(exp) != 0 {
			t.Fatalf("expiry index entry kept: %v", ids(exp))
		}
		if left, _ := s.Images(alice.ID, 0, 0); !reflect.DeepEqual(ids(left), []uint64{loose.ID, k1.ID}) {
			t.Fatalf("Images = %v, want the loose and the detached image", ids(left))
		}
		if _, err := s.DeleteAlbum(dropImages.ID, true); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second DeleteAlbum: %v", err)
		}
	})
}

// TestAlbumPasswordStamp checks that the stamp follows the password and
// nothing else: none without one, the same after other edits, a new one
// for every new password (even the same text) and after leaving password
// privacy.
func TestAlbumPasswordStamp(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	u := mustCreateUser(t, s, "alice")
	a, err := s.CreateAlbum(u.ID, "Open", "", PrivacyPublic, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.PasswordStamp != "" {
		t.Fatalf("stamp without a password: %q", a.PasswordStamp)
	}
	pw := "hunter22"
	a, err = s.UpdateAlbum(a.ID, "Closed", "", PrivacyPassword, &pw)
	if err != nil {
		t.Fatal(err)
	}
	first := a.PasswordStamp
	if first == "" {
		t.Fatal("no stamp with a password")
	}
	a, err = s.UpdateAlbum(a.ID, "Renamed", "words", PrivacyPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.PasswordStamp != first {
		t.Fatalf("stamp changed by an edit that kept the password: %q -> %q", first, a.PasswordStamp)
	}
	a, err = s.UpdateAlbum(a.ID, "Renamed", "words", PrivacyPassword, &pw)
	if err != nil {
		t.Fatal(err)
	}
	if a.PasswordStamp == first || a.PasswordStamp == "" {
		t.Fatalf("the same password set again kept the stamp %q", a.PasswordStamp)
	}
	a, err = s.UpdateAlbum(a.ID, "Renamed", "words", PrivacyUnlisted, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.PasswordStamp != "" {
		t.Fatalf("stamp after leaving password privacy: %q", a.PasswordStamp)
	}
}
