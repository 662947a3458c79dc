package site

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"picbed/store"
)

// Links are the absolute URLs of one stored image.
type Links struct {
	Full, Thumb, Medium string // Medium is "" when the image has none
	Viewer, Short       string
	Delete              string // the delete link: whoever has it can delete the image
}

// Links returns img's URLs as seen by request r.
func (s *Site) Links(r *http.Request, img store.Image) Links {
	site := s.SiteURL(r)
	base := s.ImageBaseURL(r)
	id := s.store.EncodeID(img.ID)
	l := Links{
		Full:   base + "/" + img.File(store.Full),
		Thumb:  base + "/" + img.File(store.Thumb),
		Short:  site + "/image/" + id,
		Delete: site + "/image/" + id + "/delete/" + s.store.DeleteToken(img.ID),
		Viewer: site + ViewerPath(img.Title, id),
	}
	if img.MediumSize > 0 {
		l.Medium = base + "/" + img.File(store.Medium)
	}
	return l
}

// ViewerPath is the canonical viewer path of an image with title and
// encoded id: /image/SLUG.ID (the slug percent-encoded), or /image/ID when
// the title gives no slug.
func ViewerPath(title, id string) string {
	if sl := Slug(title); sl != "" {
		return "/image/" + url.PathEscape(sl) + "." + id
	}
	return "/image/" + id
}

// AlbumPath is the canonical path of an album: /album/SLUG.ID, or
// /album/ID when the title gives no slug (the slug rules of ViewerPath).
func AlbumPath(title, id string) string {
	if sl := Slug(title); sl != "" {
		return "/album/" + url.PathEscape(sl) + "." + id
	}
	return "/album/" + id
}

// SiteURL is the public base URL for r, without a trailing slash: the
// configured one, else the request's scheme and host (forwarded ones only
// from trusted proxies).
func (s *Site) SiteURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if s.FromTrustedProxy(r) {
		if p := firstHeaderValue(r, "X-Forwarded-Proto"); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstHeaderValue(r, "X-Forwarded-Host"); h != "" && validHost(h) {
			host = h
		}
	}
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

// ImageBaseURL is where image files are served for r.
func (s *Site) ImageBaseURL(r *http.Request) string {
	if b := s.Settings().ImageBaseURL; b != "" {
		return b
	}
	return s.SiteURL(r) + "/images"
}

// FromTrustedProxy reports whether r came from a configured proxy, whose
// X-Forwarded-* headers are believed.
func (s *Site) FromTrustedProxy(r *http.Request) bool {
	if len(s.cfg.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func firstHeaderValue(r *http.Request, name string) string {
	v := r.Header.Get(name)
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// validHost accepts host[:port] made of the characters DNS names, IPv4 and
// bracketed IPv6 literals use, so a forged Host header cannot inject markup
// or paths into generated URLs.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

// SizeFormatted renders a byte count as Chevereto's size_formatted does,
// and as every page of the site shows sizes: decimal units, one decimal
// rounded half away from zero, no trailing ".0" ("25 MB", "1.5 KB").
func SizeFormatted(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KB", "MB", "GB", "TB", "PB", "EB"}
	mult := 1000.0
	for i, u := range units {
		if float64(n) < mult*1000 || i == len(units)-1 {
			v := math.Round(float64(n)/mult*10) / 10
			s := fmt.Sprintf("%.1f", v)
			s = strings.TrimSuffix(s, ".0")
			return s + " " + u
		}
		mult *= 1000
	}
	panic("unreachable")
}

// slugStopWords are the English words Chevereto's slugs (URLify) leave out.
var slugStopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields("a an as at before but by for from is in into like of off on onto per since than the this that to up via with") {
		slugStopWords[w] = true
	}
}

// maxSlugBytes is URLify's default length cap.
const maxSlugBytes = 60

// Slug turns a title into the readable part of a viewer or album URL:
// Chevereto V3's rules (URLify) for Latin text, transliterated, English
// stop words dropped, lower-case, dash-separated, but letters of every
// other script kept, as Chevereto V4 keeps them ("照片 测试 (1)" ->
// "照片-测试-1"; V3 dropped them and left "1"). At most 60 bytes, cut at a
// character. The result is not escaped: ViewerPath and AlbumPath
// percent-encode it.
func Slug(title string) string {
	t := transliterate(title)
	var words []string
	for _, w := range strings.FieldsFunc(t, unicode.IsSpace) {
		if !slugStopWords[strings.ToLower(w)] {
			words = append(words, w)
		}
	}
	t = strings.Join(words, " ")
	var b strings.Builder
	for _, r := range t {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r), r == ' ', r == '-':
			b.WriteRune(r)
		case r == '_':
			b.WriteByte(' ')
		}
	}
	t = strings.TrimSpace(b.String())
	// Runs of spaces and dashes become one dash.
	b.Reset()
	sep := false
	for _, r := range t {
		if r == ' ' || r == '-' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(unicode.ToLower(r))
	}
	t = b.String()
	if len(t) > maxSlugBytes {
		cut := maxSlugBytes
		for cut > 0 && !utf8.RuneStart(t[cut]) {
			cut--
		}
		t = t[:cut]
	}
	return strings.Trim(t, "-")
}

// germanFirst holds URLify's German transliterations, applied before the
// generic accent removal ("Straße" -> "strasse").
var germanFirst = strings.NewReplacer("ä", "ae", "Ä", "Ae", "ß", "ss")

// transliterate maps accented Latin letters to ASCII by dropping the
// combining marks that follow a Latin letter after canonical decomposition;
// other scripts are left as they are (recomposed).
func transliterate(s string) string {
	s = germanFirst.Replace(s)
	var b strings.Builder
	latin := false
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			if latin {
				continue
			}
		} else {
			latin = unicode.Is(unicode.Latin, r)
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}
