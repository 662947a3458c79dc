package server

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

	"picbed/store"
)

// Limits of URL uploads.
const (
	fetchConnectTimeout = 10 * time.Second
	fetchTotalTimeout   = 60 * time.Second
	// fetchMaxRedirects follows short link chains but not loops.
	fetchMaxRedirects = 5
)

// Errors of URL uploads (Chevereto V4 wording, spec 3.2).
var (
	errURLNonPublic = &apiError{"Unsupported non-public IP address for upload", 400, ctxUpload}
	errURLSelf      = &apiError{"Unsupported self host URL upload", 400, ctxUpload}
	errBlockedDial  = errors.New("server: dial to a non-public address refused")
)

// Fetcher downloads URL sources. It connects only to addresses Allow
// accepts, checked on the address actually dialled (so DNS rebinding and
// redirects to private hosts are caught), ignores proxy settings, and caps
// redirects, size and time.
type Fetcher struct {
	// Allow decides whether an address may be dialled. The default accepts
	// only public unicast addresses.
	Allow func(netip.Addr) bool
	// Lookup and DialContext, when both are set, replace name resolution
	// and the network dial: names resolve through Lookup, every address is
	// checked with Allow, and DialContext connects to the first. Tests use
	// them to map "public" names to loopback servers and to fail on any
	// attempt to reach beyond loopback. When unset, the system resolver is
	// used and Allow runs in the dialer's Control hook on the very address
	// being connected.
	Lookup      func(ctx context.Context, host string) ([]netip.Addr, error)
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// NewFetcher returns a fetcher that dials public addresses only.
func NewFetcher() *Fetcher {
	return &Fetcher{Allow: IsPublicAddr}
}

// IsPublicAddr reports whether ip is a public unicast address: not
// loopback, private (RFC 1918, IPv6 ULA), link-local (incl. cloud metadata
// 169.254.169.254), CGNAT, multicast, unspecified, documentation,
// benchmarking or reserved ranges, and not an IPv4-mapped or NAT64 form of
// one of them.
func IsPublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() ||
		ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var nonPublicPrefixes = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "fc00::/7", "fec0::/10",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

func (f *Fetcher) client() *http.Client {
	d := &net.Dialer{
		Timeout: fetchConnectTimeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !f.Allow(ap.Addr()) {
				return errBlockedDial
			}
			return nil
		},
	}
	dial := d.DialContext
	if f.DialContext != nil && f.Lookup != nil {
		inner := f.DialContext
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			// Resolve and check here as the real dialer's Control would.
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ips, err := f.Lookup(ctx, host)
			if err != nil {
				return nil, err
			}
			for _, ip := range ips {
				if !f.Allow(ip) {
					return nil, errBlockedDial
				}
			}
			if len(ips) == 0 {
				return nil, errBlockedDial
			}
			return inner(ctx, network, net.JoinHostPort(ips[0].Unmap().String(), port))
		}
	}
	return &http.Client{
		Timeout: fetchTotalTimeout,
		Transport: &http.Transport{
			Proxy:                 nil, // a proxy would hide the address actually reached
			DialContext:           dial,
			TLSHandshakeTimeout:   fetchConnectTimeout,
			ResponseHeaderTimeout: fetchConnectTimeout * 3,
			DisableKeepAlives:     true,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= fetchMaxRedirects {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return errURLScheme(req.URL.Scheme)
			}
			return nil
		},
	}
}

func errURLScheme(scheme string) *apiError {
	return &apiError{fmt.Sprintf("Unsupported URL scheme `%s`", scheme), 400, ctxUpload}
}

// Fetch downloads rawURL into w, refusing more than maxBytes. It returns
// the bytes written and the URL's file name.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, w io.Writer, maxBytes int64) (int64, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return 0, "", errNoSourceInfo
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return 0, "", errURLScheme(u.Scheme)
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !f.Allow(ip) {
		return 0, "", errURLNonPublic
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, "", errNoSourceInfo
	}
	req.Header.Set("User-Agent", "picbed (URL upload)")
	resp, err := f.client().Do(req)
	if err != nil {
		var ae *apiError
		switch {
		case errors.Is(err, errBlockedDial):
			return 0, "", errURLNonPublic
		case errors.As(err, &ae):
			return 0, "", ae
		}
		return 0, "", errNoSourceInfo
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, "", errNoSourceInfo
	}
	if resp.ContentLength > maxBytes {
		return 0, "", errTooBig(maxBytes)
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		if isNoSpace(err) {
			return 0, "", errNoSpace
		}
		return 0, "", errNoSourceInfo
	}
	if n > maxBytes {
		return 0, "", errTooBig(maxBytes)
	}
	name := baseName(resp.Request.URL.Path)
	return n, name, nil
}

// fetchSource downloads a URL source into the upload's staging file.
func (s *Server) fetchSource(r *http.Request, rawURL string, up *store.Upload) (*receivedFile, error) {
	if u, err := url.Parse(rawURL); err == nil && strings.EqualFold(u.Host, r.Host) {
		return nil, errURLSelf
	}
	f, err := up.Source()
	if err != nil {
		return nil, err
	}
	h := md5.New()
	n, name, err := s.fetch.Fetch(r.Context(), rawURL, io.MultiWriter(f, h), s.cfg.MaxUpload)
	if err != nil {
		return nil, err
	}
	return &receivedFile{f: f, size: n, md5: hex.EncodeToString(h.Sum(nil)), name: name}, nil
}
