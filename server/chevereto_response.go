package server

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"picbed/store"
)

// Display settings of the compat profile (spec 2.6), Chevereto V3 defaults.
const (
	mediumWidthSetting = "500"
	thumbSizeSetting   = "160"
	// displayThumbOver is the size above which an image without a medium is
	// displayed through its thumbnail.
	displayThumbOver = 200_000
	// loaderOver is Chevereto V3's "image load max filesize" (3 MB).
	loaderOver = 3_000_000
)

// imageURLs are the absolute URLs of one stored image.
type imageURLs struct {
	full, thumb, medium string
	viewer, short       string
	delete              string
}

func (s *Server) urlsFor(r *http.Request, img store.Image) imageURLs {
	site := s.siteURL(r)
	base := s.imageBaseURL(r)
	id := s.store.EncodeID(img.ID)
	u := imageURLs{
		full:   base + "/" + img.File(store.Full),
		thumb:  base + "/" + img.File(store.Thumb),
		short:  site + "/image/" + id,
		delete: site + "/image/" + id + "/delete/" + s.store.DeleteToken(img.ID),
	}
	if img.MediumSize > 0 {
		u.medium = base + "/" + img.File(store.Medium)
	}
	u.viewer = site + viewerPath(img.Title, id)
	return u
}

// viewerPath is the canonical viewer path: /image/SLUG.ID, or /image/ID when
// the title gives no slug (spec 4.5).
func viewerPath(title, id string) string {
	if sl := slug(title); sl != "" {
		return "/image/" + sl + "." + id
	}
	return "/image/" + id
}

// chainOf is the variant bitmask of spec 2.3: image(4) + medium(2) + thumb(1).
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

// imageObject renders spec 2.2: the V3.20 keys in order with their PHP 7
// types, plus is_360 and, last, delete_url.
func (s *Server) imageObject(r *http.Request, img store.Image, now time.Time) object {
	u := s.urlsFor(r, img)
	loc := s.cfg.Location
	dateGMT := img.Date.UTC().Format("2006-01-02 15:04:05")
	var expires any = jsonNull{}
	if !img.Expires.IsZero() {
		expires = img.Expires.UTC().Format("2006-01-02 15:04:05")
	}
	var category any = jsonNull{}
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
		{"title", optString(img.Title)},
		{"description", optString(img.Description)},
		{"nsfw", boolDigit(img.NSFW)},
		{"storage_mode", "datefolder"},
		{"md5", img.MD5},
		{"source_md5", optString(img.SourceMD5)},
		{"original_filename", img.OriginalFilename},
		{"original_exifdata", optString(img.EXIF)},
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
		{"id_encoded", s.store.EncodeID(img.ID)},
		{"filename", name + "." + ext},
		{"mime", mime},
		{"url", u.full},
		{"url_viewer", u.viewer},
		{"url_short", u.short},
		{"image", variant("", u.full, img.Size)},
		{"thumb", variant(".th", u.thumb, img.ThumbSize)},
	}
	if img.MediumSize > 0 {
		o = append(o, member{"medium", variant(".md", u.medium, img.MediumSize)})
	}
	o = append(o, member{"size_formatted", sizeFormatted(img.Size)})
	switch {
	case img.MediumSize > 0:
		h := int64(math.Round(500 / (float64(img.Width) / float64(img.Height))))
		o = append(o, member{"display_url", u.medium}, member{"display_width", mediumWidthSetting}, member{"display_height", h})
	case img.Size > displayThumbOver:
		o = append(o, member{"display_url", u.thumb}, member{"display_width", thumbSizeSetting}, member{"display_height", thumbSizeSetting})
	default:
		o = append(o, member{"display_url", u.full}, member{"display_width", itoa(int64(img.Width))}, member{"display_height", itoa(int64(img.Height))})
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
		member{"delete_url", u.delete},
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

// writeAPISuccess answers a stored upload in the requested format.
func (s *Server) writeAPISuccess(w http.ResponseWriter, r *http.Request, req *apiRequest, img store.Image) {
	now := s.now()
	switch req.format() {
	case "txt":
		setAPIHeaders(w, now, "text/plain; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(s.urlsFor(r, img).full))
		return
	case "redirect":
		setAPIHeaders(w, now, "text/plain; charset=UTF-8")
		w.Header().Set("Location", s.urlsFor(r, img).viewer)
		w.WriteHeader(http.StatusFound)
		return
	}
	io := s.imageObject(r, img, now)
	var doc object
	if req.imgbb {
		// ImgBB-compatible envelope (spec 1.7).
		data := append(object{{"id", s.store.EncodeID(img.ID)}}, io...)
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
	w.Write(appendPHPJSON(nil, doc))
}

// writeAPIError answers an API error: Chevereto JSON with HTTP 400, or for
// txt and redirect the bare message with HTTP 200 (spec 1.6, 3.1).
func (s *Server) writeAPIError(w http.ResponseWriter, format string, e *apiError) {
	now := s.now()
	if format == "txt" || format == "redirect" {
		setAPIHeaders(w, now, "text/plain; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(e.Message))
		return
	}
	doc := object{
		{"status_code", 400},
		{"error", object{{"message", e.Message}, {"code", e.Code}, {"context", e.Context}}},
		{"status_txt", "Bad Request"},
	}
	setAPIHeaders(w, now, "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusBadRequest)
	w.Write(appendPHPJSON(nil, doc))
}
