package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const (
	distBinary = "kubectl-argo-rollouts"
	sumsFile   = "SHA256SUMS"
)

// distPlatforms are the platforms `make dist` builds the plugin for.
const distPlatforms = "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64,windows/arm64"

func runDist(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dist", flag.ContinueOnError)
	var s stamp
	bindStamp(fs, &s)
	out := fs.String("out", "bin/dist", "directory for the binaries and "+sumsFile)
	plats := fs.String("platforms", distPlatforms, "comma-separated os/arch pairs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if err := s.complete(root); err != nil {
		return err
	}
	platforms, err := parsePlatforms(*plats)
	if err != nil {
		return err
	}
	outDir, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	files, err := buildDist(ctx, root, outDir, s.LDFlags, platforms)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Println(filepath.Join(outDir, f))
	}
	fmt.Println(filepath.Join(outDir, sumsFile))
	return nil
}

// distName is the file name of the plugin built for p.
func distName(p platform) string {
	n := distBinary + "-" + p.OS + "-" + p.Arch
	if p.OS == "windows" {
		n += ".exe"
	}
	return n
}

// buildDist cross-compiles the plugin for each platform into outDir and
// writes SHA256SUMS (sha256sum's format) for exactly those files; the
// binaries and checksums of an earlier run are removed first, so the file
// never lists a binary another build left behind.
func buildDist(ctx context.Context, root, outDir, ldflags string, platforms []platform) ([]string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	old, err := filepath.Glob(filepath.Join(outDir, distBinary+"-*"))
	if err != nil {
		return nil, err
	}
	for _, f := range append(old, filepath.Join(outDir, sumsFile)) {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	var files []string
	for _, p := range platforms {
		n := distName(p)
		took, err := goBuild(ctx, root, p, ldflags, filepath.Join(outDir, n), "./cmd/"+distBinary)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "built %s in %s\n", n, took.Round(100*time.Millisecond))
		files = append(files, n)
	}
	sort.Strings(files)
	var sums strings.Builder
	for _, f := range files {
		sum, err := sha256File(filepath.Join(outDir, f))
		if err != nil {
			return nil, err
		}
		// sha256sum's text mode: the digest, two spaces, the name.
		fmt.Fprintf(&sums, "%s  %s\n", sum, f)
	}
	return files, os.WriteFile(filepath.Join(outDir, sumsFile), []byte(sums.String()), 0o644)
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
