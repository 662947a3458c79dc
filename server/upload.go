package server

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"os"
	"strings"
	"syscall"

	"picbed/imaging"
	"picbed/store"
)

// ingest turns a received source file into a stored image: duplicate policy,
// a decode slot, imaging.Process into staging files, then one store commit.
// The request body has been read completely before this runs, so no decode
// happens while bytes are still streaming in.
func (s *Server) ingest(ctx context.Context, up *store.Upload, src *receivedFile, p uploadParams) (store.Image, error) {
	if s.site().Duplicates != DuplicatesAllow {
		dup, err := s.store.FindDuplicate(p.owner.ID, src.md5)
		// Guests share owner 0: another guest's image is no duplicate of
		// this one (reusing it would hand out its delete link).
		if err == nil && p.owner.ID == 0 && dup.GuestID != p.guestID {
			err = store.ErrNotFound
		}
		switch {
		case err == nil && s.site().Duplicates == DuplicatesReject:
			return store.Image{}, errDuplicate
		case err == nil:
			return s.reuseDuplicate(dup, p)
		case !errors.Is(err, store.ErrNotFound):
			return store.Image{}, err
		}
	}

	// Decoding is the memory-hungry step: a bounded number run at once and
	// the rest queue here until their client gives up.
	select {
	case s.decode <- struct{}{}:
	case <-ctx.Done():
		return store.Image{}, errBusy
	}
	defer func() { <-s.decode }()

	full := &stagedWriter{up: up, v: store.Full, h: md5.New()}
	thumb := &stagedWriter{up: up, v: store.Thumb}
	medium := &stagedWriter{up: up, v: store.Medium}
	res, err := imaging.Process(src.f, src.size, imaging.Options{
		MaxPixels:   s.cfg.MaxPixels,
		EXIF:        s.site().EXIF,
		ResizeWidth: p.width,
	}, full, thumb, medium)
	// A failed write is the cause whatever imaging made of it (an encoder
	// may report it in its own words): check the writers first.
	for _, w := range []*stagedWriter{full, thumb, medium} {
		if w.err != nil {
			if isNoSpace(w.err) {
				return store.Image{}, errNoSpace
			}
			return store.Image{}, w.err
		}
	}
	if err != nil {
		return store.Image{}, err
	}

	clientName := src.name
	if clientName == "" || !strings.Contains(clientName, ".") {
		clientName += "." + res.Format.Ext()
	}
	sourceName := strings.TrimSuffix(clientName, extOf(clientName))
	title := p.title
	if title == "" {
		title = truncateRunes(cleanText(res.Title, false), maxTitleRunes)
	}
	if title == "" {
		// The client's file name is as untrusted as a title field: no control
		// or bidi characters (an RTL override would fake the extension).
		title = truncateRunes(cleanText(titleFromName(sourceName), false), maxTitleRunes)
	}
	img := store.Image{
		OwnerID:          p.owner.ID,
		Name:             store.CleanFileName(sourceName),
		Ext:              res.Format.Ext(),
		MIME:             res.Format.MIME(),
		Size:             full.n,
		Width:            res.Width,
		Height:           res.Height,
		ThumbSize:        thumb.n,
		MediumSize:       medium.n,
		Date:             s.now().UTC().Truncate(1e9),
		Title:            title,
		Description:      p.description,
		NSFW:             p.nsfw,
		MD5:              hex.EncodeToString(full.h.Sum(nil)),
		RawMD5:           src.md5,
		OriginalFilename: clientName,
		EXIF:             res.EXIFJSON,
		Animated:         res.Animated,
		Tags:             p.tags,
		Expires:          p.expires,
		UploaderIP:       p.ip,
		GuestID:          p.guestID,
		AlbumID:          p.album,
	}
	if res.Resized {
		img.SourceMD5 = src.md5
	}
	if !res.Medium {
		img.MediumSize = 0
	}
	stored, err := s.store.PutImage(img, up)
	if err != nil {
		if isNoSpace(err) {
			return store.Image{}, errNoSpace
		}
		return store.Image{}, err
	}
	return stored, nil
}

// reuseDuplicate answers an upload of bytes the uploader already has with
// the stored image. An upload into an album moves that image there, so the
// album gets what was uploaded into it.
func (s *Server) reuseDuplicate(dup store.Image, p uploadParams) (store.Image, error) {
	if p.album == 0 || dup.AlbumID == p.album {
		return dup, nil
	}
	if err := s.store.MoveImages(p.owner.ID, []uint64{dup.ID}, p.album); err != nil {
		return store.Image{}, err
	}
	return s.store.Image(dup.ID)
}

// stagedWriter writes one variant to its staging file, creating the file on
// the first write so that a variant imaging never writes leaves no file.
type stagedWriter struct {
	up  *store.Upload
	v   store.Variant
	f   *os.File
	h   hash.Hash
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

var _ io.Writer = (*stagedWriter)(nil)

// extOf returns the extension of a client file name including the dot, or
// "" when it has none.
func extOf(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return ""
	}
	return name[i:]
}

// isNoSpace reports a full disk or quota, from store or from a staging
// file written here.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, store.ErrNoSpace)
}

// randomHex returns 2n lowercase hex characters from crypto/rand.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
