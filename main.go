// Command picbed is a self-hosted image host in one binary, answering the
// Chevereto API v1 so that PicGo, ShareX, Typora and friends work unchanged.
//
// main.go is wiring only: configuration from flags and PICBED_* variables,
// subcommands, signals and logging. See README.md for the commands.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"picbed/imaging"
	"picbed/server"
	"picbed/server/control"
	"picbed/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "picbed:", err)
		}
		var ue usageError
		if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `picbed: a self-hosted image host (Chevereto API v1)

Usage:
  picbed [serve] [flags]              run the host (default)
  picbed user add NAME [--admin] [--password-stdin]
  picbed user passwd NAME [--password-stdin]
  picbed key create NAME              print a new API key for user NAME
  picbed key list NAME                list NAME's keys (id, prefix, dates)
  picbed key revoke NAME KEYID        revoke one key (id or prefix)
  picbed backup FILE [--gzip]         consistent backup, also while serving
  picbed restore FILE                 unpack a backup into an empty --data dir

Every command takes --data DIR (PICBED_DATA, default ./data). The user and
key commands work whether or not a server is running on that data dir.
Run "picbed serve --help" for the server flags.
`

// Main runs picbed with args (without the program name).
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := parseServeFlags(args, stderr)
		if err != nil {
			return err
		}
		return run(ctx, cfg, stderr)
	case "user", "key":
		if len(args) == 0 {
			return usageError{"missing " + cmd + " subcommand\n\n" + usage}
		}
		return runAdmin(cmd+" "+args[0], args[1:], stdin, stdout, stderr)
	case "backup":
		return runBackup(args, stdout, stderr)
	case "restore":
		return runRestore(args, stdin, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n\n%s", cmd, usage)}
}

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

func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", env("DATA", "./data"), "data `dir`: database and image tree (PICBED_DATA)")
}

