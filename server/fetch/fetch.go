// Package fetch downloads the URL sources of uploads without letting a
// client reach what the host can reach: only public addresses are dialled,
// checked on the address actually connected (so neither DNS rebinding nor a
// redirect reaches a private host), with caps on redirects, size and time.
// Its refusals are ingest's typed errors.
package fetch

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode"

	"picbed/ingest"
	"picbed/store"
)

// Default limits of URL uploads; each is a Fetcher field.
const (
	// fetchConnectTimeout bounds one TCP connect and the TLS handshake: a
	// host that drops SYNs must not hold an upload for the kernel's minutes.
	fetchConnectTimeout = 10 * time.Second
	// fetchTotalTimeout bounds the whole download, redirects and a
	// trickling body included (Chevereto allows 120 s; half is plenty).
	fetchTotalTimeout = 60 * time.Second
	// fetchMaxRedirects follows short link chains but not loops.
	fetchMaxRedirects = 5
	// fetchMaxHeaderBytes bounds the response headers of a fetched URL.
	fetchMaxHeaderBytes = 64 << 10
)

// errBlockedDial marks a connection Allow refused.
var errBlockedDial = errors.New("fetch: dial to a non-public address refused")

// Fetcher downloads URL sources. It connects only to addresses Allow
// accepts, checked on the address actually dialled (so DNS rebinding and
// redirects to private hosts are caught), ignores proxy settings, and caps
// redirects, size and time.
//
// Every connection, the first and each redirect's, goes the same way: the
// host is resolved once with Lookup (an IP literal is taken as is), each
// address is checked with Allow, and DialContext is given the checked
// address as an IP literal, never the name, so nothing resolves it again
// between the check and the connect. The default DialContext checks Allow
// once more in the dialer's Control hook on the socket address being
// connected.
type Fetcher struct {
	// Allow decides whether an address may be dialled; nil accepts only
	// public unicast addresses (IsPublicAddr).
	Allow func(netip.Addr) bool
	// Lookup resolves a host name; nil means the system resolver. Tests
	// map "public" names to loopback servers with it.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// DialContext connects to an "IP:port" that Allow accepted; nil means a
	// net.Dialer whose Control hook checks Allow again. Tests use a dialer
	// that fails the test on any address beyond loopback.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// ConnectTimeout bounds each connect and TLS handshake (0: 10 s); the
	// response headers must arrive within three times it.
	ConnectTimeout time.Duration
	// TotalTimeout bounds a whole fetch, body included (0: 60 s).
	TotalTimeout time.Duration
	// MaxRedirects is how many redirects are followed (0: 5).
	MaxRedirects int
}

// NewFetcher returns a fetcher that dials public addresses only.
func NewFetcher() *Fetcher {
	return &Fetcher{Allow: IsPublicAddr}
}

