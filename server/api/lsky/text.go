package lsky

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// param is one query parameter.
type param struct{ key, value string }

// query is a query string as Laravel sees it: PHP's parse_str (a repeated
// key keeps its first position and its last value), then TrimStrings and
// ConvertEmptyStringsToNull (blank values are dropped, so they neither
// filter nor reappear in page URLs). Array parameters (a[]=…) are dropped:
// no Lsky parameter is one.
type query []param

func parseQuery(raw string) query {
	var q query
	for _, part := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(part, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || k == "" || strings.ContainsAny(k, "[]") {
			continue
		}
		v = strings.TrimSpace(v)
		i := q.index(k)
		switch {
		case v == "" && i >= 0:
			q = append(q[:i], q[i+1:]...)
		case v == "":
		case i >= 0:
			q[i].value = v
		default:
			q = append(q, param{k, v})
		}
	}
	return q
}

func (q query) index(key string) int {
	for i, p := range q {
		if p.key == key {
			return i
		}
	}
	return -1
}

// get returns key's value, "" when absent.
func (q query) get(key string) string {
	if i := q.index(key); i >= 0 {
		return q[i].value
	}
	return ""
}

// rawURLEncode is PHP's rawurlencode (RFC 3986): everything but letters,
// digits and "-_.~" becomes %XX.
func rawURLEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// buildQuery is Laravel's Arr::query (http_build_query, RFC 3986).
func buildQuery(q query) string {
	parts := make([]string, len(q))
	for i, p := range q {
		parts[i] = rawURLEncode(p.key) + "=" + rawURLEncode(p.value)
	}
	return strings.Join(parts, "&")
}

// pageNumber is Laravel's current page: the "page" parameter when it is an
// integer >= 1 as PHP's FILTER_VALIDATE_INT reads one (an optional sign,
// no leading zeros), else 1.
func pageNumber(v string) int {
	v = strings.TrimSpace(v)
	digits := strings.TrimPrefix(v, "+")
	if digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return 1
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// intval is PHP's (int) cast of a string: its leading integer, 0 when it
// has none.
func intval(v string) uint64 {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, err := strconv.ParseUint(v[:end], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// sizeKB is Lsky's upload answer size: bytes / 1024 as a PHP float.
func sizeKB(bytes int64) float64 { return float64(bytes) / 1024 }

// centiKB is the size as Lsky's DECIMAL(8,2) column keeps it: KB rounded
// half up to hundredths, in hundredths (exact integer arithmetic).
func centiKB(bytes int64) int64 { return (bytes*200 + 1024) / 2048 }

// storedKB is a size read back from that column, as a PHP float.
func storedKB(centi int64) float64 { return float64(centi) / 100 }

// zhUnits are Carbon's zh_CN (zh_Hans) unit words, largest first.
var zhUnits = [...]string{"年", "个月", "周", "天", "小时", "分钟", "秒"}

// humanDate is Carbon's diffForHumans() of t at now in Lsky's zh_CN
// locale: the largest non-zero calendar unit of PHP's DateTime::diff (days
// of 7 or more as weeks), floored, then "前" ("3天前"); no difference is
// "1秒前" (Carbon's NO_ZERO_DIFF). A t after now reads "…后".
func humanDate(t, now time.Time, loc *time.Location) string {
	t, now = t.In(loc), now.In(loc)
	suffix := "前"
	if t.After(now) {
		t, now = now, t
		suffix = "后"
	}
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Date()
	h1, i1, s1 := t.Clock()
	h2, i2, s2 := now.Clock()
	years, months, days := y2-y1, int(m2)-int(m1), d2-d1
	hours, mins, secs := h2-h1, i2-i1, s2-s1
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
		// Borrow the days of the month before now's, as DateTime::diff.
		days += time.Date(y2, m2, 0, 0, 0, 0, 0, loc).Day()
		months--
	}
	if months < 0 {
		months += 12
		years--
	}
	counts := [...]int{years, months, days / 7, days % 7, hours, mins, secs}
	for i, n := range counts {
		if n > 0 {
			return strconv.Itoa(n) + zhUnits[i] + suffix
		}
	}
	return "1秒" + suffix
}
