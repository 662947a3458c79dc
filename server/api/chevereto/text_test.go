package chevereto

import (
	"testing"
	"time"
)

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

func TestTitleTruncated(t *testing.T) {
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
