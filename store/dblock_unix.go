//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
	"time"

	berrors "go.etcd.io/bbolt/errors"
)

// lockPoll is how often lockFile tries again for a lock another process
// holds (bbolt polls at the same rate).
const lockPoll = 50 * time.Millisecond

// lockFile takes the exclusive flock that bbolt takes on its file (so that
// bbolt, given the same file, gets it at once), waiting at most timeout and
// failing with berrors.ErrTimeout after that.
func lockFile(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return berrors.ErrTimeout
		}
		time.Sleep(lockPoll)
	}
}
