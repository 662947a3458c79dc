package ingest

import (
	"testing"
	"time"
)

func TestTitleFromName(t *testing.T) {
	for in, want := range map[string]string{
		"donate-pay":       "donate pay",
		"exif-url":         "exif url",
		"My__photo - 2022": "My photo 2022",
		"-lead":            "lead",
		"9392ca9bf51e":     "9392ca9bf51e",
	} {
		if got := TitleFromName(in); got != want {
			t.Errorf("TitleFromName(%q) = %q, want %q", in, got, want)
		}
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
		_, err := DecodeStrictBase64(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%s: DecodeStrictBase64 error = %v, want ok=%v", tc.name, err, tc.ok)
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
		{"99999999999", MaxExpiry, true},
		{"", 0, false},
		{"0", 0, false},
		{"-5", 0, false},
		{"P", 0, false},
		{"PT", 0, false},
		{"P5H", 0, false},
		{"tomorrow", 0, false},
	} {
		got, ok := ParseExpiration(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseExpiration(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
