package store

import (
	"strings"
	"testing"
)

func TestCleanFileName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// spec 4.3 examples (PHP run)
		{"donate-pay", "donate-pay"},
		{"My Photo (1)", "My-Photo-1"},
		{"Ünïcödé Straße", "Unicode-Strase"},
		{"截图 2022", "-2022"}, // Chevereto quirk: the dash survives
		// variant suffixes and leading dots
		{"a.th", "a"},
		{"a.md", "a"},
		{"a.original", "a"},
		{"a.lg", "a"},
		{"a.TH", "a"},
		{"a.th.md", "a"},
		{"photo.thumb", "photo.thumb"},
		{"...hidden", "hidden"},
		{".th", ""}, // -> random
		// whitespace and trimming
		{"  spaced   out  ", "spaced-out"},
		{"tab\tand\nnewline", "tab-and-newline"},
		{"--dashes--", "dashes"},
		{"keep_under.score-dash", "keep_under.score-dash"},
		// transliteration
		{"Crème brûlée", "Creme-brulee"},
		{"Æsir Øre Łódź", "AEsir-Ore-Lodz"},
		{"naïve café", "naive-cafe"},
		// deletion of everything else
		{"a/b\\c:d*e?f\"g<h>i|j", "abcdefghij"},
		{"emoji😀name", "emojiname"},
		{"a.th(", "a"}, // deleting "(" exposes a variant suffix
		{"(.hidden)", "hidden"},
	} {
		got := CleanFileName(tc.in)
		if tc.want == "" {
			if !isHex(got, 32) {
				t.Errorf("CleanFileName(%q) = %q, want 32 random hex", tc.in, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("CleanFileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCleanFileNameEmptyIsRandom(t *testing.T) {
	for _, in := range []string{"", "截图", "   ", "---", "...", "😀"} {
		a, b := CleanFileName(in), CleanFileName(in)
		if !isHex(a, 32) || !isHex(b, 32) || a == b {
			t.Errorf("CleanFileName(%q) = %q, %q; want two different 32-hex names", in, a, b)
		}
	}
}

func TestCleanFileNameCap(t *testing.T) {
	got := CleanFileName(strings.Repeat("x", 500))
	if len(got) != MaxNameBytes {
		t.Fatalf("len = %d, want %d", len(got), MaxNameBytes)
	}
	// a cap landing right after ".th" must not leave a variant suffix
	got = CleanFileName(strings.Repeat("x", MaxNameBytes-3) + ".th" + "yyyy")
	if got != strings.Repeat("x", MaxNameBytes-3) {
		t.Fatalf("capped name %q ends in a variant suffix", got[len(got)-10:])
	}
}

func FuzzCleanFileName(f *testing.F) {
	for _, s := range []string{"donate-pay", "My Photo (1)", "Ünïcödé Straße", "截图 2022", "a.th(", ".md"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := CleanFileName(in)
		if !validStoredName(out) {
			t.Fatalf("CleanFileName(%q) = %q, not a valid stored name", in, out)
		}
	})
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
