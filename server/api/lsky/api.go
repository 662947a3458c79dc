package lsky

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"picbed/server/api/phpjson"
	"picbed/server/site"
	"picbed/store"
)

type (
	object = phpjson.Object
	member = phpjson.Member
	array  = phpjson.Array
)

// Limits of the Lsky door.
const (
	// perPage is Lsky's page size of images and albums (paginate(40)).
	perPage = 40
	// maxTokenRequests token requests per tokenRequestWindow from one
	// address: Lsky's own throttle on POST /api/v1/tokens (throttle:3,1).
	// Each success makes an API key, so this also bounds how fast keys can
	// pile up; failed passwords are limited further by site.Logins.
	maxTokenRequests   = 3
	tokenRequestWindow = time.Minute
	// maxTokenBodyBytes bounds a token request's body: an e-mail address
	// and a password.
	maxTokenBodyBytes = 16 << 10
	// maxDrainBytes is how much of an unread upload body is read and
	// dropped before a refusal is answered, so that clients that send the
	// whole body before reading (Node's, Go's) see the answer instead of a
	// reset connection (as the Chevereto door does).
	maxDrainBytes = 64 << 20
)

// Context keys of a request authenticated by RequireToken.
const (
	ctxUser  = "lsky.user"
	ctxToken = "lsky.token"
)

// API is the Lsky Pro door of a site.
type API struct {
	site   *site.Site
	tokens *site.Failures // token requests per address (counted, not failed)
}

// New returns the Lsky Pro API of s.
func New(s *site.Site) *API {
	return &API{site: s, tokens: site.NewFailures(maxTokenRequests, tokenRequestWindow)}
}

// setHeaders sets what every Lsky answer carries: Laravel's JSON content
// type and cache header, HandleCors' Access-Control-Allow-Origin (Lsky's
// config/cors.php allows any origin on api/*), and Connection: close (upload
// clients are short-lived processes, as for the Chevereto door).
func setHeaders(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache, private")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Connection", "close")
}

// answer writes Lsky 2.x's envelope {"status","message","data"}; data nil
// (or empty) is {}, as Result::response's `$data ?: new stdClass`.
func answer(c echo.Context, status int, ok bool, message string, data any) error {
	if data == nil {
		data = object{}
	}
	doc := object{{"status", ok}, {"message", message}, {"data", data}}
	setHeaders(c.Response(), "application/json")
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(phpjson.Append(nil, doc))
	return err
}

// success answers HTTP 200 with status true.
func success(c echo.Context, message string, data any) error {
	return answer(c, http.StatusOK, true, message, data)
}

// fail answers a refusal with its HTTP status and status false.
func fail(c echo.Context, e *Error) error {
	return answer(c, e.Status, false, e.Message, nil)
}

// failErr maps err (Describe) and answers it; a throttled request gets a
// Retry-After.
func (a *API) failErr(c echo.Context, err error) error {
	retryAfter(c, err)
	return fail(c, Describe(err, a.site.Log()))
}

// retryAfter sets Retry-After when err is a throttle with a known wait.
func retryAfter(c echo.Context, err error) {
	var kf *site.KeyFailuresError
	if errors.As(err, &kf) {
		setRetryAfter(c, kf.Wait)
	}
}

func setRetryAfter(c echo.Context, wait time.Duration) {
	c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
}

// laravelError answers as Laravel's exception renderer does for a request
// that expects JSON: {"message": ...} pretty-printed with unescaped slashes.
func laravelError(c echo.Context, status int, message string) error {
	doc := object{{"message", message}}
	setHeaders(c.Response(), "application/json")
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(phpjson.AppendFlags(nil, doc, phpjson.PrettyPrint|phpjson.UnescapedSlashes))
	return err
}

// serverError logs err and answers Laravel's 500 "Server Error".
func (a *API) serverError(c echo.Context, err error) error {
	a.site.Log().Error("lsky request failed", "path", c.Request().URL.Path, "err", err.Error())
	return laravelError(c, http.StatusInternalServerError, "Server Error")
}

// bearerToken returns the token of r's Authorization header: what follows
// the last "Bearer " up to a comma, as Laravel's Request::bearerToken reads
// it, or, for a header without "Bearer ", the header itself (users paste
// their key without it; a picbed key is recognisable on its own).
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if i := strings.LastIndex(h, "Bearer "); i >= 0 {
		h = h[i+len("Bearer "):]
		if j := strings.IndexByte(h, ','); j >= 0 {
			h = h[:j]
		}
	}
	return strings.TrimSpace(h)
}

