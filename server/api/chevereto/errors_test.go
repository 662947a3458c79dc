package chevereto

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"picbed/ingest"
	"picbed/store"
	"syscall"
	"testing"
)

// TestFullDiskIsNoSpaceError: however a full disk reaches the error mapper
// (from store, from a staging file, wrapped by imaging), the client gets
// Chevereto's "No space left on storage" (104), not an internal error.
func TestFullDiskIsNoSpaceError(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	write := &fs.PathError{Op: "write", Path: "/data/tmp/v0-1", Err: syscall.ENOSPC}
	for name, err := range map[string]error{
		"store sentinel":            fmt.Errorf("store: put image: %w: %w", store.ErrNoSpace, syscall.ENOSPC),
		"staging file write":        write,
		"write wrapped by imaging":  fmt.Errorf("imaging: encode thumbnail: %w", write),
		"quota exceeded":            &fs.PathError{Op: "write", Path: "/data/tmp/src-1", Err: syscall.EDQUOT},
		"already the dialect error": errNoSpace,
		"already ingest's error":    ingest.ErrNoSpace,
	} {
		if got := Describe(err, log); got != errNoSpace {
			t.Errorf("%s: mapped to %+v, want %+v", name, got, errNoSpace)
		}
	}
	if got := Describe(errors.New("disk on fire"), log); got != errInternal {
		t.Errorf("unknown error: %+v, want the internal error", got)
	}
}
