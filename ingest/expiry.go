package ingest

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Bounds of auto-delete: an expiration asked for is clamped into them, as
// Chevereto V4 offers 5 minutes to 1 year.
const (
	MinExpiry = 5 * time.Minute
	MaxExpiry = 365 * 24 * time.Hour
)

// ExpiresAt is the expiry instant of an auto-delete after d, clamped to
// MinExpiry..MaxExpiry, in whole UTC seconds.
func ExpiresAt(now time.Time, d time.Duration) time.Time {
	d = min(max(d, MinExpiry), MaxExpiry)
	return now.Add(d).UTC().Truncate(time.Second)
}

// ParseExpiration reads an ISO-8601 duration (PT5M, P3D, P1Y2M...) or a
// number of seconds. Years and months count as 365 and 30 days. Values past
// MaxExpiry give MaxExpiry; ok is false for "", "0", negative or unreadable
// text (no expiration).
func ParseExpiration(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0, false
		}
		if n > int64(MaxExpiry/time.Second) {
			return MaxExpiry, true
		}
		return time.Duration(n) * time.Second, true
	} else if errors.Is(err, strconv.ErrRange) && v[0] != '-' {
		return MaxExpiry, true // more seconds than int64 holds: clamp, like any other huge value
	}
	v = strings.ToUpper(v)
	if !strings.HasPrefix(v, "P") || len(v) < 3 {
		return 0, false
	}
	var total time.Duration
	inTime := false
	num := ""
	for _, c := range v[1:] {
		switch {
		case c == 'T':
			if inTime || num != "" {
				return 0, false
			}
			inTime = true
		case c >= '0' && c <= '9':
			num += string(c)
			if len(num) > 9 {
				return 0, false
			}
		default:
			if num == "" {
				return 0, false
			}
			n, _ := strconv.Atoi(num)
			num = ""
			var unit time.Duration
			switch {
			case !inTime && c == 'Y':
				unit = 365 * 24 * time.Hour
			case !inTime && c == 'M':
				unit = 30 * 24 * time.Hour
			case !inTime && c == 'W':
				unit = 7 * 24 * time.Hour
			case !inTime && c == 'D':
				unit = 24 * time.Hour
			case inTime && c == 'H':
				unit = time.Hour
			case inTime && c == 'M':
				unit = time.Minute
			case inTime && c == 'S':
				unit = time.Second
			default:
				return 0, false
			}
			if time.Duration(n) > MaxExpiry/unit {
				total = MaxExpiry // n*unit would overflow
			} else {
				total += time.Duration(n) * unit
			}
			if total > MaxExpiry {
				total = MaxExpiry
			}
		}
	}
	if num != "" || total <= 0 {
		return 0, false
	}
	return total, true
}
