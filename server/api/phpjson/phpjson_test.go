package phpjson

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPHPJSON(t *testing.T) {
	doc := Object{
		{"s", "a/b"},
		{"u", "截图 é"},
		{"e", "😀"},
		{"q", "\"\\\n\t\x01"},
		{"n", Null{}},
		{"i", 313},
		{"b", false},
		{"o", Object{{"z", "1"}, {"a", "2"}}},
	}
	want := `{"s":"a\/b","u":"\u622a\u56fe \u00e9","e":"\ud83d\ude00","q":"\"\\\n\t\u0001","n":null,"i":313,"b":false,"o":{"z":"1","a":"2"}}`
	if got := string(Append(nil, doc)); got != want {
		t.Errorf("Append:\n got %s\nwant %s", got, want)
	}
}

func TestPHPJSONArray(t *testing.T) {
	doc := Object{{"a", Array{}}, {"b", Array{"x/y", 2, Object{{"k", Null{}}}}}}
	want := `{"a":[],"b":["x\/y",2,{"k":null}]}`
	if got := string(Append(nil, doc)); got != want {
		t.Errorf("Append:\n got %s\nwant %s", got, want)
	}
}

// FuzzAppendPHPString: the output is a valid JSON string of ASCII only, with no "/"
// unescaped (so never "</script>"), that decodes to the input with each invalid UTF-8 byte
// as U+FFFD.
func FuzzAppendPHPString(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted" \back\slash/`, "</script><!--", "\x00\x1f\x7f", "é中😀", "\u2028\u2029", "\xff\xfe\xc3", "\U0010FFFF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, b, err)
		}
		want := s
		if !utf8.ValidString(s) {
			var w strings.Builder
			for _, r := range s {
				w.WriteRune(r)
			}
			want = w.String()
		}
		if got != want {
			t.Fatalf("AppendString(%q) = %s, decodes to %q", s, b, got)
		}
		for i, c := range b {
			if c >= utf8.RuneSelf || c < 0x20 {
				t.Fatalf("AppendString(%q) = %q: raw byte %#x", s, b, c)
			}
			if c == '/' && b[i-1] != '\\' {
				t.Fatalf("AppendString(%q) = %s: unescaped /", s, b)
			}
		}
	})
}

func TestPHPJSONFloats(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{30, "30"},                   // no ".0": JSON_PRESERVE_ZERO_FRACTION is off
		{28.54296875, "28.54296875"}, // 29228 bytes in KB, as Lsky answers it
		{29.19, "29.19"},             // a DECIMAL(8,2) read back
		{0.30000000000000004, "0.30000000000000004"}, // 0.1+0.2 at run time: round-trip digits, not 14
		{0.0001, "0.0001"},
		{0.00001, "1.0e-5"},
		{1.5e-7, "1.5e-7"},
		{1e16, "10000000000000000"},
		{1e17, "1.0e+17"},
		{-2.5, "-2.5"},
		{0, "0"},
	} {
		if got := string(Append(nil, tc.f)); got != tc.want {
			t.Errorf("Append(%v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

func TestPHPJSONFlags(t *testing.T) {
	doc := Object{{"message", "The route api/v1/x could not be found."}, {"e", Object{}}, {"a", Array{1, "截"}}}
	pretty := "{\n    \"message\": \"The route api/v1/x could not be found.\",\n    \"e\": {},\n    \"a\": [\n        1,\n        \"\\u622a\"\n    ]\n}"
	if got := string(AppendFlags(nil, doc, PrettyPrint|UnescapedSlashes)); got != pretty {
		t.Errorf("pretty print:\n got %s\nwant %s", got, pretty)
	}
	raw := `{"msg":"管理员关闭了接口 a\/b \u2028","n":18446744073709551615}`
	if got := string(AppendFlags(nil, Object{{"msg", "管理员关闭了接口 a/b \u2028"}, {"n", uint64(math.MaxUint64)}}, UnescapedUnicode)); got != raw {
		t.Errorf("unescaped unicode:\n got %s\nwant %s", got, raw)
	}
}
