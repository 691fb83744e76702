package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Versions of the control plane. They must match the requirements in go.mod
// (kube and etcd) and stay on one Kubernetes minor with kwok: a kwok built
// against another minor has its watch-list requests refused and pods stay
// Pending.
const (
	kubeVersion = "v1.36.3"
	etcdVersion = "v3.6.8"
	kwokVersion = "v0.8.0"
)

// binary is one executable of the control plane and how to build it.
type binary struct {
	name    string // file name in the cache
	dir     string // cache subdirectory, keyed by version
	build   func(out string) *exec.Cmd
	minutes int // rough first-build time, for the progress message
}

// binaries lists every executable the local cluster runs, in build order.
func binaries(moduleDir string) []binary {
	kube := func(name string) binary {
		return binary{
			name: name, dir: "kubernetes-" + kubeVersion, minutes: 4,
			build: func(out string) *exec.Cmd {
				return goCmd(moduleDir, "build", "-ldflags", kubeLDFlags(), "-o", out, "k8s.io/kubernetes/cmd/"+name)
			},
		}
	}
	return []binary{
		kube("kube-apiserver"),
		kube("kube-controller-manager"),
		kube("kube-scheduler"),
		kube("kubectl"),
		{
			name: "etcd", dir: "etcd-" + etcdVersion, minutes: 1,
			build: func(out string) *exec.Cmd {
				return goCmd(moduleDir, "build", "-o", out, "go.etcd.io/etcd/server/v3")
			},
		},
		kwok("kwok", moduleDir),
		kwok("kwokctl", moduleDir),
	}
}

func kwok(name, moduleDir string) binary {
	return binary{
		name: name, dir: "kwok-" + kwokVersion, minutes: 2,
		build: func(out string) *exec.Cmd {
			// go install ignores the local module, so kwok gets the exact
			// dependency versions it was released with.
			c := goCmd(moduleDir, "install", "sigs.k8s.io/kwok/cmd/"+name+"@"+kwokVersion)
			c.Env = append(c.Env, "GOBIN="+filepath.Dir(out)+"/.gobin-"+name)
			return c
		},
	}
}

// kubeLDFlags stamps the version the way the Kubernetes release build does;
// without it the apiserver reports v0.0.0-master+$Format:%H$, which kubectl
// and client-go discovery cannot parse.
func kubeLDFlags() string {
	minor := strings.Split(strings.TrimPrefix(kubeVersion, "v"), ".")[1]
	var b strings.Builder
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		fmt.Fprintf(&b, "-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean -X %s.buildDate=2026-01-01T00:00:00Z ",
			pkg, kubeVersion, pkg, pkg, minor, pkg, pkg)
	}
	return strings.TrimSpace(b.String())
}

func goCmd(dir string, args ...string) *exec.Cmd {
	c := exec.Command("go", args...)
	c.Dir = dir
	// The checksum database mirror does not answer for every k8s.io module.
	c.Env = append(os.Environ(), "GONOSUMDB=k8s.io", "GOFLAGS=-mod=mod")
	return c
}

// cacheDir is where built binaries live, outside any checkout so that every
// clone (and CI's fresh clone) on this machine shares them.
func cacheDir() string {
	if d := os.Getenv("AVIARY_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "aviary")
	}
	return filepath.Join(os.TempDir(), "aviary-cache")
}

// ensureBinaries builds whatever is missing from the cache and returns the
// path of every binary by name. It holds a file lock so parallel test
// packages do not build the same thing twice.
func ensureBinaries(moduleDir string, log io.Writer) (map[string]string, error) {
	root := cacheDir()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("create cache dir %s: %w", root, err)
	}
	unlock, err := lockFile(filepath.Join(root, ".build.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	paths := map[string]string{}
	for _, b := range binaries(moduleDir) {
		dir := filepath.Join(root, b.dir)
		out := filepath.Join(dir, b.name)
		paths[b.name] = out
		if _, err := os.Stat(out); err == nil {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		fmt.Fprintf(log, "localcluster: building %s (%s) into %s — first time only, about %d min on 2 cores\n", b.name, b.dir, dir, b.minutes)
		if err := runWithProgress(b.build(out+".tmp"), b.name, log); err != nil {
			return nil, err
		}
		// go install writes into GOBIN under the command's own name.
		if gobin := filepath.Join(dir, ".gobin-"+b.name); exists(gobin) {
			if err := os.Rename(filepath.Join(gobin, b.name), out+".tmp"); err != nil {
				return nil, fmt.Errorf("move %s into place: %w", b.name, err)
			}
			_ = os.RemoveAll(gobin)
		}
		if err := os.Rename(out+".tmp", out); err != nil {
			return nil, fmt.Errorf("move %s into place: %w", b.name, err)
		}
	}
	return paths, nil
}

// runWithProgress runs a long build, printing a line every 30 s so a person
// (or CI log) can see it is alive.
func runWithProgress(c *exec.Cmd, what string, log io.Writer) error {
	var stderr strings.Builder
	c.Stdout = log
	c.Stderr = &stderr
	start := time.Now()
	if err := c.Start(); err != nil {
		return fmt.Errorf("start build of %s: %w", what, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("build %s: %w\n%s", what, err, tail(stderr.String(), 40))
			}
			fmt.Fprintf(log, "localcluster: built %s in %s\n", what, time.Since(start).Round(time.Second))
			return nil
		case <-tick.C:
			fmt.Fprintf(log, "localcluster: still building %s (%s)\n", what, time.Since(start).Round(time.Second))
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

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
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
