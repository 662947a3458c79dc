package site

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"

	"picbed/ingest"
	"picbed/store"
)

// Limits of upload forms, whatever the dialect.
const (
	// MaxFieldBytes bounds every form field but the upload itself: titles,
	// descriptions and keys are far shorter.
	MaxFieldBytes = 64 << 10
	// MaxFormParts bounds the number of multipart parts or form fields in
	// one request; the upload APIs have about a dozen parameters.
	MaxFormParts = 64
)

// Form is a parsed upload form.
type Form struct {
	// Fields holds the first value of each field (and of each query
	// parameter the caller put there before).
	Fields map[string]string
	// File is the file part, staged while it streamed in; nil when the
	// form had none.
	File *ingest.Staged
	// FileField is the name of the part File came in.
	FileField string
}

// Get returns field name's value, "" when absent.
func (f *Form) Get(name string) string { return f.Fields[name] }

// FormRules say how ReadForm reads one dialect's upload form.
type FormRules struct {
	// FileFields are the field names whose file parts are the upload; at
	// most one such part is accepted.
	FileFields []string
	// TextSourceFields are fields that may carry the upload as text
	// (base64): they may be as long as MaxUpload bytes in base64.
	TextSourceFields []string
	// MaxUpload is the largest upload in bytes.
	MaxUpload int64
	// BeforeFile, when set, runs when the file part begins, with the
	// fields read so far: a door checks credentials sent before the file
	// there, so a refused request never stores a large staging file.
	BeforeFile func(f *Form) error
}

// ReadForm reads a POST body, multipart/form-data or urlencoded, into f.
// File parts stream into up's source file, never into memory. Any other
// Content-Type (none, JSON, raw bytes) carries no fields: f stays as it
// is. The whole body may be at most what MaxUpload as base64 and
// MaxFormParts fields of MaxFieldBytes take. It returns ErrTooManyFields,
// ErrFieldTooLong, ErrMalformedBody, *ingest.TooBigError, ingest.ErrNoSpace,
// or the error of BeforeFile.
func ReadForm(r *http.Request, up *store.Upload, f *Form, rules FormRules) error {
	limit := ingest.MaxBase64Bytes(rules.MaxUpload) + MaxFormParts*MaxFieldBytes
	r.Body = http.MaxBytesReader(nil, r.Body, limit)
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		if params["boundary"] == "" {
			return ErrMalformedBody
		}
		return readMultipart(multipart.NewReader(r.Body, params["boundary"]), up, f, rules)
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return bodyError(err, rules.MaxUpload)
		}
		if len(r.PostForm) > MaxFormParts {
			return ErrTooManyFields
		}
		for k, v := range r.PostForm {
			if len(v) > 0 {
				f.Fields[k] = v[0]
			}
		}
	}
	return nil
}

func readMultipart(mr *multipart.Reader, up *store.Upload, f *Form, rules FormRules) error {
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return bodyError(err, rules.MaxUpload)
		}
		if n >= MaxFormParts {
			return ErrTooManyFields
		}
		name := p.FormName()
		if slices.Contains(rules.FileFields, name) && p.FileName() != "" {
			if rules.BeforeFile != nil {
				if err := rules.BeforeFile(f); err != nil {
					return err
				}
			}
			if f.File != nil {
				return ErrTooManyFields
			}
			staged, err := receive(p, up, rules.MaxUpload)
			if err != nil {
				return err
			}
			staged.Name = p.FileName()
			f.File, f.FileField = staged, name
			continue
		}
		max := int64(MaxFieldBytes)
		source := slices.Contains(rules.TextSourceFields, name)
		if source {
			max = ingest.MaxBase64Bytes(rules.MaxUpload)
		}
		b, err := io.ReadAll(io.LimitReader(p, max+1))
		if err != nil {
			return bodyError(err, rules.MaxUpload)
		}
		if int64(len(b)) > max {
			if source {
				return &ingest.TooBigError{Limit: rules.MaxUpload}
			}
			return ErrFieldTooLong
		}
		f.Fields[name] = string(b)
	}
}

// receive streams a file part into up's source file, hashing it on the
// way, and refuses it once it passes max bytes.
func receive(p io.Reader, up *store.Upload, max int64) (*ingest.Staged, error) {
	f, err := up.Source()
	if err != nil {
		return nil, err
	}
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(p, max+1))
	if err != nil {
		if ingest.IsNoSpace(err) {
			return nil, ingest.ErrNoSpace
		}
		return nil, bodyError(err, max)
	}
	if n > max {
		return nil, &ingest.TooBigError{Limit: max}
	}
	return &ingest.Staged{File: f, Size: n, MD5: hex.EncodeToString(h.Sum(nil))}, nil
}

// bodyError is what a failed read of a form body means: the body limit
// (a *ingest.TooBigError) or a broken body.
func bodyError(err error, maxUpload int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &ingest.TooBigError{Limit: maxUpload}
	}
	return ErrMalformedBody
}
