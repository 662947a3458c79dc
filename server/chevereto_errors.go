package server

import (
	"errors"
	"fmt"
	"log/slog"

	"picbed/imaging"
	"picbed/store"
)

// apiError is an error in Chevereto's API dialect: the message and the
// internal code that clients see in error.message and error.code, and the
// PHP exception class Chevereto reports as error.context.
type apiError struct {
	Message string
	Code    int
	Context string
}

func (e *apiError) Error() string { return e.Message }

// The two contexts a real Chevereto reports: request errors raised by the API
// route, and errors raised inside the upload pipeline.
const (
	ctxRequest = "Exception"
	ctxUpload  = `CHV\UploadException`
)

// Errors of the API route itself (spec 3.2, V3 wording as captured).
var (
	errInvalidKey     = &apiError{"Invalid API v1 key.", 100, ctxRequest}
	errInvalidVersion = &apiError{"Invalid API version.", 110, ctxRequest}
	errInvalidAction  = &apiError{"Invalid API action.", 120, ctxRequest}
	errEmptySource    = &apiError{"Empty upload source.", 130, ctxRequest}
	errBase64GET      = &apiError{"Upload using base64 source must be done using POST method.", 130, ctxRequest}
	errBadBase64      = &apiError{"Invalid base64 string.", 120, ctxRequest}
	errDuplicate      = &apiError{"Duplicated upload", 101, ctxRequest}
	errURLForbidden   = &apiError{"URL uploading is forbidden", 403, ctxRequest}
	errTooManyFields  = &apiError{"Too many request fields", 400, ctxRequest}
	errFieldTooLong   = &apiError{"Request field too long", 400, ctxRequest}
	errBadRequestBody = &apiError{"Malformed request body", 400, ctxRequest}
)

// Errors of the upload pipeline.
var (
	errNoSourceInfo  = &apiError{"Can't get target upload source info", 310, ctxUpload}
	errInvalidImage  = &apiError{"Invalid image", 311, ctxUpload}
	errUnavailFormat = &apiError{"Unavailable image format", 313, ctxUpload}
	errNoSpace       = &apiError{"No space left on storage", 104, ctxUpload}
	errInternal      = &apiError{"Internal error", 500, ctxUpload}
	errBusy          = &apiError{"Server busy, try again", 503, ctxUpload}
)

// errTooBig is Chevereto's size refusal naming the limit in size_formatted
// units, e.g. "File too big - max 25 MB".
func errTooBig(limit int64) *apiError {
	return &apiError{"File too big - max " + sizeFormatted(limit), 313, ctxUpload}
}

// errTooManyPixels names the pixel budget. Chevereto has no such limit; the
// code is that of its other image-size refusals.
func errTooManyPixels(max int) *apiError {
	return &apiError{fmt.Sprintf("Image too large - max %d megapixels", max/1_000_000), 313, ctxUpload}
}

// toAPIError maps any error from parsing, imaging or store to the API
// dialect. Unknown errors are logged and become a generic message.
func (s *Server) toAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, imaging.ErrNotImage):
		return errNoSourceInfo
	case errors.Is(err, imaging.ErrUnsupported):
		return errUnavailFormat
	case errors.Is(err, imaging.ErrInvalid):
		return errInvalidImage
	case errors.Is(err, imaging.ErrTooManyPixels):
		return errTooManyPixels(s.cfg.MaxPixels)
	case isNoSpace(err):
		return errNoSpace
	case errors.Is(err, store.ErrUnauthorized):
		return errInvalidKey
	}
	s.log.Error("upload failed", slog.String("err", err.Error()))
	return errInternal
}
