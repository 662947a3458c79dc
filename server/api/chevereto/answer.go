package chevereto

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"picbed/server/api/phpjson"
	"picbed/server/site"
	"picbed/store"
)

type (
	object = phpjson.Object
	member = phpjson.Member
)

// Display settings of a default Chevereto V3, which its answers report.
const (
	mediumWidthSetting = "500"
	thumbSizeSetting   = "160"
	// displayThumbOver is the size above which an image without a medium is
	// displayed through its thumbnail.
	displayThumbOver = 200_000
	// loaderOver is Chevereto V3's "image load max filesize" (3 MB).
	loaderOver = 3_000_000
)

// chainOf is Chevereto's bitmask of the variants an image has: image(4) +
// medium(2) + thumb(1).
func chainOf(img store.Image) int {
	if img.MediumSize > 0 {
		return 7
	}
	return 5
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// imageObject renders an image as Chevereto V3.20 does: its keys in order
// with their PHP 7 types, plus V4's is_360 and, last, delete_url.
func (a *API) imageObject(r *http.Request, img store.Image, now time.Time) object {
	u := a.site.Links(r, img)
	loc := a.site.Location()
	dateGMT := img.Date.UTC().Format("2006-01-02 15:04:05")
	var expires any = phpjson.Null{}
	if !img.Expires.IsZero() {
		expires = img.Expires.UTC().Format("2006-01-02 15:04:05")
	}
	var category any = phpjson.Null{}
	if img.CategoryID != 0 {
		category = itoa(int64(img.CategoryID))
	}
	name, ext, mime := img.Name, img.Ext, img.MIME
	variant := func(suffix, url string, size int64) object {
		return object{
			{"filename", name + suffix + "." + ext},
			{"name", name + suffix},
			{"mime", mime},
			{"extension", ext},
			{"url", url},
			{"size", itoa(size)},
		}
	}
	o := object{
		{"name", name},
		{"extension", ext},
		{"size", itoa(img.Size)},
		{"width", itoa(int64(img.Width))},
		{"height", itoa(int64(img.Height))},
		{"date", img.Date.In(loc).Format("2006-01-02 15:04:05")},
		{"date_gmt", dateGMT},
		{"title", phpjson.OptString(img.Title)},
		{"description", phpjson.OptString(img.Description)},
		{"nsfw", boolDigit(img.NSFW)},
		{"storage_mode", "datefolder"},
		{"md5", img.MD5},
		{"source_md5", phpjson.OptString(img.SourceMD5)},
		{"original_filename", img.OriginalFilename},
		{"original_exifdata", phpjson.OptString(img.EXIF)},
		{"views", "0"},
		{"category_id", category},
		{"chain", strconv.Itoa(chainOf(img))},
		{"thumb_size", itoa(img.ThumbSize)},
		{"medium_size", itoa(img.MediumSize)},
		{"expiration_date_gmt", expires},
		{"likes", "0"},
		{"is_animated", boolDigit(img.Animated)},
		{"is_approved", "1"},
		{"is_360", "0"},
		{"file", object{{"resource", object{{"type", "path"}}}}},
		{"id_encoded", a.site.Store().EncodeID(img.ID)},
		{"filename", name + "." + ext},
		{"mime", mime},
		{"url", u.Full},
		{"url_viewer", u.Viewer},
		{"url_short", u.Short},
		{"image", variant("", u.Full, img.Size)},
		{"thumb", variant(".th", u.Thumb, img.ThumbSize)},
	}
	if img.MediumSize > 0 {
		o = append(o, member{"medium", variant(".md", u.Medium, img.MediumSize)})
	}
	o = append(o, member{"size_formatted", site.SizeFormatted(img.Size)})
	switch {
	case img.MediumSize > 0:
		h := int64(math.Round(500 / (float64(img.Width) / float64(img.Height))))
		o = append(o, member{"display_url", u.Medium}, member{"display_width", mediumWidthSetting}, member{"display_height", h})
	case img.Size > displayThumbOver:
		o = append(o, member{"display_url", u.Thumb}, member{"display_width", thumbSizeSetting}, member{"display_height", thumbSizeSetting})
	default:
		o = append(o, member{"display_url", u.Full}, member{"display_width", itoa(int64(img.Width))}, member{"display_height", itoa(int64(img.Height))})
	}
	titleT := titleTruncated(img.Title)
	o = append(o,
		member{"views_label", "views"},
		member{"likes_label", "likes"},
		member{"how_long_ago", howLongAgo(img.Date, now)},
		member{"date_fixed_peer", dateGMT},
		member{"title_truncated", titleT},
		member{"title_truncated_html", htmlEscaper.Replace(titleT)},
		member{"is_use_loader", img.Size > loaderOver},
		member{"delete_url", u.Delete},
	)
	return o
}

// setAPIHeaders sets the headers Chevereto's JSON writer sends.
func setAPIHeaders(w http.ResponseWriter, now time.Time, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Last-Modified", now.UTC().Format(http.TimeFormat))
	h.Set("X-Content-Type-Options", "nosniff")
	// Upload clients are often short-lived processes (PicGo's CLI, scripts):
	// an idle keep-alive socket would hold such a Node process open until
	// the server's idle timeout. Uploads are rare and costly anyway, so each
	// API answer closes its connection.
	h.Set("Connection", "close")
}

// WriteSuccess answers a stored upload in the requested format: JSON
// (Chevereto's, or ImgBB's envelope for an upload in "image"), the bare
// image URL (txt) or a redirect to the viewer page.
func (a *API) WriteSuccess(w http.ResponseWriter, r *http.Request, req *Request, img store.Image) {
	now := a.site.Now()
	switch req.format() {
	case "txt":
		setAPIHeaders(w, now, "text/plain; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(a.site.Links(r, img).Full))
		return
	case "redirect":
		setAPIHeaders(w, now, "text/plain; charset=UTF-8")
		w.Header().Set("Location", a.site.Links(r, img).Viewer)
		w.WriteHeader(http.StatusFound)
		return
	}
	a.writeJSON(w, r, img, req.imgbb())
}

// WriteJSON answers a stored upload with Chevereto's success JSON, as the
// web upload page reads it.
func (a *API) WriteJSON(w http.ResponseWriter, r *http.Request, img store.Image) {
	a.writeJSON(w, r, img, false)
}

func (a *API) writeJSON(w http.ResponseWriter, r *http.Request, img store.Image, imgbb bool) {
	now := a.site.Now()
	io := a.imageObject(r, img, now)
	var doc object
	if imgbb {
		// ImgBB's envelope: its data object is Chevereto's image with an
		// id in front.
		data := append(object{{"id", a.site.Store().EncodeID(img.ID)}}, io...)
		doc = object{
			{"status_code", 200},
			{"status", 200},
			{"success", object{{"message", "image uploaded"}, {"code", 200}}},
			{"data", data},
			{"status_txt", "OK"},
		}
	} else {
		doc = object{
			{"status_code", 200},
			{"success", object{{"message", "image uploaded"}, {"code", 200}}},
			{"image", io},
			{"status_txt", "OK"},
		}
	}
	setAPIHeaders(w, now, "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	w.Write(phpjson.Append(nil, doc))
}

// writeError answers an API error: Chevereto JSON with HTTP 400, or for
// txt and redirect the bare message with HTTP 200, as Chevereto does.
func (a *API) writeError(w http.ResponseWriter, format string, e *Error) {
	if format == "txt" || format == "redirect" {
		setAPIHeaders(w, a.site.Now(), "text/plain; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(e.Message))
		return
	}
	WriteError(w, a.site.Now(), http.StatusBadRequest, e.Message, e)
}

// WriteError answers with Chevereto's error JSON: HTTP status, e's code
// and context, and message (e's own, or a translation of it).
func WriteError(w http.ResponseWriter, now time.Time, status int, message string, e *Error) {
	doc := object{
		{"status_code", status},
		{"error", object{{"message", message}, {"code", e.Code}, {"context", e.Context}}},
		{"status_txt", http.StatusText(status)},
	}
	setAPIHeaders(w, now, "application/json; charset=UTF-8")
	w.WriteHeader(status)
	w.Write(phpjson.Append(nil, doc))
}
