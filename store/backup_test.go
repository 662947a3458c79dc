package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// putTagged stores an image named name whose three files hold tag, with
// the full file's md5 recorded.
func putTagged(tb testing.TB, s *Store, owner uint64, name, tag string) Image {
	tb.Helper()
	files := threeFiles(tag)
	return mustPut(tb, s, Image{OwnerID: owner, Name: name, Ext: "png", MD5: md5hex(files[Full]), Date: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}, files)
}

func mustBackup(tb testing.TB, s *Store) ([]byte, BackupInfo) {
	tb.Helper()
	var buf bytes.Buffer
	info, err := s.Backup(&buf)
	if err != nil {
		tb.Fatalf("Backup: %v", err)
	}
	return buf.Bytes(), info
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	src := mustOpenStore(t, t.TempDir())
	u, err := src.CreateUser("alice", "password1", false)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := src.CreateAPIKey(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var imgs []Image
	for i, tag := range []string{"one", "two", "three"} {
		imgs = append(imgs, putTagged(t, src, u.ID, "pic"+string(rune('a'+i)), tag))
	}
	thumbOnly := mustPut(t, src, Image{OwnerID: u.ID, Name: "small", Ext: "gif", MD5: md5hex("full small")}, map[Variant]string{Full: "full small", Thumb: "thumb small"})
	imgs = append(imgs, thumbOnly)
	gone := putTagged(t, src, u.ID, "gone", "gone")
	if err := src.DeleteImage(gone.ID); err != nil {
		t.Fatal(err)
	}

	for _, compress := range []bool{false, true} {
		name := "plain"
		if compress {
			name = "gzip"
		}
		t.Run(name, func(t *testing.T) {
			data, info := mustBackup(t, src)
			if info.Images != 4 || info.Files != 11 || info.Skipped != 0 || info.DBBytes == 0 {
				t.Errorf("backup info %+v, want 4 images, 11 files", info)
			}
			if compress {
				var z bytes.Buffer
				zw := gzip.NewWriter(&z)
				zw.Write(data)
				zw.Close()
				data = z.Bytes()
			}
			dir := filepath.Join(t.TempDir(), "restored")
			rinfo, err := Restore(bytes.NewReader(data), dir, quietLog)
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if rinfo.Images != 4 || rinfo.Files != 11 || rinfo.ImageBytes != info.ImageBytes {
				t.Errorf("restore info %+v, backup %+v", rinfo, info)
			}
			dst := mustOpenStore(t, dir)
			for _, img := range imgs {
				got, err := dst.Image(img.ID)
				if err != nil {
					t.Fatalf("image %d: %v", img.ID, err)
				}
				if got.File(Full) != img.File(Full) || got.MD5 != img.MD5 {
					t.Errorf("image %d restored as %s %s", img.ID, got.File(Full), got.MD5)
				}
				for _, v := range variants {
					if img.has(v) && readString(t, dst.FilePath(got, v)) != readString(t, src.FilePath(img, v)) {
						t.Errorf("image %d %s differs", img.ID, v)
					}
				}
				if dst.DeleteToken(img.ID) != src.DeleteToken(img.ID) || dst.EncodeID(img.ID) != src.EncodeID(img.ID) {
					t.Errorf("image %d: delete token or encoded id changed", img.ID)
				}
			}
			if _, err := dst.Image(gone.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("deleted image restored: %v", err)
			}
			if got, _, err := dst.AuthAPIKey(key); err != nil || got.Name != "alice" {
				t.Errorf("API key after restore: %v %v", got, err)
			}
			if files := treeFiles(t, dst.ImagesDir()); len(files) != 11 {
				t.Errorf("restored tree has %d files: %v", len(files), files)
			}
		})
	}
}

func TestRestoreRefuses(t *testing.T) {
	src := mustOpenStore(t, t.TempDir())
	putTagged(t, src, 0, "pic", "x")
	good, _ := mustBackup(t, src)

	t.Run("a non-empty data dir", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o600)
		if _, err := Restore(bytes.NewReader(good), dir, quietLog); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("err %v, want ErrNotEmpty", err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "keep.txt")); err != nil || string(b) != "mine" {
			t.Errorf("the existing file was touched: %q %v", b, err)
		}
	})

	type entry struct {
		name string
		typ  byte
		body string
	}
	// build writes a tar of the good backup's entries, changed by edit.
	build := func(edit func([]entry) []entry) []byte {
		var es []entry
		tr := tar.NewReader(bytes.NewReader(good))
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(tr)
			es = append(es, entry{h.Name, h.Typeflag, string(b)})
		}
		es = edit(es)
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, e := range es {
			h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
			if e.typ == tar.TypeSymlink {
				h.Linkname, h.Size = e.body, 0
			}
			tw.WriteHeader(h)
			if e.typ == tar.TypeReg {
				tw.Write([]byte(e.body))
			}
		}
		tw.Close()
		return buf.Bytes()
	}
	insert := func(e entry) func([]entry) []entry {
		return func(es []entry) []entry { return append([]entry{e}, es...) }
	}
	outside := filepath.Join(t.TempDir(), "outside")
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"a truncated backup", good[:len(good)-2048]},
		{"a backup cut before its manifest", good[:len(good)/2]},
		{"not a backup", []byte("hello, this is not a tar file at all, just some text")},
		{"an empty stream", nil},
		{"a parent path", build(insert(entry{"images/../../evil", tar.TypeReg, "x"}))},
		{"an absolute path", build(insert(entry{outside, tar.TypeReg, "x"}))},
		{"a symlink", build(insert(entry{"images/2026/link", tar.TypeSymlink, outside}))},
		{"an unknown file", build(insert(entry{"picbed.sock", tar.TypeReg, "x"}))},
		{"a file twice", build(func(es []entry) []entry { return append([]entry{es[0]}, es...) })},
		{"an image file changed", build(func(es []entry) []entry {
			es[0].body = strings.ToUpper(es[0].body)
			return es
		})},
		{"an image file missing", build(func(es []entry) []entry { return es[1:] })},
		{"a damaged database", build(func(es []entry) []entry {
			for i := range es {
				if es[i].name == "picbed.db" {
					b := []byte(es[i].body)
					b[4096] ^= 0xff
					es[i].body = string(b)
				}
			}
			return es
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if _, err := Restore(bytes.NewReader(tc.data), dir, quietLog); err == nil {
				t.Fatal("restored")
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the failed restore left %s behind (%v)", dir, err)
			}
			if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the restore wrote outside the data dir")
			}
			// An empty existing dir is emptied again, not removed.
			empty := t.TempDir()
			if _, err := Restore(bytes.NewReader(tc.data), empty, quietLog); err == nil {
				t.Fatal("restored into an empty dir")
			}
			if es, err := os.ReadDir(empty); err != nil || len(es) != 0 {
				t.Errorf("the failed restore left %v in an existing dir (%v)", es, err)
			}
		})
	}
}

