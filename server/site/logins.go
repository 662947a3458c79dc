package site

import (
	"strings"
	"time"
)

// Login throttling: failed password checks are counted per client address
// (its /64 for IPv6) and per account name, so neither one address trying
// many accounts nor many addresses trying one account get far. Every door
// that checks a password (the web login, an API's token request) counts in
// the same tables: a second door adds no attempts.
const (
	// MaxLoginFailures failed logins within LoginFailureWindow block
	// further logins of the address or the account.
	MaxLoginFailures = 10
	// LoginFailureWindow is the sliding window failures are counted in.
	LoginFailureWindow = 15 * time.Minute
	// MaxSignupsPerWindow bounds accounts created from one address within
	// LoginFailureWindow.
	MaxSignupsPerWindow = 5
)

// Logins are the throttling tables of password checks: ByIP per client
// address, ByName per account (and per known device), Signups per address
// of accounts made. It is safe for concurrent use.
type Logins struct {
	ByIP, ByName, Signups *Failures
}

// NewLogins returns empty tables with the limits above.
func NewLogins() *Logins {
	return &Logins{
		ByIP:    NewFailures(MaxLoginFailures, LoginFailureWindow),
		ByName:  NewFailures(MaxLoginFailures, LoginFailureWindow),
		Signups: NewFailures(MaxSignupsPerWindow, LoginFailureWindow),
	}
}

// Blocked reports whether a login from ip for subject (an account name)
// must wait, and how long. device is the browser's known-device key for
// the account, or "": a browser that logged in to the account before is
// not stopped by the account's count (which anyone can run up with wrong
// passwords from anywhere, to lock its owner out), only by its own and its
// address's.
func (l *Logins) Blocked(ip, subject, device string, now time.Time) (time.Duration, bool) {
	if d, ok := l.ByIP.Blocked(ip, now); ok {
		return d, true
	}
	if device != "" {
		return l.ByName.Blocked(device, now)
	}
	return l.ByName.Blocked("user:"+strings.ToLower(subject), now)
}

// Fail counts a failed login from ip for subject (and device, when known).
func (l *Logins) Fail(ip, subject, device string, now time.Time) {
	l.ByIP.Fail(ip, now)
	l.ByName.Fail("user:"+strings.ToLower(subject), now)
	if device != "" {
		l.ByName.Fail(device, now)
	}
}
