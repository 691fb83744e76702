// Command prereqs runs first in `make demo` and `make test`: in a few
// seconds, before any long build, it checks what they need, says what is
// missing and what will happen about it, fails at once when something
// cannot be built from Go (Chromium and tmux, for make test), and then
// builds Prometheus into the cache when none is on PATH.
//
//	go run ./internal/localprom/prereqs demo|test
//
// It imports a small part of the standard library and prombin (not
// localprom: no net/http), so a fresh machine compiles it in seconds. It
// lives beside localprom because Prometheus is the one prerequisite it
// builds.
package main

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/aviary-rollouts/aviary/internal/localprom/prombin"
)

func main() {
	if len(os.Args) != 2 || (os.Args[1] != "demo" && os.Args[1] != "test") {
		fmt.Fprintln(os.Stderr, "usage: prereqs demo|test")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// check is the outcome of one prerequisite.
type check struct {
	name    string
	status  string // what was found, or what will happen
	missing bool   // cannot be had from Go: the run stops
	build   bool   // missing, built from the Go module proxy
}

func run(ctx context.Context, mode string) error {
	say := func(format string, args ...any) { fmt.Printf(mode+": "+format+"\n", args...) }
	say("checking prerequisites (%s)", map[string]string{
		"demo": "Go and make are all make demo needs; what is missing is built from the Go module proxy",
		"test": "Go and make, plus Chromium and tmux for the browser and terminal tests; the rest is built from the Go module proxy",
	}[mode])

	var checks []check
	checks = append(checks, check{name: "go", status: runtime.Version() + " (" + runtime.GOOS + "/" + runtime.GOARCH + ")"})

	// Prometheus: the demo and the analysis, demo and dashboard tests run a
	// real one.
	buildProm := false
	promPath, err := prombin.Lookup()
	switch {
	case err != nil:
		buildProm = true
		checks = append(checks, check{name: "prometheus", build: true, status: "not on PATH: " + prombin.BuildPlan() + " — next, before anything else"})
	case promPath == prombin.CachedPath():
		checks = append(checks, check{name: "prometheus", status: "not on PATH; using Prometheus " + prombin.Version + " built in " + filepath.Dir(promPath)})
	default:
		checks = append(checks, check{name: "prometheus", status: promPath + " (on PATH)"})
		if mode == "test" && exists(prombin.CachedPath()) {
			checks = append(checks, check{name: "prometheus (fallback build)", status: "Prometheus " + prombin.Version + " built in " + filepath.Dir(prombin.CachedPath()) + " (the test of the fallback runs it)"})
		}
		if mode == "test" && !exists(prombin.CachedPath()) {
			// internal/localprom's fallback test runs the cached build with
			// prometheus taken off PATH: build it here rather than in the
			// middle of the end-to-end tests.
			buildProm = true
			checks = append(checks, check{name: "prometheus (fallback build)", build: true, status: "not built yet; the test of the fallback needs it: " + prombin.BuildPlan() + " — next"})
		}
	}

	checks = append(checks, controlPlane())
	checks = append(checks, check{name: "kubectl", status: "comes with the local control plane (.local/bin/kubectl); none is needed on PATH"})

	if mode == "test" {
		checks = append(checks,
			tool("chromium", "the dashboard's browser tests (test/e2e/dashboard) drive its page in headless Chromium", "chromium"),
			tool("tmux", "the CLI's `get rollout --watch` test (test/e2e/cli) reads its screen in a tmux session", "tmux"))
	}

	var missing []string
	var pkgs []string
	for _, c := range checks {
		mark := "ok"
		if c.build {
			mark = "BUILD"
		}
		if c.missing {
			mark = "MISSING"
			missing = append(missing, c.name)
			pkgs = append(pkgs, c.name)
		}
		say("  %-7s %s: %s", mark, c.name, c.status)
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s, which cannot be built from Go: install %s (Debian/Ubuntu: apt-get install %s; .ci/run does) and run make %s again",
			strings.Join(missing, " and "), map[bool]string{true: "it", false: "them"}[len(missing) == 1], strings.Join(pkgs, " "), mode)
	}
	if buildProm {
		if _, err := prombin.Build(ctx, os.Stdout); err != nil {
			return err
		}
	}
	return nil
}

// tool checks a program that only a package manager provides.
func tool(name, why, pkg string) check {
	if p, err := exec.LookPath(name); err == nil {
		return check{name: name, status: p}
	}
	return check{name: name, missing: true, status: "not on PATH: " + why + "; it is not a Go program: apt-get install " + pkg}
}

// controlPlane says whether hack/localcluster's binaries are cached, by the
// versions written in its binaries.go.
func controlPlane() check {
	c := check{name: "local control plane"}
	const src = "hack/localcluster/binaries.go"
	v, err := constStrings(src)
	kube, etcd, kwok := v["kubeVersion"], v["etcdVersion"], v["kwokVersion"]
	if err != nil || kube == "" || etcd == "" || kwok == "" {
		c.status = fmt.Sprintf("versions not readable from %s (%v): `make cluster-up` builds what is missing (about ten minutes on two cores, once)", src, err)
		return c
	}
	root := prombin.CacheDir()
	want := []string{
		filepath.Join("kubernetes-"+kube, "kube-apiserver"),
		filepath.Join("kubernetes-"+kube, "kube-controller-manager"),
		filepath.Join("kubernetes-"+kube, "kube-scheduler"),
		filepath.Join("kubernetes-"+kube, "kubectl"),
		filepath.Join("etcd-"+etcd, "etcd"),
		filepath.Join("kwok-"+kwok, "kwok"),
		filepath.Join("kwok-"+kwok, "kwokctl"),
	}
	var absent []string
	for _, w := range want {
		if !exists(filepath.Join(root, w)) {
			absent = append(absent, filepath.Base(w))
		}
	}
	what := fmt.Sprintf("Kubernetes %s (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl), etcd %s, kwok %s", kube, etcd, kwok)
	if len(absent) == 0 {
		c.status = what + ": built in " + root
		return c
	}
	c.build = true
	c.status = fmt.Sprintf("%s: not built yet (%s): `make cluster-up` builds it from the Go module proxy into %s after bin/, about ten minutes on two cores, once",
		what, strings.Join(absent, ", "), root)
	return c
}

// constStrings reads the string constants of a Go file.
func constStrings(path string) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if v, err := strconv.Unquote(lit.Value); err == nil {
						out[n.Name] = v
					}
				}
			}
		}
	}
	return out, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
