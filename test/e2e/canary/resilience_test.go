package canary

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestControllerKilledMidRolloutResumes kills the controller (SIGKILL) while
// seed 03 waits at its indefinite pause, promotes while no controller runs,
// and starts a new one: it must carry on from the status alone and finish.
func TestControllerKilledMidRolloutResumes(t *testing.T) {
	ns, blue, green, ctl := startSeed03Update(t)
	ctl.Kill()
	patchStatus(t, ns, `{"status":{"pauseConditions":null}}`)
	ro, _, _ := rolloutState(t, ns, "rollouts-demo")
	if *ro.Status.CurrentStepIndex != 1 {
		t.Fatalf("with no controller running nothing may move; step %d", *ro.Status.CurrentStepIndex)
	}
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	framework.Eventually(t, 90*time.Second, "the new controller finishes the update", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == green && spec[green] == 5 && spec[blue] == 0
		return ok, describe(ro, spec, avail)
	})
}

// TestScaleSubresource scales the rollout through /scale, as an HPA or
// `kubectl scale` does: the ReplicaSet follows and status reports the
// scale-subresource fields.
func TestScaleSubresource(t *testing.T) {
	e := framework.Get(t)
	ns, ctl := scopedNamespace(t)
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-canary")+"---\n"+strings.ReplaceAll(serviceTemplate, "NAME", "web-stable")+"---\n"+servicesManifest)
	waitForFirstVersion(t, ns, 4)
	if out, err := e.Kubectl(context.Background(), "scale", "rollout", "rollouts-demo", "-n", ns, "--replicas", "7"); err != nil {
		t.Fatalf("kubectl scale: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "scaled to 7 with HPA fields", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		h := ro.Status.StableRS
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && spec[h] == 7 && ro.Status.HPAReplicas == 7 && ro.Status.Selector == "app=web"
		return ok, describe(ro, spec, avail)
	})
	// Dashboards built on Argo Rollouts' metrics see the same numbers.
	want := `rollout_info_replicas_desired{name="rollouts-demo",namespace="` + ns + `"} 7`
	framework.Eventually(t, 10*time.Second, "the metrics endpoint to report 7 desired replicas", func() (bool, string) {
		resp, err := http.Get("http://" + ctl.MetricsAddr + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), want) && strings.Contains(string(body), `rollout_info{name="rollouts-demo",namespace="`+ns+`",phase="Completed",strategy="canary",traffic_router=""} 1`), "not found in metrics"
	})
}

// TestScaleDuringCanaryStep scales seed 03 through /scale while it waits at
// setWeight 20, as an HPA would: both ReplicaSets follow in the step's
// proportion and the rollout stays at its step. At 10 replicas that is 2
// canary + 8 stable; at 3 it is 1 + 3, as in Argo Rollouts: with maxSurge
// the pod ratio may use replicas+1 pods when that is closer to the weight
// (1 of 4 = 25% beats 1 of 3 = 33%).
func TestScaleDuringCanaryStep(t *testing.T) {
	e := framework.Get(t)
	ns, blue, green, _ := startSeed03Update(t)
	for _, c := range []struct{ replicas, canary, stable int32 }{{10, 2, 8}, {3, 1, 3}} {
		if out, err := e.Kubectl(context.Background(), "scale", "rollout", "rollouts-demo", "-n", ns, "--replicas", fmt.Sprint(c.replicas)); err != nil {
			t.Fatalf("kubectl scale: %v\n%s", err, out)
		}
		framework.Eventually(t, 60*time.Second, fmt.Sprintf("%d canary + %d stable pods, still paused at step 1", c.canary, c.stable), func() (bool, string) {
			ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
			ok := ro.Status.Phase == v1alpha1.RolloutPhasePaused && *ro.Status.CurrentStepIndex == 1 &&
				spec[green] == c.canary && spec[blue] == c.stable && avail[green] == c.canary && avail[blue] == c.stable &&
				ro.Status.HPAReplicas == c.canary+c.stable
			return ok, describe(ro, spec, avail)
		})
	}
}
