package server

import (
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes builds the routing table. Everything a client can reach is listed
// here, grouped by who may call it.
//
// Image files (/images/YYYY/MM/DD/NAME.EXT) do not pass through echo: see
// ServeHTTP and files.go.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = s.ipExtractor()
	e.HTTPErrorHandler = s.pageErrorHandler

	// Anyone: the Chevereto API v1 authenticates each request by its key.
	// Both path forms answer directly: a redirect would lose a POST body.
	for _, p := range []string{"/api/:version/:action", "/api/:version/:action/"} {
		e.Match([]string{http.MethodGet, http.MethodPost}, p, s.handleAPIUpload)
	}

	// Anyone: public pages.
	getHead := []string{http.MethodGet, http.MethodHead}
	e.Match(getHead, "/", s.handleHome)
	e.Match(getHead, "/static/*", s.handleStatic)
	e.Match(getHead, "/image/:slugid", s.handleViewer)

	// Holders of an image's delete token: the token is the credential.
	e.GET("/image/:id/delete/:token", s.handleDeleteConfirm)
	e.POST("/image/:id/delete/:token", s.handleDelete)
	return e
}

// ipExtractor returns the client address: the peer itself, or the
// X-Forwarded-For entry a configured proxy vouches for. Echo would trust any
// private address by default; picbed trusts only the configured prefixes.
func (s *Server) ipExtractor() echo.IPExtractor {
	if len(s.cfg.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range s.cfg.TrustedProxies {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{
			IP:   net.IP(p.Masked().Addr().AsSlice()),
			Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
		}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
