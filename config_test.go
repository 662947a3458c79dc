package main

import (
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"testing"
)

// TestOnOffFlagsAreSwitches: --url-uploads is a switch wherever it stands
// on the line, takes =false, and its variable takes the words of a boolean.
// (It was a string flag: at the end of the line it stopped with "flag needs
// an argument", in the middle it swallowed the next flag.)
func TestOnOffFlagsAreSwitches(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want bool
		addr string
	}{
		{"at the end", []string{"--addr", "127.0.0.1:9000", "--url-uploads"}, nil, true, "127.0.0.1:9000"},
		{"in the middle", []string{"--url-uploads", "--addr", "127.0.0.1:9000"}, nil, true, "127.0.0.1:9000"},
		{"turned off", []string{"--url-uploads=false"}, nil, false, ":8080"},
		{"with a separate value, as before", []string{"--url-uploads", "true", "--addr", "127.0.0.1:9000"}, nil, true, "127.0.0.1:9000"},
		{"separate false", []string{"-url-uploads", "false"}, nil, false, ":8080"},
		{"off by default", nil, nil, false, ":8080"},
		{"from the environment", nil, map[string]string{"PICBED_URL_UPLOADS": "true"}, true, ":8080"},
		{"environment 1", nil, map[string]string{"PICBED_URL_UPLOADS": "1"}, true, ":8080"},
		{"flag beats environment", []string{"--url-uploads=false"}, map[string]string{"PICBED_URL_UPLOADS": "true"}, false, ":8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unsetenv(t, "PICBED_URL_UPLOADS")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := parseServeFlags(tc.args, io.Discard)
			if err != nil {
				t.Fatalf("parseServeFlags(%q): %v", tc.args, err)
			}
			if cfg.Server.Settings.URLUploads != tc.want || cfg.Addr != tc.addr {
				t.Errorf("url uploads %v, addr %q; want %v, %q", cfg.Server.Settings.URLUploads, cfg.Addr, tc.want, tc.addr)
			}
		})
	}
	t.Setenv("PICBED_URL_UPLOADS", "yes please")
	_, err := parseServeFlags(nil, io.Discard)
	var ue usageError
	if !errors.As(err, &ue) || ue.msg != `PICBED_URL_UPLOADS="yes please": want true or false` {
		t.Errorf("a variable that is no boolean: %v", err)
	}
}

// TestSettingsGiven: the settings page's flags given on the command line or
// in the environment are named, so a saved page can say it wins over them.
func TestSettingsGiven(t *testing.T) {
	for _, k := range []string{"PICBED_MAX_UPLOAD", "PICBED_EXIF", "PICBED_DUPLICATES", "PICBED_URL_UPLOADS", "PICBED_IMAGE_BASE_URL"} {
		unsetenv(t, k)
	}
	t.Setenv("PICBED_EXIF", "keep")
	cfg, err := parseServeFlags([]string{"--max-upload", "10MB", "--addr", ":0", "--url-uploads"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"--max-upload", "--exif", "--url-uploads"}; !slices.Equal(cfg.Server.Site.SettingsGiven, want) {
		t.Errorf("given %q, want %q", cfg.Server.Site.SettingsGiven, want)
	}
}

func TestMemoryLimitText(t *testing.T) {
	if got := memoryLimitText(math.MaxInt64); got != "off" {
		t.Errorf("no limit logged as %q, want off", got)
	}
	if got := memoryLimitText(256_000_000); got != "256000000B" {
		t.Errorf("256 MB logged as %q", got)
	}
}

// unsetenv removes k for the test and restores it after.
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "") // registers the restore
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}
