package server

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"picbed/imaging"
	"picbed/store"
)

// apiRequest is a parsed API v1 upload request.
type apiRequest struct {
	method string
	// fields holds the form fields; body fields override query ones as in
	// PHP's $_REQUEST.
	fields map[string]string
	// file is the received file part (source or image), already on disk.
	file *receivedFile
	// imgbb is set when the upload came in the ImgBB alias field "image".
	imgbb bool
	// bodyRead lifts the slow-body guard once the body is in (see
	// guardSlowBody); a refused body keeps it while it is drained.
	bodyRead func()
}

// receivedFile is an upload written to a staging file while it streamed in.
type receivedFile struct {
	f    *os.File
	size int64
	md5  string
	name string // client file name, base name only
}

func (r *apiRequest) get(name string) string { return r.fields[name] }

// format is the requested output format; anything unknown is json.
func (r *apiRequest) format() string {
	switch f := r.get("format"); f {
	case "txt", "redirect":
		return f
	}
	return "json"
}

// maxDrainBytes is how much of an unread request body is read and dropped
// before an API error is answered. Most HTTP libraries (Go's, axios) send
// the whole body before they read the answer; draining lets them see the
// JSON refusal of, say, a 16 MB upload over a 10 MB limit instead of a
// connection reset. Nothing drained is kept. Beyond this the connection is
// closed.
const maxDrainBytes = 64 << 20

// handleAPIUpload answers POST|GET /api/1/upload[/] (spec section 1).
func (s *Server) handleAPIUpload(c echo.Context) error {
	r := c.Request()
	req := &apiRequest{method: r.Method, fields: map[string]string{}, bodyRead: func() {}}
	if r.Method == http.MethodPost {
		req.bodyRead = s.guardSlowBody(c.Response(), r)
	}
	body := r.Body // before any size limit wraps it; drained through the guard
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			req.fields[k] = v[0]
		}
	}
	img, user, err := s.apiUpload(c, req)
	if err != nil {
		// An address blocked for guessing keys gets no drain: its refusal
		// is the one answer it should not be spent bandwidth on.
		if !errors.Is(err, errKeyFailures) {
			io.CopyN(io.Discard, body, maxDrainBytes)
		}
		s.writeAPIError(c.Response(), req.format(), s.toAPIError(err))
		return nil
	}
	s.log.Info("image uploaded", slog.Uint64("image_id", img.ID), slog.String("file", img.File(store.Full)),
		slog.Int64("bytes", img.Size), slog.String("user", user.Name), slog.String("ip", c.RealIP()))
	s.writeAPISuccess(c.Response(), r, req, img)
	return nil
}

// apiUpload runs an API upload request in Chevereto V3's order of checks
// (spec 1.5): key, version, action, then storeUpload (flood limits, source,
// the upload pipeline). The key's user owns the image; album_id puts it in
// one of that user's albums, and is ignored (as Chevereto V4 does) when it
// names no album of theirs.
// Without an expiration the admin's default auto-delete applies (none unless
// set on the settings page).
func (s *Server) apiUpload(c echo.Context, req *apiRequest) (store.Image, store.User, error) {
	r := c.Request()
	ip := c.RealIP()
	// An address that sent too many wrong keys is refused before anything
	// of its body is read or stored.
	if wait, blocked := s.keyFails.blocked(ip, s.now()); blocked {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		return store.Image{}, store.User{}, errKeyFailures
	}
	up, err := s.store.NewUpload()
	if err != nil {
		return store.Image{}, store.User{}, err
	}
	defer up.Discard()

	// A key named before the body (header or query) is checked before the
	// body is read, so a wrong key never costs a 25 MB staging file.
	var user store.User
	authed := false
	auth := func(key string) error {
		if authed {
			return nil
		}
		if key == "" {
			return errInvalidKey
		}
		u, _, err := s.store.AuthAPIKey(key)
		if err != nil {
			if errors.Is(err, store.ErrUnauthorized) || errors.Is(err, store.ErrNotFound) {
				s.keyFails.fail(ip, s.now())
				return errInvalidKey
			}
			return err
		}
		user, authed = u, true
		return nil
	}
	if k := r.Header.Get("X-API-Key"); k != "" {
		if err := auth(k); err != nil {
			return store.Image{}, user, err
		}
	} else if k := req.get("key"); k != "" && r.Method == http.MethodGet {
		if err := auth(k); err != nil {
			return store.Image{}, user, err
		}
	}
	if r.Method == http.MethodPost {
		err := s.parseAPIBody(r, req, up, auth)
		if err != nil {
			return store.Image{}, user, err
		}
	}
	req.bodyRead()
	if err := auth(req.get("key")); err != nil {
		return store.Image{}, user, err
	}
	if c.Param("version") != "1" {
		return store.Image{}, user, errInvalidVersion
	}
	if c.Param("action") != "upload" {
		return store.Image{}, user, errInvalidAction
	}
	who := uploadParams{owner: user}
	switch id, err := s.ownAlbum(user, req.get("album_id")); {
	case err == nil:
		who.album = id
	case !errors.Is(err, errNotYourAlbum):
		return store.Image{}, user, err
	}
	return s.storeUpload(c, req, up, who)
}

