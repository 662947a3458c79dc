package site

import (
	"errors"
	"fmt"
	"time"
)

// Refusals of the shared request handling; each door maps them.
var (
	// ErrInvalidKey: no API key, or one that is not valid.
	ErrInvalidKey = errors.New("site: invalid API key")
	// ErrGuestUploadsOff: an upload without an account while guest uploads
	// are off.
	ErrGuestUploadsOff = errors.New("site: guest uploads are off")
	// ErrNotYourAlbum: an album id that names no album of the uploader.
	ErrNotYourAlbum = errors.New("site: no such album of the uploader")
	// ErrTooManyFields: a form with more than MaxFormParts parts or fields.
	ErrTooManyFields = errors.New("site: too many request fields")
	// ErrFieldTooLong: a form field longer than MaxFieldBytes.
	ErrFieldTooLong = errors.New("site: request field too long")
	// ErrMalformedBody: a body that does not parse as its Content-Type says.
	ErrMalformedBody = errors.New("site: malformed request body")
)

// KeyFailuresError refuses every API request of an address that sent too
// many wrong keys, for Wait more.
type KeyFailuresError struct{ Wait time.Duration }

func (e *KeyFailuresError) Error() string {
	return fmt.Sprintf("site: too many failed API key attempts; retry in %s", e.Wait)
}
