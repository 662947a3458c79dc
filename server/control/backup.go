package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"picbed/store"
)

// backupTrailer is the HTTP trailer that ends a backup streamed over the
// control socket: {"info":...} after a complete backup, {"error":...}
// after a failed one. A stream without it was cut short.
const backupTrailer = "X-Picbed-Backup"

type backupResult struct {
	Info  *store.BackupInfo `json:"info,omitempty"`
	Error string            `json:"error,omitempty"`
}

// Backup writes a backup of the open store to w.
func (a LocalAdmin) Backup(w io.Writer) (store.BackupInfo, error) {
	return a.Store.Backup(w)
}

// serveBackup streams a backup as the body of the control answer and
// reports how it ended in the backupTrailer trailer.
func serveBackup(w http.ResponseWriter, a Admin) {
	w.Header().Set("Trailer", backupTrailer)
	w.Header().Set("Content-Type", "application/x-tar")
	w.WriteHeader(http.StatusOK)
	info, err := a.Backup(w)
	res := backupResult{Info: &info}
	if err != nil {
		res = backupResult{Error: err.Error()}
	}
	b, _ := json.Marshal(res)
	w.Header().Set(backupTrailer, string(b))
}

// Backup asks the running server for a backup and copies it to w. It fails
// unless the server reported the backup complete.
func (cc *Client) Backup(w io.Writer) (store.BackupInfo, error) {
	body, _ := json.Marshal(controlRequest{Op: "backup"})
	u := url.URL{Scheme: "http", Host: "picbed", Path: "/control"}
	c := *cc.c
	c.Timeout = 0 // a backup takes as long as the data dir is large
	resp, err := c.Post(u.String(), "application/json", strings.NewReader(string(body)))
	if err != nil {
		return store.BackupInfo{}, fmt.Errorf("control socket: %w", err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/x-tar" {
		var out controlResponse
		if err := json.NewDecoder(resp.Body).Decode(&out); err == nil && out.Error != "" {
			return store.BackupInfo{}, errors.New(out.Error)
		}
		return store.BackupInfo{}, fmt.Errorf("control socket: the server does not support backups (%s)", resp.Status)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return store.BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	var res backupResult
	if err := json.Unmarshal([]byte(resp.Trailer.Get(backupTrailer)), &res); err != nil {
		return store.BackupInfo{}, errors.New("backup: the server's stream ended early")
	}
	if res.Error != "" || res.Info == nil {
		return store.BackupInfo{}, fmt.Errorf("backup failed on the server: %s", res.Error)
	}
	return *res.Info, nil
}