func parseServeFlags(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("picbed serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("ADDR", ":8080"), "listen `address` (PICBED_ADDR)")
	data := dataFlag(fs)
	baseURL := fs.String("base-url", env("BASE_URL", ""), "public site `URL`; empty: derived from each request (PICBED_BASE_URL)")
	imageBase := fs.String("image-base-url", env("IMAGE_BASE_URL", ""), "`URL` image files are served from, e.g. a CDN; empty: <site>/images (PICBED_IMAGE_BASE_URL)")
	proxies := fs.String("trusted-proxies", env("TRUSTED_PROXIES", ""), "comma-separated `CIDRs` whose X-Forwarded-* headers are trusted (PICBED_TRUSTED_PROXIES)")
	maxUpload := fs.String("max-upload", env("MAX_UPLOAD", "25MB"), "largest accepted image, e.g. 25MB, 512KB (PICBED_MAX_UPLOAD)")
	maxPixels := fs.String("max-pixels", env("MAX_PIXELS", strconv.Itoa(imaging.DefaultMaxPixels)), "largest accepted width*height (PICBED_MAX_PIXELS)")
	exif := fs.String("exif", env("EXIF", "strip"), "EXIF policy for JPEGs: strip (keep orientation) or keep (PICBED_EXIF)")
	dups := fs.String("duplicates", env("DUPLICATES", "reuse"), "same bytes uploaded again by the same user: reuse, reject or allow (PICBED_DUPLICATES)")
	urlUploads := fs.String("url-uploads", env("URL_UPLOADS", "false"), "allow `source` to be a URL fetched by the server, public addresses only (PICBED_URL_UPLOADS)")
	logLevel := fs.String("log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (PICBED_LOG_LEVEL)")
	flood := fs.String("flood-limits", env("FLOOD_LIMITS", server.DefaultFloodLimits.String()), "uploads per address per `minute,hour,day,week,month` (0 = no limit; admins exempt), or off (PICBED_FLOOD_LIMITS)")
	memLimit := fs.String("memory-limit", env("MEMORY_LIMIT", ""), "soft memory `limit` of the Go runtime, e.g. 256MB; empty: off, GOMEMLIMIT applies (PICBED_MEMORY_LIMIT)")
	decodeWorkers := fs.String("decode-workers", env("DECODE_WORKERS", strconv.Itoa(runtime.NumCPU())), "images decoded at once; more uploads queue (PICBED_DECODE_WORKERS)")
	stall := fs.String("upload-stall-timeout", env("UPLOAD_STALL_TIMEOUT", server.DefaultUploadStallTimeout.String()), "cut an upload body that sends under 16 KiB in this `duration`; 0: off (PICBED_UPLOAD_STALL_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	cfg := Config{Addr: *addr, Data: *data, Server: server.Config{BaseURL: *baseURL, ImageBaseURL: *imageBase}}
	var err error
	if cfg.Server.MaxUpload, err = parseBytes(*maxUpload); err != nil || cfg.Server.MaxUpload <= 0 {
		return Config{}, usageError{fmt.Sprintf("--max-upload %q: want a size such as 25MB", *maxUpload)}
	}
	if cfg.Server.MaxPixels, err = strconv.Atoi(*maxPixels); err != nil || cfg.Server.MaxPixels <= 0 {
		return Config{}, usageError{fmt.Sprintf("--max-pixels %q: want a positive number", *maxPixels)}
	}
	switch *exif {
	case "strip":
		cfg.Server.EXIF = imaging.StripEXIF
	case "keep":
		cfg.Server.EXIF = imaging.KeepEXIF
	default:
		return Config{}, usageError{fmt.Sprintf("--exif %q: want strip or keep", *exif)}
	}
	switch p := server.DuplicatePolicy(*dups); p {
	case server.DuplicatesReuse, server.DuplicatesReject, server.DuplicatesAllow:
		cfg.Server.Duplicates = p
	default:
		return Config{}, usageError{fmt.Sprintf("--duplicates %q: want reuse, reject or allow", *dups)}
	}
	if cfg.Server.URLUploads, err = strconv.ParseBool(*urlUploads); err != nil {
		return Config{}, usageError{fmt.Sprintf("--url-uploads %q: want true or false", *urlUploads)}
	}
	flimits, err := server.ParseFloodLimits(*flood)
	if err != nil {
		return Config{}, usageError{fmt.Sprintf("--flood-limits %q: %v", *flood, err)}
	}
	cfg.Server.FloodLimits = &flimits
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
		cfg.Server.TrustedProxies = append(cfg.Server.TrustedProxies, pfx.Masked())
	}
	for name, u := range map[string]string{"--base-url": cfg.Server.BaseURL, "--image-base-url": cfg.Server.ImageBaseURL} {
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
	if cfg.Server.UploadStallTimeout, err = time.ParseDuration(*stall); err != nil || cfg.Server.UploadStallTimeout < 0 {
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

// shutdownGrace is how long in-flight requests (uploads) may take to finish
// after SIGINT or SIGTERM.
const shutdownGrace = 30 * time.Second

// controlSocket is the path of the server's control socket in a data dir.
func controlSocket(data string) string { return filepath.Join(data, "picbed.sock") }

// run serves picbed until ctx ends.
func run(ctx context.Context, cfg Config, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	st, err := store.Open(cfg.Data, store.Options{Logger: log})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("data dir %s is in use by another picbed; stop it or choose another --data", cfg.Data)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := server.New(cfg.Server, st, uiFS(), log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// We hold the database lock, so a socket file left here is stale.
	sock := controlSocket(cfg.Data)
	os.Remove(sock)
	cln, err := net.Listen("unix", sock)
	if err != nil {
		ln.Close()
		return fmt.Errorf("control socket: %w", err)
	}
	defer os.Remove(sock)
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		cln.Close()
		return fmt.Errorf("control socket: %w", err)
	}
	go serveControl(cln, control.Handler(control.LocalAdmin{Store: st}), log)
	defer cln.Close()

	log.Info("picbed listening", slog.String("addr", ln.Addr().String()), slog.String("data", cfg.Data),
		slog.Int("decode_workers", cfg.Server.DecodeWorkers), slog.Int64("memory_limit", debug.SetMemoryLimit(-1)))
	err = srv.Serve(ctx, ln, shutdownGrace)
	log.Info("picbed stopped")
	return err
}

func serveControl(ln net.Listener, h http.Handler, log *slog.Logger) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		log.Error("control socket stopped", slog.String("err", err.Error()))
	}
}

// adminFor returns the Admin for a data dir: the running server's control
// socket when one answers, else the store opened directly for this command.
func adminFor(data string) (control.Admin, func(), error) {
	sock := controlSocket(data)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if cc, err := control.Dial(sock); err == nil {
			return cc, func() {}, nil
		}
		st, err := store.Open(data, store.Options{OpenTimeout: 500 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil {
			return control.LocalAdmin{Store: st}, func() { st.Close() }, nil
		}
		// Locked but no socket yet: a server is starting or another command
		// holds the database for a moment. Try both again shortly.
		if !errors.Is(err, store.ErrLocked) || time.Now().After(deadline) {
			if errors.Is(err, store.ErrLocked) {
				return nil, nil, fmt.Errorf("data dir %s is locked by another process that does not answer on %s", data, sock)
			}
			return nil, nil, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// parseInterleaved parses fs over args that may mix flags and positional
// arguments ("user add NAME --admin") and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runAdmin(cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("picbed "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	var admin, pwStdin *bool
	want := 1
	switch cmd {
	case "user add":
		admin = fs.Bool("admin", false, "make the user an administrator")
		pwStdin = fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	case "user passwd":
		pwStdin = fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	case "key create", "key list":
	case "key revoke":
		want = 2
	default:
		return usageError{fmt.Sprintf("unknown command %q\n\n%s", cmd, usage)}
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != want {
		return usageError{fmt.Sprintf("%s: want %d argument(s), got %d\n\n%s", cmd, want, len(pos), usage)}
	}
	var password string
	if cmd == "user add" || cmd == "user passwd" {
		if password, err = readPassword(*pwStdin, stdin, stderr); err != nil {
			return err
		}
	}
	a, done, err := adminFor(*data)
	if err != nil {
		return err
	}
	defer done()
	switch cmd {
	case "user add":
		u, err := a.AddUser(pos[0], password, *admin)
		if err != nil {
			return err
		}
		role := ""
		if u.Admin {
			role = ", admin"
		}
		fmt.Fprintf(stdout, "created user %s (id %d%s)\n", u.Name, u.ID, role)
	case "user passwd":
		if err := a.SetPassword(pos[0], password); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s changed; their logins ended, their API keys still work\n", pos[0])
	case "key create":
		key, _, err := a.CreateKey(pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, key)
	case "key list":
		keys, err := a.ListKeys(pos[0])
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tCREATED\tLAST USED")
		for _, k := range keys {
			last := "never"
			if !k.LastUsed.IsZero() {
				last = k.LastUsed.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%d\t%s…\t%s\t%s\n", k.ID, k.Prefix, k.Created.Local().Format(time.DateTime), last)
		}
		return tw.Flush()
	case "key revoke":
		if err := a.RevokeKey(pos[0], strings.TrimSuffix(pos[1], "…")); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked key %s of %s\n", pos[1], pos[0])
	}
	return nil
}

// readPassword reads a new password from stdin's first line, or prompts
// twice on the terminal without echo.
func readPassword(fromStdin bool, stdin io.Reader, stderr io.Writer) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageError{"no terminal to ask for a password: pass it with --password-stdin"}
	}
	fmt.Fprint(stderr, "Password: ")
	p1, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(stderr, "Repeat password: ")
	p2, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", errors.New("the passwords differ")
	}
	return string(p1), nil
}