// ownAlbum returns the id of the album encoded as v (an album_id field;
// "" is no album, id 0). It returns errNotYourAlbum when v names no album
// of user's: the web upload refuses that, the API ignores it as Chevereto
// V4 does.
func (s *Server) ownAlbum(user store.User, v string) (uint64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	id, ok := s.store.DecodeID(v)
	if !ok || user.ID == 0 {
		return 0, errNotYourAlbum
	}
	a, err := s.store.Album(id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.OwnerID != user.ID) {
		return 0, errNotYourAlbum
	}
	if err != nil {
		return 0, err
	}
	return id, nil
}

// storeUpload is what API and web uploads share once the body is in and
// the uploader is known: flood limits, the source, the request's parameters
// and ingest. who carries what the route decided: owner (or guestID),
// album and noExpiry; the request's fields decide the rest. An upload that
// asks for no expiration gets the site's default auto-delete, if any,
// unless who.noExpiry is set.
func (s *Server) storeUpload(c echo.Context, req *apiRequest, up *store.Upload, who uploadParams) (store.Image, store.User, error) {
	r := c.Request()
	ip := c.RealIP()
	user := who.owner
	// Flood limits (spec 3.3) count uploads per address; admins are exempt.
	// The upload is counted now, so concurrent ones cannot all slip under
	// the limit, and given back if it fails.
	stored := false
	if !user.Admin {
		at := s.now()
		if err := s.flood.take(ip, at); err != nil {
			return store.Image{}, user, err
		}
		defer func() {
			if !stored {
				s.flood.undo(ip, at)
			}
		}()
	}
	src, err := s.resolveSource(r, req, up)
	if err != nil {
		return store.Image{}, user, err
	}
	now := s.now()
	params, err := parseUploadParams(req, now)
	if err != nil {
		return store.Image{}, user, err
	}
	params.owner = user
	params.ip = ip
	params.guestID = who.guestID
	params.album = who.album
	if d := s.site().DefaultExpiry; params.expires.IsZero() && d > 0 && !who.noExpiry {
		params.expires = expiresAt(now, d)
	}
	img, err := s.ingest(r.Context(), up, src, params)
	stored = err == nil
	return img, user, err
}

// maxBase64Bytes is the longest base64 `source` field accepted for a
// limit of max decoded bytes: 4/3 of it plus room for line breaks.
func maxBase64Bytes(max int64) int64 {
	return max/3*4 + max/16 + 4096
}

// parseAPIBody reads a POST body, multipart or urlencoded, into req. File
// parts stream to a staging file of up, never into memory.
func (s *Server) parseAPIBody(r *http.Request, req *apiRequest, up *store.Upload, auth func(string) error) error {
	limit := maxBase64Bytes(s.site().MaxUpload) + maxFormParts*maxFieldBytes
	r.Body = http.MaxBytesReader(nil, r.Body, limit)
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		if ctParams["boundary"] == "" {
			return errBadRequestBody
		}
		return s.parseMultipart(multipart.NewReader(r.Body, ctParams["boundary"]), req, up, auth)
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errTooBig(s.site().MaxUpload)
			}
			return errBadRequestBody
		}
		if len(r.PostForm) > maxFormParts {
			return errTooManyFields
		}
		for k, v := range r.PostForm {
			if len(v) > 0 {
				req.fields[k] = v[0]
			}
		}
		return nil
	}
	// Any other body (none, JSON, raw bytes) carries no fields; the query
	// string may still hold everything.
	return nil
}