// TestBackupKeepsDeletedFilesUntilDone deletes an image of the snapshot
// while the backup is being read, and uploads new bytes under its name:
// the backup holds the deleted image as the snapshot had it, not the new
// bytes, and the deleted files go once the backup ends.
func TestBackupKeepsDeletedFilesUntilDone(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	var imgs []Image
	for i := 0; i < 20; i++ {
		imgs = append(imgs, putTagged(t, s, 0, "pic"+string(rune('a'+i)), strings.Repeat("payload ", 4000)+string(rune('a'+i))))
	}
	victim := imgs[len(imgs)-1] // copied last
	pr, pw := io.Pipe()
	type result struct {
		info BackupInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := s.Backup(pw)
		pw.CloseWithError(err)
		done <- result{info, err}
	}()
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, pr, 1024); err != nil { // the snapshot is taken
		t.Fatal(err)
	}
	if err := s.DeleteImage(victim.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.FilePath(victim, Full)); err != nil {
		t.Errorf("the deleted image's file went during the backup: %v", err)
	}
	newcomer := putTagged(t, s, 0, victim.Name, "new bytes")
	if newcomer.Name == victim.Name {
		t.Errorf("a new upload took the name %s of a file the backup still needs", victim.Name)
	}
	if _, err := io.Copy(&buf, pr); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil || res.info.Images != 20 {
		t.Fatalf("backup: %+v %v", res.info, res.err)
	}
	if _, err := os.Stat(s.FilePath(victim, Full)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the deleted image's file is still there after the backup: %v", err)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(&buf, dir, quietLog); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	dst := mustOpenStore(t, dir)
	got, err := dst.Image(victim.ID)
	if err != nil {
		t.Fatalf("the image deleted during the backup is not in it: %v", err)
	}
	if readString(t, dst.FilePath(got, Full)) != threeFiles(strings.Repeat("payload ", 4000) + string(rune('a'+19)))[Full] {
		t.Error("the backup holds other bytes for the deleted image")
	}
	if _, err := dst.Image(newcomer.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("an image stored after the snapshot is in the backup: %v", err)
	}
}

