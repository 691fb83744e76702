// Package experiment runs standalone Experiments end to end on the local
// cluster: real ReplicaSets, pods and Services, AnalysisRuns against a real
// Prometheus, the CLI's patches, and a controller killed at random moments.
package experiment

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// scoped creates the test's namespace with a controller scoped to it.
func scoped(t *testing.T) (string, *framework.Controller) {
	t.Helper()
	ns := framework.Namespace(t)
	return ns, startController(t, ns)
}

func startController(t *testing.T, ns string) *framework.Controller {
	t.Helper()
	return framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
}

func apply(t *testing.T, ns, manifest string) {
	t.Helper()
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

func getExperiment(t *testing.T, ns, name string) *v1alpha1.Experiment {
	t.Helper()
	var ex v1alpha1.Experiment
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, name), &ex); err != nil {
		t.Fatalf("get Experiment %s: %v", name, err)
	}
	return &ex
}

// waitForPhase waits until the Experiment reaches phase want and returns it.
func waitForPhase(t *testing.T, ns, name string, want v1alpha1.AnalysisPhase, timeout time.Duration) *v1alpha1.Experiment {
	t.Helper()
	var ex *v1alpha1.Experiment
	framework.Eventually(t, timeout, fmt.Sprintf("Experiment %s to be %s", name, want), func() (bool, string) {
		ex = getExperiment(t, ns, name)
		return ex.Status.Phase == want, describe(ex)
	})
	return ex
}

func describe(ex *v1alpha1.Experiment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %q message %q availableAt %v;", ex.Status.Phase, ex.Status.Message, ex.Status.AvailableAt)
	for _, ts := range ex.Status.TemplateStatuses {
		fmt.Fprintf(&b, " template %s: %s %q replicas %d available %d hash %s svc %s;", ts.Name, ts.Status, ts.Message, ts.Replicas, ts.AvailableReplicas, ts.PodTemplateHash, ts.ServiceName)
	}
	for _, r := range ex.Status.AnalysisRuns {
		fmt.Fprintf(&b, " analysis %s: %s %s %q;", r.Name, r.AnalysisRun, r.Phase, r.Message)
	}
	for _, c := range ex.Status.Conditions {
		fmt.Fprintf(&b, " condition %s=%s %s %q;", c.Type, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

// replicaSets are the ReplicaSets in ns, by name.
func replicaSets(t *testing.T, ns string) map[string]appsv1.ReplicaSet {
	t.Helper()
	var list appsv1.ReplicaSetList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("list ReplicaSets: %v", err)
	}
	out := map[string]appsv1.ReplicaSet{}
	for _, rs := range list.Items {
		out[rs.Name] = rs
	}
	return out
}

func services(t *testing.T, ns string) map[string]corev1.Service {
	t.Helper()
	var list corev1.ServiceList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("list Services: %v", err)
	}
	out := map[string]corev1.Service{}
	for _, s := range list.Items {
		out[s.Name] = s
	}
	return out
}

// waitScaledDown waits until every ReplicaSet named is at 0 replicas.
func waitScaledDown(t *testing.T, ns string, timeout time.Duration, names ...string) {
	t.Helper()
	framework.Eventually(t, timeout, fmt.Sprintf("ReplicaSets %v scaled to 0", names), func() (bool, string) {
		all := replicaSets(t, ns)
		for _, n := range names {
			rs, ok := all[n]
			if !ok || rs.Spec.Replicas == nil || *rs.Spec.Replicas != 0 {
				return false, fmt.Sprintf("%s: %+v", n, rs.Spec.Replicas)
			}
		}
		return true, ""
	})
}

func runsIn(t *testing.T, ns string) []v1alpha1.AnalysisRun {
	t.Helper()
	var list v1alpha1.AnalysisRunList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("list AnalysisRuns: %v", err)
	}
	return list.Items
}
