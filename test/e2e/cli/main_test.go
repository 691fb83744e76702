// Package cli runs the kubectl-argo-rollouts binary end to end against the
// local cluster: the commands are run as a person or a CI job would run
// them, and their effects are checked through the API server.
package cli

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// cliBinary is the CLI built for this package.
func cliBinary(t testing.TB) string { return framework.CLIBinary(t) }

// cliTimeout bounds one CLI run, so a hung command fails its test rather
// than the whole package's time limit.
const cliTimeout = 2 * time.Minute

// runCLI runs kubectl-argo-rollouts with the local cluster's kubeconfig
// and args, and returns what it wrote and its exit code. A failure to run
// the binary at all fails the test; a non-zero exit does not, since tests
// check exit codes.
func runCLI(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	full := append([]string{"--kubeconfig", framework.Get(t).Kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, cliBinary(t), full...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		code = exit.ExitCode()
	default:
		t.Fatalf("run kubectl-argo-rollouts %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errOut.String())
	}
	t.Logf("kubectl-argo-rollouts %v → exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out.String(), errOut.String())
	return out.String(), errOut.String(), code
}
