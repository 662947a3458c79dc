package server

import (
	"testing"
	"time"
)

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
		if got := sizeFormatted(tc.n); got != tc.want {
			t.Errorf("sizeFormatted(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestHowLongAgo(t *testing.T) {
	base := time.Date(2026, 11, 27, 6, 58, 54, 0, time.UTC)
	for _, tc := range []struct {
		name string
		then time.Time
		want string
	}{
		{"same second is moments ago", base, "moments ago"},
		{"future is moments ago", base.Add(time.Minute), "moments ago"},
		{"three seconds", base.Add(-3 * time.Second), "3 seconds ago"},
		{"one minute", base.Add(-time.Minute - 10*time.Second), "1 minute ago"},
		{"two hours", base.Add(-2 * time.Hour), "2 hours ago"},
		{"one day", base.Add(-25 * time.Hour), "1 day ago"},
		{"days under a week", base.AddDate(0, 0, -6), "6 days ago"},
		{"weeks from days", base.AddDate(0, 0, -15), "2 weeks ago"},
		{"one month", base.AddDate(0, -1, 0), "1 month ago"},
		{"years first", base.AddDate(-2, -3, 0), "2 years ago"},
		{"borrow across month end", time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), "3 weeks ago"},
	} {
		if got := howLongAgo(tc.then, base); got != tc.want {
			t.Errorf("%s: howLongAgo = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The slug vectors of spec 4.5, produced by running Chevereto V3's URLify.
func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"donate pay":          "donate-pay",
		"The Best of Me_2022": "best-me-2022",
		"截图 2022-04-16":       "2022-04-16",
		"A cat on a hat!!":    "cat-hat",
		"Ünïcödé Straße Test": "unicode-strasse-test",
		"exif":                "exif",
		"a":                   "",
		"截图":                  "",
		"exif url":            "exif-url",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTitles(t *testing.T) {
	for in, want := range map[string]string{
		"donate-pay":       "donate pay",
		"exif-url":         "exif url",
		"My__photo - 2022": "My photo 2022",
		"-lead":            "lead",
		"9392ca9bf51e":     "9392ca9bf51e",
	} {
		if got := titleFromName(in); got != want {
			t.Errorf("titleFromName(%q) = %q, want %q", in, got, want)
		}
	}
	long := "abcdefghijklmnopqrstuvwxyz0123"
	if got := titleTruncated(long); got != "abcdefghijklmnopqrstuvwxy..." {
		t.Errorf("titleTruncated(%q) = %q", long, got)
	}
	if got := titleTruncated("exactly twenty-eight chars!!"); got != "exactly twenty-eight chars!!" {
		t.Errorf("a 28-rune title was cut: %q", got)
	}
	if got := titleTruncated("截图截图截图截图截图截图截图截图截图截图截图截图截图截图截图"); got != "截图截图截图截图截图截图截图截图截图截图截图截图截..." {
		t.Errorf("titleTruncated counts bytes, not runes: %q", got)
	}
}

func TestPHPJSON(t *testing.T) {
	doc := object{
		{"s", "a/b"},
		{"u", "截图 é"},
		{"e", "😀"},
		{"q", "\"\\\n\t\x01"},
		{"n", jsonNull{}},
		{"i", 313},
		{"b", false},
		{"o", object{{"z", "1"}, {"a", "2"}}},
	}
	want := `{"s":"a\/b","u":"\u622a\u56fe \u00e9","e":"\ud83d\ude00","q":"\"\\\n\t\u0001","n":null,"i":313,"b":false,"o":{"z":"1","a":"2"}}`
	if got := string(appendPHPJSON(nil, doc)); got != want {
		t.Errorf("appendPHPJSON:\n got %s\nwant %s", got, want)
	}
}

func TestDecodeStrictBase64(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"canonical", "R0lGODlhAQABAAAAADs=", true},
		{"line breaks removed", "R0lGODlh\nAQABAAAA\r\nADs=", true},
		{"missing padding", "R0lGODlhAQABAAAAADs", false},
		{"data URL prefix", "data:image/gif;base64,R0lGODlhAQABAAAAADs=", false},
		{"URL-safe alphabet", "R0lGODlhAQABAAAAADs-_w==", false},
		{"non-canonical trailing bits", "R0lGODlhAQABAAAAADt=", false},
		{"empty", "", false},
	} {
		_, err := decodeStrictBase64(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%s: decodeStrictBase64 error = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestParseExpiration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT5M", 5 * time.Minute, true},
		{"P3D", 72 * time.Hour, true},
		{"P1W", 7 * 24 * time.Hour, true},
		{"P1Y", 365 * 24 * time.Hour, true},
		{"P1DT12H", 36 * time.Hour, true},
		{"3600", time.Hour, true},
		{"99999999999", maxExpiry, true},
		{"", 0, false},
		{"0", 0, false},
		{"-5", 0, false},
		{"P", 0, false},
		{"PT", 0, false},
		{"P5H", 0, false},
		{"tomorrow", 0, false},
	} {
		got, ok := parseExpiration(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseExpiration(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIsPublicAddr(t *testing.T) {
	for _, tc := range []struct {
		ip     string
		public bool
	}{
		{"93.184.216.34", true},
		{"2606:4700::1111", true},
		{"127.0.0.1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"0.0.0.0", false},
		{"224.0.0.1", false},
		{"::1", false},
		{"fd00::1", false},
		{"fe80::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false},
		{"2002:7f00:1::", false},
		// IPv6 forms that embed or reach private or local IPv4 addresses.
		{"::ffff:169.254.169.254", false},               // mapped cloud metadata
		{"::ffff:100.64.0.1", false},                    // mapped CGNAT
		{"::ffff:8.8.8.8", true},                        // mapped public: dialled as 8.8.8.8
		{"::7f00:1", false},                             // IPv4-compatible 127.0.0.1 (deprecated ::/96)
		{"::a00:1", false},                              // IPv4-compatible 10.0.0.1
		{"::ffff:0:7f00:1", false},                      // IPv4-translated (SIIT) 127.0.0.1
		{"64:ff9b::808:808", false},                     // NAT64 of a public address: the gateway is refused as a whole
		{"64:ff9b:1::a00:1", false},                     // local-use NAT64
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, // Teredo
		{"2002:808:808::1", false},                      // 6to4, even of a public address
		// IPv6 unique local, link-local, site-local and multicast.
		{"fc00::1", false},
		{"fd00:ec2::254", false}, // AWS IPv6 instance metadata
		{"fe80::1%eth0", false},
		{"febf::1", false},
		{"fec0::1", false},
		{"ff02::1", false},
		{"ff0e::1", false},
		// Reserved and documentation blocks.
		{"::", false},
		{"100::1", false},
		{"2001:db8::1", false},
		{"3fff::1", false},
		{"4000::1", false}, // outside 2000::/3: not allocated for unicast
		{"192.88.99.1", false},
		{"198.18.0.1", false},
		{"255.255.255.255", false},
		{"2a00:1450:4001:80b::200e", true},
		{"1.1.1.1", true},
	} {
		if got := IsPublicAddr(mustAddr(t, tc.ip)); got != tc.public {
			t.Errorf("IsPublicAddr(%s) = %v, want %v", tc.ip, got, tc.public)
		}
	}
}
