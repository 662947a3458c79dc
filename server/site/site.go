package site

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"picbed/ingest"
	"picbed/server/fetch"
	"picbed/store"
)

// Config is what a Site is configured with at start; the rest of its
// settings can change while it runs (Settings).
type Config struct {
	// BaseURL is the public site URL without a trailing slash; "" means
	// derived from each request.
	BaseURL string
	// TrustedProxies are the peers whose X-Forwarded-For, -Proto and -Host
	// headers are believed.
	TrustedProxies []netip.Prefix
	// Location is the site's time zone (dates in answers and pages); nil
	// means time.Local.
	Location *time.Location
	// MaxPixels is the pixel budget checked before any decode; 0 means
	// ingest.DefaultMaxPixels.
	MaxPixels int
	// UploadStallTimeout cuts an upload body that delivers less than
	// MinBodyProgress bytes within this long; 0 means no guard beyond
	// UploadReadTimeout.
	UploadStallTimeout time.Duration
	// FloodLimits are the per-address upload limits; nil means
	// DefaultFloodLimits, a zero FloodLimits none. Admins are exempt.
	FloodLimits *FloodLimits
	// MaxKeyFailures wrong API keys within KeyFailureWindow from one
	// address block its API requests; 0 means DefaultMaxKeyFailures (in
	// DefaultKeyFailureWindow), negative means never block.
	MaxKeyFailures   int
	KeyFailureWindow time.Duration
	// KeyFailureDelay is how long a refusal of a blocked address waits
	// before it is answered; 0 means DefaultKeyFailureDelay, negative none.
	KeyFailureDelay time.Duration
	// SettingsGiven names the flags of the settings ("--exif") given on the
	// command line or in the environment. A saved settings page wins over
	// them: New logs each one whose value it overrides, and IgnoredFlags
	// lists them for the page.
	SettingsGiven []string
}

// Site is the shared state of the HTTP doors. It is safe for concurrent
// use.
type Site struct {
	cfg      Config
	store    *store.Store
	ingest   *ingest.Ingester
	fetcher  *fetch.Fetcher
	log      *slog.Logger
	now      func() time.Time
	settings atomic.Pointer[Settings]
	flags    Settings    // the settings the flags gave
	saved    atomic.Bool // the settings page was saved: flags no longer apply
	keyFails *Failures
	flood    *floodLimiter
	logins   *Logins
}

// New returns a Site over st. flags are the settings until an admin saves
// the settings page (a saved page wins). now is the clock of every limit
// and of ingest's dates.
func New(cfg Config, st *store.Store, in *ingest.Ingester, fetcher *fetch.Fetcher, flags Settings, log *slog.Logger, now func() time.Time) (*Site, error) {
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = ingest.DefaultMaxPixels
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.MaxKeyFailures == 0 {
		cfg.MaxKeyFailures = DefaultMaxKeyFailures
	}
	if cfg.KeyFailureWindow <= 0 {
		cfg.KeyFailureWindow = DefaultKeyFailureWindow
	}
	if cfg.KeyFailureDelay == 0 {
		cfg.KeyFailureDelay = DefaultKeyFailureDelay
	}
	flood := DefaultFloodLimits
	if cfg.FloodLimits != nil {
		flood = *cfg.FloodLimits
	}
	flags.ImageBaseURL = strings.TrimRight(flags.ImageBaseURL, "/")
	s := &Site{
		cfg:      cfg,
		store:    st,
		ingest:   in,
		fetcher:  fetcher,
		log:      log,
		now:      now,
		flags:    flags,
		keyFails: NewFailures(cfg.MaxKeyFailures, cfg.KeyFailureWindow),
		flood:    newFloodLimiter(flood),
		logins:   NewLogins(),
	}
	settings, saved, err := loadSettings(st, flags)
	if err != nil {
		return nil, err
	}
	s.settings.Store(settings)
	s.saved.Store(saved)
	for _, f := range s.IgnoredFlags() {
		log.Warn("flag ignored: the saved settings page wins; change the setting there",
			slog.String("flag", f.Flag), slog.String("value", f.Value), slog.String("saved", f.Saved))
	}
	return s, nil
}

