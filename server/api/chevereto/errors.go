package chevereto

import (
	"errors"
	"fmt"
	"log/slog"

	"picbed/ingest"
	"picbed/server/site"
	"picbed/store"
)

// Error is a refusal in Chevereto's words: the message and the internal
// code that clients see in error.message and error.code, and the PHP
// exception class Chevereto reports as error.context.
type Error struct {
	Message string
	Code    int
	Context string
}

func (e *Error) Error() string { return e.Message }

// The two contexts a real Chevereto reports: request errors raised by the API
// route, and errors raised inside the upload pipeline.
const (
	ctxRequest = "Exception"
	ctxUpload  = `CHV\UploadException`
)

// Errors of the API route itself, in Chevereto V3's wording as captured
// from a real server.
var (
	errInvalidKey     = &Error{"Invalid API v1 key.", 100, ctxRequest}
	errInvalidVersion = &Error{"Invalid API version.", 110, ctxRequest}
	errInvalidAction  = &Error{"Invalid API action.", 120, ctxRequest}
	errEmptySource    = &Error{"Empty upload source.", 130, ctxRequest}
	errBase64GET      = &Error{"Upload using base64 source must be done using POST method.", 130, ctxRequest}
	errBadBase64      = &Error{"Invalid base64 string.", 120, ctxRequest}
	errDuplicate      = &Error{"Duplicated upload", 101, ctxRequest}
	errURLForbidden   = &Error{"URL uploading is forbidden", 403, ctxRequest}
	errTooManyFields  = &Error{"Too many request fields", 400, ctxRequest}
	errFieldTooLong   = &Error{"Request field too long", 400, ctxRequest}
	errBadRequestBody = &Error{"Malformed request body", 400, ctxRequest}
	// errKeyFailures: Chevereto has no such limit; the code is that of key
	// errors, so clients that special-case 100 show it as a key problem.
	errKeyFailures = &Error{"Too many failed API key attempts. Try again later.", 100, ctxRequest}
	// The web upload's own refusals, in the same shape.
	errGuestUploadsOff = &Error{"Guest uploads are off. Log in to upload.", 403, ctxRequest}
	errNotYourAlbum    = &Error{"That album does not exist or is not yours.", 400, ctxRequest}
)

// Errors of the upload pipeline, in Chevereto V4's wording for URL uploads.
var (
	errNoSourceInfo  = &Error{"Can't get target upload source info", 310, ctxUpload}
	errInvalidImage  = &Error{"Invalid image", 311, ctxUpload}
	errUnavailFormat = &Error{"Unavailable image format", 313, ctxUpload}
	errNoSpace       = &Error{"No space left on storage", 104, ctxUpload}
	errInternal      = &Error{"Internal error", 500, ctxUpload}
	errBusy          = &Error{"Server busy, try again", 503, ctxUpload}
	errURLNonPublic  = &Error{"Unsupported non-public IP address for upload", 400, ctxUpload}
	errURLSelf       = &Error{"Unsupported self host URL upload", 400, ctxUpload}
)

// errTooBig is Chevereto's size refusal naming the limit in size_formatted
// units, e.g. "File too big - max 25 MB".
func errTooBig(limit int64) *Error {
	return &Error{"File too big - max " + site.SizeFormatted(limit), 313, ctxUpload}
}

// errTooManyPixels names the pixel budget. Chevereto has no such limit; the
// code is that of its other image-size refusals.
func errTooManyPixels(max int) *Error {
	return &Error{fmt.Sprintf("Image too large - max %d megapixels", max/1_000_000), 313, ctxUpload}
}

// errFlooding is Chevereto's flood refusal.
func errFlooding(limit int, period ingest.Period) *Error {
	return &Error{fmt.Sprintf("Flooding detected. You can only upload %d images per %s", limit, period), 130, ctxRequest}
}

func errURLScheme(scheme string) *Error {
	return &Error{fmt.Sprintf("Unsupported URL scheme `%s`", scheme), 400, ctxUpload}
}

// fixed maps the sentinel refusals of the other rooms to Chevereto's.
var fixed = []struct {
	err error
	api *Error
}{
	{site.ErrInvalidKey, errInvalidKey},
	{store.ErrUnauthorized, errInvalidKey},
	{site.ErrTooManyFields, errTooManyFields},
	{site.ErrFieldTooLong, errFieldTooLong},
	{site.ErrMalformedBody, errBadRequestBody},
	{site.ErrGuestUploadsOff, errGuestUploadsOff},
	{site.ErrNotYourAlbum, errNotYourAlbum},
	{ingest.ErrEmptySource, errEmptySource},
	{ingest.ErrBadBase64, errBadBase64},
	{ingest.ErrDuplicate, errDuplicate},
	{ingest.ErrURLForbidden, errURLForbidden},
	{ingest.ErrURLNonPublic, errURLNonPublic},
	{ingest.ErrURLSelf, errURLSelf},
	{ingest.ErrFetchFailed, errNoSourceInfo},
	{ingest.ErrNotImage, errNoSourceInfo},
	{ingest.ErrInvalidImage, errInvalidImage},
	{ingest.ErrUnsupported, errUnavailFormat},
	{ingest.ErrBusy, errBusy},
}

// Describe maps any error of an upload to Chevereto's words. An error no
// room names is logged to log with its detail and becomes "Internal
// error".
func Describe(err error, log *slog.Logger) *Error {
	var (
		ae    *Error
		big   *ingest.TooBigError
		pix   *ingest.TooManyPixelsError
		flood *ingest.FloodError
		sch   *ingest.URLSchemeError
		keys  *site.KeyFailuresError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &big):
		return errTooBig(big.Limit)
	case errors.As(err, &pix):
		return errTooManyPixels(pix.Limit)
	case errors.As(err, &flood):
		return errFlooding(flood.Limit, flood.Period)
	case errors.As(err, &sch):
		return errURLScheme(sch.Scheme)
	case errors.As(err, &keys):
		return errKeyFailures
	case ingest.IsNoSpace(err):
		return errNoSpace
	}
	for _, f := range fixed {
		if errors.Is(err, f.err) {
			return f.api
		}
	}
	log.Error("upload failed", slog.String("err", err.Error()))
	return errInternal
}
