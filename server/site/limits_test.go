package site

import (
	"errors"
	"net/netip"
	"picbed/ingest"
	"testing"
	"time"
)

// isFlood reports whether err refuses an upload past limit per period.
func isFlood(err error, limit int, period ingest.Period) bool {
	var fe *ingest.FloodError
	return errors.As(err, &fe) && fe.Limit == limit && fe.Period == period
}

func TestParseFloodLimits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FloodLimits
		ok   bool
	}{
		{"50,500,1000,5000,10000", DefaultFloodLimits, true},
		{" 1, 0 ,0,0, 2 ", FloodLimits{1, 0, 0, 0, 2}, true},
		{"off", FloodLimits{}, true},
		{"OFF", FloodLimits{}, true},
		{"0,0,0,0,0", FloodLimits{}, true},
		{"", FloodLimits{}, false},
		{"50,500", FloodLimits{}, false},
		{"50,500,1000,5000,10000,1", FloodLimits{}, false},
		{"-1,0,0,0,0", FloodLimits{}, false},
		{"x,0,0,0,0", FloodLimits{}, false},
		{"70000,0,0,0,0", FloodLimits{}, false},
	} {
		got, err := ParseFloodLimits(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseFloodLimits(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok {
			if again, err := ParseFloodLimits(got.String()); err != nil || again != got {
				t.Errorf("%v does not survive String: %q", got, got.String())
			}
		}
	}
}

func TestLimitKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                "192.0.2.7",
		"::ffff:192.0.2.7":         "192.0.2.7",
		"2001:db8:1:2:aaaa::1":     "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::9%eth": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":          "2001:db8:1:3::/64",
		"not an address":           "not an address",
	} {
		if got := LimitKey(in); got != want {
			t.Errorf("LimitKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFloodWindowsSlide(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	f := newFloodLimiter(FloodLimits{3, 5, 0, 0, 0})
	for i := 0; i < 3; i++ {
		if err := f.take("192.0.2.1", now); err != nil {
			t.Fatalf("upload %d: %v", i+1, err)
		}
		now = now.Add(10 * time.Second)
	}
	if err := f.take("192.0.2.1", now); !isFlood(err, 3, ingest.Minute) {
		t.Fatalf("4th upload within a minute: %v", err)
	}
	if err := f.take("192.0.2.2", now); err != nil {
		t.Errorf("another address is limited too: %v", err)
	}
	// 61 s after the first upload it has left the minute window.
	now = now.Add(31 * time.Second)
	if err := f.take("192.0.2.1", now); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
	// A failed upload gives its count back.
	at := now
	now = now.Add(time.Minute)
	if err := f.take("192.0.2.1", at.Add(time.Minute)); err != nil {
		t.Fatalf("5th upload: %v", err)
	}
	f.undo("192.0.2.1", at.Add(time.Minute))
	if err := f.take("192.0.2.1", now); err != nil {
		t.Fatalf("after an undo: %v", err)
	}
	if err := f.take("192.0.2.1", now); !isFlood(err, 5, ingest.Hour) {
		t.Fatalf("6th upload within an hour: %v", err)
	}
	now = now.Add(time.Hour)
	if err := f.take("192.0.2.1", now); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}

func TestLimitersForgetBeyondTheirCap(t *testing.T) {
	now := time.Now()
	f := newFloodLimiter(FloodLimits{1, 0, 0, 0, 0})
	k := NewFailures(1, time.Minute)
	for i := 0; i < maxTrackedIPs+100; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
		f.take(ip, now)
		k.Fail(ip, now)
	}
	if f.ips.len() != maxTrackedIPs || k.ips.len() != maxTrackedIPs {
		t.Errorf("tracking %d and %d addresses, want at most %d", f.ips.len(), k.ips.len(), maxTrackedIPs)
	}
	// The newest are still limited, the oldest forgotten.
	if f.take("10.0.39.115", now) == nil { // i = maxTrackedIPs+99
		t.Error("newest address forgotten")
	}
	if f.take("10.0.0.0", now) != nil {
		t.Error("oldest address still tracked")
	}
}
