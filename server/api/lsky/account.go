package lsky

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"picbed/store"
)

// strategyID is the id of picbed's one storage strategy: this host.
const strategyID = 1

// credentials reads email and password from a token request's body: JSON,
// urlencoded or multipart (Laravel's input reads all three), or the query
// string. It returns site.ErrMalformedBody-like refusals as Lsky's.
func credentials(r *http.Request) (email, password string, err error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxTokenBodyBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	get := func(k string) string { return r.FormValue(k) }
	switch {
	case ct == "application/json" || strings.HasSuffix(ct, "+json"):
		var doc map[string]any
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
			return "", "", errMalformedBody
		}
		get = func(k string) string {
			switch v := doc[k].(type) {
			case string:
				return v
			case float64, bool:
				return fmt.Sprint(v)
			}
			return r.URL.Query().Get(k)
		}
	case ct == "multipart/form-data":
		if err := r.ParseMultipartForm(maxTokenBodyBytes); err != nil {
			return "", "", errMalformedBody
		}
	default:
		if err := r.ParseForm(); err != nil {
			return "", "", errMalformedBody
		}
	}
	return strings.TrimSpace(get("email")), get("password"), nil
}

// HandleCreateToken answers POST /api/v1/tokens: email (an e-mail address
// or, in picbed, a user name) and password give a new API key of that user,
// answered as Lsky's {"token": ...}. Lsky's own throttle applies (3 requests
// a minute per address), and failed passwords count in the web login's
// tables (site.Logins), so this door gives no extra guesses.
func (a *API) HandleCreateToken(c echo.Context) error {
	r := c.Request()
	ip, now := c.RealIP(), a.site.Now()
	if wait, blocked := a.tokens.Blocked(ip, now); blocked {
		setRetryAfter(c, wait)
		return fail(c, errTooManyAttempts)
	}
	a.tokens.Fail(ip, now) // counts every request, as Laravel's throttle does
	email, password, err := credentials(r)
	switch {
	case err != nil:
		return a.failErr(c, err)
	case email == "":
		return fail(c, errEmailRequired)
	case password == "":
		return fail(c, errPasswordRequired)
	case len(email) > store.MaxEmailLen:
		// Longer than any name or address: no account, not worth a lookup.
		a.site.Logins().ByIP.Fail(ip, now)
		return fail(c, errWrongPassword)
	}
	// Counted under the account's name whichever way it is named, as the
	// web login counts it.
	subject := email
	if u, err := a.site.Store().UserByLogin(email); err == nil {
		subject = u.Name
	}
	logins := a.site.Logins()
	if wait, blocked := logins.Blocked(ip, subject, "", now); blocked {
		setRetryAfter(c, wait)
		return fail(c, errTooManyAttempts)
	}
	u, err := a.site.Store().CheckPassword(email, password)
	if errors.Is(err, store.ErrUnauthorized) {
		logins.Fail(ip, subject, "", now)
		a.site.Log().Info("login failed", "login", email, "ip", ip, "via", "lsky")
		return fail(c, errWrongPassword)
	}
	if err != nil {
		return a.serverError(c, err)
	}
	key, k, err := a.site.Store().CreateAPIKey(u.ID)
	if err != nil {
		return a.serverError(c, err)
	}
	a.site.Log().Info("api key created", "user", u.Name, "key", k.Prefix, "ip", ip, "via", "lsky")
	return success(c, "success", object{{"token", key}})
}

// HandleDeleteTokens answers DELETE /api/v1/tokens: revokes the key the
// request was made with. (Lsky deletes every token of the user; in picbed a
// user's keys also serve their other clients, so only the one presented
// goes.)
func (a *API) HandleDeleteTokens(c echo.Context) error {
	user := userOf(c)
	tok, _ := c.Get(ctxToken).(string)
	_, k, err := a.site.Store().AuthAPIKey(tok)
	if err == nil {
		err = a.site.Store().RevokeAPIKey(user.ID, k.ID)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrUnauthorized) {
		return a.serverError(c, err)
	}
	a.site.Log().Info("api key revoked", "user", user.Name, "key", k.Prefix, "via", "lsky")
	return success(c, "success", nil)
}

// usedCentiKB is the sum of the user's image sizes as Lsky sums its
// DECIMAL(8,2) KB column, in hundredths, and the number of images.
func (a *API) usedCentiKB(owner uint64) (centi int64, n int, bytes int64, err error) {
	imgs, err := a.allImages(owner)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, img := range imgs {
		centi += centiKB(img.Size)
		bytes += img.Size
	}
	return centi, len(imgs), bytes, nil
}

// HandleProfile answers GET /api/v1/profile with UserController::index's
// fields in the users table's order, then used_capacity and the appended
// avatar. picbed has no quota, homepage, registration address or avatar:
// capacity is 0, the others "".
func (a *API) HandleProfile(c echo.Context) error {
	user := userOf(c)
	centi, n, _, err := a.usedCentiKB(user.ID)
	if err != nil {
		return a.serverError(c, err)
	}
	albums, err := a.site.Store().Albums(user.ID)
	if err != nil {
		return a.serverError(c, err)
	}
	// `$user->images()->sum('size') + 0`: int 0 without images, else the
	// DECIMAL sum as a float.
	var used any = 0
	if n > 0 {
		used = storedKB(centi)
	}
	return success(c, "success", object{
		{"name", user.Name},
		{"email", user.Email},
		{"capacity", float64(0)},
		{"url", ""},
		{"image_num", n},
		{"album_num", len(albums)},
		{"registered_ip", ""},
		{"used_capacity", used},
		{"avatar", ""},
	})
}

// HandleStrategies answers GET /api/v1/strategies: picbed's one strategy,
// this host, named after the site. Lsky needs no token here.
func (a *API) HandleStrategies(c echo.Context) error {
	return success(c, "success", object{{"strategies", array{
		object{{"id", strategyID}, {"name", a.site.Settings().SiteName}},
	}}})
}
