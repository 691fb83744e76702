// Package prombin finds the prometheus that internal/localprom runs: the
// one on PATH, else one built once from the Go module proxy into the cache
// (~/.cache/aviary). It imports little of the standard library so that the
// prerequisite check of make demo and make test (../prereqs), which uses
// it, compiles in seconds on a fresh machine.
package prombin

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// When no `prometheus` is on PATH, one is built from the Go module proxy
// into the cache and run from there. Prometheus 3.x is published as Go
// module versions v0.3XX.Y: ModuleVersion is Prometheus Version.
const (
	Module        = "github.com/prometheus/prometheus"
	ModuleVersion = "v0.316.0"
	Version       = "3.16.0"
	// BuildMinutes is how long the first build takes on two cores: 4m57s
	// measured with empty module and build caches (about 1 GB of modules
	// downloaded, 0.9 GB of build cache).
	BuildMinutes = 5
)

// buildTags leave out every service-discovery mechanism (the launcher
// only uses static targets), which roughly halves the build, and do not
// include builtinassets: the web UI is not compiled in, the HTTP API the
// tests and the demo query works without it.
const buildTags = "remove_all_sd"

// CacheDir is where built binaries live, shared with hack/localcluster's
// control plane: AVIARY_CACHE, else the user cache directory's aviary/
// (~/.cache/aviary).
func CacheDir() string {
	if d := os.Getenv("AVIARY_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "aviary")
	}
	return filepath.Join(os.TempDir(), "aviary-cache")
}

// CachedPath is where the built prometheus is (or will be) kept.
func CachedPath() string {
	return filepath.Join(CacheDir(), "prometheus-"+ModuleVersion, "prometheus")
}

// Lookup finds a prometheus without building one: the one on PATH, else
// the cached build. The error says what Binary would do about it.
func Lookup() (string, error) {
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p, nil
	}
	if p := CachedPath(); isExecutable(p) {
		return p, nil
	}
	return "", fmt.Errorf("prometheus is not on PATH nor built in %s: %s", filepath.Dir(CachedPath()), BuildPlan())
}

// BuildPlan says, in a line, what Build does and how long it takes.
func BuildPlan() string {
	return fmt.Sprintf("building Prometheus %s from the Go module proxy (%s/cmd/prometheus@%s) into %s, about %d minutes on two cores, once",
		Version, Module, ModuleVersion, filepath.Dir(CachedPath()), BuildMinutes)
}

// Binary returns the prometheus to run: the one on PATH, else the cached
// build, else it builds one into the cache (progress lines go to log).
func Binary(ctx context.Context, log io.Writer) (string, error) {
	if p, err := Lookup(); err == nil {
		return p, nil
	}
	fmt.Fprintf(log, "prometheus: not on PATH: %s\n", BuildPlan())
	return Build(ctx, log)
}

// Build returns the cached build of prometheus, building it first if it is
// not there yet (whatever is on PATH). A file lock makes concurrent
// callers — parallel test packages — wait for one build.
func Build(ctx context.Context, log io.Writer) (string, error) {
	out := CachedPath()
	if isExecutable(out) {
		return out, nil
	}
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	unlock, err := lockFile(filepath.Join(CacheDir(), ".prometheus-build.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(out) { // built by whoever held the lock
		return out, nil
	}
	gobin := filepath.Join(dir, ".gobin")
	_ = os.RemoveAll(gobin)
	defer os.RemoveAll(gobin)
	ldflags := fmt.Sprintf("-X github.com/prometheus/common/version.Version=%s -X github.com/prometheus/common/version.BuildUser=aviary", Version)
	// go install with an explicit version builds with the exact
	// dependency versions Prometheus was released with, whatever module
	// the caller is in.
	c := exec.CommandContext(ctx, "go", "install", "-tags", buildTags, "-ldflags", ldflags, Module+"/cmd/prometheus@"+ModuleVersion)
	c.Dir = dir
	c.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0")
	fmt.Fprintf(log, "prometheus: building Prometheus %s (%s@%s) into %s — first time only, about %d min on two cores\n",
		Version, Module, ModuleVersion, dir, BuildMinutes)
	if err := runWithProgress(c, log); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(gobin, "prometheus"), out); err != nil {
		return "", fmt.Errorf("move prometheus into place: %w", err)
	}
	return out, nil
}

// runWithProgress runs the build, printing a line every 30 s so a person
// (or a CI log) sees it is alive.
func runWithProgress(c *exec.Cmd, log io.Writer) error {
	var stderr strings.Builder
	c.Stdout, c.Stderr = &stderr, &stderr
	start := time.Now()
	if err := c.Start(); err != nil {
		return fmt.Errorf("start the build of prometheus (is go on PATH?): %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("build prometheus: %w\n%s", err, tail(stderr.String(), 40))
			}
			fmt.Fprintf(log, "prometheus: built in %s\n", time.Since(start).Round(time.Second))
			return nil
		case <-tick.C:
			fmt.Fprintf(log, "prometheus: still building (%s)\n", time.Since(start).Round(time.Second))
		}
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// lockFile takes an exclusive flock on path, waiting for other holders.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
