// Command scale is the scale benchmark of the Rollout controller (make
// bench-scale): on the local cluster it creates N canary Rollouts of 3
// replicas, waits until all are Healthy, changes every image at once and
// times the wave until all are Healthy on the new revision. It reports wall
// time, the controller's API requests by verb and resource (from its
// aviary_api_requests_total counter) with their mean and peak rate next to
// its client budget, its CPU seconds and peak RSS, and the writes per
// rollout against the design minimum. It compares with no other
// controller: a comparison is only fair when both run side by side.
//
// It is a benchmark, not a test: it prints figures and never fails on them.
package main

import (
	"context"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/bench/internal/wave"
)

func main() { wave.Main("bench/scale", run) }

// replicas is the size of each benchmark Rollout.
const replicas = 3

func run() error {
	c := wave.Parse("bench/scale", 200, os.Args[1:])
	ctx := context.Background()
	// At the peak of the wave a rollout has its 3 pods and one surge pod.
	env, err := wave.Setup(ctx, c, "bench/scale", replicas+1)
	if err != nil {
		return err
	}
	defer env.Close()
	wait := func(color string) error { return waitAll(ctx, env, color) }
	if err := env.FirstVersions(ctx, func(i int) []client.Object { return []client.Object{rollout(env.Namespace, i)} }, wait); err != nil {
		return err
	}
	w, f, err := env.UpdateWave(ctx, wait)
	if err != nil {
		return err
	}
	w.End()
	report(os.Stdout, f)
	return nil
}

// rollout is one benchmark Rollout: 3 replicas, a basic canary with two
// one-second pauses.
func rollout(ns string, i int) *v1alpha1.Rollout {
	return wave.Rollout(ns, i, replicas, &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
		{SetWeight: new(int32(34))},
		{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromInt32(1))}},
		{SetWeight: new(int32(67))},
		{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromInt32(1))}},
	}})
}

// waitAll polls until every Rollout is Healthy with all 3 replicas
// available on the given image, as stable, and no other pods left.
func waitAll(ctx context.Context, env *wave.Env, color string) error {
	return wave.WaitRollouts(ctx, env.Client, env.Namespace, env.N, env.Timeout, func(ro *v1alpha1.Rollout) bool {
		return wave.HealthyOn(ro, color) && ro.Status.AvailableReplicas == replicas && ro.Status.Replicas == replicas
	})
}

// minimum is the fewest writes the update wave of one benchmark Rollout
// needs, 13; see bench/README.md for the derivation.
var minimum = wave.Minimum{
	"create replicasets":    1,
	"patch replicasets":     5,
	"patch rollouts/status": 7,
}

func report(w io.Writer, f wave.Figures) {
	f.PrintRequests(w, "API requests by the controller during the update wave", minimum)
	f.PrintSummary(w, "update wave", minimum, 0)
}
