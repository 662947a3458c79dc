package server

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// sizeFormatted renders a byte count the way Chevereto's size_formatted does
// (spec 2.5): decimal units, one decimal rounded half away from zero, no
// trailing ".0".
func sizeFormatted(n int64) string {
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

// howLongAgo renders the age of t at now as spec 2.7 describes: the first
// non-zero calendar unit, or "moments ago".
func howLongAgo(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	if now.Before(t) {
		return "moments ago"
	}
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Date()
	years := y2 - y1
	months := int(m2) - int(m1)
	days := d2 - d1
	h1, mi1, s1 := t.Clock()
	h2, mi2, s2 := now.Clock()
	hours, mins, secs := h2-h1, mi2-mi1, s2-s1
	if secs < 0 {
		secs += 60
		mins--
	}
	if mins < 0 {
		mins += 60
		hours--
	}
	if hours < 0 {
		hours += 24
		days--
	}
	if days < 0 {
		// Borrow the length of the month before now's month.
		days += time.Date(y2, m2, 0, 0, 0, 0, 0, time.UTC).Day()
		months--
	}
	if months < 0 {
		months += 12
		years--
	}
	weeks := days / 7
	days %= 7
	for _, u := range []struct {
		n    int
		name string
	}{{years, "year"}, {months, "month"}, {weeks, "week"}, {days, "day"}, {hours, "hour"}, {mins, "minute"}, {secs, "second"}} {
		if u.n == 0 {
			continue
		}
		if u.n == 1 {
			return "1 " + u.name + " ago"
		}
		return fmt.Sprintf("%d %ss ago", u.n, u.name)
	}
	return "moments ago"
}

// maxTitleRunes is Chevereto's title column width (spec 1.3).
const maxTitleRunes = 100

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// titleFromName derives a title from a stored source name (spec 5.6): runs
// of "-", "_" and white space become one space.
func titleFromName(name string) string {
	var b strings.Builder
	gap := false
	for _, r := range name {
		if r == '-' || r == '_' || unicode.IsSpace(r) {
			gap = true
			continue
		}
		if gap && b.Len() > 0 {
			b.WriteByte(' ')
		}
		gap = false
		b.WriteRune(r)
	}
	return b.String()
}

// titleTruncated is spec 2.2 key 44: titles over 28 runes become their first
// 25 runes, trimmed, plus "...".
func titleTruncated(title string) string {
	if utf8.RuneCountInString(title) <= 28 {
		return title
	}
	return strings.TrimSpace(string([]rune(title)[:25])) + "..."
}

// htmlEscape escapes & < > " ' as PHP's htmlspecialchars with ENT_QUOTES.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;")

// slugStopWords are the English words URLify removes (spec 4.5).
var slugStopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields("a an as at before but by for from is in into like of off on onto per since than the this that to up via with") {
		slugStopWords[w] = true
	}
}

// maxSlugBytes is URLify's default length cap.
const maxSlugBytes = 60

// slug turns a title into the SEO part of a viewer URL the way Chevereto V3
// does (URLify, spec 4.5): transliterated, English stop words dropped,
// lower-case, dash-separated, at most 60 characters. CJK text disappears.
func slug(title string) string {
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
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)), r == ' ', r == '-':
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
		t = t[:maxSlugBytes]
	}
	return strings.Trim(t, "-")
}

// germanFirst holds URLify's German transliterations, applied before the
// generic accent removal (spec 4.5 vectors: "Straße" -> "strasse").
var germanFirst = strings.NewReplacer("ä", "ae", "Ä", "Ae", "ß", "ss")

// transliterate maps accented Latin letters to ASCII by dropping combining
// marks after canonical decomposition; other scripts are left alone.
func transliterate(s string) string {
	s = germanFirst.Replace(s)
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
