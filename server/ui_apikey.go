package server

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"picbed/store"
)

// keyPlaceholder stands in for the key in the client configurations once
// the key itself can no longer be shown.
const keyPlaceholder = "YOUR_API_KEY"

// sxcuVersion is the ShareX version the .sxcu file declares. ShareX refuses
// files of 12.3.1 and older and rewrites the $json:…$ syntax of 13.7.1 and
// older; from 14.0 on, {json:…} is read as written.
const sxcuVersion = "14.0.0"

// apiKeyPage is what /settings/api shows.
type apiKeyPage struct {
	// Key is the key in clear: set only on the page that created it, the
	// one time it can be shown.
	Key string
	// Keys are the user's live keys (prefix and dates only).
	Keys []store.APIKey
	// Endpoint is the upload URL clients post to.
	Endpoint string
	// Client configurations, with Key or keyPlaceholder.
	PicGo       string
	WebUploader string
	Curl        string
}

// handleAPIKey shows the visitor's API key page. A user without a key gets
// one, shown in clear this once; afterwards the page shows its prefix and
// dates only, as the store keeps no more than a hash.
func (s *Server) handleAPIKey(c echo.Context) error {
	v := visitorOf(c)
	keys, err := s.store.APIKeys(v.User.ID)
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		return s.renderAPIKey(c, "", keys)
	}
	// RegenerateAPIKey rather than CreateAPIKey: two first visits at once
	// (two tabs) still leave the user one key.
	key, k, err := s.store.RegenerateAPIKey(v.User.ID)
	if err != nil {
		return err
	}
	s.log.Info("API key created on the web page", "user", v.User.Name, "prefix", k.Prefix)
	return s.renderAPIKey(c, key, []store.APIKey{k})
}

// handleAPIKeyRegenerate revokes every key of the visitor and shows the new
// one. The answer is the page itself (no redirect): the key exists in clear
// only in this response.
func (s *Server) handleAPIKeyRegenerate(c echo.Context) error {
	v := visitorOf(c)
	key, k, err := s.store.RegenerateAPIKey(v.User.ID)
	if err != nil {
		return err
	}
	s.log.Info("API key regenerated", "user", v.User.Name, "prefix", k.Prefix, "ip", c.RealIP())
	return s.renderAPIKey(c, key, []store.APIKey{k})
}

func (s *Server) renderAPIKey(c echo.Context, key string, keys []store.APIKey) error {
	r := c.Request()
	endpoint := s.site.SiteURL(r) + "/api/1/upload"
	shown := key
	if shown == "" {
		shown = keyPlaceholder
	}
	d := apiKeyPage{
		Key:         key,
		Keys:        keys,
		Endpoint:    endpoint,
		PicGo:       picgoConfig(endpoint, shown),
		WebUploader: webUploaderConfig(endpoint, shown),
		Curl:        fmt.Sprintf(`curl -H "X-API-Key: %s" -F "source=@image.jpg" %s`, shown, endpoint),
	}
	return s.render(c, http.StatusOK, "apikey.html", pageData{Title: s.t(visitorOf(c), "API key"), Nav: "api", Data: d})
}

// handleShareX answers the ShareX custom uploader file for the key in the
// form as a download. The key comes in a POST body, never in a URL (where
// it would end up in logs and history); it must be one of the visitor's
// live keys, so an old tab cannot hand out a revoked one.
func (s *Server) handleShareX(c echo.Context) error {
	v := visitorOf(c)
	key := strings.TrimSpace(c.FormValue("key"))
	if !validKeyShape(key) {
		return echo.NewHTTPError(http.StatusBadRequest, "That is not your current API key. Reload the page.")
	}
	keys, err := s.store.APIKeys(v.User.ID)
	if err != nil {
		return err
	}
	mine := false
	for _, k := range keys {
		if k.Prefix != "" && strings.HasPrefix(key, k.Prefix) {
			mine = true
		}
	}
	if !mine {
		return echo.NewHTTPError(http.StatusBadRequest, "That is not your current API key. Reload the page.")
	}
	r := c.Request()
	siteURL := s.site.SiteURL(r)
	host := siteURL
	if u, err := url.Parse(siteURL); err == nil && u.Host != "" {
		host = u.Host
	}
	body, err := shareXConfig(s.site.Settings().SiteName+" ("+host+")", siteURL+"/api/1/upload", key)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="`+fileSafe(host)+`.sxcu"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "application/octet-stream", body)
}

