package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var testDate = time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)

// newUpload stages one temp file per variant with the given contents.
func newUpload(tb testing.TB, s *Store, files map[Variant]string) *Upload {
	tb.Helper()
	u, err := s.NewUpload()
	if err != nil {
		tb.Fatal(err)
	}
	src, err := u.Source()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := src.WriteString("raw upload bytes"); err != nil {
		tb.Fatal(err)
	}
	for v, content := range files {
		f, err := u.Create(v)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := f.WriteString(content); err != nil {
			tb.Fatal(err)
		}
	}
	return u
}

func mustPut(tb testing.TB, s *Store, img Image, files map[Variant]string) Image {
	tb.Helper()
	got, err := s.PutImage(img, newUpload(tb, s, files))
	if err != nil {
		tb.Fatalf("PutImage(%q): %v", img.Name, err)
	}
	return got
}

// mustUserAlbum creates user name and a public album of theirs.
func mustUserAlbum(tb testing.TB, s *Store, name string) (User, Album) {
	tb.Helper()
	u := mustCreateUser(tb, s, name)
	a, err := s.CreateAlbum(u.ID, name+"'s album", "", PrivacyPublic, "")
	if err != nil {
		tb.Fatal(err)
	}
	return u, a
}

func threeFiles(tag string) map[Variant]string {
	return map[Variant]string{Full: "full " + tag, Thumb: "thumb " + tag, Medium: "medium " + tag}
}

