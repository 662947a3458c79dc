package store

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestParseImageFile: the image file paths the store makes, and nothing
// that could name another file of the data dir or leave the images.
func TestParseImageFile(t *testing.T) {
	long := strings.Repeat("n", MaxNameBytes)
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
		{"2026/11/27/a.b.md.gif", true},
		{"2026/11/27/" + long + "0123456789abcdef.png", true}, // a "mixed" name
		{"2026/11/27/" + long + "0123456789abcdef0.png", false},
		{"2026/13/27/x.jpg", false},
		{"2026/00/27/x.jpg", false},
		{"2026/11/32/x.jpg", false},
		{"2026/11/27/x.JPG", false},
		{"2026/11/27/x.original.jpg", false},
		{"2026/11/27/x.TH.jpg", false},
		{"2026/11/27/.th.jpg", false},
		{"2026/11/27/x.th.th.jpg", false},
		{"2026/11/27/x.txt", false},
		{"/2026/11/27/x.jpg", false},
		{"2026\\11\\27\\x.jpg", false},
		{"../../victim/important.txt", false},
	} {
		f, err := ParseImageFile(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseImageFile(%q) = %+v, %v; want ok %v", tc.in, f, err, tc.ok)
			continue
		}
		if err == nil && f.String() != tc.in {
			t.Errorf("ParseImageFile(%q).String() = %q", tc.in, f.String())
		}
	}
	f, err := ParseImageFile("2026/11/27/a.b.md.gif")
	if err != nil || f != (ImageFile{Dir: "2026/11/27", Name: "a.b", Variant: Medium, Ext: "gif"}) || f.ContentType() != "image/gif" {
		t.Errorf("ParseImageFile = %+v %q, %v", f, f.ContentType(), err)
	}
}

// Every file PutImage makes is an image file path, and the name it parses
// back to is the stored one, "mixed" names of the longest names included.
func TestPutImageMakesImageFiles(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	long := strings.Repeat("x", MaxNameBytes)
	first := mustPut(t, s, Image{Name: long, Ext: "webp", Date: testDate}, threeFiles("1"))
	second := mustPut(t, s, Image{Name: long, Ext: "webp", Date: testDate}, threeFiles("2"))
	if second.Name == first.Name || len(second.Name) != MaxNameBytes+mixedSuffixBytes {
		t.Fatalf("second name %q", second.Name)
	}
	for _, img := range []Image{first, second} {
		for _, v := range variants {
			f, err := ParseImageFile(img.File(v))
			if err != nil || f.Name != img.Name || f.Variant != v || f.Dir != img.Dir || f.Ext != img.Ext {
				t.Errorf("%s: %+v, %v", img.File(v), f, err)
			}
		}
	}
}

// FuzzParseImageFile: a path ParseImageFile accepts names a file of the image tree and
// nothing else: YYYY/MM/DD/NAME.EXT with a served extension, local, already clean.
func FuzzParseImageFile(f *testing.F) {
	for _, s := range []string{"2026/11/27/a.png", "2026/11/27/a.th.jpg", "../../picbed.db", "2026/11/27/../../x.png", "2026/11/27/.x.png", "2026/1/27/a.png", "+026/11/27/a.png", "2026/11/27/a.png/", "2026//11/27/a.png", "2026/11/27/a%2fb.png", "2026/11/27/a.svg", "2026/11/27/a.PNG"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		file, err := ParseImageFile(p)
		if err != nil {
			return
		}
		parts := strings.Split(p, "/")
		if len(parts) != 4 || !filepath.IsLocal(p) || filepath.Clean(p) != p || strings.Contains(p, "..") && !strings.Contains(parts[3], "..") {
			t.Fatalf("ParseImageFile accepted %q", p)
		}
		for _, d := range parts[:3] {
			if strings.Trim(d, "0123456789") != "" {
				t.Fatalf("ParseImageFile accepted date folder %q in %q", d, p)
			}
		}
		if _, served := imageTypes[file.Ext]; !served || !strings.HasSuffix(p, "."+file.Ext) || parts[3][0] == '.' {
			t.Fatalf("ParseImageFile(%q) = %+v", p, file)
		}
		if file.String() != p || !validName(file.Name) {
			t.Fatalf("ParseImageFile(%q) = %+v, which is %q", p, file, file.String())
		}
	})
}
