package site

import (
	"strings"
	"testing"
)

// FuzzSlug: a slug is what a URL path segment can hold without escaping, and the
// viewer can find the id after it: [a-z0-9-], no leading, trailing or double dash, at
// most 60 bytes.
func FuzzSlug(f *testing.F) {
	for _, s := range []string{"My Holiday Photo", "Straße über Äpfel", "截图 2022", "the a an", "--x__y--", "<script>alert(1)</script>", "a.b.c", strings.Repeat("word ", 30), "\u202eevil", "ÅÉÎÕÜ ǅ ﬁ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, title string) {
		s := Slug(title)
		if len(s) > maxSlugBytes || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Fatalf("Slug(%q) = %q", title, s)
		}
		for _, c := range []byte(s) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Fatalf("Slug(%q) = %q holds %q", title, s, c)
			}
		}
		p := ViewerPath(title, "Xy3")
		seg := strings.TrimPrefix(p, "/image/")
		if seg[strings.LastIndexByte(seg, '.')+1:] != "Xy3" {
			t.Fatalf("ViewerPath(%q) = %q: the id is not the last part", title, p)
		}
	})
}
