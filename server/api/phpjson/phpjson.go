// Package phpjson writes JSON the way PHP's json_encode does with its
// default flags: object keys in the order the PHP array was built, "/"
// escaped as "\/" and every non-ASCII character as \uXXXX. The hosts picbed
// answers for (Chevereto, Lsky Pro, sm.ms) are PHP applications; Go's
// encoding/json sorts map keys and escapes differently. Clients parse either
// form, but matching PHP byte for byte keeps answers comparable with
// captures of the real servers.
package phpjson

import (
	"unicode/utf8"
)

// Null is the JSON null value in an ordered object.
type Null struct{}

// Member is one key/value pair of an ordered JSON object, written
// {key, value}: the key is a string, the value one of string, *string (nil
// is null), int, int64, uint64, float64, bool, Null, Object or Array. (An array rather than
// a struct keeps the documents' literals short: {"name", name}.)
type Member [2]any

// Object is a JSON object whose key order is kept.
type Object []Member

// Array is a JSON array (a PHP list).
type Array []any

// OptString returns s, or null when s is empty.
func OptString(s string) any {
	if s == "" {
		return Null{}
	}
	return s
}

// Append appends the PHP-style encoding of v to b, as json_encode with its
// default flags writes it. It panics on a value of another type: the
// documents are built by code, never from input.
func Append(b []byte, v any) []byte { return AppendFlags(b, v, 0) }

const hexDigits = "0123456789abcdef"

// AppendString writes s as PHP's json_encode does with default flags.
// Invalid UTF-8 bytes become U+FFFD (PHP would fail the whole document).
func AppendString(b []byte, s string) []byte { return appendString(b, s, 0) }

func appendString(b []byte, s string, flags Flags) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '/' && flags&UnescapedSlashes != 0:
			b = append(b, '/')
		case r == '/':
			b = append(b, '\\', '/')
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20:
			b = appendU(b, r)
		case r < utf8.RuneSelf:
			b = append(b, byte(r))
		case flags&UnescapedUnicode != 0 && r != 0x2028 && r != 0x2029:
			// PHP keeps escaping the two JavaScript line terminators
			// unless JSON_UNESCAPED_LINE_TERMINATORS is set too.
			b = utf8.AppendRune(b, r)
		case r > 0xffff:
			r -= 0x10000
			b = appendU(b, 0xd800+(r>>10))
			b = appendU(b, 0xdc00+(r&0x3ff))
		default:
			b = appendU(b, r)
		}
	}
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u',
		hexDigits[(r>>12)&0xf], hexDigits[(r>>8)&0xf], hexDigits[(r>>4)&0xf], hexDigits[r&0xf])
}
