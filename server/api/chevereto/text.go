package chevereto

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// howLongAgo renders the age of t at now as Chevereto's how_long_ago does:
// the first non-zero calendar unit ("3 days ago"), or "moments ago".
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

// titleTruncated is Chevereto's title_truncated: titles over 28 runes
// become their first 25 runes, trimmed, plus "...".
func titleTruncated(title string) string {
	if utf8.RuneCountInString(title) <= 28 {
		return title
	}
	return strings.TrimSpace(string([]rune(title)[:25])) + "..."
}

// htmlEscape escapes & < > " ' as PHP's htmlspecialchars with ENT_QUOTES.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#039;")
