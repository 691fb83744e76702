// Package plugins runs canaries through Argo Rollouts traffic-router and
// step plugins on the local cluster: plugins built on Argo Rollouts' own
// plugin packages (test/plugins/trafficrouter and step), configured
// through argo-rollouts-config, fetched, checksum-verified and started by
// the controller, recording every call they are given in a file the test
// reads.
package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
	"github.com/aviary-rollouts/aviary/test/plugintest"
)

func TestMain(m *testing.M) { framework.Main(m) }

// setup writes argo-rollouts-config in a new namespace, listing under key
// the test plugin built from test/plugins/<dir> as name, which records its
// calls in the file returned; then starts the controller with that
// namespace as its own.
func setup(t *testing.T, key, dir, name string, args ...string) (ns, record string, ctrl *framework.Controller) {
	t.Helper()
	ns = framework.Namespace(t)
	cm, record := plugintest.Configured(t, ns, key, dir, name, args...)
	if _, err := framework.Get(t).Clientset.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return ns, record, start(t, ns)
}

// start runs a controller whose own namespace is ns, watching ns alone.
func start(t *testing.T, ns string) *framework.Controller {
	t.Helper()
	return framework.StartControllerEnv(t, []string{"POD_NAMESPACE=" + ns}, "--leader-elect=false", "--namespaced", "--namespace", ns)
}

func apply(t *testing.T, ns, manifest string) {
	t.Helper()
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

func getRollout(t *testing.T, ns string) *v1alpha1.Rollout {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, "web"), &ro); err != nil {
		t.Fatal(err)
	}
	return &ro
}

// describe is the rollout's state for failure messages.
func describe(ro *v1alpha1.Rollout) string {
	step := "-"
	if ro.Status.CurrentStepIndex != nil {
		step = fmt.Sprint(*ro.Status.CurrentStepIndex)
	}
	plugins, _ := json.Marshal(ro.Status.Canary.StepPluginStatuses)
	weights, _ := json.Marshal(ro.Status.Canary.Weights)
	return fmt.Sprintf("phase %s (%s) step %s abort %v stable %s current %s weights %s stepPluginStatuses %s conditions %+v",
		ro.Status.Phase, ro.Status.Message, step, ro.Status.Abort, ro.Status.StableRS, ro.Status.CurrentPodHash, weights, plugins, ro.Status.Conditions)
}

// waitHealthy waits for the first version to be deployed.
func waitHealthy(t *testing.T, ns string) {
	t.Helper()
	framework.Eventually(t, time.Minute, "the first version Healthy", func() (bool, string) {
		ro := getRollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy, describe(ro)
	})
}

// waitCompleted waits for the update to complete: the new version stable
// and Healthy.
func waitCompleted(t *testing.T, ns string, timeout time.Duration) *v1alpha1.Rollout {
	t.Helper()
	var ro *v1alpha1.Rollout
	framework.Eventually(t, timeout, "the update completed", func() (bool, string) {
		ro = getRollout(t, ns)
		if ro.Status.Abort {
			t.Fatalf("the update aborted: %s", describe(ro))
		}
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash && ro.Status.ObservedGeneration == "2", describe(ro)
	})
	return ro
}
