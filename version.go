package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// versionInfo is what "picbed version" prints, read from the build
// information the Go toolchain embeds: the module version (a tag, or
// "(devel)" for a build from a checkout), the VCS commit and its time, and
// whether the tree had uncommitted changes.
type versionInfo struct {
	Version, Commit, Date, Go string
	Modified                  bool
}

func readVersion() versionInfo {
	v := versionInfo{Version: "(unknown)", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Date = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// runVersion is "picbed version".
func runVersion(stdout io.Writer) error {
	v := readVersion()
	fmt.Fprintf(stdout, "picbed %s\n", v.Version)
	if v.Commit != "" {
		dirty := ""
		if v.Modified {
			dirty = " (with uncommitted changes)"
		}
		fmt.Fprintf(stdout, "commit %s%s\n", v.Commit, dirty)
	}
	if v.Date != "" {
		fmt.Fprintf(stdout, "built from a commit of %s\n", v.Date)
	}
	fmt.Fprintf(stdout, "%s %s/%s\n", v.Go, runtime.GOOS, runtime.GOARCH)
	return nil
}
