package cli

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

const (
	demo  = "rollouts-demo"
	blue  = "argoproj/rollouts-demo:blue"
	green = "argoproj/rollouts-demo:green"
)

// rolloutView is a rollout and its ReplicaSets as the API server has them.
type rolloutView struct {
	ro *v1alpha1.Rollout
	// spec and avail are the ReplicaSets' spec and available replicas, and
	// image their first container's image, by pod-template hash.
	spec, avail map[string]int32
	image       map[string]string
	// revision is each ReplicaSet's revision annotation by hash.
	revision map[string]string
}

// viewRollout reads the rollout name and the ReplicaSets of ns.
func viewRollout(t *testing.T, ns, name string) rolloutView {
	t.Helper()
	c := framework.Get(t).Client
	ctx := context.Background()
	v := rolloutView{ro: &v1alpha1.Rollout{}, spec: map[string]int32{}, avail: map[string]int32{}, image: map[string]string{}, revision: map[string]string{}}
	if err := c.Get(ctx, framework.Key(ns, name), v.ro); err != nil {
		t.Fatalf("get rollout %s/%s: %v", ns, name, err)
	}
	var list appsv1.ReplicaSetList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("list ReplicaSets of %s: %v", ns, err)
	}
	for _, rs := range list.Items {
		h := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
		v.spec[h], v.avail[h] = *rs.Spec.Replicas, rs.Status.AvailableReplicas
		v.image[h] = rs.Spec.Template.Spec.Containers[0].Image
		v.revision[h] = rs.Annotations[v1alpha1.RevisionAnnotation]
	}
	return v
}

// current is the hash of the rollout's current version.
func (v rolloutView) current() string { return v.ro.Status.CurrentPodHash }

// stable is the hash of the rollout's stable version.
func (v rolloutView) stable() string { return v.ro.Status.StableRS }

// step is the current step index, -1 if unset.
func (v rolloutView) step() int32 {
	if v.ro.Status.CurrentStepIndex == nil {
		return -1
	}
	return *v.ro.Status.CurrentStepIndex
}

func (v rolloutView) String() string {
	return fmt.Sprintf("phase %s %q, paused %v, step %d, stable %s, current %s, replicas %v, available %v, images %v",
		v.ro.Status.Phase, v.ro.Status.Message, v.ro.Spec.Paused, v.step(), v.stable(), v.current(), v.spec, v.avail, v.image)
}

// waitRollout waits until cond holds for the rollout name in ns.
func waitRollout(t *testing.T, ns, name string, timeout time.Duration, what string, cond func(v rolloutView) bool) rolloutView {
	t.Helper()
	var v rolloutView
	framework.Eventually(t, timeout, what, func() (bool, string) {
		v = viewRollout(t, ns, name)
		return cond(v), v.String()
	})
	return v
}

// mustCLI runs the CLI in ns and fails the test unless it exits 0 and
// prints want.
func mustCLI(t *testing.T, ns, want string, args ...string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, append([]string{"-n", ns}, args...)...)
	if code != 0 || stdout != want {
		t.Fatalf("kubectl-argo-rollouts %v: exit %d, stdout %q (want %q), stderr %q", args, code, stdout, want, stderr)
	}
}

// cliNamespace creates the test's namespace with a controller scoped to it.
func cliNamespace(t *testing.T) string {
	t.Helper()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	return ns
}

// applyManifest applies YAML (a path or, when it holds a newline, the
// manifest itself) in ns.
func applyManifest(t *testing.T, ns, manifest string) {
	t.Helper()
	e := framework.Get(t)
	var out string
	var err error
	if strings.Contains(manifest, "\n") {
		out, err = e.KubectlStdin(context.Background(), []byte(manifest), "apply", "-n", ns, "-f", "-")
	} else {
		out, err = e.Kubectl(context.Background(), "apply", "-n", ns, "-f", manifest)
	}
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

// startSeed03 applies seed 03 and waits for its first version, blue, to
// be Healthy at 5 pods; it returns blue's hash.
func startSeed03(t *testing.T, ns string) string {
	t.Helper()
	applyManifest(t, ns, framework.Example(t, "03-basic-canary.yaml"))
	v := waitRollout(t, ns, demo, 60*time.Second, "blue Healthy at 5 pods", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.current() != "" && v.stable() == v.current() &&
			v.avail[v.current()] == 5 && len(v.spec) == 1
	})
	return v.current()
}

// pausedAtFirstStep is seed 03 waiting at its indefinite pause: 1 of 5
// pods on the canary.
func pausedAtFirstStep(canary, stable string) func(v rolloutView) bool {
	return func(v rolloutView) bool {
		return v.current() == canary && v.stable() == stable && v.ro.Status.Phase == v1alpha1.RolloutPhasePaused &&
			v.ro.Status.Message == "CanaryPauseStep" && v.step() == 1 && v.spec[canary] == 1 && v.avail[canary] == 1 && v.spec[stable] == 4
	}
}

