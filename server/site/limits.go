package site

import (
	"container/list"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"picbed/ingest"
)

// Per-IP limits of the API. Both live in memory only: a restart forgets
// them, which is acceptable for limits whose windows are minutes (failed
// keys) and whose purpose is to stop runaway scripts (floods), not to meter
// usage. Memory is bounded by the number of addresses tracked; when that is
// exceeded the address seen least recently is forgotten.
const (
	// DefaultMaxKeyFailures failed keys per DefaultKeyFailureWindow from one
	// address block further API requests from it. Keys have 160 random
	// bits, so this is not what keeps them safe; it keeps a scanner from
	// filling the logs and using the upload path as a guessing oracle.
	DefaultMaxKeyFailures = 10
	// DefaultKeyFailureWindow is the sliding window failures are counted
	// in; a blocked address is let in again once its oldest counted failure
	// is older than this.
	DefaultKeyFailureWindow = 10 * time.Minute
	// DefaultKeyFailureDelay is how long a refused key of a blocked address
	// waits for its answer: a scanner gets a guess a second per
	// connection, and a valid key is never delayed.
	DefaultKeyFailureDelay = time.Second
	// maxTrackedIPs bounds each limiter's table. A failure entry holds at
	// most DefaultMaxKeyFailures times (~250 B), a flood entry 5 windows of
	// floodBuckets 16-bit counters (~700 B): a few MB at most.
	maxTrackedIPs = 10_000
	// floodBuckets is the resolution of the flood windows: a "minute" is
	// counted in 60 one-second buckets, a "month" in 60 twelve-hour ones,
	// so a count may include uploads up to 1/60 of the period older.
	floodBuckets = 60
	// ipv6LimitPrefix is the IPv6 block treated as one client: a single
	// host usually gets a whole /64 and can pick any address in it.
	ipv6LimitPrefix = 64
)

// FloodLimits are the most images one address may upload per minute, hour,
// day, week and month; 0 means no limit for that period.
type FloodLimits [5]int

// DefaultFloodLimits are Chevereto's defaults: 50 a minute, 500 an hour,
// 1,000 a day, 5,000 a week and 10,000 a month.
var DefaultFloodLimits = FloodLimits{50, 500, 1000, 5000, 10000}

// ErrBadFloodLimits is returned by ParseFloodLimits for text it cannot read.
var ErrBadFloodLimits = errors.New(`want 5 comma-separated counts per minute,hour,day,week,month (0 = no limit), or "off"`)

// ParseFloodLimits reads "50,500,1000,5000,10000" (per minute, hour, day,
// week, month; 0 = no limit for that period) or "off" (no limits). It
// returns ErrBadFloodLimits for anything else.
func ParseFloodLimits(s string) (FloodLimits, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return FloodLimits{}, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != len(ingest.Periods) {
		return FloodLimits{}, ErrBadFloodLimits
	}
	var l FloodLimits
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 || n > math.MaxUint16 {
			return FloodLimits{}, ErrBadFloodLimits
		}
		l[i] = n
	}
	return l, nil
}

// String formats l as ParseFloodLimits reads it.
func (l FloodLimits) String() string {
	if l == (FloodLimits{}) {
		return "off"
	}
	s := make([]string, len(l))
	for i, n := range l {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// LimitKey is the table key of a client address: the address itself for
// IPv4 (and IPv4-mapped IPv6), its /64 for IPv6, the text as is when it is
// not an address.
func LimitKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, ipv6LimitPrefix).Masked().String()
	}
	return a.String()
}

// lru is a map from address keys to values that forgets the least recently
// used key beyond max entries. It is not safe for concurrent use.
type lru[V any] struct {
	max   int
	items map[string]*list.Element
	order list.List // front: most recently used
}

type lruEntry[V any] struct {
	key string
	val V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, items: make(map[string]*list.Element)}
}

// get returns key's value, marking it used; ok is false when it is absent.
func (c *lru[V]) get(key string) (v V, ok bool) {
	e, ok := c.items[key]
	if !ok {
		return v, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).val, true
}

// getOrAdd returns key's value, adding make() when it is absent and
// forgetting the least recently used key if the table is full.
func (c *lru[V]) getOrAdd(key string, make func() V) V {
	if v, ok := c.get(key); ok {
		return v
	}
	if c.order.Len() >= c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.items, old.Value.(*lruEntry[V]).key)
	}
	v := make()
	c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, val: v})
	return v
}

func (c *lru[V]) len() int { return c.order.Len() }