// validKeyShape reports whether key looks like a picbed key: "pb_" and 40
// lower-case hex digits.
func validKeyShape(key string) bool {
	hexPart, ok := strings.CutPrefix(key, "pb_")
	if !ok || len(hexPart) != 40 || strings.ToLower(hexPart) != hexPart {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

// fileSafe turns a host (with port) into a file name: letters, digits,
// dots and dashes only.
func fileSafe(host string) string {
	var b strings.Builder
	for _, r := range host {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "picbed"
	}
	return b.String()
}

// sxcu is a ShareX custom uploader (ShareX 14+ format). Field order is the
// order ShareX itself writes.
type sxcu struct {
	Version         string
	Name            string
	DestinationType string
	RequestMethod   string
	RequestURL      string
	Body            string
	Arguments       map[string]string
	FileFormName    string
	URL             string
	ThumbnailURL    string
	DeletionURL     string
	ErrorMessage    string
}

// shareXConfig is the .sxcu file of a Chevereto-style uploader for endpoint
// and key: the multipart request ShareX's built-in Chevereto uploader
// sends (key and format=json as fields, the file as source), and the
// answer's image URL, thumbnail, delete link and error message.
func shareXConfig(name, endpoint, key string) ([]byte, error) {
	b, err := json.MarshalIndent(sxcu{
		Version:         sxcuVersion,
		Name:            name,
		DestinationType: "ImageUploader, FileUploader",
		RequestMethod:   "POST",
		RequestURL:      endpoint,
		Body:            "MultipartFormData",
		Arguments:       map[string]string{"key": key, "format": "json"},
		FileFormName:    "source",
		URL:             "{json:image.url}",
		ThumbnailURL:    "{json:image.thumb.url}",
		DeletionURL:     "{json:image.delete_url}",
		ErrorMessage:    "{json:error.message}",
	}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// picgoConfig is a PicGo / PicList config.json for picgo-plugin-chevereto
// (the plugin PicGo's plugin market finds for "chevereto").
func picgoConfig(endpoint, key string) string {
	type chev struct {
		URL string `json:"url"`
		Key string `json:"key"`
	}
	type bed struct {
		Current   string `json:"current"`
		Uploader  string `json:"uploader"`
		Chevereto chev   `json:"chevereto"`
	}
	return indentJSON(struct {
		PicBed  bed             `json:"picBed"`
		Plugins map[string]bool `json:"picgoPlugins"`
	}{
		PicBed:  bed{Current: "chevereto", Uploader: "chevereto", Chevereto: chev{URL: endpoint, Key: key}},
		Plugins: map[string]bool{"picgo-plugin-chevereto": true},
	})
}

// webUploaderConfig is a PicGo / PicList config.json for
// picgo-plugin-web-uploader (on npm), set up to send the same request as
// the chevereto plugin.
func webUploaderConfig(endpoint, key string) string {
	type web struct {
		URL          string `json:"url"`
		ParamName    string `json:"paramName"`
		JSONPath     string `json:"jsonPath"`
		CustomHeader string `json:"customHeader"`
		CustomBody   string `json:"customBody"`
	}
	type bed struct {
		Current  string `json:"current"`
		Uploader string `json:"uploader"`
		Web      web    `json:"web-uploader"`
	}
	body, _ := json.Marshal(struct {
		Key    string `json:"key"`
		Format string `json:"format"`
	}{key, "json"})
	return indentJSON(struct {
		PicBed  bed             `json:"picBed"`
		Plugins map[string]bool `json:"picgoPlugins"`
	}{
		PicBed: bed{Current: "web-uploader", Uploader: "web-uploader", Web: web{
			URL: endpoint, ParamName: "source", JSONPath: "image.url", CustomHeader: "{}", CustomBody: string(body),
		}},
		Plugins: map[string]bool{"picgo-plugin-web-uploader": true},
	})
}

func indentJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // plain structs of strings always marshal
	}
	return string(b)
}
