package site

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
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

	// mr is the multipart body being read and body what it reads, for
	// Find after a refusal.
	mr   *multipart.Reader
	body *limitedBody
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
		f.body = &limitedBody{r: r.Body, n: math.MaxInt64}
		f.mr = multipart.NewReader(f.body, params["boundary"])
		return readMultipart(f.mr, up, f, rules)
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

// maxFindFieldBytes bounds the value Find reads of one field.
const maxFindFieldBytes = 1 << 10

// Find returns the value of field name of r's form when the form was not
// read to its end: ReadForm stopped at a refusal, or was never called (a
// request refused on its headers). It reads on through at most limit more
// bytes of the body, discarding file parts, and returns "" when the field
// is not found within them. The Chevereto API needs it for "format": its
// refusals are answered in the format asked for wherever the client put
// the field, as PHP, which parses the whole form first, does.
func (f *Form) Find(r *http.Request, name string, limit int64) string {
	if v, ok := f.Fields[name]; ok {
		return v
	}
	mr := f.mr
	if mr != nil {
		f.body.n = limit
	} else {
		body := &limitedBody{r: r.Body, n: limit}
		ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case r.Method != http.MethodPost:
			return ""
		case ct == "application/x-www-form-urlencoded" && r.PostForm == nil:
			b, _ := io.ReadAll(body)
			vs, _ := url.ParseQuery(string(b))
			return vs.Get(name)
		case ct != "multipart/form-data" || params["boundary"] == "":
			return ""
		}
		mr = multipart.NewReader(body, params["boundary"])
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if p.FormName() == name && p.FileName() == "" {
			b, _ := io.ReadAll(io.LimitReader(p, maxFindFieldBytes))
			return string(b)
		}
	}
}

// limitedBody reads at most n bytes of r and then reports EOF.
type limitedBody struct {
	r io.Reader
	n int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
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
