package cli

import (
	"runtime"
	"strings"
	"testing"

	"github.com/aviary-rollouts/aviary/internal/version"
)

// stamp sets the link-time version variables for one test, as
// -ldflags "-X …" would.
func stamp(t *testing.T, v, commit, date string) {
	t.Helper()
	old := [3]string{version.Version, version.Commit, version.BuildDate}
	version.Version, version.Commit, version.BuildDate = v, commit, date
	t.Cleanup(func() { version.Version, version.Commit, version.BuildDate = old[0], old[1], old[2] })
}

func TestVersionOutput(t *testing.T) {
	stamp(t, "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-01-02T03:04:05Z")
	out, err := run(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	want := "kubectl-argo-rollouts: v1.2.3\n" +
		"  BuildDate: 2026-01-02T03:04:05Z\n" +
		"  GitCommit: 0123456789abcdef0123456789abcdef01234567\n" +
		"  GoVersion: " + runtime.Version() + "\n" +
		"  Compiler: " + runtime.Compiler + "\n" +
		"  Platform: " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if out != want {
		t.Errorf("version:\n%s\nwant:\n%s", out, want)
	}

	out, err = run(t, "version", "--short")
	if err != nil || out != "kubectl-argo-rollouts: v1.2.3\n" {
		t.Errorf("version --short: %q, %v", out, err)
	}
}

// An unstamped build (go run, go test) still prints every field.
func TestVersionOutputUnstamped(t *testing.T) {
	stamp(t, "", "", "")
	out, err := run(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"kubectl-argo-rollouts: ", "  BuildDate: ", "  GitCommit: ", "  GoVersion: go", "  Compiler: ", "  Platform: "} {
		if !strings.Contains(out, key) {
			t.Errorf("version output lacks %q:\n%s", key, out)
		}
	}
	if strings.Contains(out, ": \n") {
		t.Errorf("a field is empty:\n%s", out)
	}
}
