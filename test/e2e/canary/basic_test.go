package canary

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// rolloutState reads the rollout and its ReplicaSets' spec replicas by hash.
func rolloutState(t *testing.T, ns, name string) (*v1alpha1.Rollout, map[string]int32, map[string]int32) {
	t.Helper()
	e := framework.Get(t)
	ctx := context.Background()
	var ro v1alpha1.Rollout
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &ro); err != nil {
		t.Fatalf("get rollout: %v", err)
	}
	var list appsv1.ReplicaSetList
	if err := e.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	spec, avail := map[string]int32{}, map[string]int32{}
	for _, rs := range list.Items {
		h := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		spec[h] = *rs.Spec.Replicas
		avail[h] = rs.Status.AvailableReplicas
	}
	return &ro, spec, avail
}

func describe(ro *v1alpha1.Rollout, spec, avail map[string]int32) string {
	idx := "nil"
	if ro.Status.CurrentStepIndex != nil {
		idx = fmt.Sprint(*ro.Status.CurrentStepIndex)
	}
	return fmt.Sprintf("phase %s %q, step %s, stable %s, current %s, replicas %v, available %v",
		ro.Status.Phase, ro.Status.Message, idx, ro.Status.StableRS, ro.Status.CurrentPodHash, spec, avail)
}

// TestBasicCanarySeed plays seed 03 with the patches the kubectl plugin
// sends: the first version goes straight to 100%; a new image gets 1 of 5
// pods at setWeight 20 and waits at the indefinite pause; promote
// (clearing the pause conditions) walks the timed pauses to the end and the
// new version becomes stable with the old ReplicaSet scaled to zero.
func TestBasicCanarySeed(t *testing.T) {
	ns, blue, green, _ := startSeed03Update(t)
	// Notifications and `kubectl describe` users read these events.
	for reason, msg := range map[string]string{
		"ScalingReplicaSet":    "Scaled down ReplicaSet rollouts-demo-" + blue + " (revision 1) from 5 to 4",
		"NewReplicaSetCreated": "Created ReplicaSet rollouts-demo-" + green + " (revision 2)",
		"RolloutStepCompleted": "Rollout step 1/8 completed (setWeight: 20)",
		"RolloutPaused":        "Rollout is paused (CanaryPauseStep)",
	} {
		framework.Eventually(t, 10*time.Second, "event "+reason+": "+msg, func() (bool, string) {
			got := eventMessages(t, ns, reason)
			return slices.Contains(got, msg), fmt.Sprint(got)
		})
	}
	// `kubectl argo rollouts promote` clears the pause conditions.
	patchStatus(t, ns, `{"status":{"pauseConditions":null}}`)
	framework.Eventually(t, 90*time.Second, "green stable at 100%, blue scaled to zero", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == green &&
			spec[green] == 5 && avail[green] == 5 && spec[blue] == 0 && *ro.Status.CurrentStepIndex == 8
		return ok, describe(ro, spec, avail)
	})
	// Argo CD and notification templates read these conditions.
	framework.Eventually(t, 10*time.Second, "Available, Completed and Healthy conditions True", func() (bool, string) {
		ro, _, _ := rolloutState(t, ns, "rollouts-demo")
		state := map[v1alpha1.RolloutConditionType]string{}
		for _, c := range ro.Status.Conditions {
			state[c.Type] = string(c.Status) + "/" + c.Reason
		}
		ok := state[v1alpha1.RolloutAvailable] == "True/AvailableReason" && state[v1alpha1.RolloutCompleted] == "True/RolloutCompleted" &&
			state[v1alpha1.RolloutHealthy] == "True/RolloutHealthy" && state[v1alpha1.RolloutProgressing] == "True/NewReplicaSetAvailable"
		return ok, fmt.Sprint(state)
	})
}