// IsPublicAddr reports whether ip is a public unicast address: not
// loopback, private (RFC 1918, IPv6 ULA), link-local (incl. cloud metadata
// 169.254.169.254), CGNAT, multicast, unspecified, documentation,
// benchmarking or reserved ranges, and not an IPv4-mapped, IPv4-compatible,
// IPv4-translated, 6to4, Teredo or NAT64 form of any address (NAT64 and
// 6to4 gateways would forward to whatever IPv4 address is embedded, and
// the embedded address is not checked, so these are refused as a whole).
// IPv6 addresses outside 2000::/3, the only block IANA allocates for global
// unicast, are never public.
func IsPublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() ||
		ip.IsUnspecified() || !ip.IsGlobalUnicast() {
		return false
	}
	if ip.Is6() && !globalUnicast6.Contains(ip) {
		return false
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var globalUnicast6 = netip.MustParsePrefix("2000::/3")

var nonPublicPrefixes = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16",
		"3fff::/20", "fc00::/7", "fec0::/10",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// allow is Allow, or IsPublicAddr when Allow is nil.
func (f *Fetcher) allow(ip netip.Addr) bool {
	if f.Allow == nil {
		return IsPublicAddr(ip)
	}
	return f.Allow(ip)
}

func (f *Fetcher) connectTimeout() time.Duration {
	if f.ConnectTimeout > 0 {
		return f.ConnectTimeout
	}
	return fetchConnectTimeout
}

// dial resolves addr's host, skips every address Allow refuses and connects
// to the first allowed one that answers, by its IP literal. It returns an
// error wrapping errBlockedDial when Allow refused every address.
func (f *Fetcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if f.Lookup != nil {
		ips, err = f.Lookup(ctx, host)
		if err != nil {
			return nil, err
		}
	} else {
		ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
	}
	inner := f.DialContext
	if inner == nil {
		d := &net.Dialer{
			Timeout: f.connectTimeout(),
			Control: func(_, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil || !f.allow(ap.Addr()) {
					return errBlockedDial
				}
				return nil
			},
		}
		inner = d.DialContext
	}
	lastErr := fmt.Errorf("%w: %s has no allowed address", errBlockedDial, host)
	for _, ip := range ips {
		ip = ip.Unmap()
		if !f.allow(ip) {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, f.connectTimeout())
		conn, err := inner(dctx, network, net.JoinHostPort(ip.String(), port))
		cancel()
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func (f *Fetcher) client() *http.Client {
	total := f.TotalTimeout
	if total <= 0 {
		total = fetchTotalTimeout
	}
	maxRedirects := f.MaxRedirects
	if maxRedirects <= 0 {
		maxRedirects = fetchMaxRedirects
	}
	return &http.Client{
		Timeout: total,
		Transport: &http.Transport{
			Proxy:                  nil, // a proxy would hide the address actually reached
			DialContext:            f.dial,
			TLSHandshakeTimeout:    f.connectTimeout(),
			ResponseHeaderTimeout:  f.connectTimeout() * 3,
			MaxResponseHeaderBytes: fetchMaxHeaderBytes,
			DisableKeepAlives:      true,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return &ingest.URLSchemeError{Scheme: req.URL.Scheme}
			}
			return nil
		},
	}
}

// Fetch downloads rawURL into w, refusing more than maxBytes with an
// *ingest.TooBigError. It returns the bytes written and the URL's file name
// (its last path element). Other refusals: *ingest.URLSchemeError,
// ingest.ErrURLNonPublic, ingest.ErrNoSpace when w's disk is full, and
// ingest.ErrFetchFailed for anything else that keeps the download from
// completing (bad URL, unreachable host, a status other than 200).
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, w io.Writer, maxBytes int64) (int64, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return 0, "", ingest.ErrFetchFailed
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return 0, "", &ingest.URLSchemeError{Scheme: u.Scheme}
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !f.allow(ip) {
		return 0, "", ingest.ErrURLNonPublic
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, "", ingest.ErrFetchFailed
	}
	req.Header.Set("User-Agent", "picbed (URL upload)")
	resp, err := f.client().Do(req)
	if err != nil {
		var se *ingest.URLSchemeError
		switch {
		case errors.Is(err, errBlockedDial):
			return 0, "", ingest.ErrURLNonPublic
		case errors.As(err, &se):
			return 0, "", se
		}
		return 0, "", ingest.ErrFetchFailed
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, "", ingest.ErrFetchFailed
	}
	if resp.ContentLength > maxBytes {
		return 0, "", &ingest.TooBigError{Limit: maxBytes}
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		if ingest.IsNoSpace(err) {
			return 0, "", ingest.ErrNoSpace
		}
		return 0, "", ingest.ErrFetchFailed
	}
	if n > maxBytes {
		return 0, "", &ingest.TooBigError{Limit: maxBytes}
	}
	name := ingest.BaseName(resp.Request.URL.Path)
	return n, name, nil
}

// Source is an upload source given as a URL, downloaded by Fetcher when
// staged. SiteHost is the host the request came to: a URL on it is
// refused with ingest.ErrURLSelf (the host fetching itself gains nothing and
// would bypass the per-address limits).
type Source struct {
	URL      string
	SiteHost string
	Fetcher  *Fetcher
}

// Stage downloads the URL into up's source file. It refuses with
// ingest.ErrURLForbidden while p.URLUploads is off, then as Fetch does.
func (s Source) Stage(ctx context.Context, up *store.Upload, p ingest.Policies) (*ingest.Staged, error) {
	if !p.URLUploads {
		return nil, ingest.ErrURLForbidden
	}
	if u, err := url.Parse(s.URL); err == nil && strings.EqualFold(u.Host, s.SiteHost) {
		return nil, ingest.ErrURLSelf
	}
	f, err := up.Source()
	if err != nil {
		return nil, err
	}
	h := md5.New()
	n, name, err := s.Fetcher.Fetch(ctx, s.URL, io.MultiWriter(f, h), p.MaxUpload)
	if err != nil {
		return nil, err
	}
	return &ingest.Staged{File: f, Size: n, MD5: hex.EncodeToString(h.Sum(nil)), Name: name}, nil
}

// LooksLikeURL says whether a source string is meant as a URL rather than
// base64: base64 never contains "://".
func LooksLikeURL(v string) bool {
	i := strings.Index(v, "://")
	if i <= 0 || i > 10 {
		return false
	}
	for _, c := range v[:i] {
		if !unicode.IsLetter(c) {
			return false
		}
	}
	return true
}
