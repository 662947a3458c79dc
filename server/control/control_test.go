package control

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"picbed/store"
)

// serveSocket serves Handler(LocalAdmin) for a fresh store on a unix socket
// in the data dir, as picbed serve does, and returns the store and a Client.
func serveSocket(t *testing.T) (*store.Store, *Client) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sock := filepath.Join(dir, "picbed.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: Handler(LocalAdmin{Store: st}), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	c, err := Dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	return st, c
}

// Every Admin command works over the socket as on the store, and a store
// sentinel error stays one on the client side.
func TestClientOverSocket(t *testing.T) {
	st, c := serveSocket(t)
	u, err := c.AddUser("alice", "password1", true)
	if err != nil || u.Name != "alice" || !u.Admin {
		t.Fatalf("AddUser: %+v, %v", u, err)
	}
	if _, err := c.AddUser("alice", "password2", false); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second AddUser: %v, want ErrConflict", err)
	}
	key, k, err := c.CreateKey("alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := st.AuthAPIKey(key); err != nil || got.ID != u.ID {
		t.Errorf("the key made over the socket: %+v, %v", got, err)
	}
	keys, err := c.ListKeys("alice")
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID {
		t.Fatalf("ListKeys: %+v, %v", keys, err)
	}
	if err := c.RevokeKey("alice", keys[0].Prefix); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AuthAPIKey(key); !errors.Is(err, store.ErrUnauthorized) {
		t.Errorf("revoked key: %v", err)
	}
	if err := c.RevokeKey("nobody", "1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeKey of an unknown user: %v, want ErrNotFound", err)
	}
	if err := c.SetPassword("alice", "password3"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CheckPassword("alice", "password3"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

// A backup streamed over the socket is the store's backup, complete, with
// its manifest last.
func TestBackupOverSocket(t *testing.T) {
	_, c := serveSocket(t)
	if _, err := c.AddUser("bob", "password1", false); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	info, err := c.Backup(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if info.DBBytes == 0 {
		t.Errorf("info %+v", info)
	}
	tr := tar.NewReader(&buf)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if len(names) != 2 || names[0] != "picbed.db" || names[1] != "picbed-backup.json" {
		t.Errorf("backup entries %v", names)
	}
}