// TestBasicCanaryAbortAndRetry aborts seed 03 mid-update: the rollout is
// Degraded with all pods back on the stable version; retry resumes the
// update from the first step.
func TestBasicCanaryAbortAndRetry(t *testing.T) {
	ns, blue, green, _ := startSeed03Update(t)
	// `kubectl argo rollouts abort`
	patchStatus(t, ns, `{"status":{"abort":true}}`)
	framework.Eventually(t, 60*time.Second, "Degraded with the canary scaled to zero", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Message == "RolloutAborted: Rollout aborted update to revision 2" &&
			spec[green] == 0 && spec[blue] == 5 && avail[blue] == 5 && ro.Status.StableRS == blue
		return ok, describe(ro, spec, avail)
	})
	// `kubectl argo rollouts retry rollout`
	patchStatus(t, ns, `{"status":{"abort":false}}`)
	framework.Eventually(t, 60*time.Second, "the update restarted and paused at step 1 again", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		ok := ro.Status.Phase == v1alpha1.RolloutPhasePaused && *ro.Status.CurrentStepIndex == 1 && spec[green] == 1 && spec[blue] == 4
		return ok, describe(ro, spec, avail)
	})
}

// TestBasicCanaryFastRollback re-applies the stable image mid-update: the
// steps are skipped and the stable ReplicaSet takes all pods at once.
func TestBasicCanaryFastRollback(t *testing.T) {
	ns, blue, green, _ := startSeed03Update(t)
	setImage(t, ns, "argoproj/rollouts-demo:blue")
	framework.Eventually(t, 60*time.Second, "back on blue, Healthy, steps skipped", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.CurrentPodHash == blue && ro.Status.StableRS == blue &&
			*ro.Status.CurrentStepIndex == 8 && spec[blue] == 5 && spec[green] == 0
		return ok, describe(ro, spec, avail)
	})
}

// startSeed03Update applies seed 03 in a fresh namespace with a controller
// scoped to it, waits for blue at 100%, sets the image to green and waits
// for the first pause (1 of 5 pods on green). It returns the namespace,
// both hashes and the controller.
func startSeed03Update(t *testing.T) (ns, blue, green string, ctl *framework.Controller) {
	t.Helper()
	e := framework.Get(t)
	ns, ctl = scopedNamespace(t)
	seed := framework.Example(t, "03-basic-canary.yaml")
	if out, err := e.Kubectl(context.Background(), "apply", "-n", ns, "-f", seed); err != nil {
		t.Fatalf("apply seed 03: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "the first version at 100% and Healthy", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		blue = ro.Status.CurrentPodHash
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && blue != "" && ro.Status.StableRS == blue &&
			spec[blue] == 5 && avail[blue] == 5 && len(spec) == 1
		return ok, describe(ro, spec, avail)
	})
	setImage(t, ns, "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "1 canary and 4 stable pods, paused at step 1", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		green = ro.Status.CurrentPodHash
		ok := green != blue && ro.Status.StableRS == blue && ro.Status.Phase == v1alpha1.RolloutPhasePaused &&
			ro.Status.Message == "CanaryPauseStep" && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1 &&
			spec[green] == 1 && avail[green] == 1 && spec[blue] == 4
		return ok, describe(ro, spec, avail)
	})
	return ns, blue, green, ctl
}

// setImage sends the patch `kubectl argo rollouts set image` sends.
func setImage(t *testing.T, ns, image string) {
	t.Helper()
	patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, image)
	if out, err := framework.Get(t).Kubectl(context.Background(), "patch", "rollout", "rollouts-demo", "-n", ns, "--type", "json", "-p", patch); err != nil {
		t.Fatalf("set image %s: %v\n%s", image, err, out)
	}
}

// patchStatus sends a merge patch to the status subresource, as the
// plugin's promote, abort and retry do.
func patchStatus(t *testing.T, ns, patch string) {
	t.Helper()
	if out, err := framework.Get(t).Kubectl(context.Background(), "patch", "rollout", "rollouts-demo", "-n", ns,
		"--subresource=status", "--type", "merge", "-p", patch); err != nil {
		t.Fatalf("patch status %s: %v\n%s", patch, err, out)
	}
}

// eventMessages lists the messages of the facts told about the namespace's
// Rollouts with reason.
func eventMessages(t *testing.T, ns, reason string) []string {
	t.Helper()
	return framework.RolloutEventMessages(t, ns, reason)
}
