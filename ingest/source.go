package ingest

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"strings"
	"unicode"

	"picbed/store"
)

// A Source is where an upload's bytes come from. Stage writes them into
// the upload's source file (store.Upload.Source), refusing more than
// p.MaxUpload bytes with a *TooBigError, and returns the staged file.
// Ingest calls it once, after the per-address limits passed and before any
// other check, so a refused upload never downloads a URL.
type Source interface {
	Stage(ctx context.Context, up *store.Upload, p Policies) (*Staged, error)
}

// Staged is an upload's bytes in a staging file, complete. It is itself a
// Source, for bytes a door staged while it read its request body.
type Staged struct {
	File *os.File // positioned anywhere: it is read with ReadAt
	Size int64
	MD5  string // hex MD5 of the bytes as received
	// Name is the client's file name (or a URL's last path element); only
	// its base name is used. "" gets a random name.
	Name string
}

// Stage returns s itself.
func (s *Staged) Stage(context.Context, *store.Upload, Policies) (*Staged, error) { return s, nil }

// Base64 is a source given as base64 text (white space allowed between
// characters). Only canonical standard base64 is accepted: decoding and
// encoding again must give the same text; anything else is ErrBadBase64.
// Its name is random, 12 hex characters, as Chevereto names base64 uploads.
type Base64 string

// Stage decodes the text into up's source file.
func (b Base64) Stage(_ context.Context, up *store.Upload, p Policies) (*Staged, error) {
	data, err := DecodeStrictBase64(string(b))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > p.MaxUpload {
		return nil, &TooBigError{p.MaxUpload}
	}
	f, err := up.Source()
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		if IsNoSpace(err) {
			return nil, ErrNoSpace
		}
		return nil, err
	}
	sum := md5.Sum(data)
	return &Staged{File: f, Size: int64(len(data)), MD5: hex.EncodeToString(sum[:]), Name: randomHex(6)}, nil
}

// MaxBase64Bytes is the longest base64 text that can decode to at most max
// bytes: 4/3 of it, plus room for line breaks.
func MaxBase64Bytes(max int64) int64 {
	return max/3*4 + max/16 + 4096
}

// DecodeStrictBase64 accepts only canonical standard base64 after removing
// white space, and returns ErrBadBase64 for anything else (also for text
// that decodes to nothing).
func DecodeStrictBase64(v string) ([]byte, error) {
	v = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, v)
	data, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || len(data) == 0 || base64.StdEncoding.EncodeToString(data) != v {
		return nil, ErrBadBase64
	}
	return data, nil
}

// refusal is a Source that fails with its error when staged: a door uses
// it for a source it already knows to be unusable, so the refusal comes in
// the same order as any other source's.
type refusal struct{ err error }

func (r refusal) Stage(context.Context, *store.Upload, Policies) (*Staged, error) { return nil, r.err }

// Refuse returns a Source whose Stage fails with err.
func Refuse(err error) Source { return refusal{err} }

// randomHex returns 2n lowercase hex characters from crypto/rand.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
