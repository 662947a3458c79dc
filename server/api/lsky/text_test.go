package lsky

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"picbed/ingest"
	"picbed/server/site"
	"picbed/store"
)

func TestParseQuery(t *testing.T) {
	q := parseQuery("order=least&page=2&keyword=+a%20b+&order=utmost&empty=&a[]=1&x=%zz&album_id=3")
	var got []string
	for _, p := range q {
		got = append(got, p.key+"="+p.value)
	}
	// A repeated key keeps its first place and its last value; blanks,
	// arrays and undecodable pairs are gone; values are trimmed.
	if s := strings.Join(got, "&"); s != "order=utmost&page=2&keyword=a b&album_id=3" {
		t.Errorf("parseQuery = %s", s)
	}
	if s := buildQuery(query{{"q", "截图 a/b~"}, {"page", "2"}}); s != "q=%E6%88%AA%E5%9B%BE%20a%2Fb~&page=2" {
		t.Errorf("buildQuery = %s", s)
	}
}

func TestPageNumber(t *testing.T) {
	for in, want := range map[string]int{"": 1, "2": 2, "+3": 3, " 4 ": 4, "0": 1, "-1": 1, "02": 1, "2.5": 1, "x": 1, "99999999999999999999": 1} {
		if got := pageNumber(in); got != want {
			t.Errorf("pageNumber(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]uint64{"": 0, "12": 12, "12abc": 12, "abc": 0, " 7": 7} {
		if got := intval(in); got != want {
			t.Errorf("intval(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		bytes int64
		centi int64
	}{
		{0, 0}, {1, 0}, {5, 0}, {6, 1}, {1024, 100}, {29228, 2854}, {5143, 502},
		// 128 bytes are 0.125 KB, exactly at the half: rounded up, as
		// MySQL rounds into a DECIMAL.
		{128, 13}, {15, 1}, {10245, 1000},
	} {
		if got := centiKB(tc.bytes); got != tc.centi {
			t.Errorf("centiKB(%d) = %d, want %d", tc.bytes, got, tc.centi)
		}
	}
	if sizeKB(29228) != 28.54296875 {
		t.Errorf("sizeKB(29228) = %v", sizeKB(29228))
	}
}

func TestHumanDate(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 27, 6, 58, 54, 0, time.UTC)
	for _, tc := range []struct {
		then time.Time
		want string
	}{
		{now, "1秒前"},
		{now.Add(-3 * time.Second), "3秒前"},
		{now.Add(-90 * time.Second), "1分钟前"},
		{now.Add(-5 * time.Hour), "5小时前"},
		{now.AddDate(0, 0, -6), "6天前"},
		{now.AddDate(0, 0, -15), "2周前"},
		{now.AddDate(0, -2, 0), "2个月前"},
		{now.AddDate(-3, 0, -1), "3年前"},
		{now.Add(time.Hour), "1小时后"},
	} {
		if got := humanDate(tc.then, now, loc); got != tc.want {
			t.Errorf("humanDate(%v) = %q, want %q", tc.then, got, tc.want)
		}
	}
}

// TestPaginatorLinks: Laravel's UrlWindow with onEachSide 3, labels only.
func TestPaginatorLinks(t *testing.T) {
	labels := func(total, page int) string {
		p := newPaginator("http://h/api/v1/images", query{{"page", fmt.Sprint(page)}}, total)
		var s []string
		for _, l := range p.object(nil)[6][1].(array) {
			s = append(s, l.(object)[1][1].(string))
		}
		return strings.Join(s[1:len(s)-1], " ")
	}
	for _, tc := range []struct {
		total, page int
		want        string
	}{
		{0, 1, "1"},
		{13 * 40, 5, "1 2 3 4 5 6 7 8 9 10 11 12 13"},
		{20 * 40, 7, "1 2 3 4 5 6 7 8 9 10 ... 19 20"},
		{20 * 40, 8, "1 2 ... 5 6 7 8 9 10 11 ... 19 20"},
		{20 * 40, 14, "1 2 ... 11 12 13 14 15 16 17 18 19 20"},
		{20 * 40, 13, "1 2 ... 10 11 12 13 14 15 16 ... 19 20"},
	} {
		if got := labels(tc.total, tc.page); got != tc.want {
			t.Errorf("%d pages, page %d: %s, want %s", (tc.total+39)/40, tc.page, got, tc.want)
		}
	}
}

// TestDescribe: every typed refusal of the other rooms has Lsky words, none
// is the internal error.
func TestDescribe(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, err := range []error{
		site.ErrInvalidKey, store.ErrUnauthorized, site.ErrGuestUploadsOff, site.ErrTooManyFields,
		site.ErrFieldTooLong, site.ErrMalformedBody, ingest.ErrEmptySource, ingest.ErrNotImage,
		ingest.ErrUnsupported, ingest.ErrInvalidImage, ingest.ErrDuplicate, ingest.ErrBusy, ingest.ErrNoSpace,
		&ingest.TooBigError{Limit: 1}, &ingest.TooManyPixelsError{Limit: 50_000_000},
		&ingest.FloodError{Limit: 5, Period: ingest.Period(4)}, &site.KeyFailuresError{Wait: time.Second},
		fmt.Errorf("wrapped: %w", ingest.ErrNotImage),
	} {
		if e := Describe(err, log); e == errInternal || e.Message == "" || e.V1Message == "" {
			t.Errorf("Describe(%v) = %+v", err, e)
		}
	}
	if e := Describe(&ingest.FloodError{Limit: 5, Period: ingest.Period(4)}, log); e.Message != "每月内你最多可以上传 5 张图片" {
		t.Errorf("monthly flood: %q", e.Message)
	}
	if Describe(errors.New("disk on fire"), log) != errInternal {
		t.Error("an unknown error is not the internal one")
	}
}
