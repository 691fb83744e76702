package framework

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/internal/freeport"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// ControllerBinary builds cmd/aviary-controller once per test package (so
// `go test` alone works, without `make build`) and returns its path.
func ControllerBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aviary-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "aviary-controller")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/aviary-controller")
		cmd.Dir = Get(t).RepoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build aviary-controller: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Controller is an aviary-controller process run by a test.
type Controller struct {
	t           testing.TB
	cmd         *exec.Cmd
	out         *syncBuffer
	done        chan struct{}
	MetricsAddr string
	HealthAddr  string
}

// StartController runs the controller binary against the local cluster with
// free metrics and health ports and the given extra flags. Unless args name
// a kubeconfig it runs as the install's ServiceAccount would, with the
// rules of manifests/cluster-install (see ControllerKubeconfig), never as
// admin; the tests' own clients stay admin. It is stopped
// (SIGKILL) when the test ends if still running; its output is logged if the
// test failed.
func StartController(t testing.TB, args ...string) *Controller {
	t.Helper()
	return StartControllerBinary(t, ControllerBinary(t), args...)
}

// StartControllerBinary is StartController running the given controller
// binary (one taken out of a built image, say) instead of the checkout's.
func StartControllerBinary(t testing.TB, binary string, args ...string) *Controller {
	t.Helper()
	return startController(t, binary, nil, args...)
}

// StartControllerEnv is StartController with extra environment variables
// (KEY=value) on top of the test's own: the providers' credentials, say.
func StartControllerEnv(t testing.TB, env []string, args ...string) *Controller {
	t.Helper()
	return startController(t, ControllerBinary(t), env, args...)
}

func startController(t testing.TB, binary string, env []string, args ...string) *Controller {
	t.Helper()
	e := Get(t)
	c := &Controller{t: t, out: &syncBuffer{}, done: make(chan struct{}),
		MetricsAddr: FreeAddr(t), HealthAddr: FreeAddr(t)}
	full := []string{"--metrics-addr", c.MetricsAddr, "--health-addr", c.HealthAddr}
	asInstall := !namesKubeconfig(args)
	if asInstall {
		kubeconfig, err := e.ControllerKubeconfig()
		if err != nil {
			t.Fatalf("the controller's credentials: %v", err)
		}
		full = append(full, "--kubeconfig", kubeconfig)
	}
	full = append(full, args...)
	c.cmd = exec.Command(binary, full...)
	if len(env) > 0 {
		c.cmd.Env = append(os.Environ(), env...)
	}
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start aviary-controller: %v", err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.Kill()
		// The controller tolerates some refusals (a log line instead of a
		// retry loop), so a test can pass while the install lacks a rule.
		if asInstall {
			if refused := refusals(c.Output()); len(refused) > 0 {
				t.Errorf("the API server refused the controller what it needs; add the rules to manifests/cluster-install/clusterrole.yaml, manifests/namespace-install/role.yaml and charts/aviary/templates/_helpers.tpl:\n%s",
					strings.Join(refused, "\n"))
			}
		}
		if t.Failed() {
			t.Logf("aviary-controller %v output:\n%s", full, c.Output())
		}
	})
	return c
}

// refusals are the distinct "cannot VERB resource ..." phrases of the
// API server's Forbidden errors in the controller's output.
func refusals(output string) []string {
	var found []string
	for _, m := range refusalRE.FindAllString(output, -1) {
		if !slices.Contains(found, m) {
			found = append(found, m)
		}
	}
	return found
}

// refusalRE matches what the API server says when RBAC refuses the
// framework's ServiceAccount a resource (up to its API group) or a
// non-resource path (quotes possibly escaped in structured logs).
var refusalRE = regexp.MustCompile(`User \\?"system:serviceaccount:` + controllerAuthNamespace + `:` + controllerAuthName +
	`\\?" cannot \S+ (resource \\?"[^"\\]+\\?"( in API group \\?"[^"\\]*\\?")?|path \\?"[^"\\]+\\?")`)

// namesKubeconfig reports whether controller args choose a kubeconfig
// (--kubeconfig PATH or --kubeconfig=PATH, with one dash or two).
func namesKubeconfig(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		return strings.HasPrefix(a, "-") && name == "kubeconfig"
	})
}

// Output is everything the process has written so far.
func (c *Controller) Output() string { return c.out.String() }

// WaitForOutput waits until the output contains s.
func (c *Controller) WaitForOutput(timeout time.Duration, s string) {
	c.t.Helper()
	Eventually(c.t, timeout, fmt.Sprintf("controller output to contain %q", s), func() (bool, string) {
		return strings.Contains(c.Output(), s), "not yet; output so far:\n" + c.Output()
	})
}

// Exited reports whether the process has ended.
func (c *Controller) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Kill stops the process at once, as a node failure or OOM kill would.
func (c *Controller) Kill() {
	if !c.Exited() {
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Stop sends SIGTERM and waits for a graceful exit.
func (c *Controller) Stop(timeout time.Duration) error {
	if c.Exited() {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return nil
	case <-time.After(timeout):
		c.Kill()
		return fmt.Errorf("controller did not stop within %s of SIGTERM", timeout)
	}
}

// ExitCode is the process's exit code once it has ended.
func (c *Controller) ExitCode() int { <-c.done; return c.cmd.ProcessState.ExitCode() }

// FreeAddr returns a loopback address with a port free at the time of the
// call, never the same one twice in a test binary, and from outside the
// kernel's ephemeral range (see package freeport: a ":0" port can be taken by
// another package's client socket before our process binds it).
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// syncBuffer is a bytes.Buffer safe for a writing process and reading tests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	cliBuildOnce sync.Once
	cliBuildPath string
	cliBuildErr  error
)

// CLIBinary builds cmd/kubectl-argo-rollouts once per test package and
// returns its path.
func CLIBinary(t testing.TB) string {
	t.Helper()
	cliBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aviary-e2e-cli-")
		if err != nil {
			cliBuildErr = err
			return
		}
		cliBuildPath = filepath.Join(dir, "kubectl-argo-rollouts")
		cmd := exec.Command("go", "build", "-o", cliBuildPath, "./cmd/kubectl-argo-rollouts")
		cmd.Dir = Get(t).RepoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			cliBuildErr = fmt.Errorf("build kubectl-argo-rollouts: %w\n%s", err, out)
		}
	})
	if cliBuildErr != nil {
		t.Fatal(cliBuildErr)
	}
	return cliBuildPath
}

var identityRE = regexp.MustCompile(`identity=(\S+)`)

// Identity is the leader-election identity the controller logs at start
// (the Lease's holderIdentity once it leads); it waits for that line.
func (c *Controller) Identity() string {
	c.t.Helper()
	c.WaitForOutput(30*time.Second, "starting aviary-controller")
	m := identityRE.FindStringSubmatch(c.Output())
	if m == nil {
		c.t.Fatalf("the controller logged no identity:\n%s", c.Output())
	}
	return m[1]
}
