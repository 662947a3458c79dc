package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestGuestIDAndClaim(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	alice := mustCreateUser(t, s, "alice")
	const guest, otherGuest = "0a1b2c", "0a1b2c3d" // one is a prefix of the other
	g1 := mustPut(t, s, Image{GuestID: guest, Name: "g1", Ext: "png", Date: testDate, MD5: "g1md5"}, threeFiles("g1"))
	g2 := mustPut(t, s, Image{GuestID: guest, Name: "g2", Ext: "png", Date: testDate, Expires: testDate}, threeFiles("g2"))
	o1 := mustPut(t, s, Image{GuestID: otherGuest, Name: "o1", Ext: "png", Date: testDate}, threeFiles("o1"))
	anon := mustPut(t, s, Image{Name: "anon", Ext: "png", Date: testDate}, threeFiles("a"))
	if got, _ := s.Image(g1.ID); got.GuestID != guest {
		t.Fatalf("GuestID not stored: %+v", got)
	}

	t.Run("refused arguments", func(t *testing.T) {
		if _, err := s.ClaimGuestImages("", alice.ID); !errors.Is(err, ErrInvalid) {
			t.Fatalf("empty guest id: %v, want ErrInvalid", err)
		}
		if _, err := s.ClaimGuestImages("a\x00b", alice.ID); !errors.Is(err, ErrInvalid) {
			t.Fatalf("guest id with NUL: %v, want ErrInvalid", err)
		}
		if _, err := s.ClaimGuestImages(guest, 999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown user: %v, want ErrNotFound", err)
		}
		for _, bad := range []string{"a\x00b", strings.Repeat("a", MaxGuestIDLen+1)} {
			if _, err := s.PutImage(Image{GuestID: bad, Name: "x", Ext: "png", Date: testDate}, newUpload(t, s, threeFiles("x"))); !errors.Is(err, ErrInvalid) {
				t.Fatalf("PutImage with guest id %q: %v, want ErrInvalid", bad, err)
			}
		}
	})

	n, err := s.ClaimGuestImages(guest, alice.ID)
	if err != nil || n != 2 {
		t.Fatalf("ClaimGuestImages = %d, %v; want 2", n, err)
	}
	for _, img := range []Image{g1, g2} {
		got, err := s.Image(img.ID)
		if err != nil || got.OwnerID != alice.ID || got.GuestID != "" {
			t.Fatalf("claimed image = %+v, %v", got, err)
		}
	}
	if mine, _ := s.Images(alice.ID, 0, 0); !reflect.DeepEqual(ids(mine), []uint64{g2.ID, g1.ID}) {
		t.Fatalf("Images(alice) = %v", ids(mine))
	}
	if guests, _ := s.Images(0, 0, 0); !reflect.DeepEqual(ids(guests), []uint64{anon.ID, o1.ID}) {
		t.Fatalf("Images(guests) = %v, want the unclaimed ones", ids(guests))
	}
	if dup, err := s.FindDuplicate(alice.ID, "g1md5"); err != nil || dup.ID != g1.ID {
		t.Fatalf("md5 index not moved to the new owner: %+v, %v", dup, err)
	}
	if _, err := s.FindDuplicate(0, "g1md5"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("guest md5 entry kept: %v", err)
	}
	if exp, _ := s.ExpiredImages(testDate, 0); !reflect.DeepEqual(ids(exp), []uint64{g2.ID}) {
		t.Fatalf("expiry index lost: %v", ids(exp))
	}
	if n, err := s.ClaimGuestImages(guest, alice.ID); err != nil || n != 0 {
		t.Fatalf("second claim = %d, %v; want 0", n, err)
	}
	if got, _ := s.Image(o1.ID); got.OwnerID != 0 || got.GuestID != otherGuest {
		t.Fatalf("another guest's image claimed: %+v", got)
	}
	// Deleting a guest image drops its guest index entry.
	if err := s.DeleteImage(o1.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ClaimGuestImages(otherGuest, alice.ID); err != nil || n != 0 {
		t.Fatalf("claim after delete = %d, %v; want 0", n, err)
	}
	var left int
	s.db.View(func(tx *bolt.Tx) error { left = tx.Bucket(bucketImagesByGuest).Stats().KeyN; return nil })
	if left != 0 {
		t.Fatalf("%d images_by_guest entries left", left)
	}
}

func TestSetImageText(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	img := mustPut(t, s, Image{Name: "pic", Ext: "png", Date: testDate, Title: "old", MD5: "m"}, threeFiles("p"))
	got, err := s.SetImageText(img.ID, "  新标题 ", "第一行\n第二行")
	if err != nil || got.Title != "新标题" || got.Description != "第一行\n第二行" {
		t.Fatalf("SetImageText = %+v, %v", got, err)
	}
	want := img
	want.Title, want.Description = got.Title, got.Description
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SetImageText changed more than the text:\n got %+v\nwant %+v", got, want)
	}
	if got, err := s.SetImageText(img.ID, strings.Repeat("图", MaxTitleLen), strings.Repeat("字", MaxDescriptionLen)); err != nil || got.Title == "" {
		t.Fatalf("longest title and description in CJK: %v", err)
	}
	if got, err := s.SetImageText(img.ID, "", ""); err != nil || got.Title != "" || got.Description != "" {
		t.Fatalf("clearing: %+v, %v", got, err)
	}
	for _, tc := range []struct{ name, title, desc string }{
		{"title too long", strings.Repeat("图", MaxTitleLen+1), ""},
		{"description too long", "", strings.Repeat("a", MaxDescriptionLen+1)},
		{"title with a newline", "a\nb", ""},
		{"description with a control character", "", "a\x07"},
		{"invalid UTF-8", "a\xff", ""},
	} {
		if _, err := s.SetImageText(img.ID, tc.title, tc.desc); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
	if _, err := s.SetImageText(999, "t", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown image: %v, want ErrNotFound", err)
	}
	if _, err := s.SetImageText(img.ID, "kept", "after reopen"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpenStore(t, dir)
	if got, _ := s.Image(img.ID); got.Title != "kept" || got.Description != "after reopen" {
		t.Fatalf("text after reopen: %+v", got)
	}
	if dup, err := s.FindDuplicate(0, "m"); err != nil || dup.Title != "kept" {
		t.Fatalf("indexes after SetImageText: %+v, %v", dup, err)
	}
}

func TestSearchImages(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	alice := mustCreateUser(t, s, "alice")
	put := func(owner uint64, name, title, orig string) Image {
		return mustPut(t, s, Image{OwnerID: owner, Name: name, Ext: "png", Date: testDate, Title: title, OriginalFilename: orig}, map[Variant]string{Full: name})
	}
	cat := put(alice.ID, "a", "My Cat", "IMG_0001.JPG")
	shanghai := put(alice.ID, "b", "上海的夜景", "night.png")
	dog := put(alice.ID, "c", "", "Dog-Photo.png")
	straße := put(alice.ID, "d", "STRASSE und Straße", "")
	put(0, "e", "guest cat", "cat.png")

	for _, tc := range []struct {
		query string
		want  []uint64
	}{
		{"cat", []uint64{cat.ID}},
		{"CAT", []uint64{cat.ID}},
		{" cat ", []uint64{cat.ID}},
		{"img_0001", []uint64{cat.ID}},
		{"上海", []uint64{shanghai.ID}},
		{"夜景", []uint64{shanghai.ID}},
		{"dog-photo", []uint64{dog.ID}},
		{"STRASSE", []uint64{straße.ID}},
		{"straße", []uint64{straße.ID}},
		{".png", []uint64{dog.ID, shanghai.ID}},
		{"nothing", []uint64{}},
		{"", []uint64{straße.ID, dog.ID, shanghai.ID, cat.ID}},
		{"   ", []uint64{straße.ID, dog.ID, shanghai.ID, cat.ID}},
	} {
		t.Run(fmt.Sprintf("%q", tc.query), func(t *testing.T) {
			got, err := s.SearchImages(alice.ID, tc.query, 0, 0)
			if err != nil || !reflect.DeepEqual(ids(got), tc.want) {
				t.Fatalf("SearchImages(%q) = %v, %v; want %v", tc.query, ids(got), err, tc.want)
			}
		})
	}
	t.Run("pages with before and limit", func(t *testing.T) {
		got, err := s.SearchImages(alice.ID, "p", 0, 1) // .png, .png, .jpg: not in "STRASSE und Straße"
		if err != nil || !reflect.DeepEqual(ids(got), []uint64{dog.ID}) {
			t.Fatalf("page 1 = %v, %v", ids(got), err)
		}
		got, err = s.SearchImages(alice.ID, "p", dog.ID, 10)
		if err != nil || !reflect.DeepEqual(ids(got), []uint64{shanghai.ID, cat.ID}) {
			t.Fatalf("page 2 = %v, %v", ids(got), err)
		}
	})
	if got, _ := s.SearchImages(0, "cat", 0, 0); len(got) != 1 {
		t.Fatalf("guest search = %v", ids(got))
	}
}

// putRecords commits n bare image records of owner in one transaction
// (no files: only for tests that never reopen the store).
func putRecords(tb testing.TB, s *Store, owner uint64, n int, title string) {
	tb.Helper()
	err := s.db.Update(func(tx *bolt.Tx) error {
		images := tx.Bucket(bucketImages)
		for i := range n {
			id, err := images.NextSequence()
			if err != nil {
				return err
			}
			img := Image{ID: id, OwnerID: owner, Dir: "2026/11/27", Name: fmt.Sprintf("bulk%d", i), Ext: "png", Date: testDate, Title: title}
			if err := putImageTx(tx, img); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func TestSearchImagesScanLimit(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	old := mustPut(t, s, Image{OwnerID: 1, Name: "needle", Ext: "png", Date: testDate, Title: "needle"}, map[Variant]string{Full: "n"})
	putRecords(t, s, 1, maxSearchScan, "hay")
	got, err := s.SearchImages(1, "needle", 0, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("search past the scan budget = %v, %v; want an empty page", ids(got), err)
	}
	got, err = s.SearchImages(1, "needle", old.ID+2, 10)
	if err != nil || !reflect.DeepEqual(ids(got), []uint64{old.ID}) {
		t.Fatalf("search from nearer = %v, %v", ids(got), err)
	}
	if n, err := s.CountImages(1); err != nil || n != maxSearchScan+1 {
		t.Fatalf("CountImages = %d, %v", n, err)
	}
}

func TestDeleteImages(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	alice, album := mustUserAlbum(t, s, "alice")
	bob := mustCreateUser(t, s, "bob")
	a1 := mustPut(t, s, Image{OwnerID: alice.ID, AlbumID: album.ID, Name: "a1", Ext: "png", Date: testDate, MD5: "a1md5", Expires: testDate}, threeFiles("a1"))
	a2 := mustPut(t, s, Image{OwnerID: alice.ID, Name: "a2", Ext: "png", Date: testDate}, threeFiles("a2"))
	a3 := mustPut(t, s, Image{OwnerID: alice.ID, Name: "a3", Ext: "png", Date: testDate}, threeFiles("a3"))
	b1 := mustPut(t, s, Image{OwnerID: bob.ID, Name: "b1", Ext: "png", Date: testDate}, threeFiles("b1"))
	if n, err := s.CountImages(alice.ID); err != nil || n != 3 {
		t.Fatalf("CountImages(alice) = %d, %v", n, err)
	}
	if n, err := s.CountImages(999); err != nil || n != 0 {
		t.Fatalf("CountImages(unknown) = %d, %v", n, err)
	}

	for _, tc := range []struct {
		name string
		ids  []uint64
		want error
	}{
		{"another user's image", []uint64{a1.ID, b1.ID}, ErrNotFound},
		{"an image that does not exist", []uint64{a1.ID, 999}, ErrNotFound},
		{"too many ids", make([]uint64, MaxImagesLimit+1), ErrInvalid},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			if _, err := s.DeleteImages(alice.ID, tc.ids); !errors.Is(err, tc.want) {
				t.Fatalf("DeleteImages: %v, want %v", err, tc.want)
			}
			if n, _ := s.CountImages(alice.ID); n != 3 {
				t.Fatalf("a refused DeleteImages deleted something: %d left", n)
			}
			if _, err := os.Stat(s.FilePath(a1, Full)); err != nil {
				t.Fatalf("file removed by a refused DeleteImages: %v", err)
			}
		})
	}

	got, err := s.DeleteImages(alice.ID, []uint64{a1.ID, a2.ID, a1.ID})
	if err != nil || !reflect.DeepEqual(ids(got), []uint64{a1.ID, a2.ID}) {
		t.Fatalf("DeleteImages = %v, %v", ids(got), err)
	}
	for _, img := range []Image{a1, a2} {
		if _, err := s.Image(img.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("image %q survived: %v", img.Name, err)
		}
		for _, v := range variants {
			if _, err := os.Stat(s.FilePath(img, v)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("%s %v file left: %v", img.Name, v, err)
			}
		}
	}
	if left, _ := s.Images(alice.ID, 0, 0); !reflect.DeepEqual(ids(left), []uint64{a3.ID}) {
		t.Fatalf("Images = %v", ids(left))
	}
	if _, err := s.FindDuplicate(alice.ID, "a1md5"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("md5 entry kept: %v", err)
	}
	if a := mustAlbum(t, s, album.ID); a.ImageCount != 0 {
		t.Fatalf("album still counts the deleted image: %+v", a)
	}
	if exp, _ := s.ExpiredImages(testDate, 0); len(exp) != 0 {
		t.Fatalf("expiry entry kept: %v", ids(exp))
	}
	if n, _ := s.CountImages(bob.ID); n != 1 {
		t.Fatal("another user's image deleted")
	}
	if got, err := s.DeleteImages(alice.ID, nil); err != nil || len(got) != 0 {
		t.Fatalf("deleting nothing = %v, %v", ids(got), err)
	}
}