// Store returns the store the site serves.
func (s *Site) Store() *store.Store { return s.store }

// Log returns the site's logger.
func (s *Site) Log() *slog.Logger { return s.log }

// Location returns the site's time zone.
func (s *Site) Location() *time.Location { return s.cfg.Location }

// Now returns the site's clock.
func (s *Site) Now() time.Time { return s.now() }

// Logins returns the throttling tables of password checks, shared by every
// door that checks a password.
func (s *Site) Logins() *Logins { return s.logins }

// Fetcher returns the downloader of URL sources.
func (s *Site) Fetcher() *fetch.Fetcher { return s.fetcher }

// KeyBlocked reports whether ip sent too many wrong API keys lately. Its
// requests are still answered: a valid key goes through (keys are long
// random secrets, so an address full of wrong ones is a scanner, or a
// neighbour behind the same NAT or proxy, not someone about to guess a
// key), but a door must not stage a file for a blocked address before its
// key is checked.
func (s *Site) KeyBlocked(ip string) bool {
	_, blocked := s.keyFails.Blocked(ip, s.now())
	return blocked
}

// AuthKey returns the user of API key key, sent from ip. A valid key is
// accepted whatever the address did before. An empty, unknown or revoked
// key, or one of a disabled user, is ErrInvalidKey, and counts against ip
// unless it is empty (no key is no guess). Once ip has
// Config.MaxKeyFailures wrong keys within the window, every refusal is a
// *KeyFailuresError instead, answered only after Config.KeyFailureDelay
// (or when ctx ends), which slows a scanner down without costing a valid
// key anything. The moment an address becomes blocked is logged with the
// address.
func (s *Site) AuthKey(ctx context.Context, ip, key string) (store.User, error) {
	wait, blocked := s.keyFails.Blocked(ip, s.now())
	if key != "" {
		u, _, err := s.store.AuthAPIKey(key)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, store.ErrUnauthorized) && !errors.Is(err, store.ErrNotFound) {
			return store.User{}, err
		}
		if s.keyFails.Fail(ip, s.now()) {
			s.log.Warn("API key guesses throttled: wrong keys from this address are refused and slowed down",
				slog.String("ip", ip), slog.Int("failures", s.cfg.MaxKeyFailures), slog.Duration("window", s.cfg.KeyFailureWindow))
		}
	}
	if !blocked {
		return store.User{}, ErrInvalidKey
	}
	if s.cfg.KeyFailureDelay > 0 {
		t := time.NewTimer(s.cfg.KeyFailureDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return store.User{}, &KeyFailuresError{Wait: wait}
}

// Upload runs req through the flood limits of req.IP (admins are exempt)
// and ingest. The upload is counted before it runs, so concurrent ones
// cannot all slip under a limit, and given back if it fails.
func (s *Site) Upload(ctx context.Context, up *store.Upload, req ingest.Request) (store.Image, error) {
	if !req.Owner.Admin {
		at := s.now()
		if err := s.flood.take(req.IP, at); err != nil {
			return store.Image{}, err
		}
		img, err := s.ingest.Ingest(ctx, up, req)
		if err != nil {
			s.flood.undo(req.IP, at)
		}
		return img, err
	}
	return s.ingest.Ingest(ctx, up, req)
}

// OwnAlbum returns the id of the album encoded as v (an album id field; ""
// is no album, id 0). It returns ErrNotYourAlbum when v names no album of
// user's.
func (s *Site) OwnAlbum(user store.User, v string) (uint64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	id, ok := s.store.DecodeID(v)
	if !ok || user.ID == 0 {
		return 0, ErrNotYourAlbum
	}
	a, err := s.store.Album(id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.OwnerID != user.ID) {
		return 0, ErrNotYourAlbum
	}
	if err != nil {
		return 0, err
	}
	return id, nil
}
