package ingest

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"picbed/imaging"
	"picbed/store"
)

// Config configures an Ingester.
type Config struct {
	// DecodeWorkers bounds the images decoded at once; 0 means the CPU
	// count. Decoding is what costs memory: this, not a memory limit, is
	// what keeps many large uploads from exhausting it.
	DecodeWorkers int
	// Now is the clock of upload dates and expiries; nil means time.Now.
	Now func() time.Time
}

// Ingester runs uploads into one store. It is safe for concurrent use.
type Ingester struct {
	store  *store.Store
	decode chan struct{}
	now    func() time.Time
}

// New returns an Ingester over st.
func New(st *store.Store, cfg Config) *Ingester {
	if cfg.DecodeWorkers <= 0 {
		cfg.DecodeWorkers = runtime.NumCPU()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Ingester{store: st, decode: make(chan struct{}, cfg.DecodeWorkers), now: cfg.Now}
}

// Now returns the Ingester's clock.
func (in *Ingester) Now() time.Time { return in.now() }

// SetClock replaces the clock of upload dates and expiries (tests).
func (in *Ingester) SetClock(now func() time.Time) { in.now = now }

// Request is one upload, in no dialect.
type Request struct {
	// Owner uploads the image; the zero User is a guest, then GuestID
	// tells guests apart.
	Owner   store.User
	GuestID string
	// IP is the uploader's address, kept with the image.
	IP string
	// Source is where the bytes come from; nil is ErrEmptySource.
	Source Source
	// Title, Description and Tags are taken as sent; Ingest cleans them
	// (CleanText) and cuts them to MaxTitleRunes, MaxDescriptionRunes and
	// MaxTags of MaxTagRunes. An empty title comes from the image's EXIF
	// description, else from the file name.
	Title       string
	Description string
	Tags        []string
	// AlbumID is an album of Owner the image goes into; 0 for none.
	AlbumID uint64
	NSFW    bool
	// Width asks for the full image to be downscaled to this width; values
	// outside MinResizeWidth..imaging.MaxDerivedSide are ignored.
	Width int
	// Expiry is the auto-delete asked for, clamped to MinExpiry..MaxExpiry;
	// 0 means none asked, then Policies.DefaultExpiry applies unless
	// NoExpiry is set (the uploader chose "never").
	Expiry   time.Duration
	NoExpiry bool
	// Policies are the site's rules for this upload.
	Policies Policies
}

// MinResizeWidth is the smallest Request.Width honoured (the web UI's
// minimum).
const MinResizeWidth = 16

// Ingest stores req as a new image, or returns the existing one the
// duplicates policy reuses, in these steps: stage the source into up; clean
// the text fields; apply the duplicates policy (a guest's duplicate is only
// one of the same GuestID; a reused image stays where it is, and keeps the
// later of its expiry and the new one); wait for a decode slot (ErrBusy when ctx ends
// first); derive and write the variants with imaging.Process into up; and
// commit with store.PutImage. The caller discards up afterwards. Errors are
// this package's (errors.go), or a wrapped store or I/O error for anything
// else.
func (in *Ingester) Ingest(ctx context.Context, up *store.Upload, req Request) (store.Image, error) {
	if req.Source == nil {
		return store.Image{}, ErrEmptySource
	}
	src, err := req.Source.Stage(ctx, up, req.Policies)
	if err != nil {
		return store.Image{}, err
	}
	now := in.now()
	var expires time.Time
	switch {
	case req.Expiry > 0:
		expires = ExpiresAt(now, req.Expiry)
	case req.Policies.DefaultExpiry > 0 && !req.NoExpiry:
		expires = ExpiresAt(now, req.Policies.DefaultExpiry)
	}
	width := 0
	if req.Width >= MinResizeWidth && req.Width <= imaging.MaxDerivedSide {
		width = req.Width
	}

	if req.Policies.Duplicates != DuplicatesAllow {
		dup, err := in.store.FindDuplicate(req.Owner.ID, src.MD5)
		// Guests share owner 0: another guest's image is no duplicate of
		// this one (reusing it would hand out its delete link).
		if err == nil && req.Owner.ID == 0 && dup.GuestID != req.GuestID {
			err = store.ErrNotFound
		}
		switch {
		case err == nil && req.Policies.Duplicates == DuplicatesReject:
			return store.Image{}, ErrDuplicate
		case err == nil:
			return in.reuse(dup, expires)
		case !errors.Is(err, store.ErrNotFound):
			return store.Image{}, err
		}
	}

	release, err := in.DecodeSlot(ctx)
	if err != nil {
		return store.Image{}, err
	}
	defer release()

	// The stored file's MD5 (duplicates, Chevereto's md5) and SHA-1 (Lsky
	// Pro's sha1) are hashed as it is written: no second read.
	fullMD5, fullSHA1 := md5.New(), sha1.New()
	full := &stagedWriter{up: up, v: store.Full, h: io.MultiWriter(fullMD5, fullSHA1)}
	thumb := &stagedWriter{up: up, v: store.Thumb}
	medium := &stagedWriter{up: up, v: store.Medium}
	res, err := imaging.Process(src.File, src.Size, imaging.Options{
		MaxPixels:   req.Policies.MaxPixels,
		EXIF:        req.Policies.EXIF,
		ResizeWidth: width,
	}, full, thumb, medium)
	// A failed write is the cause whatever imaging made of it (an encoder
	// may report it in its own words): check the writers first.
	for _, w := range []*stagedWriter{full, thumb, medium} {
		if w.err != nil {
			if IsNoSpace(w.err) {
				return store.Image{}, ErrNoSpace
			}
			return store.Image{}, w.err
		}
	}
	if err != nil {
		return store.Image{}, imagingError(err, req.Policies)
	}

	clientName := BaseName(src.Name)
	if clientName == "" || !strings.Contains(clientName, ".") {
		clientName += "." + res.Format.Ext()
	}
	sourceName := strings.TrimSuffix(clientName, extOf(clientName))
	title := cleanTitle(req.Title)
	if title == "" {
		title = cleanTitle(res.Title)
	}
	if title == "" {
		// The client's file name is as untrusted as a title field: no control
		// or bidi characters (an RTL override would fake the extension).
		title = cleanTitle(TitleFromName(sourceName))
	}
	img := store.Image{
		OwnerID:          req.Owner.ID,
		Name:             store.CleanFileName(sourceName),
		Ext:              res.Format.Ext(),
		MIME:             res.Format.MIME(),
		Size:             full.n,
		Width:            res.Width,
		Height:           res.Height,
		ThumbSize:        thumb.n,
		MediumSize:       medium.n,
		Date:             in.now().UTC().Truncate(time.Second),
		Title:            title,
		Description:      TruncateRunes(CleanText(req.Description, true), MaxDescriptionRunes),
		NSFW:             req.NSFW,
		MD5:              hex.EncodeToString(fullMD5.Sum(nil)),
		SHA1:             hex.EncodeToString(fullSHA1.Sum(nil)),
		RawMD5:           src.MD5,
		OriginalFilename: clientName,
		EXIF:             res.EXIFJSON,
		Animated:         res.Animated,
		Tags:             cleanTags(req.Tags),
		Expires:          expires,
		UploaderIP:       req.IP,
		GuestID:          req.GuestID,
		AlbumID:          req.AlbumID,
	}
	if res.Resized {
		img.SourceMD5 = src.MD5
	}
	if !res.Medium {
		img.MediumSize = 0
	}
	stored, err := in.store.PutImage(img, up)
	if err != nil {
		if IsNoSpace(err) {
			return store.Image{}, ErrNoSpace
		}
		return store.Image{}, err
	}
	return stored, nil
}

// DecodeSlot waits for one of the Config.DecodeWorkers decode slots and
// returns the func that gives it back. Decoding is the memory-hungry step:
// a bounded number run at once and the rest queue here until their context
// ends (ErrBusy). Ingest takes one for each upload; whoever else decodes
// images for the store (deriving missing variants) takes one too.
func (in *Ingester) DecodeSlot(ctx context.Context) (release func(), err error) {
	select {
	case in.decode <- struct{}{}:
		return func() { <-in.decode }, nil
	case <-ctx.Done():
		return nil, ErrBusy
	}
}

// imagingError maps imaging's refusals to this package's.
func imagingError(err error, p Policies) error {
	switch {
	case errors.Is(err, imaging.ErrNotImage):
		return ErrNotImage
	case errors.Is(err, imaging.ErrUnsupported):
		return ErrUnsupported
	case errors.Is(err, imaging.ErrInvalid):
		return ErrInvalidImage
	case errors.Is(err, imaging.ErrTooManyPixels):
		limit := p.MaxPixels
		if limit <= 0 {
			limit = imaging.DefaultMaxPixels
		}
		return &TooManyPixelsError{limit}
	case IsNoSpace(err):
		return ErrNoSpace
	}
	return err
}

// reuse answers an upload of bytes the uploader already has with the
// stored image as it is: where it is (its album, and with it who may see
// it) does not change, whatever album the new upload named. Only its
// auto-delete can: a reuse never leaves the uploader with less than the new
// upload asked for, so the later of the two expiries applies, and none
// (expires zero) beats any.
func (in *Ingester) reuse(dup store.Image, expires time.Time) (store.Image, error) {
	if dup.Expires.IsZero() || (!expires.IsZero() && !expires.After(dup.Expires)) {
		return dup, nil
	}
	return in.store.SetImageExpiry(dup.ID, expires)
}

// stagedWriter writes one variant to its staging file, creating the file on
// the first write so that a variant imaging never writes leaves no file.
type stagedWriter struct {
	up  *store.Upload
	v   store.Variant
	f   *os.File
	h   io.Writer // hashes of what is written, or nil
	n   int64
	err error
}

func (w *stagedWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.f == nil {
		w.f, w.err = w.up.Create(w.v)
		if w.err != nil {
			return 0, w.err
		}
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	if w.h != nil {
		w.h.Write(p[:n])
	}
	if err != nil {
		w.err = err
	}
	return n, err
}