func TestBackupSkipsRecordsWithoutFiles(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	keep := putTagged(t, s, 0, "keep", "keep")
	lost := putTagged(t, s, 0, "lost", "lost")
	if err := os.Remove(s.FilePath(lost, Thumb)); err != nil { // damaged by hand
		t.Fatal(err)
	}
	data, info := mustBackup(t, s)
	if info.Images != 1 || info.Skipped != 1 || info.Files != 3 {
		t.Errorf("info %+v, want 1 image, 1 skipped, 3 files", info)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(bytes.NewReader(data), dir, quietLog); err != nil {
		t.Fatal(err)
	}
	dst := mustOpenStore(t, dir)
	if _, err := dst.Image(keep.ID); err != nil {
		t.Error(err)
	}
	if _, err := dst.Image(lost.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("record without files restored: %v", err)
	}
	if files := treeFiles(t, dst.ImagesDir()); len(files) != 3 {
		t.Errorf("restored files %v", files)
	}
}

// The web app's state (e-mail, sessions, settings, site secret, albums,
// guest ids) lives in bbolt buckets, so the snapshot carries it.
func TestBackupCarriesWebAppState(t *testing.T) {
	src := mustOpenStore(t, t.TempDir())
	u, err := src.CreateUserWithEmail("alice", "alice@example.com", "password1", true)
	if err != nil {
		t.Fatal(err)
	}
	token, sess, err := src.CreateSession(u.ID, time.Hour, true, "test agent")
	if err != nil {
		t.Fatal(err)
	}
	settings := validTestSettings()
	if err := src.SaveSettings(settings); err != nil {
		t.Fatal(err)
	}
	album, err := src.CreateAlbum(u.ID, "trip", "desc", PrivacyPassword, "albumpw")
	if err != nil {
		t.Fatal(err)
	}
	files := threeFiles("in album")
	inAlbum := mustPut(t, src, Image{OwnerID: u.ID, AlbumID: album.ID, Name: "in", Ext: "png", Date: testDate, MD5: md5hex(files[Full])}, files)
	guest := mustPut(t, src, Image{GuestID: "feed", Name: "guest", Ext: "png", Date: testDate}, threeFiles("guest"))
	album = mustAlbum(t, src, album.ID)

	data, _ := mustBackup(t, src)
	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(bytes.NewReader(data), dir, quietLog); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	dst := mustOpenStore(t, dir)
	if !bytes.Equal(dst.Secret(), src.Secret()) {
		t.Error("site secret not restored")
	}
	if got, err := dst.CheckPassword("alice@example.com", "password1"); err != nil || got.ID != u.ID {
		t.Errorf("login by e-mail after restore: %+v, %v", got, err)
	}
	if got, _, err := dst.Session(token, time.Now()); err != nil || got != sess {
		t.Errorf("session after restore: %+v, %v", got, err)
	}
	if got, ok, err := dst.Settings(); err != nil || !ok || got != settings {
		t.Errorf("settings after restore: %+v, %v, %v", got, ok, err)
	}
	if got, err := dst.Album(album.ID); err != nil || got != album || got.ImageCount != 1 || got.CoverID != inAlbum.ID {
		t.Errorf("album after restore: %+v, %v; want %+v", got, err, album)
	}
	if !dst.CheckAlbumPassword(album.ID, "albumpw") {
		t.Error("album password not restored")
	}
	if n, err := dst.ClaimGuestImages("feed", u.ID); err != nil || n != 1 {
		t.Errorf("guest index after restore: %d, %v", n, err)
	}
	if got, _ := dst.Image(guest.ID); got.OwnerID != u.ID {
		t.Errorf("guest image not claimed: %+v", got)
	}
}
