package store

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// victimImage is the record of issue 15's crafted backup: its files are
// <images>/../../victim/important.txt and a thumbnail that does not exist,
// so a start-up check that trusted it would delete the record for its
// missing thumbnail, and then every file it names.
func victimImage(id uint64) Image {
	return Image{ID: id, Dir: "../../victim", Name: "important", Ext: "txt", MIME: "text/plain",
		Size: 17, ThumbSize: 5, Date: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
}

// putRawImage writes img's record and index entries into the database file
// at p, as someone with bbolt and the file would, bypassing every check of
// PutImage. With checked, meta records that the start-up check has seen it.
func putRawImage(t *testing.T, p string, img func(id uint64) Image, checked bool) uint64 {
	t.Helper()
	db, err := bolt.Open(p, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id uint64
	err = db.Update(func(tx *bolt.Tx) error {
		var err error
		if id, err = tx.Bucket(bucketImages).NextSequence(); err != nil {
			return err
		}
		if err := putImageTx(tx, img(id)); err != nil {
			return err
		}
		if checked {
			return tx.Bucket(bucketMeta).Put(metaCheckedSeq, u64(id))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// craftedBackup is a backup of an empty data dir whose picbed.db holds
// victimImage, with the manifest recomputed to match (0 images, 0 files).
func craftedBackup(t *testing.T, checked bool) []byte {
	t.Helper()
	good, _ := mustBackup(t, mustOpenStore(t, t.TempDir()))
	type entry struct {
		hdr  *tar.Header
		body []byte
	}
	var es []entry
	tr := tar.NewReader(bytes.NewReader(good))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		es = append(es, entry{h, b})
	}
	var dbBytes []byte
	for i, e := range es {
		if e.hdr.Name != backupDBName {
			continue
		}
		p := filepath.Join(t.TempDir(), "evil.db")
		if err := os.WriteFile(p, e.body, 0o600); err != nil {
			t.Fatal(err)
		}
		putRawImage(t, p, victimImage, checked)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		es[i].body, dbBytes = b, b
	}
	for i, e := range es {
		if e.hdr.Name != backupManifestName {
			continue
		}
		var man backupManifest
		if err := json.Unmarshal(e.body, &man); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(dbBytes)
		man.DBSHA256, man.DBBytes, man.Images, man.Files, man.ImageBytes = hex.EncodeToString(sum[:]), int64(len(dbBytes)), 0, 0, 0
		es[i].body, _ = json.Marshal(man)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		e.hdr.Size = int64(len(e.body))
		if err := tw.WriteHeader(e.hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	tw.Close()
	return buf.Bytes()
}

// writeVictim makes root/victim/important.txt, the file the crafted
// record names from a data dir root/new.
func writeVictim(t *testing.T, root string) string {
	t.Helper()
	victim := filepath.Join(root, "victim", "important.txt")
	if err := os.MkdirAll(filepath.Dir(victim), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, []byte("the victim's data"), 0o644); err != nil {
		t.Fatal(err)
	}
	return victim
}

func victimIntact(t *testing.T, victim string) {
	t.Helper()
	if b, err := os.ReadFile(victim); err != nil || string(b) != "the victim's data" {
		t.Fatalf("the file outside the data dir: %q, %v", b, err)
	}
}

// TestRestoreRefusesCraftedRecordPaths is issue 15's crafted backup: a
// record with folder ../../victim, name important, extension txt and a
// missing thumbnail, the manifest recomputed. Restore refuses it, says
// why, leaves nothing behind and deletes nothing, whether the start-up
// check or only the final check of every record reads it.
func TestRestoreRefusesCraftedRecordPaths(t *testing.T) {
	for _, tc := range []struct {
		name    string
		checked bool
	}{{"read by the start-up check", false}, {"read by the final check", true}} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			victim := writeVictim(t, root)
			dir := filepath.Join(root, "new")
			info, err := Restore(bytes.NewReader(craftedBackup(t, tc.checked)), dir, quietLog)
			if err == nil {
				t.Fatalf("restored %d images", info.Images)
			}
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrCorrupt) ||
				!strings.Contains(err.Error(), `folder "../../victim" is not YYYY/MM/DD`) || !strings.Contains(err.Error(), "damaged or was crafted") {
				t.Errorf("Restore: %v; want the damaged record named", err)
			}
			victimIntact(t, victim)
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the failed restore left %s (%v)", dir, err)
			}
		})
	}
}

// Open refuses a database with a record whose folder, name or extension is
// not part of an image file path, names it, and touches no file.
func TestOpenRefusesCraftedRecords(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(img *Image)
		want string
	}{
		{"a folder outside the images", func(img *Image) {}, `folder "../../victim"`},
		{"a folder that climbs out", func(img *Image) { img.Dir, img.Name = "2026/11/27", "../../../../victim/important" }, `name "../../../../victim/important"`},
		{"a folder with more levels", func(img *Image) { img.Dir = "2026/11/27/x" }, `folder "2026/11/27/x"`},
		{"a name with a slash", func(img *Image) { img.Dir, img.Name = "2026/11/27", "a/b" }, `name "a/b"`},
		{"another extension", func(img *Image) { img.Dir = "2026/11/27" }, `extension "txt"`},
		{"an empty name", func(img *Image) { img.Dir, img.Name, img.Ext = "2026/11/27", "", "png" }, `name ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			victim := writeVictim(t, root)
			dir := filepath.Join(root, "new")
			s := mustOpenStore(t, dir)
			real := mustPut(t, s, Image{Name: "real", Ext: "png", Date: testDate}, threeFiles("real"))
			crash(t, s) // the next start sweeps, too
			before := treeState(t, filepath.Join(dir, "images"))
			putRawImage(t, filepath.Join(dir, "picbed.db"), func(id uint64) Image {
				img := victimImage(id)
				tc.edit(&img)
				return img
			}, false)
			_, err := Open(dir, Options{Logger: quietLog})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), filepath.Join(dir, "picbed.db")) || !strings.Contains(err.Error(), "restore a backup") {
				t.Fatalf("Open: %v; want the damaged record (%s) named", err, tc.want)
			}
			victimIntact(t, victim)
			if after := treeState(t, filepath.Join(dir, "images")); len(after) != len(before) || after[real.File(Full)] != before[real.File(Full)] {
				t.Errorf("image files changed: %v", after)
			}
		})
	}
}

// A crafted record that reaches a running store (written while it was
// stopped, below what the start-up check reads) can be neither deleted nor
// backed up: both refuse before touching a file.
func TestCraftedRecordIsNeverFollowed(t *testing.T) {
	root := t.TempDir()
	victim := writeVictim(t, root)
	dir := filepath.Join(root, "new")
	s := mustOpenStore(t, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	id := putRawImage(t, filepath.Join(dir, "picbed.db"), victimImage, true)
	s = mustOpenStore(t, dir)
	if err := s.DeleteImage(id); !errors.Is(err, ErrCorrupt) {
		t.Errorf("DeleteImage: %v, want ErrCorrupt", err)
	}
	var buf bytes.Buffer
	if _, err := s.Backup(&buf); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Backup: %v, want ErrCorrupt", err)
	}
	if bytes.Contains(buf.Bytes(), []byte("the victim's data")) {
		t.Error("the backup holds the file outside the data dir")
	}
	if _, err := s.Image(id); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Image: %v, want ErrCorrupt", err)
	}
	victimIntact(t, victim)
}

// treeState maps every file under root to its bytes.
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, rel := range treeFiles(t, root) {
		m[rel] = readString(t, filepath.Join(root, filepath.FromSlash(rel)))
	}
	return m
}
