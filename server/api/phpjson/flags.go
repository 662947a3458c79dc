package phpjson

import (
	"math"
	"strconv"
	"strings"
)

// Flags are the json_encode options picbed's PHP hosts pass besides the
// defaults: ThinkPHP (Lsky Pro 1.x) writes with JSON_UNESCAPED_UNICODE,
// Laravel's exception renderer (Lsky Pro 2.x's 404 and 405 answers) with
// JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES.
type Flags int

const (
	// UnescapedUnicode writes non-ASCII characters as UTF-8 instead of
	// \uXXXX (U+2028 and U+2029 stay escaped, as in PHP).
	UnescapedUnicode Flags = 1 << iota
	// UnescapedSlashes writes "/" as is instead of "\/".
	UnescapedSlashes
	// PrettyPrint indents by four spaces, one member or element a line,
	// with ": " between key and value; empty objects and arrays stay {}
	// and [].
	PrettyPrint
)

// AppendFlags appends the encoding of v to b as json_encode($v, flags)
// writes it. A float64 is written as PHP 7.1+ writes a double (shortest
// round-trip digits, serialize_precision -1): integral values without a
// fraction ("30", not "30.0"), exponents beyond PHP's range as "1.0e+25".
// It panics on a value of an unsupported type, NaN or an infinity (PHP
// fails the whole document on those).
func AppendFlags(b []byte, v any, flags Flags) []byte {
	return appendValue(b, v, flags, 0)
}

func appendValue(b []byte, v any, flags Flags, depth int) []byte {
	switch v := v.(type) {
	case nil, Null:
		return append(b, "null"...)
	case string:
		return appendString(b, v, flags)
	case *string:
		if v == nil {
			return append(b, "null"...)
		}
		return appendString(b, *v, flags)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case float64:
		return appendFloat(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case Object:
		if len(v) == 0 {
			return append(b, "{}"...)
		}
		b = append(b, '{')
		for i, m := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = newline(b, flags, depth+1)
			b = appendString(b, m[0].(string), flags)
			b = append(b, ':')
			if flags&PrettyPrint != 0 {
				b = append(b, ' ')
			}
			b = appendValue(b, m[1], flags, depth+1)
		}
		b = newline(b, flags, depth)
		return append(b, '}')
	case Array:
		if len(v) == 0 {
			return append(b, "[]"...)
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = newline(b, flags, depth+1)
			b = appendValue(b, e, flags, depth+1)
		}
		b = newline(b, flags, depth)
		return append(b, ']')
	default:
		panic("phpjson: unsupported type")
	}
}

// newline starts a pretty-printed line at depth; without PrettyPrint it
// writes nothing.
func newline(b []byte, flags Flags, depth int) []byte {
	if flags&PrettyPrint == 0 {
		return b
	}
	b = append(b, '\n')
	for range depth {
		b = append(b, "    "...)
	}
	return b
}

// appendFloat writes f as PHP's json encoder does with serialize_precision
// -1: the shortest digits that read back as f, in fixed notation while the
// decimal exponent is within -4 .. 16 (php_gcvt with 17 digits), in PHP's
// exponent notation ("1.0e+25", "1.5e-7") outside it.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		panic("phpjson: NaN or infinity")
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0"...)
		}
		return append(b, '0')
	}
	// The decimal exponent of the shortest representation decides the
	// notation, as php_gcvt's decpt does.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	if x < -4 || x > 16 {
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		b = append(b, mant...)
		b = append(b, 'e')
		if x >= 0 {
			b = append(b, '+')
		}
		return strconv.AppendInt(b, int64(x), 10)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}
