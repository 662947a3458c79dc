package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"picbed/imaging"
	"picbed/ingest"
	"picbed/server"
	"picbed/server/site"
)

// Config is picbed's whole configuration, from flags with PICBED_*
// environment fallbacks. Defaults run out of the box.
type Config struct {
	Addr     string
	Data     string
	LogLevel slog.Level
	// MemoryLimit is the Go runtime's soft memory limit in bytes
	// (debug.SetMemoryLimit); 0 leaves it alone, so GOMEMLIMIT applies.
	MemoryLimit int64
	// Server is the HTTP side's configuration, passed to server.New as is.
	Server server.Config
}

// env returns the PICBED_ variable name, or def when it is unset.
func env(name, def string) string {
	if v, ok := os.LookupEnv("PICBED_" + name); ok {
		return v
	}
	return def
}

// envBool returns the PICBED_ variable name read as a boolean (true,
// false, 1, 0, ...), or def when it is unset; a value that is no boolean is
// a usage error.
func envBool(name string, def bool) (bool, error) {
	v, ok := os.LookupEnv("PICBED_" + name)
	if !ok {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return def, usageError{fmt.Sprintf("PICBED_%s=%q: want true or false", name, v)}
	}
	return b, nil
}

// joinBoolValues turns "--flag true" into "--flag=true" for the boolean
// flags of fs, so a command line written when --url-uploads took a value
// keeps working; the flag package would read the word as an argument.
func joinBoolValues(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if f := fs.Lookup(strings.TrimLeft(a, "-")); f != nil && strings.HasPrefix(a, "-") && i+1 < len(args) {
			bf, ok := f.Value.(interface{ IsBoolFlag() bool })
			if _, err := strconv.ParseBool(args[i+1]); ok && bf.IsBoolFlag() && err == nil {
				out = append(out, a+"="+args[i+1])
				i++
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// onCommandLine reports whether flag name was set on the command line.
func onCommandLine(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// flagGiven reports whether flag name was set on the command line or by
// its PICBED_ variable.
func flagGiven(fs *flag.FlagSet, name string) bool {
	_, inEnv := os.LookupEnv("PICBED_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
	return inEnv || onCommandLine(fs, name)
}

func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", env("DATA", "./data"), "data `dir`: database and image tree (PICBED_DATA)")
}

func parseServeFlags(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("picbed serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nFlags of picbed serve (each also a PICBED_ variable):")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", env("ADDR", ":8080"), "listen `address` (PICBED_ADDR)")
	data := dataFlag(fs)
	baseURL := fs.String("base-url", env("BASE_URL", ""), "public site `URL`; empty: derived from each request (PICBED_BASE_URL)")
	imageBase := fs.String("image-base-url", env("IMAGE_BASE_URL", ""), "`URL` image files are served from, e.g. a CDN; empty: <site>/images (PICBED_IMAGE_BASE_URL)")
	proxies := fs.String("trusted-proxies", env("TRUSTED_PROXIES", ""), "comma-separated `CIDRs` whose X-Forwarded-* headers are trusted (PICBED_TRUSTED_PROXIES)")
	maxUpload := fs.String("max-upload", env("MAX_UPLOAD", "25MB"), "largest accepted image, e.g. 25MB, 512KB (PICBED_MAX_UPLOAD)")
	maxPixels := fs.String("max-pixels", env("MAX_PIXELS", strconv.Itoa(imaging.DefaultMaxPixels)), "largest accepted width*height (PICBED_MAX_PIXELS)")
	exif := fs.String("exif", env("EXIF", "strip"), "EXIF policy for JPEGs: strip (keep orientation) or keep (PICBED_EXIF)")
	dups := fs.String("duplicates", env("DUPLICATES", "reuse"), "same bytes uploaded again by the same user: reuse, reject or allow (PICBED_DUPLICATES)")
	urlUploadsDef, urlUploadsErr := envBool("URL_UPLOADS", false)
	urlUploads := fs.Bool("url-uploads", urlUploadsDef, "allow source to be a URL fetched by the server, public addresses only; --url-uploads=false turns it off (PICBED_URL_UPLOADS=true|false)")
	logLevel := fs.String("log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (PICBED_LOG_LEVEL)")
	flood := fs.String("flood-limits", env("FLOOD_LIMITS", site.DefaultFloodLimits.String()), "uploads per address per `minute,hour,day,week,month` (0 = no limit; admins exempt), or off (PICBED_FLOOD_LIMITS)")
	memLimit := fs.String("memory-limit", env("MEMORY_LIMIT", ""), "soft memory `limit` of the Go runtime, e.g. 256MB; empty: off, GOMEMLIMIT applies (PICBED_MEMORY_LIMIT)")
	decodeWorkers := fs.String("decode-workers", env("DECODE_WORKERS", strconv.Itoa(runtime.NumCPU())), "images decoded at once; more uploads queue (PICBED_DECODE_WORKERS)")
	stall := fs.String("upload-stall-timeout", env("UPLOAD_STALL_TIMEOUT", site.DefaultUploadStallTimeout.String()), "cut an upload body that sends under 16 KiB in this `duration`; 0: off (PICBED_UPLOAD_STALL_TIMEOUT)")
	if err := fs.Parse(joinBoolValues(fs, args)); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if urlUploadsErr != nil && !onCommandLine(fs, "url-uploads") {
		return Config{}, urlUploadsErr
	}
	cfg := Config{Addr: *addr, Data: *data}
	// The settings page's values that the command line or the environment
	// gave: a saved settings page wins over them, and says so.
	for _, name := range []string{"max-upload", "exif", "duplicates", "url-uploads", "image-base-url"} {
		if flagGiven(fs, name) {
			cfg.Server.Site.SettingsGiven = append(cfg.Server.Site.SettingsGiven, "--"+name)
		}
	}
	sc, flags := &cfg.Server.Site, &cfg.Server.Settings
	sc.BaseURL, flags.ImageBaseURL = *baseURL, *imageBase
	var err error
	if flags.MaxUpload, err = parseBytes(*maxUpload); err != nil || flags.MaxUpload <= 0 {
		return Config{}, usageError{fmt.Sprintf("--max-upload %q: want a size such as 25MB", *maxUpload)}
	}
	if sc.MaxPixels, err = strconv.Atoi(*maxPixels); err != nil || sc.MaxPixels <= 0 {
		return Config{}, usageError{fmt.Sprintf("--max-pixels %q: want a positive number", *maxPixels)}
	}
	if flags.EXIF, err = imaging.ParseEXIFPolicy(*exif); err != nil {
		return Config{}, usageError{fmt.Sprintf("--exif %q: want strip or keep", *exif)}
	}
	if flags.Duplicates, err = ingest.ParseDuplicates(*dups); err != nil {
		return Config{}, usageError{fmt.Sprintf("--duplicates %q: want reuse, reject or allow", *dups)}
	}
	flags.URLUploads = *urlUploads
	flimits, err := site.ParseFloodLimits(*flood)
	if err != nil {
		return Config{}, usageError{fmt.Sprintf("--flood-limits %q: %v", *flood, err)}
	}
	sc.FloodLimits = &flimits
	for _, p := range strings.Split(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if a, err := netip.ParseAddr(p); err == nil {
				p += "/" + strconv.Itoa(a.BitLen())
			}
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return Config{}, usageError{fmt.Sprintf("--trusted-proxies: %q is not a CIDR", p)}
		}
		sc.TrustedProxies = append(sc.TrustedProxies, pfx.Masked())
	}
	for name, u := range map[string]string{"--base-url": sc.BaseURL, "--image-base-url": flags.ImageBaseURL} {
		if u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return Config{}, usageError{fmt.Sprintf("%s %q: want an http:// or https:// URL", name, u)}
		}
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return Config{}, usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", *logLevel)}
	}
	if *memLimit != "" {
		if cfg.MemoryLimit, err = parseBytes(*memLimit); err != nil || cfg.MemoryLimit <= 0 {
			return Config{}, usageError{fmt.Sprintf("--memory-limit %q: want a size such as 256MB", *memLimit)}
		}
	}
	if cfg.Server.DecodeWorkers, err = strconv.Atoi(*decodeWorkers); err != nil || cfg.Server.DecodeWorkers <= 0 {
		return Config{}, usageError{fmt.Sprintf("--decode-workers %q: want a positive number", *decodeWorkers)}
	}
	if sc.UploadStallTimeout, err = time.ParseDuration(*stall); err != nil || sc.UploadStallTimeout < 0 {
		return Config{}, usageError{fmt.Sprintf("--upload-stall-timeout %q: want a duration such as 30s, or 0", *stall)}
	}
	return cfg, nil
}

// parseBytes reads sizes like 25MB, 500KB, 1.5GB (decimal, as Chevereto
// counts), 10MiB (binary) or a plain byte count.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	units := []struct {
		suffix string
		mult   float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f*mult > 1<<50 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(f * mult), nil
}
