package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// handleHome shows the upload page, the home page of the site.
func (s *Server) handleHome(c echo.Context) error {
	return s.render(c, http.StatusOK, "home.html", pageData{Title: s.t(visitorOf(c), "Upload images"), Nav: "upload"})
}
