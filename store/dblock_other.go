//go:build !unix

package store

import (
	"os"
	"time"
)

// lockFile does nothing where flock does not exist: bbolt takes its own
// lock at open, after the file was checked.
func lockFile(f *os.File, timeout time.Duration) error { return nil }
