package server

import (
	"strconv"
	"unicode/utf8"
)

// The Chevereto API answers with PHP's json_encode output: keys in the order
// the PHP arrays were built, "/" escaped as "\/" and every non-ASCII
// character as \uXXXX. Go's encoding/json sorts map keys and escapes
// differently, so the API dialect is written with this small ordered encoder.
// Clients parse either form; matching PHP byte for byte keeps responses
// comparable with captures of a real Chevereto.

// jsonNull is the JSON null value in an ordered object.
type jsonNull struct{}

// member is one key/value pair of an ordered JSON object. Value is one of
// string, *string (nil is null), int, int64, bool, jsonNull or object.
type member struct {
	Key   string
	Value any
}

// object is a JSON object whose key order is kept.
type object []member

// optString returns s, or null when s is empty.
func optString(s string) any {
	if s == "" {
		return jsonNull{}
	}
	return s
}

// appendPHPJSON appends the PHP-style encoding of v to b.
func appendPHPJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil, jsonNull:
		return append(b, "null"...)
	case string:
		return appendPHPString(b, v)
	case *string:
		if v == nil {
			return append(b, "null"...)
		}
		return appendPHPString(b, *v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case bool:
		return strconv.AppendBool(b, v)
	case object:
		b = append(b, '{')
		for i, m := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendPHPString(b, m.Key)
			b = append(b, ':')
			b = appendPHPJSON(b, m.Value)
		}
		return append(b, '}')
	default:
		panic("phpjson: unsupported type")
	}
}

const hexDigits = "0123456789abcdef"

// appendPHPString writes s as PHP's json_encode does with default flags.
// Invalid UTF-8 bytes become U+FFFD (PHP would fail the whole document).
func appendPHPString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
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
