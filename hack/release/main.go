// Command release builds Aviary's release artifacts without a Docker daemon
// (go-containerregistry writes the images):
//
//	go run ./hack/release image [-out bin/image]      OCI image indexes (linux/amd64, linux/arm64) of
//	                                                  aviary-controller and kubectl-argo-rollouts, one OCI
//	                                                  layout per image under -out
//	go run ./hack/release push -registry ghcr.io/you  pushes those layouts (credentials from the docker
//	                                                  config, as `docker login` or a credential helper left them)
//	go run ./hack/release dist [-out bin/dist]        kubectl-argo-rollouts for linux, darwin and windows on
//	                                                  amd64 and arm64, with SHA256SUMS
//
// Binaries are static (CGO_ENABLED=0), built with -trimpath and stamped with
// version, commit and build date (internal/version). `make image`,
// `make image-push` and `make dist` run these with the Makefile's values.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/aviary-rollouts/aviary/internal/version"
)

const usage = `usage: go run ./hack/release <command> [flags]

commands:
  image   build the OCI images into OCI layouts (bin/image/<name>)
  push    push the OCI layouts to a registry
  dist    cross-compile kubectl-argo-rollouts into bin/dist with SHA256SUMS

Run a command with -h for its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "image":
		err = runImage(ctx, args)
	case "push":
		err = runPush(ctx, args)
	case "dist":
		err = runDist(ctx, args)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "release: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "release %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// stamp is what a build is stamped and labelled with.
type stamp struct {
	Version string
	Commit  string
	Created string // RFC 3339, UTC: the build date
	LDFlags string // the go build -ldflags (the -X flags of Version, Commit, Created unless given)
}

// bindStamp registers -version, -commit, -created and -ldflags on fs.
func bindStamp(fs *flag.FlagSet, s *stamp) {
	fs.StringVar(&s.Version, "version", "", "version to stamp and label (default: git describe --tags --always --dirty, else dev)")
	fs.StringVar(&s.Commit, "commit", "", "commit to stamp and label (default: git rev-parse HEAD, else unknown)")
	fs.StringVar(&s.Created, "created", "", "build date, RFC 3339 (default: now, UTC)")
	fs.StringVar(&s.LDFlags, "ldflags", "", "go build -ldflags (default: the internal/version -X flags of -version, -commit and -created)")
}

// complete fills what the flags left empty.
func (s *stamp) complete(root string) error {
	if s.Version == "" {
		s.Version = gitOr(root, "dev", "describe", "--tags", "--always", "--dirty")
	}
	if s.Commit == "" {
		s.Commit = gitOr(root, "unknown", "rev-parse", "HEAD")
	}
	if s.Created == "" {
		s.Created = time.Now().UTC().Format(time.RFC3339)
	}
	if _, err := time.Parse(time.RFC3339, s.Created); err != nil {
		return fmt.Errorf("-created %q is not RFC 3339: %w", s.Created, err)
	}
	if s.LDFlags == "" {
		s.LDFlags = version.LDFlags(s.Version, s.Commit, s.Created)
	}
	return nil
}

func gitOr(dir, fallback string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return fallback
	}
	return strings.TrimSpace(string(out))
}

// repoRoot is the directory of the main module's go.mod, found upwards from
// the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/aviary-rollouts/aviary\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the Aviary checkout (no go.mod of github.com/aviary-rollouts/aviary above the working directory)")
		}
		dir = parent
	}
}

// platform is an OS/architecture pair as Go names them.
type platform struct{ OS, Arch string }

func (p platform) String() string { return p.OS + "/" + p.Arch }

func parsePlatforms(s string) ([]platform, error) {
	var ps []platform
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		os, arch, ok := strings.Cut(f, "/")
		if !ok || os == "" || arch == "" || strings.Contains(arch, "/") {
			return nil, fmt.Errorf("platform %q: want os/arch, e.g. linux/amd64", f)
		}
		ps = append(ps, platform{os, arch})
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("no platforms given")
	}
	return ps, nil
}

// goBuild cross-compiles the packages (./cmd/NAME) for p into dir as static,
// -trimpath binaries; it returns how long the build took.
func goBuild(ctx context.Context, root string, p platform, ldflags, out string, pkgs ...string) (time.Duration, error) {
	start := time.Now()
	args := append([]string{"build", "-trimpath", "-ldflags", ldflags, "-o", out}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("go build %s for %s: %w", strings.Join(pkgs, " "), p, err)
	}
	return time.Since(start), nil
}
