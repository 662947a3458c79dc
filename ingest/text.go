package ingest

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on an upload's text fields. Longer values are cut, not refused:
// clients cannot show a refusal for a title, and Chevereto cuts too.
const (
	// MaxTitleRunes is Chevereto's title column width.
	MaxTitleRunes = 100
	// MaxDescriptionRunes bounds descriptions; Chevereto's column is TEXT
	// (64 KiB), ours is sized for prose, not documents.
	MaxDescriptionRunes = 10000
	// MaxTags and MaxTagRunes bound the tag list of one image.
	MaxTags     = 20
	MaxTagRunes = 64
)

// bidiControls are the Unicode embedding, override and isolate characters:
// in a title or file name they can make text read in another order than it
// is stored ("gpj.exe" shown as "exe.jpg").
const bidiControls = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

// CleanText trims s, turns invalid UTF-8 into U+FFFD and drops control and
// bidi control characters (keeping line breaks and tabs when multiline, and
// dropping carriage returns there).
func CleanText(s string, multiline bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if multiline && (r == '\n' || r == '\t') {
			return r
		}
		if r == '\r' && multiline {
			return -1
		}
		if unicode.IsControl(r) || strings.ContainsRune(bidiControls, r) {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// TruncateRunes cuts s to at most n runes.
func TruncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// cleanTitle is a title as stored: clean single-line text of at most
// MaxTitleRunes.
func cleanTitle(s string) string { return TruncateRunes(CleanText(s, false), MaxTitleRunes) }

// cleanTags cleans each tag, drops empty ones and keeps at most MaxTags.
func cleanTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		t = TruncateRunes(CleanText(t, false), MaxTagRunes)
		if t != "" && len(out) < MaxTags {
			out = append(out, t)
		}
	}
	return out
}

// TitleFromName derives a title from a stored source name: runs of "-",
// "_" and white space become one space, as Chevereto titles an upload
// that has none.
func TitleFromName(name string) string {
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

// BaseName returns the last element of a client-supplied file name or URL
// path, which may use either slash (Windows clients send full paths); ""
// when there is none.
func BaseName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(name)
	if name == "." || name == "/" {
		return ""
	}
	return name
}

// extOf returns the extension of a client file name including the dot, or
// "" when it has none.
func extOf(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return ""
	}
	return name[i:]
}
