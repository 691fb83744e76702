package cli

import (
	"strings"
	"testing"
)

func TestLintCommand(t *testing.T) {
	out, err := run(t, "lint", "-f", "lint/testdata/valid-nginx.yaml")
	if err != nil || out != "" {
		t.Errorf("a valid file: output %q, error %v; want silence, as Argo's lint", out, err)
	}
	out, err = run(t, "lint", "-f", "lint/testdata/invalid-service-selector.yaml")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if err == nil || len(lines) != 2 || err.Error() != lines[0] || !strings.HasPrefix(lines[1], `document 1 (Rollout "demo"): spec.strategy.canary.stableService: Service "demo-stable"`) {
		t.Errorf("a broken file: output %q, error %v; want every finding, the first as the error", out, err)
	}
	if _, err := run(t, "lint"); err == nil || !strings.Contains(err.Error(), "-f/--filename") {
		t.Errorf("no file: %v", err)
	}
	if _, err := run(t, "lint", "-f", "lint/testdata/nonexistent.yaml"); err == nil || !strings.Contains(err.Error(), "read lint/testdata/nonexistent.yaml") {
		t.Errorf("missing file: %v", err)
	}
}
