package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

func TestLong(t *testing.T) {
	i := Info{Version: "v1", Commit: "abc", BuildDate: "2026-01-01T00:00:00Z", GoVersion: "go1.26.0", Compiler: "gc", Platform: "linux/arm64"}
	want := "aviary-controller: v1\n  BuildDate: 2026-01-01T00:00:00Z\n  GitCommit: abc\n  GoVersion: go1.26.0\n  Compiler: gc\n  Platform: linux/arm64\n"
	if got := i.Long("aviary-controller"); got != want {
		t.Errorf("Long:\n%s\nwant:\n%s", got, want)
	}
	if got := i.Short("x"); got != "x: v1\n" {
		t.Errorf("Short: %q", got)
	}
}

// TestLDFlagsStampTheControllersVersion links the controller with LDFlags
// (the flags the Makefile and hack/release pass) and reads `--version`.
func TestLDFlagsStampTheControllersVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("links the controller")
	}
	bin := filepath.Join(t.TempDir(), "aviary-controller")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", LDFlags("v9.8.7-test", "feedface", "2026-02-03T04:05:06Z"), "-o", bin, "./cmd/aviary-controller")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	want := "aviary-controller: v9.8.7-test\n  BuildDate: 2026-02-03T04:05:06Z\n  GitCommit: feedface\n  GoVersion: " + runtime.Version() +
		"\n  Compiler: gc\n  Platform: " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if string(out) != want {
		t.Errorf("--version:\n%s\nwant:\n%s", out, want)
	}
}
