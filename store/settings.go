package store

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

const (
	// MaxSiteNameLen bounds Settings.SiteName in bytes: it is shown in
	// every page title and header.
	MaxSiteNameLen = 100
	// maxUploadSetting is the largest Settings.MaxUpload (2 GiB): beyond
	// it an upload no longer fits the 32-bit sizes some clients use.
	maxUploadSetting = 1 << 31
)

// Settings are the site settings an admin edits in the web UI.
type Settings struct {
	SiteName      string
	GuestUploads  bool
	Signups       bool
	URLUploads    bool
	MaxUpload     int64         // bytes
	EXIF          string        // "strip" | "keep"
	Duplicates    string        // "reuse" | "reject" | "allow"
	DefaultExpiry time.Duration // 0 = never
	ImageBaseURL  string
}

type settingsRecord struct {
	V             int    `json:"v"`
	SiteName      string `json:"site_name"`
	GuestUploads  bool   `json:"guest_uploads"`
	Signups       bool   `json:"signups"`
	URLUploads    bool   `json:"url_uploads"`
	MaxUpload     int64  `json:"max_upload"`
	EXIF          string `json:"exif"`
	Duplicates    string `json:"duplicates"`
	DefaultExpiry int64  `json:"default_expiry_ns"`
	ImageBaseURL  string `json:"image_base_url"`
}

// validSettings checks the shape of st; what the values mean is the
// server's business.
func validSettings(st Settings) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: settings: "+format, append([]any{ErrInvalid}, args...)...)
	}
	if len(st.SiteName) > MaxSiteNameLen {
		return bad("site name is longer than %d bytes", MaxSiteNameLen)
	}
	if !utf8.ValidString(st.SiteName) || strings.IndexFunc(st.SiteName, unicode.IsControl) >= 0 {
		return bad("site name has control characters or invalid UTF-8")
	}
	if st.EXIF != "strip" && st.EXIF != "keep" {
		return bad("EXIF must be \"strip\" or \"keep\", not %q", st.EXIF)
	}
	if st.Duplicates != "reuse" && st.Duplicates != "reject" && st.Duplicates != "allow" {
		return bad("duplicates must be \"reuse\", \"reject\" or \"allow\", not %q", st.Duplicates)
	}
	if st.MaxUpload < 1 || st.MaxUpload > maxUploadSetting {
		return bad("maximum upload size must be 1 to %d bytes", int64(maxUploadSetting))
	}
	if st.DefaultExpiry < 0 {
		return bad("default expiry must not be negative")
	}
	if st.ImageBaseURL != "" {
		u, err := url.Parse(st.ImageBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" ||
			strings.ContainsAny(st.ImageBaseURL, "?#") || strings.IndexFunc(st.ImageBaseURL, unicode.IsSpace) >= 0 {
			return bad("image base URL must be an absolute http(s) URL without query or fragment")
		}
	}
	return nil
}

// Settings returns the saved site settings. ok is false, with zero
// Settings, when they were never saved; the server then uses its defaults.
func (s *Store) Settings() (st Settings, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(metaSettings)
		if v == nil {
			return nil
		}
		var rec settingsRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode settings: %w", err)
		}
		st = Settings{
			SiteName: rec.SiteName, GuestUploads: rec.GuestUploads, Signups: rec.Signups,
			URLUploads: rec.URLUploads, MaxUpload: rec.MaxUpload, EXIF: rec.EXIF,
			Duplicates: rec.Duplicates, DefaultExpiry: time.Duration(rec.DefaultExpiry),
			ImageBaseURL: rec.ImageBaseURL,
		}
		ok = true
		return nil
	})
	if err != nil {
		return Settings{}, false, wrap(err, "read settings")
	}
	return st, ok, nil
}

// SaveSettings replaces the site settings. It checks only their shape and
// returns ErrInvalid, naming the rule, when SiteName is longer than
// MaxSiteNameLen bytes or has control characters, EXIF is not "strip" or
// "keep", Duplicates is not "reuse", "reject" or "allow", MaxUpload is not
// 1 byte to 2 GiB, DefaultExpiry is negative, or ImageBaseURL is neither
// empty nor an absolute http(s) URL without query or fragment.
func (s *Store) SaveSettings(st Settings) error {
	if err := validSettings(st); err != nil {
		return err
	}
	rec := settingsRecord{
		V: schemaVersion, SiteName: st.SiteName, GuestUploads: st.GuestUploads, Signups: st.Signups,
		URLUploads: st.URLUploads, MaxUpload: st.MaxUpload, EXIF: st.EXIF, Duplicates: st.Duplicates,
		DefaultExpiry: int64(st.DefaultExpiry), ImageBaseURL: st.ImageBaseURL,
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketMeta), metaSettings, rec)
	})
	return wrap(err, "save settings")
}
