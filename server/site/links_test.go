package site

import "testing"

func TestSizeFormatted(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1 KB"},
		{21459, "21.5 KB"},
		{59983, "60 KB"},
		{96801, "96.8 KB"},
		{381757, "381.8 KB"},
		{999999, "1000 KB"},
		{1536000, "1.5 MB"},
		{25_000_000, "25 MB"},
		{500_000, "500 KB"},
		{3_200_000_000, "3.2 GB"},
	} {
		if got := SizeFormatted(tc.n); got != tc.want {
			t.Errorf("SizeFormatted(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// The slug vectors of Latin text, produced by running Chevereto V3's
// URLify; other scripts are kept (V3 dropped them: "截图 2022-04-16" gave
// "2022-04-16").
func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"donate pay":          "donate-pay",
		"The Best of Me_2022": "best-me-2022",
		"截图 2022-04-16":       "截图-2022-04-16",
		"照片 测试 (1)":           "照片-测试-1",
		"Фото на море":        "фото-на-море",
		"नमस्ते दुनिया":       "नमस्ते-दुनिया",
		"A cat on a hat!!":    "cat-hat",
		"Ünïcödé Straße Test": "unicode-strasse-test",
		"exif":                "exif",
		"a":                   "",
		"截图":                  "截图",
		"!!! ???":             "",
		"exif url":            "exif-url",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
