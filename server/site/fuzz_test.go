package site

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzSlug: a slug is letters, digits and single dashes (no leading, trailing or
// double dash, no dot, slash or space), valid UTF-8 of at most 60 bytes, and the viewer
// path built from it is ASCII, unescapes to the slug, and ends in the id.
func FuzzSlug(f *testing.F) {
	for _, s := range []string{"My Holiday Photo", "Straße über Äpfel", "截图 2022", "the a an", "--x__y--", "<script>alert(1)</script>", "a.b.c", strings.Repeat("word ", 30), "\u202eevil", "ÅÉÎÕÜ ǅ ﬁ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, title string) {
		s := Slug(title)
		if len(s) > maxSlugBytes || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Fatalf("Slug(%q) = %q", title, s)
		}
		if !utf8.ValidString(s) {
			t.Fatalf("Slug(%q) = %q: invalid UTF-8", title, s)
		}
		for _, r := range s {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '-') || r >= 'A' && r <= 'Z' {
				t.Fatalf("Slug(%q) = %q holds %q", title, s, r)
			}
		}
		p := ViewerPath(title, "Xy3")
		for i := 0; i < len(p); i++ {
			if p[i] >= utf8.RuneSelf || p[i] <= ' ' {
				t.Fatalf("ViewerPath(%q) = %q is not plain ASCII", title, p)
			}
		}
		if u, err := url.PathUnescape(p); err != nil || s != "" && u != "/image/"+s+".Xy3" {
			t.Fatalf("ViewerPath(%q) = %q unescapes to %q, %v", title, p, u, err)
		}
		seg := strings.TrimPrefix(p, "/image/")
		if seg[strings.LastIndexByte(seg, '.')+1:] != "Xy3" {
			t.Fatalf("ViewerPath(%q) = %q: the id is not the last part", title, p)
		}
	})
}