func (s *Server) parseMultipart(mr *multipart.Reader, req *apiRequest, up *store.Upload, auth func(string) error) error {
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return s.bodyError(err)
		}
		if n >= maxFormParts {
			return errTooManyFields
		}
		name := p.FormName()
		if (name == "source" || name == "image") && p.FileName() != "" {
			// The key, when it came first, is checked before the file is
			// stored. Clients that send it later are checked afterwards.
			if k := req.get("key"); k != "" {
				if err := auth(k); err != nil {
					return err
				}
			}
			if req.file != nil {
				return errTooManyFields
			}
			rf, err := s.receiveFile(p, up)
			if err != nil {
				return err
			}
			rf.name = baseName(p.FileName())
			req.file = rf
			req.imgbb = name == "image"
			continue
		}
		max := int64(maxFieldBytes)
		if name == "source" || name == "image" {
			max = maxBase64Bytes(s.site().MaxUpload)
		}
		b, err := io.ReadAll(io.LimitReader(p, max+1))
		if err != nil {
			return s.bodyError(err)
		}
		if int64(len(b)) > max {
			if name == "source" || name == "image" {
				return errTooBig(s.site().MaxUpload)
			}
			return errFieldTooLong
		}
		req.fields[name] = string(b)
	}
}

func (s *Server) bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooBig(s.site().MaxUpload)
	}
	return errBadRequestBody
}

// receiveFile streams a file part into the upload's staging file, hashing it
// on the way, and refuses it once it passes the size limit.
func (s *Server) receiveFile(p io.Reader, up *store.Upload) (*receivedFile, error) {
	f, err := up.Source()
	if err != nil {
		return nil, err
	}
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(p, s.site().MaxUpload+1))
	if err != nil {
		if isNoSpace(err) {
			return nil, errNoSpace
		}
		return nil, s.bodyError(err)
	}
	if n > s.site().MaxUpload {
		return nil, errTooBig(s.site().MaxUpload)
	}
	return &receivedFile{f: f, size: n, md5: hex.EncodeToString(h.Sum(nil))}, nil
}

// resolveSource turns the request's source (file part, URL or base64) into a
// file on disk (spec 1.4).
func (s *Server) resolveSource(r *http.Request, req *apiRequest, up *store.Upload) (*receivedFile, error) {
	if req.file != nil {
		return req.file, nil
	}
	v, field := req.get("source"), "source"
	if v == "" {
		v, field = req.get("image"), "image"
	}
	req.imgbb = field == "image" && v != ""
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, errEmptySource
	}
	if looksLikeURL(v) {
		if !s.site().URLUploads {
			return nil, errURLForbidden
		}
		return s.fetchSource(r, v, up)
	}
	if r.Method != http.MethodPost {
		return nil, errBase64GET
	}
	data, err := decodeStrictBase64(v)
	if err != nil {
		return nil, errBadBase64
	}
	if int64(len(data)) > s.site().MaxUpload {
		return nil, errTooBig(s.site().MaxUpload)
	}
	f, err := up.Source()
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		if isNoSpace(err) {
			return nil, errNoSpace
		}
		return nil, err
	}
	sum := md5.Sum(data)
	// Chevereto names base64 uploads with 12 random hex characters.
	return &receivedFile{f: f, size: int64(len(data)), md5: hex.EncodeToString(sum[:]), name: randomHex(6)}, nil
}

// looksLikeURL says whether a source string is meant as a URL rather than
// base64: base64 never contains "://".
func looksLikeURL(v string) bool {
	i := strings.Index(v, "://")
	if i <= 0 || i > 10 {
		return false
	}
	for _, c := range v[:i] {
		if !unicode.IsLetter(c) {
			return false
		}
	}
	return true
}

// decodeStrictBase64 accepts only canonical standard base64 after removing
// white space: decoding and re-encoding must give the same text (spec 1.4).
func decodeStrictBase64(v string) ([]byte, error) {
	v = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, v)
	data, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || len(data) == 0 || base64.StdEncoding.EncodeToString(data) != v {
		return nil, errBadBase64
	}
	return data, nil
}

// uploadParams are the V4 request parameters an upload honours (spec 1.3).
type uploadParams struct {
	owner store.User
	// guestID marks a guest's web upload (owner 0) so that a later login
	// from the same browser claims it; "" for API and user uploads.
	guestID string
	// album is the album (of owner) the image goes into, 0 for none.
	album uint64
	// noExpiry: the uploader chose "don't auto-delete", so the site's
	// default auto-delete does not apply.
	noExpiry    bool
	ip          string
	title       string
	description string
	tags        []string
	nsfw        bool
	width       int
	expires     time.Time
}

