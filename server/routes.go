package server

import (
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Compression of pages and static assets.
const (
	// gzipLevel trades a little size for speed: level 5 gets most of
	// level 9's gain on HTML and JS at a fraction of the CPU (a Pi serves
	// these too).
	gzipLevel = 5
	// gzipMinLength leaves short answers (redirects, small JSON) as they
	// are: gzip's overhead would eat the gain.
	gzipMinLength = 1024
)

// routes builds the routing table. Everything a client can reach is listed
// here, grouped by who may call it.
//
// Image files (/images/YYYY/MM/DD/NAME.EXT) do not pass through echo: see
// ServeHTTP and package imagefiles.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = s.ipExtractor()
	e.HTTPErrorHandler = s.pageErrorHandler

	// Anyone: the Chevereto API v1 authenticates each request by its key.
	// Both path forms answer directly: a redirect would lose a POST body.
	// No cookies, no CSRF token: the key is the credential.
	for _, p := range []string{"/api/:version/:action", "/api/:version/:action/"} {
		e.Match([]string{http.MethodGet, http.MethodPost}, p, s.chevereto.HandleUpload)
	}
	getHead := []string{http.MethodGet, http.MethodHead}

	// The Lsky Pro API (server/api/lsky), 2.x and 1.x. No cookies, no CSRF
	// token: a token (a picbed API key) is the credential. The settings
	// page's dialect switch wraps these routes: while the admin has Lsky
	// off, they answer s.lsky.Off (2.x) and s.lsky.OffV1 (1.x).
	// Anyone: an upload without a token is a guest's (refused while guest
	// uploads are off); a token request checks a password (throttled with
	// the web login); the strategy list is public in Lsky.
	e.POST("/api/v1/upload", s.lsky.HandleUpload)
	e.POST("/api/v1/tokens", s.lsky.HandleCreateToken)
	e.Match(getHead, "/api/v1/strategies", s.lsky.HandleStrategies)
	e.POST("/api/upload", s.lsky.HandleV1Upload) // Lsky 1.x: header "token"
	// Holders of a token: only the token user's images and albums.
	token := s.lsky.RequireToken
	e.Match(getHead, "/api/v1/images", s.lsky.HandleImages, token)
	e.DELETE("/api/v1/images/:key", s.lsky.HandleDeleteImage, token)
	e.Match(getHead, "/api/v1/albums", s.lsky.HandleAlbums, token)
	e.DELETE("/api/v1/albums/:id", s.lsky.HandleDeleteAlbum, token)
	e.Match(getHead, "/api/v1/profile", s.lsky.HandleProfile, token)
	e.DELETE("/api/v1/tokens", s.lsky.HandleDeleteTokens, token)
	// Everything else under /api/v1/ (CORS preflights, other methods,
	// unknown paths) gets Lsky's (Laravel's) answer, not Chevereto's.
	e.Any("/api/v1/*", s.lsky.HandleUnknown)

	// Pages, scripts and styles are compressed for browsers that ask; API
	// answers and image files never are (clients and images gain nothing).
	gz := middleware.GzipWithConfig(middleware.GzipConfig{
		Level:     gzipLevel,
		MinLength: gzipMinLength,
		Skipper:   func(c echo.Context) bool { return c.Request().Header.Get("Range") != "" },
	})
	e.Match(getHead, "/static/*", s.handleStatic, gz)

	// Holders of an image's delete token: the unguessable token in the URL
	// is the credential, so a CSRF token would add nothing; API clients and
	// scripts POST to it without a browser session.
	e.GET("/image/:id/delete/:token", s.handleDeleteConfirm, s.loadVisitor)
	e.POST("/image/:id/delete/:token", s.handleDelete, s.loadVisitor)

	// Browser routes: every one knows its visitor (session or guest
	// cookie), every POST carries the CSRF token, and until an admin
	// exists every page leads to the installer.
	b := e.Group("", gz, s.loadVisitor, s.checkCSRF(true), s.firstRun)
	// The web upload alone takes a large body: its own limits apply
	// (parseAPIBody), not the 1 MB of every other browser request.
	e.POST("/upload", s.handleWebUpload, gz, s.loadVisitor, s.checkCSRF(false), s.firstRun) // session or guest; refuses guests while guest uploads are off

	// Anyone.
	b.Match(getHead, "/", s.handleHome)
	b.Match(getHead, "/upload", s.handleUploadPage)
	b.Match(getHead, "/image/:slugid", s.handleViewer)
	// Albums follow their privacy (ui_albums.go); edit tools check the owner.
	b.Match(getHead, "/album/:slugid", s.handleAlbum)
	b.POST("/album/:id/unlock", s.handleAlbumUnlock)
	b.POST("/lang", s.handleLang)
	b.GET("/setup", s.handleSetupForm)
	b.POST("/setup", s.handleSetup)
	b.GET("/login", s.handleLoginForm)
	b.POST("/login", s.handleLogin)
	b.POST("/logout", s.handleLogout)
	b.GET("/signup", s.handleSignupForm)
	b.POST("/signup", s.handleSignup)

	// Logged-in users. (Per-route middleware, not a nested group: a
	// group's middleware would also claim every unknown path.)
	user := s.requireUser
	b.GET("/account", s.handleAccount, user)
	b.POST("/account/password", s.handlePassword, user)
	b.POST("/account/email", s.handleEmail, user)
	// Albums and My images: only the visitor's own images and albums (or,
	// for the edit tools, an admin); anything else is a 404.
	b.GET("/my", s.handleMy, user)
	b.POST("/my/delete", s.handleMyDelete, user)
	b.GET("/albums", s.handleAlbums, user)
	b.POST("/albums", s.handleAlbumCreate, user)
	b.POST("/albums/move", s.handleAlbumMove, user)
	b.GET("/albums.json", s.handleAlbumsJSON, user)
	b.GET("/album/:id/edit", s.handleAlbumEditForm, user)
	b.POST("/album/:id/edit", s.handleAlbumEdit, user)
	b.POST("/album/:id/delete", s.handleAlbumDelete, user)
	b.POST("/image/:id/edit", s.handleImageEdit, user)
	b.POST("/image/:id/delete", s.handleImageDelete, user)
	b.GET("/settings/api", s.handleAPIKey, user)
	b.POST("/settings/api/regenerate", s.handleAPIKeyRegenerate, user)
	b.POST("/settings/api/sharex", s.handleShareX, user)

	// Admins.
	admin := s.requireAdmin
	b.GET("/admin", s.handleAdminSettings, admin)
	b.POST("/admin", s.handleAdminSettingsSave, admin)
	b.GET("/admin/users", s.handleAdminUsers, admin)
	b.POST("/admin/users", s.handleAdminUserAdd, admin)
	b.POST("/admin/users/:id/disabled", s.handleAdminUserDisabled, admin)
	b.POST("/admin/users/:id/admin", s.handleAdminUserAdmin, admin)
	b.POST("/admin/users/:id/delete", s.handleAdminUserDelete, admin)
	b.POST("/admin/users/:id/password", s.handleAdminUserPassword, admin)
	return e
}

// ipExtractor returns the client address: the peer itself, or the
// X-Forwarded-For entry a configured proxy vouches for. Echo would trust any
// private address by default; picbed trusts only the configured prefixes.
func (s *Server) ipExtractor() echo.IPExtractor {
	if len(s.cfg.Site.TrustedProxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range s.cfg.Site.TrustedProxies {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{
			IP:   net.IP(p.Masked().Addr().AsSlice()),
			Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
		}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
