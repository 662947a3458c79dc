package server

import (
	"fmt"
	"time"

	"picbed/imaging"
	"picbed/store"
)

// DefaultSiteName is the site name until an admin sets one.
const DefaultSiteName = "picbed"

// siteSettings are the settings an admin can change while the server runs.
// A value is never modified after it is published: a change publishes a new
// one, so a request reads one consistent snapshot through s.site().
type siteSettings struct {
	SiteName      string
	GuestUploads  bool
	Signups       bool
	URLUploads    bool
	MaxUpload     int64
	EXIF          imaging.EXIFPolicy
	Duplicates    DuplicatePolicy
	DefaultExpiry time.Duration
	ImageBaseURL  string // without a trailing slash; "" = site URL + /images
}

// site returns the current settings snapshot.
func (s *Server) site() *siteSettings { return s.settings.Load() }

// settingsFromConfig are the settings of an install whose admin never saved
// the settings page: the command line flags.
func settingsFromConfig(cfg Config) *siteSettings {
	return &siteSettings{
		SiteName:     DefaultSiteName,
		URLUploads:   cfg.URLUploads,
		MaxUpload:    cfg.MaxUpload,
		EXIF:         cfg.EXIF,
		Duplicates:   cfg.Duplicates,
		ImageBaseURL: cfg.ImageBaseURL,
	}
}

// loadSettings returns the saved settings, or the flags' when none were
// saved. Saved settings win over flags: the admin page is where an install
// is configured once it runs.
func loadSettings(st *store.Store, cfg Config) (*siteSettings, error) {
	saved, ok, err := st.Settings()
	if err != nil {
		return nil, fmt.Errorf("server: load settings: %w", err)
	}
	if !ok {
		return settingsFromConfig(cfg), nil
	}
	return fromStoreSettings(saved), nil
}

func fromStoreSettings(v store.Settings) *siteSettings {
	out := &siteSettings{
		SiteName:      v.SiteName,
		GuestUploads:  v.GuestUploads,
		Signups:       v.Signups,
		URLUploads:    v.URLUploads,
		MaxUpload:     v.MaxUpload,
		EXIF:          imaging.StripEXIF,
		Duplicates:    DuplicatePolicy(v.Duplicates),
		DefaultExpiry: v.DefaultExpiry,
		ImageBaseURL:  v.ImageBaseURL,
	}
	if v.EXIF == "keep" {
		out.EXIF = imaging.KeepEXIF
	}
	if out.SiteName == "" {
		out.SiteName = DefaultSiteName
	}
	if out.Duplicates == "" {
		out.Duplicates = DuplicatesReuse
	}
	if out.MaxUpload <= 0 {
		out.MaxUpload = DefaultMaxUpload
	}
	return out
}

func (v *siteSettings) toStore() store.Settings {
	exif := "strip"
	if v.EXIF == imaging.KeepEXIF {
		exif = "keep"
	}
	return store.Settings{
		SiteName: v.SiteName, GuestUploads: v.GuestUploads, Signups: v.Signups,
		URLUploads: v.URLUploads, MaxUpload: v.MaxUpload, EXIF: exif,
		Duplicates: string(v.Duplicates), DefaultExpiry: v.DefaultExpiry, ImageBaseURL: v.ImageBaseURL,
	}
}

// saveSettings stores v and publishes it to new requests.
func (s *Server) saveSettings(v *siteSettings) error {
	if err := s.store.SaveSettings(v.toStore()); err != nil {
		return err
	}
	s.settings.Store(v)
	return nil
}
