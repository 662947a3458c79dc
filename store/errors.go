package store

import (
	"errors"
	"fmt"
	"syscall"
)

// Sentinel errors. Every error returned by this package that has one of these
// causes wraps it, so callers test with errors.Is.
var (
	// ErrNotFound means there is no such user, API key or image.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a unique value (a user name) is already taken.
	ErrConflict = errors.New("store: already exists")
	// ErrInvalid means an argument has the wrong shape; the wrapping error
	// says which rule was broken.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrUnauthorized means a wrong password, an unknown or revoked API key,
	// or a disabled user. It deliberately does not say which.
	ErrUnauthorized = errors.New("store: unauthorized")
	// ErrLocked means another process holds the database lock.
	ErrLocked = errors.New("store: the data dir is in use by another picbed (database is locked)")
	// ErrNoSpace means the disk (or quota) is full; the underlying
	// syscall.ENOSPC / syscall.EDQUOT is wrapped too.
	ErrNoSpace = errors.New("store: no space left on device")
	// ErrCorrupt means the database file, or a record in it, is damaged
	// (or was made by hand): the error names the file or record and what
	// is wrong with it. Nothing was changed because of it.
	ErrCorrupt = errors.New("store: damaged database")
)

// wrap adds context to err and, when the cause is a full disk, also wraps
// ErrNoSpace so the server can answer with a clear message.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf(format, args...)
	if (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) && !errors.Is(err, ErrNoSpace) {
		return fmt.Errorf("store: %s: %w: %w", msg, ErrNoSpace, err)
	}
	return fmt.Errorf("store: %s: %w", msg, err)
}

// damaged is an error about a damaged database or record; msg says what is
// wrong. It is ErrCorrupt for errors.Is; Open and Restore turn it into a
// message that names the file and says what to do.
type damaged struct{ msg string }

func (d *damaged) Error() string        { return d.msg }
func (d *damaged) Is(target error) bool { return target == ErrCorrupt }

func damagef(format string, args ...any) error {
	return &damaged{msg: fmt.Sprintf(format, args...)}
}
