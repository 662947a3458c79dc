package ingest

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// FuzzDecodeStrictBase64: whatever it accepts is canonical base64 of non-empty bytes
// (white space aside), and the canonical encoding of any bytes, broken into lines, is
// accepted and decodes to those bytes.
func FuzzDecodeStrictBase64(f *testing.F) {
	for _, s := range []string{"aGVsbG8=", "aGVsbG8", "aGVsbA==\n", "a GVs bG8=", "aGVsbG9=", "aGVsbG8=\x00", "", "====", "-_-_", "data:image/png;base64,iVBORw0KGgo="} {
		f.Add(s, []byte(s))
	}
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		if data, err := DecodeStrictBase64(s); err == nil {
			compact := strings.Map(func(r rune) rune {
				if unicode.IsSpace(r) {
					return -1
				}
				return r
			}, s)
			if len(data) == 0 || base64.StdEncoding.EncodeToString(data) != compact {
				t.Fatalf("accepted %q as %q, whose encoding is %q", s, data, base64.StdEncoding.EncodeToString(data))
			}
		}
		if len(raw) == 0 {
			return
		}
		enc := base64.StdEncoding.EncodeToString(raw)
		var lines strings.Builder
		for i := 0; i < len(enc); i += 76 {
			lines.WriteString(enc[i:min(i+76, len(enc))])
			lines.WriteString("\r\n")
		}
		data, err := DecodeStrictBase64(lines.String())
		if err != nil || !bytes.Equal(data, raw) {
			t.Fatalf("canonical base64 of %q: %q, %v", raw, data, err)
		}
	})
}

// FuzzParseExpiration: an accepted expiration is within (0, 1 year]; plain positive
// seconds are exact up to a year and clamp above it.
func FuzzParseExpiration(f *testing.F) {
	for _, s := range []string{"PT5M", "P3D", "P1Y2M3W4DT5H6M7S", "300", "0", "-5", "P", "PT", "P1", "p1d", "9223372036854775807", "99999999999999999999", "P999999999Y", "P9999999999D", "PT1H1H", "P1DT", " 60 ", "+60"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseExpiration(s)
		if ok && (d <= 0 || d > MaxExpiry) {
			t.Fatalf("ParseExpiration(%q) = %v, outside (0, %v]", s, d, MaxExpiry)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseExpiration(%q) refused with %v", s, d)
		}
		v := strings.TrimSpace(s)
		if v != "" && strings.Trim(v, "0123456789") == "" {
			n, err := strconv.ParseUint(v, 10, 64)
			switch {
			case err != nil || n > uint64(MaxExpiry/time.Second):
				if !ok || d != MaxExpiry {
					t.Fatalf("ParseExpiration(%q) = %v %v, want clamped to %v", s, d, ok, MaxExpiry)
				}
			case n == 0:
				if ok {
					t.Fatalf("ParseExpiration(%q) = %v, want refused", s, d)
				}
			default:
				if !ok || d != time.Duration(n)*time.Second {
					t.Fatalf("ParseExpiration(%q) = %v %v, want %ds", s, d, ok, n)
				}
			}
		}
	})
}

// FuzzTitleFromName: a title derived from a file name has no "-", "_" or white space but
// single spaces between words, and deriving it again changes nothing.
func FuzzTitleFromName(f *testing.F) {
	for _, s := range []string{"my-holiday_photo", "  a  b ", "__", "IMG_2024-01-01", "a\u00a0b\u2003c", "\xff\xfe", "截图_2022"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		title := TitleFromName(name)
		if strings.ContainsAny(title, "-_") || strings.HasPrefix(title, " ") || strings.HasSuffix(title, " ") || strings.Contains(title, "  ") {
			t.Fatalf("TitleFromName(%q) = %q", name, title)
		}
		for _, r := range title {
			if r != ' ' && unicode.IsSpace(r) {
				t.Fatalf("TitleFromName(%q) = %q holds space %U", name, title, r)
			}
		}
		if again := TitleFromName(title); again != title {
			t.Fatalf("TitleFromName(%q) = %q, then %q", name, title, again)
		}
	})
}
