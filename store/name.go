package store

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MaxNameBytes caps a stored file name (without extension) so that the
// longest file we create, NAME + 16 hex "mixed" suffix + ".th." + extension,
// stays far below the 255-byte name limit of common file systems.
const MaxNameBytes = 200

// variantSuffixes are removed from the end of client names (spec 4.3) so that
// an uploaded "a.th.jpg" can never collide with the thumbnail of "a.jpg".
var variantSuffixes = []string{".th", ".md", ".original", ".lg"}

// latinFold maps Latin letters that have no canonical decomposition to ASCII.
// ß becomes "s" to match Chevereto's output ("Straße" -> "Strase").
var latinFold = map[rune]string{
	'ß': "s", 'ẞ': "S", 'æ': "ae", 'Æ': "AE", 'œ': "oe", 'Œ': "OE",
	'ø': "o", 'Ø': "O", 'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D",
	'ł': "l", 'Ł': "L", 'þ': "th", 'Þ': "TH", 'ħ': "h", 'Ħ': "H",
	'ı': "i", 'ĸ': "k", 'ŀ': "l", 'Ŀ': "L", 'ŉ': "n", 'ŋ': "n", 'Ŋ': "N",
	'ſ': "s", 'ƒ': "f",
}

// CleanFileName turns a client file name, given without its extension, into
// the name a stored image gets with Chevereto's "original" naming (spec 4.3):
// a trailing .th/.md/.original/.lg and leading dots are removed, accented
// Latin letters are transliterated to ASCII, each whitespace run becomes "-",
// "-" is trimmed from both ends, then every byte that is not an ASCII letter,
// digit, "_", "-" or "." is deleted and the result is capped at MaxNameBytes.
// If nothing remains it returns 32 random hex characters. The result never
// starts with a dot and never ends in one of the variant suffixes.
func CleanFileName(name string) string {
	name = stripNameEnds(name)

	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		if unicode.Is(unicode.Mn, r) {
			continue // combining accent split off by NFD
		}
		if s, ok := latinFold[r]; ok {
			b.WriteString(s)
			continue
		}
		b.WriteRune(r)
	}
	name = b.String()

	b.Reset()
	inSpace := false
	for _, r := range name {
		if unicode.IsSpace(r) {
			if !inSpace {
				b.WriteByte('-')
			}
			inSpace = true
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	name = strings.Trim(b.String(), "-")

	b.Reset()
	for i := 0; i < len(name); i++ {
		if c := name[i]; isNameByte(c) {
			b.WriteByte(c)
		}
	}
	name = b.String()
	if len(name) > MaxNameBytes {
		name = name[:MaxNameBytes]
	}
	// Deleting characters or capping can expose a new leading dot or
	// variant suffix ("a.th(" -> "a.th"); strip again.
	name = stripNameEnds(name)
	if name == "" {
		return randomHex(16)
	}
	return name
}

// stripNameEnds removes trailing variant suffixes and leading dots until
// neither is left.
func stripNameEnds(name string) string {
	for {
		before := name
		for _, suf := range variantSuffixes {
			if len(name) >= len(suf) && strings.EqualFold(name[len(name)-len(suf):], suf) {
				name = name[:len(name)-len(suf)]
			}
		}
		name = strings.TrimLeft(name, ".")
		if name == before {
			return name
		}
	}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.'
}

// validStoredName reports whether name can be used as is for a stored file:
// what CleanFileName could have produced.
func validStoredName(name string) bool {
	return len(name) <= MaxNameBytes && validName(name)
}

// randomHex returns 2n lowercase hex characters from crypto/rand.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics on a broken source)
	return hex.EncodeToString(b)
}
