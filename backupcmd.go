package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"picbed/store"
)

// runBackup is "picbed backup FILE [--gzip]": a consistent backup of the
// data dir, taken by the running server over its control socket or from
// the store opened directly. It is written to FILE.partial and renamed to
// FILE once complete, so FILE is never half a backup.
func runBackup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("picbed backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	gz := fs.Bool("gzip", false, "compress the backup (default when FILE ends in .gz or .tgz)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{fmt.Sprintf("backup: want one FILE (or - for standard output), got %d arguments\n\n%s", len(pos), usage)}
	}
	file := pos[0]
	if strings.HasSuffix(file, ".gz") || strings.HasSuffix(file, ".tgz") {
		*gz = true
	}
	a, done, err := adminFor(*data)
	if err != nil {
		return err
	}
	defer done()

	var out *os.File
	report := stdout
	if file == "-" {
		out, report = os.Stdout, stderr
	} else {
		// The backup holds the key hashes and the delete-token secret.
		out, err = os.OpenFile(file+".partial", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer func() {
			out.Close()
			os.Remove(file + ".partial")
		}()
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if *gz {
		zw = gzip.NewWriter(bw)
		w = zw
	}
	info, err := a.Backup(w)
	if err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if file != "-" {
		if err := out.Sync(); err != nil {
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		if err := os.Rename(file+".partial", file); err != nil {
			return err
		}
		if d, err := os.Open(filepath.Dir(file)); err == nil {
			d.Sync()
			d.Close()
		}
	}
	fmt.Fprintf(report, "backup %s: %d images, %d files (%d bytes), database %d bytes\n", file, info.Images, info.Files, info.ImageBytes, info.DBBytes)
	if info.Skipped > 0 {
		fmt.Fprintf(report, "warning: %d image records had missing files and were left out\n", info.Skipped)
	}
	return nil
}

// runRestore is "picbed restore FILE --data DIR": unpack a backup into a
// new or empty data dir and check every image in it.
func runRestore(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("picbed restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{fmt.Sprintf("restore: want one FILE (or - for standard input), got %d arguments\n\n%s", len(pos), usage)}
	}
	in := stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	info, err := store.Restore(in, *data, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if errors.Is(err, store.ErrNotEmpty) {
		return fmt.Errorf("data dir %s is not empty: restore only into a new or empty dir", *data)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %d images, %d files (%d bytes) into %s\n", info.Images, info.Files, info.ImageBytes, *data)
	return nil
}
