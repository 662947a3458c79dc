package store

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// mustOpenStore opens a store in dir and closes it when the test ends.
func mustOpenStore(tb testing.TB, dir string) *Store {
	tb.Helper()
	s, err := Open(dir, Options{Location: time.UTC, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
