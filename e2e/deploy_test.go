package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitVerifies: deploy/picbed.service passes systemd-analyze
// verify without a word (an unknown or misspelt key is only a warning
// there, so any output fails the test), with ExecStart pointing at the
// picbed binary, and keeps the hardening docs/deploy.md promises.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("PICBED_REQUIRE_SYSTEMD_ANALYZE") != "" {
			t.Fatal("systemd-analyze is required here (apt-get install systemd)")
		}
		t.Skip("systemd-analyze not installed (apt-get install systemd)")
	}
	unit, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "picbed.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nDynamicUser=yes\n", "\nProtectSystem=strict\n", "\nReadWritePaths=/var/lib/picbed\n",
		"\nNoNewPrivileges=yes\n", "\nRestart=on-failure\n", "\nExecStart=/usr/local/bin/picbed serve\n"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q", strings.TrimSpace(want))
		}
	}
	p := filepath.Join(t.TempDir(), "picbed.service")
	local := strings.Replace(string(unit), "/usr/local/bin/picbed serve", picbedBin+" serve", 1)
	if err := os.WriteFile(p, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", p).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