// Failures counts failures (wrong API keys, wrong passwords) per key in a
// sliding window; a key is a client address (see Fail) or any other text,
// such as an account name. It is safe for concurrent use.
type Failures struct {
	mu     sync.Mutex
	max    int // <= 0: never block
	window time.Duration
	ips    *lru[*[]time.Time] // failure times within the window, oldest first, at most max
}

// NewFailures returns a counter that blocks a key after max failures within
// window; max <= 0 never blocks.
func NewFailures(max int, window time.Duration) *Failures {
	return &Failures{max: max, window: window, ips: newLRU[*[]time.Time](maxTrackedIPs)}
}

// Blocked reports whether ip has max failures within the window before
// now, and for how much longer.
func (k *Failures) Blocked(ip string, now time.Time) (time.Duration, bool) {
	if k.max <= 0 {
		return 0, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ts, ok := k.ips.get(LimitKey(ip))
	if !ok {
		return 0, false
	}
	*ts = k.prune(*ts, now)
	if len(*ts) < k.max {
		return 0, false
	}
	return (*ts)[0].Add(k.window).Sub(now), true
}

// Fail records a failure of ip at now, and reports whether it is the one
// that blocks ip. An IPv6 address counts for its whole /64, the block one
// host usually gets.
func (k *Failures) Fail(ip string, now time.Time) (blocks bool) {
	if k.max <= 0 {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ts := k.ips.getOrAdd(LimitKey(ip), func() *[]time.Time { return new([]time.Time) })
	*ts = k.prune(*ts, now)
	before := len(*ts)
	*ts = append(*ts, now)
	if len(*ts) > k.max {
		*ts = (*ts)[len(*ts)-k.max:]
	}
	return before == k.max-1
}

// Len returns how many keys are tracked: at most the table's bound.
func (k *Failures) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.ips.len()
}

// prune drops the failures that left the window.
func (k *Failures) prune(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-k.window)) {
		i++
	}
	return ts[i:]
}

// window counts events of the last floodBuckets buckets of width each.
type window struct {
	last   int64 // absolute number of the newest bucket
	counts [floodBuckets]uint16
}

// advance moves the window to bucket b, clearing the buckets it passes.
// A clock that went back counts in the newest bucket.
func (w *window) advance(b int64) {
	if b <= w.last {
		return
	}
	if b-w.last >= floodBuckets {
		w.counts = [floodBuckets]uint16{}
	} else {
		for i := w.last + 1; i <= b; i++ {
			w.counts[i%floodBuckets] = 0
		}
	}
	w.last = b
}

func (w *window) sum() int {
	n := 0
	for _, c := range w.counts {
		n += int(c)
	}
	return n
}

// floodLimiter counts uploads per address in one window per period.
type floodLimiter struct {
	mu     sync.Mutex
	limits FloodLimits
	ips    *lru[*[5]window]
}

func newFloodLimiter(l FloodLimits) *floodLimiter {
	return &floodLimiter{limits: l, ips: newLRU[*[5]window](maxTrackedIPs)}
}

// bucket is the absolute bucket number of t in period i.
func bucket(i int, t time.Time) int64 {
	return t.UnixNano() / int64(ingest.Periods[i].D/floodBuckets)
}

// take counts an upload by ip at now unless that would pass a limit; then
// it returns the *ingest.FloodError naming the first period whose limit is
// reached.
// An upload that then fails is given back with undo(ip, now).
func (f *floodLimiter) take(ip string, now time.Time) error {
	if f.limits == (FloodLimits{}) {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ws := f.ips.getOrAdd(LimitKey(ip), func() *[5]window { return new([5]window) })
	for i, limit := range f.limits {
		if limit <= 0 {
			continue
		}
		ws[i].advance(bucket(i, now))
		if ws[i].sum() >= limit {
			return &ingest.FloodError{Limit: limit, Period: ingest.Period(i)}
		}
	}
	for i, limit := range f.limits {
		if limit > 0 {
			if c := &ws[i].counts[ws[i].last%floodBuckets]; *c < math.MaxUint16 {
				*c++
			}
		}
	}
	return nil
}

// undo gives back an upload take counted at "at", if its bucket is still
// in the window.
func (f *floodLimiter) undo(ip string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ws, ok := f.ips.get(LimitKey(ip))
	if !ok {
		return
	}
	for i, limit := range f.limits {
		b := bucket(i, at)
		if limit <= 0 || b > ws[i].last || ws[i].last-b >= floodBuckets {
			continue
		}
		if c := &ws[i].counts[b%floodBuckets]; *c > 0 {
			*c--
		}
	}
}