// TestSeed03WithTheCLI drives seed 03's whole flow with the CLI alone:
// set image starts a canary update that waits at the first pause; promote
// moves it on; abort returns every pod to blue (Degraded); retry restarts
// the update; pause and promote stop and resume it; promote --full
// finishes it; undo rolls the template back to blue; restart replaces
// every pod.
func TestSeed03WithTheCLI(t *testing.T) {
	ns := cliNamespace(t)
	blueHash := startSeed03(t, ns)

	mustCLI(t, ns, `rollout "rollouts-demo" image updated`+"\n", "set", "image", demo, "rollouts-demo="+green)
	v := waitRollout(t, ns, demo, 60*time.Second, "a new version paused at step 1", func(v rolloutView) bool {
		return v.current() != blueHash && v.image[v.current()] == green && pausedAtFirstStep(v.current(), blueHash)(v)
	})
	greenHash := v.current()

	// promote clears the indefinite pause: the update goes on to setWeight
	// 40 (2 of 5 pods) and its timed pause.
	mustCLI(t, ns, "rollout 'rollouts-demo' promoted\n", "promote", demo)
	waitRollout(t, ns, demo, 60*time.Second, "step 3 (pause 10s) with 2 canary pods", func(v rolloutView) bool {
		return v.step() >= 3 && v.spec[greenHash] >= 2 && v.stable() == blueHash
	})

	mustCLI(t, ns, "rollout 'rollouts-demo' aborted\n", "abort", demo)
	waitRollout(t, ns, demo, 60*time.Second, "Degraded, every pod back on blue", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && v.ro.Status.Abort &&
			v.ro.Status.Message == "RolloutAborted: Rollout aborted update to revision 2" &&
			v.spec[greenHash] == 0 && v.spec[blueHash] == 5 && v.avail[blueHash] == 5 && v.stable() == blueHash
	})

	mustCLI(t, ns, "rollout 'rollouts-demo' retried\n", "retry", "rollout", demo)
	waitRollout(t, ns, demo, 60*time.Second, "the update restarted, paused at step 1 again", pausedAtFirstStep(greenHash, blueHash))

	// pause on top of the step's pause, then promote lifts both.
	mustCLI(t, ns, "rollout 'rollouts-demo' paused\n", "pause", demo)
	waitRollout(t, ns, demo, 30*time.Second, "spec.paused set", func(v rolloutView) bool {
		return v.ro.Spec.Paused && v.ro.Status.Phase == v1alpha1.RolloutPhasePaused
	})
	mustCLI(t, ns, "rollout 'rollouts-demo' promoted\n", "promote", demo)
	waitRollout(t, ns, demo, 60*time.Second, "unpaused and past the first pause", func(v rolloutView) bool {
		return !v.ro.Spec.Paused && v.step() >= 3 && v.spec[greenHash] >= 2
	})

	mustCLI(t, ns, "rollout 'rollouts-demo' fully promoted\n", "promote", demo, "--full")
	waitRollout(t, ns, demo, 90*time.Second, "green stable at 5 pods, blue at zero", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.stable() == greenHash && v.current() == greenHash &&
			v.avail[greenHash] == 5 && v.spec[blueHash] == 0
	})

	// undo puts blue's template back (without the hash label) and the
	// rollout updates to it. (The template now holds the fields the API
	// server defaulted in blue's ReplicaSet, so the controller hashes it
	// differently and runs it as a new ReplicaSet.)
	mustCLI(t, ns, "rollout 'rollouts-demo' undo\n", "undo", demo)
	v = waitRollout(t, ns, demo, 60*time.Second, "blue's template back and an update to it under way", func(v rolloutView) bool {
		return v.ro.Spec.Template.Spec.Containers[0].Image == blue && v.current() != greenHash && v.image[v.current()] == blue &&
			v.stable() == greenHash
	})
	if _, ok := v.ro.Spec.Template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; ok {
		t.Errorf("undo copied the pod-template hash label into the rollout: %v", v.ro.Spec.Template.Labels)
	}
	undone := v.current()
	mustCLI(t, ns, "rollout 'rollouts-demo' fully promoted\n", "promote", demo, "--full")
	v = waitRollout(t, ns, demo, 90*time.Second, "blue stable again at 5 pods", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.stable() == undone && v.avail[undone] == 5 && v.spec[greenHash] == 0
	})
	// Asking for the revision the template already is changes nothing.
	mustCLI(t, ns, fmt.Sprintf("skipped rollback (current template already matches revision %s)\n", v.revision[undone]),
		"undo", demo, "--to-revision", v.revision[undone])
	if after := viewRollout(t, ns, demo); after.ro.Generation != v.ro.Generation {
		t.Errorf("a skipped rollback changed the rollout: generation %d → %d", v.ro.Generation, after.ro.Generation)
	}

	restartOf(t, ns)
}

// restartOf restarts the rollout with the CLI and waits for every pod to
// be replaced and status.restartedAt to echo spec.restartAt.
func restartOf(t *testing.T, ns string) {
	t.Helper()
	e := framework.Get(t)
	ctx := context.Background()
	var before corev1.PodList
	if err := e.Client.List(ctx, &before, client.InNamespace(ns)); err != nil {
		t.Fatalf("list pods: %v", err)
	}
	old := map[string]bool{}
	for _, p := range before.Items {
		old[p.Name] = true
	}
	// restartAt has second precision: make every pod strictly older.
	time.Sleep(1100 * time.Millisecond)
	mustCLI(t, ns, "rollout 'rollouts-demo' restarts in 0s\n", "restart", demo)
	framework.Eventually(t, 90*time.Second, "every pod replaced and restartedAt recorded", func() (bool, string) {
		v := viewRollout(t, ns, demo)
		var pods corev1.PodList
		if err := e.Client.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		survivors := 0
		for _, p := range pods.Items {
			if old[p.Name] {
				survivors++
			}
		}
		at := v.ro.Spec.RestartAt
		ok := survivors == 0 && at != nil && v.ro.Status.RestartedAt != nil && at.Equal(v.ro.Status.RestartedAt) &&
			v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.ro.Status.AvailableReplicas == 5
		return ok, fmt.Sprintf("%d old pods left, restartAt %v; %s", survivors, at, v)
	})
}
