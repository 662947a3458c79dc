package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	sec := s.Secret()
	if len(sec) != 32 || bytes.Equal(sec, make([]byte, 32)) {
		t.Fatalf("Secret = %x, want 32 random bytes", sec)
	}
	if bytes.Equal(sec, s.secret) {
		t.Fatal("site secret equals the delete-token secret")
	}
	sec[0] ^= 0xff
	if bytes.Equal(sec, s.Secret()) {
		t.Fatal("Secret returned its own slice, not a copy")
	}
	sec[0] ^= 0xff
	if other := mustOpenStore(t, t.TempDir()).Secret(); bytes.Equal(other, sec) {
		t.Fatal("two data dirs share a site secret")
	}

	t.Run("kept across reopen", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := mustOpenStore(t, dir)
		if !bytes.Equal(s2.Secret(), sec) {
			t.Fatal("site secret changed on reopen")
		}
		// A store from before the site secret existed gets one.
		err := s2.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaSiteSecret) })
		if err != nil {
			t.Fatal(err)
		}
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
		s3 := mustOpenStore(t, dir)
		if got := s3.Secret(); len(got) != 32 || bytes.Equal(got, sec) {
			t.Fatalf("old store got site secret %x", got)
		}
	})
}

func validTestSettings() Settings {
	return Settings{
		SiteName: "图床 picbed", GuestUploads: true, Signups: false, URLUploads: true,
		MaxUpload: 20 << 20, EXIF: "strip", Duplicates: "reuse", DefaultExpiry: 90 * time.Minute,
		ImageBaseURL: "https://img.example.com/pics",
	}
}

func TestSettings(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenStore(t, dir)
	if st, ok, err := s.Settings(); err != nil || ok || st != (Settings{}) {
		t.Fatalf("Settings before any save = %+v, %v, %v; want zero, false, nil", st, ok, err)
	}
	want := validTestSettings()
	if err := s.SaveSettings(want); err != nil {
		t.Fatal(err)
	}
	if st, ok, err := s.Settings(); err != nil || !ok || st != want {
		t.Fatalf("Settings = %+v, %v, %v; want %+v", st, ok, err, want)
	}

	t.Run("survive reopen", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s := mustOpenStore(t, dir)
		if st, ok, err := s.Settings(); err != nil || !ok || st != want {
			t.Fatalf("Settings after reopen = %+v, %v, %v; want %+v", st, ok, err, want)
		}
	})
}

func TestSaveSettingsValidates(t *testing.T) {
	s := mustOpenStore(t, t.TempDir())
	for _, tc := range []struct {
		name   string
		change func(*Settings)
		ok     bool
	}{
		{"valid", func(*Settings) {}, true},
		{"empty site name and base URL, no expiry", func(st *Settings) { st.SiteName, st.ImageBaseURL, st.DefaultExpiry = "", "", 0 }, true},
		{"site name of 100 bytes", func(st *Settings) { st.SiteName = strings.Repeat("a", 100) }, true},
		{"site name of 101 bytes", func(st *Settings) { st.SiteName = strings.Repeat("a", 101) }, false},
		{"site name with a newline", func(st *Settings) { st.SiteName = "a\nb" }, false},
		{"site name with invalid UTF-8", func(st *Settings) { st.SiteName = "a\xffb" }, false},
		{"EXIF keep", func(st *Settings) { st.EXIF = "keep" }, true},
		{"EXIF empty", func(st *Settings) { st.EXIF = "" }, false},
		{"EXIF other", func(st *Settings) { st.EXIF = "Strip" }, false},
		{"duplicates reject", func(st *Settings) { st.Duplicates = "reject" }, true},
		{"duplicates allow", func(st *Settings) { st.Duplicates = "allow" }, true},
		{"duplicates other", func(st *Settings) { st.Duplicates = "skip" }, false},
		{"max upload 1", func(st *Settings) { st.MaxUpload = 1 }, true},
		{"max upload 2 GiB", func(st *Settings) { st.MaxUpload = 1 << 31 }, true},
		{"max upload 0", func(st *Settings) { st.MaxUpload = 0 }, false},
		{"max upload above 2 GiB", func(st *Settings) { st.MaxUpload = 1<<31 + 1 }, false},
		{"negative expiry", func(st *Settings) { st.DefaultExpiry = -time.Second }, false},
		{"base URL http with port", func(st *Settings) { st.ImageBaseURL = "http://127.0.0.1:8080/" }, true},
		{"base URL relative", func(st *Settings) { st.ImageBaseURL = "/images" }, false},
		{"base URL scheme-relative", func(st *Settings) { st.ImageBaseURL = "//cdn.example.com" }, false},
		{"base URL ftp", func(st *Settings) { st.ImageBaseURL = "ftp://example.com" }, false},
		{"base URL javascript", func(st *Settings) { st.ImageBaseURL = "javascript:alert(1)" }, false},
		{"base URL with query", func(st *Settings) { st.ImageBaseURL = "https://example.com/?a=1" }, false},
		{"base URL with empty query", func(st *Settings) { st.ImageBaseURL = "https://example.com/?" }, false},
		{"base URL with fragment", func(st *Settings) { st.ImageBaseURL = "https://example.com/#x" }, false},
		{"base URL without host", func(st *Settings) { st.ImageBaseURL = "https:///x" }, false},
		{"base URL with a space", func(st *Settings) { st.ImageBaseURL = "https://example.com/a b" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := validTestSettings()
			tc.change(&st)
			err := s.SaveSettings(st)
			if tc.ok && err != nil {
				t.Fatalf("SaveSettings(%+v): %v", st, err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalid) {
				t.Fatalf("SaveSettings(%+v): %v, want ErrInvalid", st, err)
			}
			if !tc.ok {
				if got, _, _ := s.Settings(); got == st {
					t.Fatal("refused settings were saved")
				}
			}
		})
	}
}
