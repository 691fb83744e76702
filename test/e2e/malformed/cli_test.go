package malformed

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// cli runs kubectl-argo-rollouts in ns and returns its output and error.
func cli(t *testing.T, ns string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, framework.CLIBinary(t), append([]string{"--kubeconfig", framework.Get(t).Kubeconfig, "-n", ns}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	t.Logf("kubectl-argo-rollouts %v → %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errOut.String())
	return out.String(), errOut.String(), err
}

// TestClientsReadPastAMalformedObject: the CLI and the dashboard read a
// namespace holding a malformed Rollout and a malformed AnalysisRun. The
// other rollouts are listed and shown (`list rollouts`, `get rollout`, and
// `get rollout --watch`, whose watch cache the dashboard shares), the
// malformed one is named in a warning, and asking for it says which field
// is wrong — where one bad object used to fail every read of its kind.
func TestClientsReadPastAMalformedObject(t *testing.T) {
	ns := framework.Namespace(t)
	startController(t, ns)
	create(t, ns, rolloutDoc("good", "64Mi"), rolloutDoc("broken", "invalid"), brokenRun)
	framework.Eventually(t, 60*time.Second, "the good rollout Healthy", func() (bool, string) {
		ro := typedRollout(t, ns, "good")
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy, string(ro.Status.Phase)
	})

	out, errOut, err := cli(t, ns, "list", "rollouts")
	if err != nil || !strings.Contains(out, "good") || strings.Contains(out, "broken") ||
		!strings.Contains(errOut, "Rollout "+ns+"/broken cannot be read and is left out: "+memoryField) {
		t.Errorf("list rollouts: want good listed and a warning naming %s for broken; err %v", memoryField, err)
	}
	out, _, err = cli(t, ns, "get", "rollout", "good", "--no-color")
	if err != nil || !strings.Contains(out, "Status:          ✔ Healthy") {
		t.Errorf("get rollout good beside a malformed AnalysisRun: err %v", err)
	}
	out, _, err = cli(t, ns, "get", "rollout", "good", "--no-color", "--watch", "--timeout-seconds", "3")
	if err != nil || !strings.Contains(out, "good") || !strings.Contains(out, "Healthy") {
		t.Errorf("get rollout --watch (the dashboard's watch cache): err %v", err)
	}
	_, errOut, err = cli(t, ns, "get", "rollout", "broken")
	if err == nil || !strings.Contains(errOut, "cannot be read: "+memoryField) {
		t.Errorf("get rollout broken: want an error naming %s; err %v", memoryField, err)
	}
}