// treeFiles lists every non-directory under root, relative, with "/".
func treeFiles(tb testing.TB, root string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func readString(tb testing.TB, p string) string {
	tb.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestPutImage(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	owner, album := mustUserAlbum(t, s, "owner")
	in := Image{
		OwnerID: owner.ID, AlbumID: album.ID, Name: "donate-pay", Ext: "jpg", MIME: "image/jpeg",
		Size: 999, Width: 640, Height: 480, Date: testDate.In(time.FixedZone("X", 3600)),
		Title: "donate pay", Description: "a description", NSFW: true,
		MD5: "0123456789abcdef0123456789abcdef", SourceMD5: "fedcba9876543210fedcba9876543210", RawMD5: "00112233445566778899aabbccddeeff",
		SHA1:             "0123456789abcdef0123456789abcdef01234567",
		OriginalFilename: "donate-pay.jpg", EXIF: `{"Make":"X"}`, Animated: true,
		Tags: []string{"a", "b"}, CategoryID: 4, Expires: testDate.Add(24 * time.Hour).In(time.FixedZone("Y", -7200)), UploaderIP: "192.0.2.1",
	}
	img := mustPut(t, s, in, threeFiles("1"))

	if img.ID == 0 || img.Dir != "2026/11/27" || img.Name != "donate-pay" {
		t.Fatalf("PutImage = id %d dir %q name %q", img.ID, img.Dir, img.Name)
	}
	if img.Size != int64(len("full 1")) || img.ThumbSize != int64(len("thumb 1")) || img.MediumSize != int64(len("medium 1")) {
		t.Fatalf("sizes %d/%d/%d not taken from the files", img.Size, img.ThumbSize, img.MediumSize)
	}
	if !img.Date.Equal(testDate) || img.Date.Location() != time.UTC {
		t.Fatalf("Date = %v, want %v in UTC", img.Date, testDate)
	}
	for v, want := range map[Variant]string{Full: "2026/11/27/donate-pay.jpg", Thumb: "2026/11/27/donate-pay.th.jpg", Medium: "2026/11/27/donate-pay.md.jpg"} {
		if img.File(v) != want {
			t.Errorf("File(%v) = %q, want %q", v, img.File(v), want)
		}
		p := filepath.Join(s.ImagesDir(), filepath.FromSlash(want))
		if s.FilePath(img, v) != p {
			t.Errorf("FilePath(%v) = %q, want %q", v, s.FilePath(img, v), p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("variant %v: %v", v, err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("variant %v mode %v, want 0644", v, fi.Mode().Perm())
		}
	}
	if got := readString(t, s.FilePath(img, Thumb)); got != "thumb 1" {
		t.Fatalf("thumb content %q", got)
	}
	if files := treeFiles(t, filepath.Join(dir, "tmp")); len(files) != 0 {
		t.Fatalf("tmp not emptied: %v", files)
	}

	got, err := s.Image(img.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, img) {
		t.Fatalf("Image round trip:\n got %+v\nwant %+v", got, img)
	}
	if _, err := s.Image(img.ID + 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Image(unknown): %v", err)
	}
}

func TestPutImageFolderUsesLocation(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Location: time.FixedZone("UTC+8", 8*3600)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	img := mustPut(t, s, Image{Name: "late", Ext: "png", Date: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)},
		map[Variant]string{Full: "x"})
	if img.Dir != "2026/11/28" {
		t.Fatalf("Dir = %q, want 2026/11/28 (next day at UTC+8)", img.Dir)
	}
}

var mixedRE = regexp.MustCompile(`^donate-pay[0-9a-f]{16}$`)

func TestPutImageCollisionUsesMixedName(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	first := mustPut(t, s, Image{Name: "donate-pay", Ext: "jpg", Date: testDate}, threeFiles("first"))
	second := mustPut(t, s, Image{Name: "donate-pay", Ext: "jpg", Date: testDate}, threeFiles("second"))
	if !mixedRE.MatchString(second.Name) {
		t.Fatalf("second name %q, want donate-pay + 16 hex", second.Name)
	}
	for _, v := range variants {
		if got := readString(t, s.FilePath(first, v)); !strings.HasSuffix(got, " first") {
			t.Fatalf("first image's %v overwritten: %q", v, got)
		}
		if got := readString(t, s.FilePath(second, v)); !strings.HasSuffix(got, " second") {
			t.Fatalf("second image's %v has %q", v, got)
		}
	}

	t.Run("a variant name collides too", func(t *testing.T) {
		day := filepath.Join(s.ImagesDir(), "2026", "11", "27")
		stray := filepath.Join(day, "lonely.md.jpg")
		if err := os.WriteFile(stray, []byte("not ours"), 0o644); err != nil {
			t.Fatal(err)
		}
		img := mustPut(t, s, Image{Name: "lonely", Ext: "jpg", Date: testDate}, threeFiles("new"))
		if img.Name == "lonely" {
			t.Fatal("took a name whose .md file exists")
		}
		if got := readString(t, stray); got != "not ours" {
			t.Fatalf("existing file overwritten: %q", got)
		}
		if _, err := os.Stat(filepath.Join(day, "lonely.jpg")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("partial link of the refused name left behind: %v", err)
		}
	})
}

func TestPutImageConcurrentSameName(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	const n = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		names = map[string]bool{}
	)
	for i := range n {
		u := newUpload(t, s, threeFiles(string(rune('a'+i))))
		wg.Add(1)
		go func() {
			defer wg.Done()
			img, err := s.PutImage(Image{Name: "same", Ext: "png", Date: testDate}, u)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			names[img.Name] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(names) != n || !names["same"] {
		t.Fatalf("names %v: want %d distinct, one of them \"same\"", names, n)
	}
	if files := treeFiles(t, s.ImagesDir()); len(files) != 3*n {
		t.Fatalf("%d files, want %d: %v", len(files), 3*n, files)
	}
}

func TestPutImageCleansName(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	for in, want := range map[string]string{"My Photo (1)": "My-Photo-1", "a.th": "a", "../../etc/passwd": "etcpasswd", "-2022": "-2022"} {
		img := mustPut(t, s, Image{Name: in, Ext: "png", Date: testDate}, map[Variant]string{Full: "x"})
		if img.Name != want {
			t.Errorf("name %q stored as %q, want %q", in, img.Name, want)
		}
	}
	img := mustPut(t, s, Image{Ext: "png", Date: testDate}, map[Variant]string{Full: "x"})
	if !isHex(img.Name, 32) {
		t.Errorf("empty name stored as %q, want 32 hex", img.Name)
	}
}

func TestPutImageRejects(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	for _, tc := range []struct {
		name  string
		img   Image
		files map[Variant]string
	}{
		{"no full file", Image{Name: "a", Ext: "jpg"}, map[Variant]string{Thumb: "t"}},
		{"empty full file", Image{Name: "a", Ext: "jpg"}, map[Variant]string{Full: ""}},
		{"empty thumb file", Image{Name: "a", Ext: "jpg"}, map[Variant]string{Full: "f", Thumb: ""}},
		{"no extension", Image{Name: "a"}, map[Variant]string{Full: "f"}},
		{"extension with a slash", Image{Name: "a", Ext: "jp/g"}, map[Variant]string{Full: "f"}},
		{"upper-case extension", Image{Name: "a", Ext: "JPG"}, map[Variant]string{Full: "f"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.PutImage(tc.img, newUpload(t, s, tc.files)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	if files := treeFiles(t, dir+"/images"); len(files) != 0 {
		t.Fatalf("files left in images: %v", files)
	}
	if files := treeFiles(t, dir+"/tmp"); len(files) != 0 {
		t.Fatalf("temp files left: %v", files)
	}
	if _, err := s.PutImage(Image{Name: "a", Ext: "jpg"}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil upload: %v", err)
	}
}

func TestPutImageFailedCommitLeavesNoFiles(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	u := newUpload(t, s, threeFiles("x"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutImage(Image{Name: "doomed", Ext: "jpg", Date: testDate}, u); err == nil {
		t.Fatal("PutImage on a closed store succeeded")
	}
	if files := treeFiles(t, dir+"/images"); len(files) != 0 {
		t.Fatalf("files left after failed commit: %v", files)
	}
	if files := treeFiles(t, dir+"/tmp"); len(files) != 0 {
		t.Fatalf("temp files left after failed commit: %v", files)
	}
}

func TestPutImageNameHeldByRecordWithoutFile(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	old := mustPut(t, s, Image{Name: "ghost", Ext: "jpg", Date: testDate}, map[Variant]string{Full: "old"})
	if err := os.Remove(s.FilePath(old, Full)); err != nil { // lost behind our back
		t.Fatal(err)
	}
	img := mustPut(t, s, Image{Name: "ghost", Ext: "jpg", Date: testDate}, map[Variant]string{Full: "new"})
	if img.Name == "ghost" {
		t.Fatal("new image took the file name a record still holds")
	}
	if _, err := os.Stat(s.FilePath(old, Full)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the link made for the refused name was not removed: %v", err)
	}
}

func TestUpload(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	u, _ := s.NewUpload()
	f1, err := u.Create(Full)
	if err != nil {
		t.Fatal(err)
	}
	f1.WriteString("discarded version")
	f2, err := u.Create(Full) // replaces f1
	if err != nil {
		t.Fatal(err)
	}
	f2.WriteString("kept")
	f2.Close() // the caller may close
	if _, err := u.Create(Variant(9)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Create(9): %v", err)
	}
	img, err := s.PutImage(Image{Name: "u", Ext: "gif", Date: testDate}, u)
	if err != nil {
		t.Fatal(err)
	}
	if got := readString(t, s.FilePath(img, Full)); got != "kept" {
		t.Fatalf("stored %q, want the second Create's content", got)
	}
	u.Discard()
	u.Discard()
	if _, err := u.Create(Full); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Create after PutImage: %v", err)
	}
	if _, err := s.PutImage(Image{Name: "u", Ext: "gif"}, u); !errors.Is(err, ErrInvalid) {
		t.Fatalf("second PutImage of one upload: %v", err)
	}
	if got := readString(t, s.FilePath(img, Full)); got != "kept" {
		t.Fatalf("Discard after PutImage touched the stored file: %q", got)
	}

	u2 := newUpload(t, s, threeFiles("gone"))
	u2.Discard()
	if files := treeFiles(t, dir+"/tmp"); len(files) != 0 {
		t.Fatalf("Discard left %v", files)
	}
}

func TestDeleteImage(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	owner, album := mustUserAlbum(t, s, "owner")
	img := mustPut(t, s, Image{OwnerID: owner.ID, Name: "bye", Ext: "webp", Date: testDate, MD5: "m1", RawMD5: "r1", AlbumID: album.ID, Expires: testDate}, threeFiles("x"))
	keep := mustPut(t, s, Image{Name: "stay", Ext: "webp", Date: testDate}, threeFiles("y"))
	if err := s.DeleteImage(img.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Image(img.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Image after delete: %v", err)
	}
	for _, v := range variants {
		if _, err := os.Stat(s.FilePath(img, v)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%v file still there: %v", v, err)
		}
		if _, err := os.Stat(s.FilePath(keep, v)); err != nil {
			t.Fatalf("other image's %v file gone: %v", v, err)
		}
	}
	for _, sum := range []string{"m1", "r1"} {
		if _, err := s.FindDuplicate(owner.ID, sum); !errors.Is(err, ErrNotFound) {
			t.Fatalf("md5 index entry %s kept: %v", sum, err)
		}
	}
	if imgs, _ := s.Images(owner.ID, 0, 0); len(imgs) != 0 {
		t.Fatalf("owner index kept: %+v", imgs)
	}
	if imgs, _ := s.Images(0, 0, 0); len(imgs) != 1 || imgs[0].ID != keep.ID {
		t.Fatalf("other image's owner index entry lost: %+v", imgs)
	}
	if a, _ := s.Album(album.ID); a.ImageCount != 0 || a.CoverID != 0 {
		t.Fatalf("album index kept: %+v", a)
	}
	if imgs, _ := s.ExpiredImages(testDate.Add(time.Hour), 0); len(imgs) != 0 {
		t.Fatalf("expiry index kept: %+v", imgs)
	}
	if err := s.DeleteImage(img.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// the name is free again
	again := mustPut(t, s, Image{Name: "bye", Ext: "webp", Date: testDate}, threeFiles("z"))
	if again.Name != "bye" {
		t.Fatalf("name not reusable after delete: %q", again.Name)
	}
}

func TestFindDuplicate(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	put := func(owner uint64, md5, src, raw string) Image {
		return mustPut(t, s, Image{OwnerID: owner, Name: "d", Ext: "png", Date: testDate, MD5: md5, SourceMD5: src, RawMD5: raw},
			map[Variant]string{Full: "x"})
	}
	g1 := put(0, "aaaa", "ssss", "rrrr")
	g2 := put(0, "aaaa", "", "aaaa")
	u1 := put(5, "bbbb", "aaaa", "")

	for _, tc := range []struct {
		name   string
		owner  uint64
		md5    string
		wantID uint64
	}{
		{"newest guest image with that md5", 0, "aaaa", g2.ID},
		{"match on source md5", 0, "ssss", g1.ID},
		{"match on raw md5", 0, "rrrr", g1.ID},
		{"owner's image by source md5", 5, "aaaa", u1.ID},
		{"owner's image by md5", 5, "bbbb", u1.ID},
		{"other owner's md5 is not a duplicate", 0, "bbbb", 0},
		{"another user has none", 6, "aaaa", 0},
		{"prefix of an md5 is not a match", 0, "aaa", 0},
		{"extension of an md5 is not a match", 0, "aaaaa", 0},
		{"empty md5", 0, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := s.FindDuplicate(tc.owner, tc.md5)
			if tc.wantID == 0 {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %d, %v; want ErrNotFound", img.ID, err)
				}
				return
			}
			if err != nil || img.ID != tc.wantID {
				t.Fatalf("got %d, %v; want %d", img.ID, err, tc.wantID)
			}
		})
	}
}

func TestImagesList(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	var mine []uint64
	for i := range 5 {
		mine = append(mine, mustPut(t, s, Image{OwnerID: 1, Name: "m", Ext: "png", Date: testDate}, map[Variant]string{Full: "x"}).ID)
		if i%2 == 0 {
			mustPut(t, s, Image{OwnerID: 2, Name: "o", Ext: "png", Date: testDate}, map[Variant]string{Full: "x"})
		}
	}
	ids := func(imgs []Image) []uint64 {
		var out []uint64
		for _, img := range imgs {
			out = append(out, img.ID)
		}
		return out
	}
	page1, err := s.Images(1, 0, 2)
	if err != nil || !reflect.DeepEqual(ids(page1), []uint64{mine[4], mine[3]}) {
		t.Fatalf("page 1 = %v, %v", ids(page1), err)
	}
	page2, err := s.Images(1, page1[1].ID, 10)
	if err != nil || !reflect.DeepEqual(ids(page2), []uint64{mine[2], mine[1], mine[0]}) {
		t.Fatalf("page 2 = %v, %v", ids(page2), err)
	}
	if none, err := s.Images(3, 0, 10); err != nil || len(none) != 0 {
		t.Fatalf("owner without images: %v, %v", none, err)
	}
}

func TestExpiredImages(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	soon := mustPut(t, s, Image{Name: "e", Ext: "png", Date: testDate, Expires: testDate.Add(time.Hour)}, map[Variant]string{Full: "x"})
	mustPut(t, s, Image{Name: "e", Ext: "png", Date: testDate, Expires: testDate.Add(48 * time.Hour)}, map[Variant]string{Full: "x"})
	mustPut(t, s, Image{Name: "e", Ext: "png", Date: testDate}, map[Variant]string{Full: "x"})
	got, err := s.ExpiredImages(testDate.Add(2*time.Hour), 0)
	if err != nil || len(got) != 1 || got[0].ID != soon.ID {
		t.Fatalf("ExpiredImages = %+v, %v", got, err)
	}
}

func TestDeleteToken(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	tok := s.DeleteToken(1)
	if !isHex(tok, 48) {
		t.Fatalf("DeleteToken = %q, want 48 lowercase hex", tok)
	}
	if tok == s.DeleteToken(2) {
		t.Fatal("two ids share a delete token")
	}
	if !s.CheckDeleteToken(1, tok) {
		t.Fatal("own token refused")
	}
	for _, bad := range []string{"", tok[:47], tok + "0", strings.ToUpper(tok), s.DeleteToken(2)} {
		if s.CheckDeleteToken(1, bad) {
			t.Errorf("CheckDeleteToken(1, %q) = true", bad)
		}
	}
	other := mustOpenStore(t, t.TempDir())
	if other.DeleteToken(1) == tok {
		t.Fatal("two installs share delete tokens: the secret is not per install")
	}
}

// mustCreateUser makes a user (not an admin) with the tests' password.
func mustCreateUser(tb testing.TB, s *Store, name string) User {
	tb.Helper()
	u, err := s.CreateUser(name, "secret1", false)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
