// Package control is the local control socket of a running picbed: the
// command line's user, key and backup commands (Admin), done on an open
// store (LocalAdmin) or asked of the server that has it open (Client),
// because bbolt lets only one process open the database. The socket file
// is created 0600 in the data dir, so only the owner of the data can use
// it; Handler serves it.
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"picbed/store"
)

// Admin is what the command line does to users and keys. LocalAdmin does it
// on an open store; Client asks a running server over its control socket,
// because bbolt lets only one process open the database.
type Admin interface {
	AddUser(name, password string, admin bool) (store.User, error)
	// SetPassword replaces the named user's password; their login
	// sessions end, their API keys stay.
	SetPassword(name, password string) error
	CreateKey(user string) (key string, k store.APIKey, err error)
	ListKeys(user string) ([]store.APIKey, error)
	RevokeKey(user, keyRef string) error
	// Backup writes a consistent backup of the data dir to w (store.Backup).
	Backup(w io.Writer) (store.BackupInfo, error)
}

// LocalAdmin implements Admin on an open store.
type LocalAdmin struct{ Store *store.Store }

// AddUser creates a user.
func (a LocalAdmin) AddUser(name, password string, admin bool) (store.User, error) {
	return a.Store.CreateUser(name, password, admin)
}

// SetPassword replaces the named user's password.
func (a LocalAdmin) SetPassword(name, password string) error {
	u, err := a.Store.UserByName(name)
	if err != nil {
		return err
	}
	return a.Store.SetPassword(u.ID, password)
}

// CreateKey creates an API key for the named user.
func (a LocalAdmin) CreateKey(user string) (string, store.APIKey, error) {
	u, err := a.Store.UserByName(user)
	if err != nil {
		return "", store.APIKey{}, err
	}
	return a.Store.CreateAPIKey(u.ID)
}

// ListKeys lists the named user's keys.
func (a LocalAdmin) ListKeys(user string) ([]store.APIKey, error) {
	u, err := a.Store.UserByName(user)
	if err != nil {
		return nil, err
	}
	return a.Store.APIKeys(u.ID)
}

// RevokeKey revokes a key of the named user, given its numeric id or its
// prefix as "key list" shows them.
func (a LocalAdmin) RevokeKey(user, keyRef string) error {
	u, err := a.Store.UserByName(user)
	if err != nil {
		return err
	}
	if id, err := strconv.ParseUint(keyRef, 10, 64); err == nil {
		return a.Store.RevokeAPIKey(u.ID, id)
	}
	keys, err := a.Store.APIKeys(u.ID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Prefix == keyRef {
			return a.Store.RevokeAPIKey(u.ID, k.ID)
		}
	}
	return fmt.Errorf("key %q: %w", keyRef, store.ErrNotFound)
}

// controlRequest is one command sent over the control socket.
type controlRequest struct {
	Op       string `json:"op"`
	User     string `json:"user"`
	Password string `json:"password,omitempty"`
	Admin    bool   `json:"admin,omitempty"`
	Key      string `json:"key,omitempty"`
}

// controlResponse is the answer to a controlRequest.
type controlResponse struct {
	Error   string         `json:"error,omitempty"`
	Kind    string         `json:"kind,omitempty"` // sentinel name, so errors.Is works across the socket
	User    *store.User    `json:"user,omitempty"`
	Key     string         `json:"key,omitempty"`
	APIKey  *store.APIKey  `json:"api_key,omitempty"`
	APIKeys []store.APIKey `json:"api_keys,omitempty"`
}

var sentinels = map[string]error{
	"not_found": store.ErrNotFound,
	"conflict":  store.ErrConflict,
	"invalid":   store.ErrInvalid,
}

// Handler serves Admin commands for the control socket. The socket file is
// created 0600 in the data dir, so only the owner of the data can use it.
func Handler(a Admin) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req controlRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if req.Op == "backup" {
			serveBackup(w, a)
			return
		}
		var resp controlResponse
		var err error
		switch req.Op {
		case "user.add":
			var u store.User
			u, err = a.AddUser(req.User, req.Password, req.Admin)
			resp.User = &u
		case "user.passwd":
			err = a.SetPassword(req.User, req.Password)
		case "key.create":
			var k store.APIKey
			resp.Key, k, err = a.CreateKey(req.User)
			resp.APIKey = &k
		case "key.list":
			resp.APIKeys, err = a.ListKeys(req.User)
		case "key.revoke":
			err = a.RevokeKey(req.User, req.Key)
		default:
			err = fmt.Errorf("unknown operation %q", req.Op)
		}
		if err != nil {
			resp = controlResponse{Error: err.Error()}
			for name, s := range sentinels {
				if errors.Is(err, s) {
					resp.Kind = name
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
}

// Client implements Admin by talking to a running server's control socket.
type Client struct {
	c *http.Client
}

// Dial connects to the control socket at path. It fails at once when no
// server listens there.
func Dial(path string) (*Client, error) {
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, err
	}
	conn.Close()
	return &Client{c: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}}, nil
}

func (cc *Client) do(req controlRequest) (controlResponse, error) {
	body, _ := json.Marshal(req)
	u := url.URL{Scheme: "http", Host: "picbed", Path: "/control"}
	resp, err := cc.c.Post(u.String(), "application/json", bytes.NewReader(body))
	if err != nil {
		return controlResponse{}, fmt.Errorf("control socket: %w", err)
	}
	defer resp.Body.Close()
	var out controlResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return controlResponse{}, fmt.Errorf("control socket: bad answer: %w", err)
	}
	if out.Error != "" {
		return out, remoteError{msg: out.Error, kind: sentinels[out.Kind]}
	}
	return out, nil
}

// remoteError is an error the server reported over the control socket: its
// text as the server wrote it, and the store sentinel it wrapped, if any,
// so errors.Is works on this side too.
type remoteError struct {
	msg  string
	kind error
}

func (e remoteError) Error() string { return e.msg }
func (e remoteError) Unwrap() error { return e.kind }

// AddUser creates a user through the server.
func (cc *Client) AddUser(name, password string, admin bool) (store.User, error) {
	r, err := cc.do(controlRequest{Op: "user.add", User: name, Password: password, Admin: admin})
	if err != nil {
		return store.User{}, err
	}
	return *r.User, nil
}

// SetPassword replaces a user's password through the server.
func (cc *Client) SetPassword(name, password string) error {
	_, err := cc.do(controlRequest{Op: "user.passwd", User: name, Password: password})
	return err
}

// CreateKey creates a key through the server.
func (cc *Client) CreateKey(user string) (string, store.APIKey, error) {
	r, err := cc.do(controlRequest{Op: "key.create", User: user})
	if err != nil {
		return "", store.APIKey{}, err
	}
	return r.Key, *r.APIKey, nil
}

// ListKeys lists keys through the server.
func (cc *Client) ListKeys(user string) ([]store.APIKey, error) {
	r, err := cc.do(controlRequest{Op: "key.list", User: user})
	return r.APIKeys, err
}

// RevokeKey revokes a key through the server.
func (cc *Client) RevokeKey(user, keyRef string) error {
	_, err := cc.do(controlRequest{Op: "key.revoke", User: user, Key: keyRef})
	return err
}