// RequireToken lets a request through to next only with a valid token in
// its Authorization header (site.AuthKey: a wrong one counts against the
// address, and an address with too many gets 429). Otherwise it answers
// Lsky's 401 "Unauthenticated.".
func (a *API) RequireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		tok := bearerToken(r)
		u, err := a.site.AuthKey(r.Context(), c.RealIP(), tok)
		switch {
		case errors.Is(err, site.ErrInvalidKey):
			return fail(c, errUnauthenticated)
		case err != nil && Describe(err, a.site.Log()) == errTooManyAttempts:
			retryAfter(c, err)
			return fail(c, errTooManyAttempts)
		case err != nil:
			return a.serverError(c, err)
		}
		c.Set(ctxUser, u)
		c.Set(ctxToken, tok)
		return next(c)
	}
}

// userOf is the user RequireToken authenticated.
func userOf(c echo.Context) store.User {
	u, _ := c.Get(ctxUser).(store.User)
	return u
}

// Off answers every Lsky 2.x request while the admin has the dialect turned
// off, as Lsky's CheckIsEnableApi does: 403 "管理员未启用 API". OffV1 is the
// 1.x answer (ApiAuthenticate's "管理员关闭了接口", code 500). They are
// for the dialect switch of the settings page to answer with.
func (a *API) Off(c echo.Context) error { return fail(c, errAPIOff) }

// OffV1 is Off for Lsky 1.x's /api/upload.
func (a *API) OffV1(c echo.Context) error { return a.writeV1Error(c, errAPIOff) }

// v2Routes are the paths of Lsky 2.x's API and their methods in the order
// Laravel lists them (Router::$verbs), for HandleUnknown's 405 answers.
// TestUnknownRoutes checks that each is mounted.
var v2Routes = []struct {
	path    []string // segments after "api/v1"; "*" is one non-empty segment
	methods string
}{
	{[]string{"strategies"}, "GET, HEAD"},
	{[]string{"upload"}, "POST"},
	{[]string{"tokens"}, "POST, DELETE"},
	{[]string{"images"}, "GET, HEAD"},
	{[]string{"images", "*"}, "DELETE"},
	{[]string{"albums"}, "GET, HEAD"},
	{[]string{"albums", "*"}, "DELETE"},
	{[]string{"profile"}, "GET, HEAD"},
}

// methodsOf returns the methods of the Lsky route that path (without the
// leading "/api/v1/") names, or "".
func methodsOf(path string) string {
	segs := strings.Split(path, "/")
	for _, rt := range v2Routes {
		if len(rt.path) != len(segs) {
			continue
		}
		match := true
		for i, s := range rt.path {
			if segs[i] == "" || (s != "*" && s != segs[i]) {
				match = false
				break
			}
		}
		if match {
			return rt.methods
		}
	}
	return ""
}

// HandleUnknown answers what no Lsky route takes under /api/v1/: a CORS
// preflight (204, any origin, the requested method and headers, as
// HandleCors with Lsky's config answers it), another OPTIONS request (200
// with Allow), a known path with another method (405), anything else 404,
// in Laravel's words.
func (a *API) HandleUnknown(c echo.Context) error {
	r := c.Request()
	path := strings.TrimPrefix(r.URL.Path, "/")
	methods := methodsOf(strings.TrimPrefix(path, "api/v1/"))
	if r.Method == http.MethodOptions {
		if r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			h := c.Response().Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Allow-Methods", strings.ToUpper(r.Header.Get("Access-Control-Request-Method")))
			h.Add("Vary", "Access-Control-Request-Method")
			if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
				h.Set("Access-Control-Allow-Headers", rh)
			}
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Max-Age", "0")
			return c.NoContent(http.StatusNoContent)
		}
		if methods != "" {
			setHeaders(c.Response(), "text/html; charset=UTF-8")
			c.Response().Header().Set("Allow", strings.ReplaceAll(methods, " ", ""))
			return c.NoContent(http.StatusOK)
		}
	}
	if methods != "" {
		c.Response().Header().Set("Allow", methods)
		return laravelError(c, http.StatusMethodNotAllowed,
			"The "+r.Method+" method is not supported for route "+path+". Supported methods: "+methods+".")
	}
	return laravelError(c, http.StatusNotFound, "The route "+path+" could not be found.")
}
