package server

import "testing"

func TestCleanImagePath(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026/11/27/exif.jpg", true},
		{"2026/11/27/exif.th.jpg", true},
		{"2026/11/27/a-b_c.webp", true},
		{"2026/11/27/../../../picbed.db", false},
		{"2026/11/27/.hidden.jpg", false},
		{"2026/11/27/x.html", false},
		{"2026/11/27/x.svg", false},
		{"2026/11/27", false},
		{"../picbed.db", false},
		{"2026/11/+7/x.jpg", false},
		{"2026/11/27/sub/x.jpg", false},
		{"2026/11/27/x y.jpg", false},
	} {
		if _, ok := cleanImagePath(tc.in); ok != tc.ok {
			t.Errorf("cleanImagePath(%q) ok = %v, want %v", tc.in, ok, tc.ok)
		}
	}
}
