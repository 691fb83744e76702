// Package analysis runs AnalysisRuns end to end on the local cluster: real
// Jobs, a real Prometheus server, local HTTP servers for the web and
// SkyWalking providers.
package analysis

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// scoped creates the test's namespace with a controller scoped to it.
func scoped(t *testing.T) (string, *framework.Controller) {
	t.Helper()
	ns := framework.Namespace(t)
	return ns, framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
}

func apply(t *testing.T, ns, manifest string) {
	t.Helper()
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

func getRun(t *testing.T, ns, name string) *v1alpha1.AnalysisRun {
	t.Helper()
	var run v1alpha1.AnalysisRun
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, name), &run); err != nil {
		t.Fatalf("get AnalysisRun %s: %v", name, err)
	}
	return &run
}

// waitForPhase waits until the run completes and checks its phase; it
// returns the run for further checks.
func waitForPhase(t *testing.T, ns, name string, want v1alpha1.AnalysisPhase, timeout time.Duration) *v1alpha1.AnalysisRun {
	t.Helper()
	var run *v1alpha1.AnalysisRun
	framework.Eventually(t, timeout, fmt.Sprintf("AnalysisRun %s to complete %s", name, want), func() (bool, string) {
		run = getRun(t, ns, name)
		return run.Status.Phase == want, describeRun(run)
	})
	return run
}

func describeRun(run *v1alpha1.AnalysisRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s %q;", run.Status.Phase, run.Status.Message)
	for _, r := range run.Status.MetricResults {
		fmt.Fprintf(&b, " %s: %s %q count %d ok %d failed %d error %d [", r.Name, r.Phase, r.Message, r.Count, r.Successful, r.Failed, r.Error)
		for _, m := range r.Measurements {
			fmt.Fprintf(&b, " %s=%q(%s)", m.Phase, m.Value, m.Message)
		}
		b.WriteString(" ]")
	}
	return b.String()
}

func objMeta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
