package site

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"picbed/ingest"
	"picbed/store"
)

// Defaults of the settings, until a flag or an admin sets them.
const (
	// DefaultSiteName is the site name until an admin sets one.
	DefaultSiteName = "picbed"
	// DefaultMaxUpload is Chevereto V3's installer default of 25 MB
	// (decimal).
	DefaultMaxUpload = 25_000_000
)

// Settings are what an admin can change on the settings page while the
// server runs. Until the page is saved once, the values come from the
// command line (Config.Settings); once saved, the saved ones win. A
// published value is never modified: a change publishes a new one, so a
// request reads one consistent snapshot through Site.Settings.
type Settings struct {
	SiteName      string
	GuestUploads  bool
	Signups       bool
	URLUploads    bool
	MaxUpload     int64
	EXIF          ingest.EXIF
	Duplicates    ingest.Duplicates
	DefaultExpiry time.Duration
	ImageBaseURL  string // without a trailing slash; "" = site URL + /images
}

// withDefaults fills what is unset: the site name and the upload limit.
func (v Settings) withDefaults() Settings {
	if v.SiteName == "" {
		v.SiteName = DefaultSiteName
	}
	if v.MaxUpload <= 0 {
		v.MaxUpload = DefaultMaxUpload
	}
	return v
}

// fromStore reads saved settings; the policies are stored in their words
// (String), read back with their parse functions.
func fromStore(v store.Settings) (Settings, error) {
	exif, err := ingest.ParseEXIF(v.EXIF)
	if err != nil {
		return Settings{}, err
	}
	dups := ingest.DuplicatesReuse
	if v.Duplicates != "" {
		if dups, err = ingest.ParseDuplicates(v.Duplicates); err != nil {
			return Settings{}, err
		}
	}
	return Settings{
		SiteName:      v.SiteName,
		GuestUploads:  v.GuestUploads,
		Signups:       v.Signups,
		URLUploads:    v.URLUploads,
		MaxUpload:     v.MaxUpload,
		EXIF:          exif,
		Duplicates:    dups,
		DefaultExpiry: v.DefaultExpiry,
		ImageBaseURL:  v.ImageBaseURL,
	}.withDefaults(), nil
}

func (v Settings) toStore() store.Settings {
	return store.Settings{
		SiteName: v.SiteName, GuestUploads: v.GuestUploads, Signups: v.Signups,
		URLUploads: v.URLUploads, MaxUpload: v.MaxUpload, EXIF: v.EXIF.String(),
		Duplicates: v.Duplicates.String(), DefaultExpiry: v.DefaultExpiry, ImageBaseURL: v.ImageBaseURL,
	}
}

// loadSettings returns the saved settings (saved true), or flags' when none
// were saved.
func loadSettings(st *store.Store, flags Settings) (v *Settings, saved bool, err error) {
	rec, ok, err := st.Settings()
	if err != nil {
		return nil, false, fmt.Errorf("site: load settings: %w", err)
	}
	if !ok {
		v := flags.withDefaults()
		return &v, false, nil
	}
	got, err := fromStore(rec)
	if err != nil {
		return nil, false, fmt.Errorf("site: saved settings: %w", err)
	}
	return &got, true, nil
}

// IgnoredFlag is a flag of the settings page's values that the saved page
// overrides.
type IgnoredFlag struct {
	Flag  string // "--max-upload"
	Value string // what the flag said, as the page shows it ("10 MB")
	Saved string // the value in force
}

// settingFlags are the flags of Settings: how each compares and shows.
var settingFlags = []struct {
	flag string
	show func(Settings) string
}{
	{"--max-upload", func(v Settings) string { return SizeFormatted(v.MaxUpload) }},
	{"--exif", func(v Settings) string { return v.EXIF.String() }},
	{"--duplicates", func(v Settings) string { return v.Duplicates.String() }},
	{"--url-uploads", func(v Settings) string { return strconv.FormatBool(v.URLUploads) }},
	{"--image-base-url", func(v Settings) string { return v.ImageBaseURL }},
}

// IgnoredFlags lists the flags given (Config.SettingsGiven) whose value
// differs from the settings in force, once the settings page was saved.
func (s *Site) IgnoredFlags() []IgnoredFlag {
	if !s.saved.Load() {
		return nil
	}
	cur := s.Settings()
	var out []IgnoredFlag
	for _, f := range settingFlags {
		if !slices.Contains(s.cfg.SettingsGiven, f.flag) {
			continue
		}
		if v, saved := f.show(s.flags), f.show(*cur); v != saved {
			out = append(out, IgnoredFlag{Flag: f.flag, Value: v, Saved: saved})
		}
	}
	return out
}

// Settings returns the current settings snapshot. The caller must not
// modify it: copy it, change the copy and SaveSettings it.
func (s *Site) Settings() *Settings { return s.settings.Load() }

// SaveSettings stores v and publishes it to new requests. It returns
// store.ErrInvalid for values store refuses.
func (s *Site) SaveSettings(v Settings) error {
	if err := s.store.SaveSettings(v.toStore()); err != nil {
		return err
	}
	s.settings.Store(&v)
	s.saved.Store(true)
	return nil
}

// Policies are the upload rules of the current settings.
func (s *Site) Policies() ingest.Policies {
	v := s.Settings()
	return ingest.Policies{
		MaxUpload:     v.MaxUpload,
		MaxPixels:     s.cfg.MaxPixels,
		EXIF:          v.EXIF,
		Duplicates:    v.Duplicates,
		URLUploads:    v.URLUploads,
		DefaultExpiry: v.DefaultExpiry,
	}
}
