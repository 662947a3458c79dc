package ingest

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"picbed/store"
)

// The refusals of an upload. Each door maps them to its own codes and
// words (the Chevereto API to Chevereto's codes and messages, the web page
// to a translated message); test them with errors.Is and errors.As.
var (
	// ErrEmptySource: the request names no bytes to upload.
	ErrEmptySource = errors.New("ingest: empty upload source")
	// ErrBadBase64: a base64 source is not canonical standard base64.
	ErrBadBase64 = errors.New("ingest: invalid base64 source")
	// ErrURLForbidden: a URL source while URL uploads are off.
	ErrURLForbidden = errors.New("ingest: URL uploads are off")
	// ErrURLNonPublic: a URL source that resolves to a non-public address.
	ErrURLNonPublic = errors.New("ingest: URL source on a non-public address")
	// ErrURLSelf: a URL source on this site itself.
	ErrURLSelf = errors.New("ingest: URL source on this site")
	// ErrFetchFailed: a URL source could not be downloaded (bad URL,
	// unreachable, not 200, broken transfer).
	ErrFetchFailed = errors.New("ingest: URL source could not be fetched")
	// ErrNotImage: the bytes are no image format at all.
	ErrNotImage = errors.New("ingest: not an image")
	// ErrUnsupported: an image format picbed does not store (TIFF, HEIC...).
	ErrUnsupported = errors.New("ingest: unsupported image format")
	// ErrInvalidImage: a known format that does not decode.
	ErrInvalidImage = errors.New("ingest: invalid image")
	// ErrDuplicate: the owner already has these bytes and the duplicates
	// policy is DuplicatesReject.
	ErrDuplicate = errors.New("ingest: duplicated upload")
	// ErrNoSpace: the disk (or quota) is full; nothing was stored.
	ErrNoSpace = errors.New("ingest: no space left on storage")
	// ErrBusy: the upload's context ended while it waited for a decode slot.
	ErrBusy = errors.New("ingest: server busy")
)

// TooBigError refuses a source larger than Limit bytes.
type TooBigError struct{ Limit int64 }

func (e *TooBigError) Error() string {
	return fmt.Sprintf("ingest: file larger than %d bytes", e.Limit)
}

// TooManyPixelsError refuses an image of more than Limit pixels, found
// from its header before any decode.
type TooManyPixelsError struct{ Limit int }

func (e *TooManyPixelsError) Error() string {
	return fmt.Sprintf("ingest: image larger than %d pixels", e.Limit)
}

// FloodError refuses an upload past a per-address limit: at most Limit
// uploads per Period.
type FloodError struct {
	Limit  int
	Period Period
}

func (e *FloodError) Error() string {
	return fmt.Sprintf("ingest: more than %d uploads per %s", e.Limit, e.Period)
}

// URLSchemeError refuses a URL source (or a redirect) whose scheme is not
// http or https.
type URLSchemeError struct{ Scheme string }

func (e *URLSchemeError) Error() string {
	return fmt.Sprintf("ingest: unsupported URL scheme %q", e.Scheme)
}

// Period is one of the flood-limit periods.
type Period int

// The flood periods, shortest first.
const (
	Minute Period = iota
	Hour
	Day
	Week
	Month
)

// Periods are the flood periods in order, as their names and lengths.
var Periods = [...]struct {
	Name string
	D    time.Duration
}{
	Minute: {"minute", time.Minute},
	Hour:   {"hour", time.Hour},
	Day:    {"day", 24 * time.Hour},
	Week:   {"week", 7 * 24 * time.Hour},
	Month:  {"month", 30 * 24 * time.Hour},
}

// String returns "minute", "hour", "day", "week" or "month".
func (p Period) String() string {
	if p < 0 || int(p) >= len(Periods) {
		return fmt.Sprintf("Period(%d)", int(p))
	}
	return Periods[p].Name
}

// IsNoSpace reports a full disk or quota, whether from store, from a
// staging file written directly, or already mapped to ErrNoSpace.
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		errors.Is(err, store.ErrNoSpace) || errors.Is(err, ErrNoSpace)
}
