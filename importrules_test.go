package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules checks the rooms' one-way doors (docs/architecture.md):
// main may import server, store, imaging and ingest; server and its
// packages ingest and store (not imaging); ingest store and imaging, and
// not net/http, even indirectly; store and imaging nothing of picbed (but
// imaging its own subpackages).
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	room := func(pkg string) string {
		for _, r := range []string{"picbed/server", "picbed/ingest", "picbed/store", "picbed/imaging", "picbed/e2e", "picbed/bench", "picbed/loadtest"} {
			if pkg == r || strings.HasPrefix(pkg, r+"/") {
				return r
			}
		}
		if pkg == "picbed" {
			return "picbed"
		}
		return pkg
	}
	allowed := map[string][]string{
		"picbed":         {"picbed/server", "picbed/store", "picbed/imaging", "picbed/ingest"},
		"picbed/server":  {"picbed/server", "picbed/ingest", "picbed/store"},
		"picbed/ingest":  {"picbed/store", "picbed/imaging"},
		"picbed/store":   {},
		"picbed/imaging": {"picbed/imaging"},
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, from := fields[0], room(fields[0])
		may, ruled := allowed[from]
		if !ruled {
			continue // tests and tools: bench, loadtest, e2e
		}
		checked++
		for _, imp := range fields[1:] {
			if imp != "picbed" && !strings.HasPrefix(imp, "picbed/") {
				continue
			}
			ok := false
			for _, m := range may {
				ok = ok || room(imp) == m
			}
			if !ok {
				t.Errorf("%s imports %s: the %s room may import only %v", pkg, imp, from, may)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d packages checked: go list output not understood", checked)
	}
	deps, err := exec.Command("go", "list", "-deps", "./ingest").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(deps)) {
		if d == "net/http" || strings.HasPrefix(d, "github.com/labstack/") {
			t.Errorf("ingest depends on %s: it must know no HTTP", d)
		}
	}
}
