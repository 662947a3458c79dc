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
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

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
  picbed version                      the version, commit and build of this binary

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
	case "version":
		return runVersion(stdout)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n\n%s", cmd, usage)}
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
	srv, err := server.New(cfg.Server, server.Deps{Store: st, UI: uiFS(), Log: log})
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

	if admin, err := st.HasAdmin(); err == nil && !admin {
		log.Info("no admin yet: open the setup page in a browser to create one", slog.String("url", setupURL(cfg, ln.Addr())))
	}
	log.Info("picbed listening", slog.String("addr", ln.Addr().String()), slog.String("data", cfg.Data),
		slog.Int("decode_workers", cfg.Server.DecodeWorkers), slog.String("memory_limit", memoryLimitText(debug.SetMemoryLimit(-1))))
	err = srv.Serve(ctx, ln, shutdownGrace)
	log.Info("picbed stopped")
	return err
}

// setupURL is where the installer of a fresh host answers: under the
// configured site URL, else on the listening address (localhost for an
// address that listens everywhere).
func setupURL(cfg Config, addr net.Addr) string {
	if b := cfg.Server.Site.BaseURL; b != "" {
		return strings.TrimRight(b, "/") + "/setup"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "/setup"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/setup"
}

// memoryLimitText is the Go runtime's soft memory limit for the start-up
// log: "off" when none is set (the runtime reports math.MaxInt64).
func memoryLimitText(n int64) string {
	if n == math.MaxInt64 {
		return "off"
	}
	return strconv.FormatInt(n, 10) + "B"
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
