// Package experimentstep runs canary rollouts with experiment steps end to
// end on the local cluster: the step's Experiment with its real
// ReplicaSets and pods, its analysis against a real Prometheus, the
// rollout passing, aborting or promoted past the step.
package experimentstep

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/podhash"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// scoped creates the test's namespace with a controller scoped to it.
func scoped(t *testing.T) string {
	t.Helper()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	return ns
}

func apply(t *testing.T, ns, manifest string) {
	t.Helper()
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

func cli(t *testing.T, ns string, args ...string) {
	t.Helper()
	cmd := exec.Command(framework.CLIBinary(t), append([]string{"--kubeconfig", framework.Get(t).Kubeconfig, "-n", ns}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl-argo-rollouts %v: %v\n%s", args, err, out)
	}
}

func getRollout(t *testing.T, ns, name string) *v1alpha1.Rollout {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, name), &ro); err != nil {
		t.Fatalf("get rollout %s: %v", name, err)
	}
	return &ro
}

func experiments(t *testing.T, ns string) []v1alpha1.Experiment {
	t.Helper()
	var list v1alpha1.ExperimentList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("list Experiments: %v", err)
	}
	return list.Items
}

func replicaSets(t *testing.T, ns string) []appsv1.ReplicaSet {
	t.Helper()
	var list appsv1.ReplicaSetList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("list ReplicaSets: %v", err)
	}
	return list.Items
}

func describeRollout(ro *v1alpha1.Rollout) string {
	var b strings.Builder
	idx := "-"
	if ro.Status.CurrentStepIndex != nil {
		idx = fmt.Sprint(*ro.Status.CurrentStepIndex)
	}
	fmt.Fprintf(&b, "phase %s %q step %s stable %s current %s experiment %q abort %v pauses %v;", ro.Status.Phase, ro.Status.Message, idx,
		ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.Canary.CurrentExperiment, ro.Status.Abort, ro.Status.PauseConditions)
	for _, c := range ro.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s %s %q;", c.Type, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

func describeExperiment(ex *v1alpha1.Experiment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s phase %q message %q terminate %v;", ex.Name, ex.Status.Phase, ex.Status.Message, ex.Spec.Terminate)
	for _, ts := range ex.Status.TemplateStatuses {
		fmt.Fprintf(&b, " template %s: %s hash %s svc %s available %d;", ts.Name, ts.Status, ts.PodTemplateHash, ts.ServiceName, ts.AvailableReplicas)
	}
	for _, r := range ex.Status.AnalysisRuns {
		fmt.Fprintf(&b, " analysis %s: %s %q;", r.Name, r.Phase, r.Message)
	}
	return b.String()
}

// waitRollout waits until cond holds for the rollout and returns it.
func waitRollout(t *testing.T, ns, name string, timeout time.Duration, what string, cond func(*v1alpha1.Rollout) bool) *v1alpha1.Rollout {
	t.Helper()
	var ro *v1alpha1.Rollout
	framework.Eventually(t, timeout, what, func() (bool, string) {
		ro = getRollout(t, ns, name)
		return cond(ro), describeRollout(ro)
	})
	return ro
}

// waitExperiment waits until the rollout's Experiment named name satisfies
// cond and returns it.
func waitExperiment(t *testing.T, ns, name string, timeout time.Duration, what string, cond func(*v1alpha1.Experiment) bool) *v1alpha1.Experiment {
	t.Helper()
	var ex *v1alpha1.Experiment
	framework.Eventually(t, timeout, what, func() (bool, string) {
		var got v1alpha1.Experiment
		if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, name), &got); err != nil {
			return false, err.Error()
		}
		ex = &got
		return cond(ex), describeExperiment(ex)
	})
	return ex
}

// healthy waits for the rollout's first version and returns its hash.
func healthy(t *testing.T, ns, name string) string {
	t.Helper()
	ro := waitRollout(t, ns, name, 90*time.Second, "the first version Healthy", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS != "" && ro.Status.StableRS == ro.Status.CurrentPodHash
	})
	return ro.Status.StableRS
}

// templateHash is the hash the Experiment controller gives a template taken
// from the ReplicaSet with the rollout hash: its stored pod template
// without the hash label, hashed as Kubernetes hashes a Deployment's
// (which is what Argo Rollouts' experiment controller uses).
func templateHash(t *testing.T, ns, rolloutHash string) string {
	t.Helper()
	var found string
	framework.Eventually(t, 60*time.Second, "the ReplicaSet of "+rolloutHash, func() (bool, string) {
		for _, rs := range replicaSets(t, ns) {
			if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == rolloutHash && len(rs.OwnerReferences) > 0 && rs.OwnerReferences[0].Kind == "Rollout" {
				tmpl := rs.Spec.Template.DeepCopy()
				delete(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
				found = podhash.LegacyPodTemplateHash(tmpl, nil)
				return true, ""
			}
		}
		return false, "not there yet"
	})
	return found
}

// edit applies each old/new replacement in turn and fails the test when an
// old string is not there (the fixture it edits has changed).
func edit(t *testing.T, s string, oldNew ...string) string {
	t.Helper()
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(s, oldNew[i]) {
			t.Fatalf("fixture edit: %q not found in:\n%s", oldNew[i], s)
		}
		s = strings.ReplaceAll(s, oldNew[i], oldNew[i+1])
	}
	return s
}