// Limits on the V4 text parameters.
const (
	// maxDescriptionRunes bounds descriptions; Chevereto's column is TEXT
	// (64 KiB), ours is sized for prose, not documents.
	maxDescriptionRunes = 10000
	// maxTags and maxTagRunes bound the tag list of one image.
	maxTags     = 20
	maxTagRunes = 64
	// minExpiry and maxExpiry clamp auto-delete (spec 5.9: 5 minutes to 1 year).
	minExpiry = 5 * time.Minute
	maxExpiry = 365 * 24 * time.Hour
	// minResizeWidth is the smallest `width` honoured (the web UI's minimum).
	minResizeWidth = 16
)

// parseUploadParams reads the V4 parameters. Out-of-range values are
// clamped or ignored, as Chevereto V4 drops what it cannot use.
func parseUploadParams(req *apiRequest, now time.Time) (uploadParams, error) {
	var p uploadParams
	title := req.get("title")
	if title == "" {
		title = req.get("name")
	}
	p.title = truncateRunes(cleanText(title, false), maxTitleRunes)
	p.description = truncateRunes(cleanText(req.get("description"), true), maxDescriptionRunes)
	for _, t := range strings.Split(req.get("tags"), ",") {
		t = truncateRunes(cleanText(t, false), maxTagRunes)
		if t != "" && len(p.tags) < maxTags {
			p.tags = append(p.tags, t)
		}
	}
	p.nsfw = req.get("nsfw") == "1"
	// A width the image is narrower than is ignored later by imaging; one
	// beyond what imaging derives at all is ignored here.
	if w, err := strconv.Atoi(req.get("width")); err == nil && w >= minResizeWidth && w <= imaging.MaxDerivedSide {
		p.width = w
	}
	if d, ok := parseExpiration(req.get("expiration")); ok {
		p.expires = expiresAt(now, d)
	}
	return p, nil
}

// expiresAt is the expiry instant of an auto-delete after d, clamped to
// minExpiry..maxExpiry (spec 5.9).
func expiresAt(now time.Time, d time.Duration) time.Time {
	d = min(max(d, minExpiry), maxExpiry)
	return now.Add(d).UTC().Truncate(time.Second)
}

// cleanText trims s, turns invalid UTF-8 into U+FFFD and drops control
// characters (keeping line breaks and tabs when multiline).
func cleanText(s string, multiline bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if multiline && (r == '\n' || r == '\t') {
			return r
		}
		if r == '\r' && multiline {
			return -1
		}
		if unicode.IsControl(r) || r == '\u202e' || r == '\u202d' || r == '\u2066' || r == '\u2067' || r == '\u2068' || r == '\u2069' || r == '\u202a' || r == '\u202b' || r == '\u202c' {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// parseExpiration reads an ISO-8601 duration (PT5M, P3D, P1Y2M...) or a
// number of seconds. Years and months count as 365 and 30 days.
func parseExpiration(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0, false
		}
		if n > int64(maxExpiry/time.Second) {
			return maxExpiry, true
		}
		return time.Duration(n) * time.Second, true
	} else if errors.Is(err, strconv.ErrRange) && v[0] != '-' {
		return maxExpiry, true // more seconds than int64 holds: clamp, like any other huge value
	}
	v = strings.ToUpper(v)
	if !strings.HasPrefix(v, "P") || len(v) < 3 {
		return 0, false
	}
	var total time.Duration
	inTime := false
	num := ""
	for _, c := range v[1:] {
		switch {
		case c == 'T':
			if inTime || num != "" {
				return 0, false
			}
			inTime = true
		case c >= '0' && c <= '9':
			num += string(c)
			if len(num) > 9 {
				return 0, false
			}
		default:
			if num == "" {
				return 0, false
			}
			n, _ := strconv.Atoi(num)
			num = ""
			var unit time.Duration
			switch {
			case !inTime && c == 'Y':
				unit = 365 * 24 * time.Hour
			case !inTime && c == 'M':
				unit = 30 * 24 * time.Hour
			case !inTime && c == 'W':
				unit = 7 * 24 * time.Hour
			case !inTime && c == 'D':
				unit = 24 * time.Hour
			case inTime && c == 'H':
				unit = time.Hour
			case inTime && c == 'M':
				unit = time.Minute
			case inTime && c == 'S':
				unit = time.Second
			default:
				return 0, false
			}
			if time.Duration(n) > maxExpiry/unit {
				total = maxExpiry // n*unit would overflow
			} else {
				total += time.Duration(n) * unit
			}
			if total > maxExpiry {
				total = maxExpiry
			}
		}
	}
	if num != "" || total <= 0 {
		return 0, false
	}
	return total, true
}

// baseName returns the last element of a client-supplied file name, which
// may use either slash (Windows clients send full paths).
func baseName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(name)
	if name == "." || name == "/" {
		return ""
	}
	return name
}
