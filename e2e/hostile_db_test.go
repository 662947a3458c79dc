package e2e

// Hostile databases through the binary: a crafted backup given to picbed
// restore, and a damaged picbed.db under picbed serve. The store's own
// tests try every kind of damage (store/crafted_test.go, dbcheck_test.go);
// these check what a user sees: a clear message, a failing exit status, no
// Go stack trace, nothing outside the data dir touched, no image file lost.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// runPicbed runs the binary and returns its combined output and exit code.
// A command still running after a minute is killed (a server that started
// after all): the test then fails on what it printed.
func runPicbed(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, picbedBin, args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// noStackTrace fails when out looks like a Go panic or runtime crash.
func noStackTrace(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{"panic:", "goroutine ", "fatal error:", "SIGBUS", "SIGSEGV", ".go:"} {
		if strings.Contains(out, s) {
			t.Errorf("%s printed %q, a crash:\n%s", what, s, out)
		}
	}
}

// TestHostileCraftedBackup: a backup whose picbed.db holds a record with
// folder ../../victim, name important, extension txt and a missing
// thumbnail, its manifest recomputed to match. Before, picbed restore
// printed "restored 0 images", exited 0, and deleted victim/important.txt.
func TestHostileCraftedBackup(t *testing.T) {
	root := t.TempDir()
	victim := filepath.Join(root, "victim", "important.txt")
	if err := os.MkdirAll(filepath.Dir(victim), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(victim, []byte("the victim's data"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "src")
	picbed(t, "secret-password\n", "user", "add", "boss", "--admin", "--password-stdin", "--data", src)
	good := filepath.Join(root, "good.tar")
	picbed(t, "", "backup", good, "--data", src)
	evil := filepath.Join(root, "evil.tar")
	craftBackup(t, good, evil)

	dst := filepath.Join(root, "new") // victim is dst/../victim: ../../victim from dst/images
	out, code := runPicbed(t, "restore", evil, "--data", dst)
	if code == 0 || !strings.Contains(out, `folder "../../victim" is not YYYY/MM/DD`) || !strings.Contains(out, "nothing was restored") {
		t.Errorf("picbed restore of the crafted backup: exit %d:\n%s", code, out)
	}
	noStackTrace(t, "picbed restore", out)
	if b, err := os.ReadFile(victim); err != nil || string(b) != "the victim's data" {
		t.Fatalf("the file outside the data dir after the restore: %q, %v", b, err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("the refused restore left %s (%v)", dst, err)
	}
}

// craftBackup copies the backup at good to evil with the crafted record
// added to its picbed.db (with bbolt, as an attacker would) and the
// manifest's database size and checksum recomputed.
func craftBackup(t *testing.T, good, evil string) {
	t.Helper()
	f, err := os.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type entry struct {
		hdr  *tar.Header
		body []byte
	}
	var es []entry
	tr := tar.NewReader(f)
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
	var db []byte
	for i, e := range es {
		if e.hdr.Name != "picbed.db" {
			continue
		}
		p := filepath.Join(t.TempDir(), "evil.db")
		if err := os.WriteFile(p, e.body, 0o600); err != nil {
			t.Fatal(err)
		}
		bdb, err := bolt.Open(p, 0o600, &bolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = bdb.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("images"))
			id, err := b.NextSequence()
			if err != nil {
				return err
			}
			rec, _ := json.Marshal(map[string]any{"v": 1, "id": id, "dir": "../../victim", "name": "important", "ext": "txt",
				"mime": "text/plain", "size": 17, "thumb_size": 5, "date": "2026-11-27T09:00:00Z"})
			k := binary.BigEndian.AppendUint64(nil, id)
			if err := b.Put(k, rec); err != nil {
				return err
			}
			return tx.Bucket([]byte("images_by_file")).Put([]byte("../../victim/important.txt"), k)
		})
		bdb.Close()
		if err != nil {
			t.Fatal(err)
		}
		if db, err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
		es[i].body = db
	}
	if db == nil {
		t.Fatal("no picbed.db in the backup")
	}
	for i, e := range es {
		if e.hdr.Name != "picbed-backup.json" {
			continue
		}
		var man map[string]any
		if err := json.Unmarshal(e.body, &man); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(db)
		man["db_sha256"], man["db_bytes"] = hex.EncodeToString(sum[:]), len(db)
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
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(evil, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestHostileDamagedDatabase: picbed serve on a picbed.db that was cut
// short, or had a page zeroed, stops with a message naming the file and
// saying to restore a backup; no panic, no bus error, and the image files
// stay. Before, bbolt died of a SIGBUS or a panic on such files.
func TestHostileDamagedDatabase(t *testing.T) {
	base := t.TempDir()
	in := startPicbed(t, base)
	key := newUserKey(t, base, "alice")
	if a, err := upload(in.base, key, "photo.png", fixture(t, "photo.png")); err != nil || a.status != 200 {
		t.Fatalf("upload: %v %+v", err, a)
	}
	in.stop()
	db, err := os.ReadFile(filepath.Join(base, "picbed.db"))
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"cut to a quarter", func(b []byte) []byte { return b[:len(b)/4/page*page] }},
		{"cut in half, inside a page", func(b []byte) []byte { return b[:len(b)/2-page/2] }},
		{"both meta pages zeroed", func(b []byte) []byte {
			clear(b[:2*page])
			return b
		}},
		{"every page after the meta pages zeroed", func(b []byte) []byte {
			clear(b[2*page:])
			return b
		}},
		{"text instead", func([]byte) []byte { return []byte("this is not a database\n") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			if err := os.CopyFS(data, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(data, "picbed.sock"))
			if err := os.WriteFile(filepath.Join(data, "picbed.db"), tc.damage(bytes.Clone(db)), 0o600); err != nil {
				t.Fatal(err)
			}
			before := fileSums(t, filepath.Join(data, "images"))
			out, code := runPicbed(t, "serve", "--addr", "127.0.0.1:0", "--data", data)
			if code == 0 || !strings.Contains(out, filepath.Join(data, "picbed.db")) || !strings.Contains(out, "restore a backup") {
				t.Errorf("picbed serve on a damaged database: exit %d:\n%s", code, out)
			}
			noStackTrace(t, "picbed serve", out)
			if changed := changedFiles(before, fileSums(t, filepath.Join(data, "images"))); len(changed) > 0 {
				t.Errorf("image files changed: %v", changed)
			}
		})
	}
}
