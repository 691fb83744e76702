// Command scale is the scale benchmark of the Rollout controller (make
// bench-scale): on the local cluster it creates N canary Rollouts of 3
// replicas, waits until all are Healthy, changes every image at once and
// times the wave until all are Healthy on the new revision. It reports wall
// time, the controller's API requests by verb and resource (as a proxy
// between it and the API server sees them) with their mean and peak rate
// next to its client budget, its CPU seconds and resident set, and the
// requests and writes per rollout against the design minimum.
//
// With -argo PATH (make bench-compare) it runs the same wave a second time
// with Argo Rollouts' controller instead of Aviary's, in a fresh namespace
// once the first is gone, through the same proxy and readings, and prints
// both reports and the figures side by side with their ratios: a
// comparison is only fair when both run on the same cluster and machine
// in one run.
//
// With -waves K (make bench-soak) it runs K waves back to back on the same
// Rollouts and controller, prints each wave's figures as it ends, and
// whether the controller's resident set after waves 2..K stayed within
// ±10% of its resident set after the first.
//
// It is a benchmark, not a test: it prints figures and never fails on them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
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
	waves := 1
	var argo wave.Argo
	c := wave.Parse("bench/scale", 200, os.Args[1:], func(fs *flag.FlagSet) {
		fs.IntVar(&waves, "waves", 1, "update waves back to back on the same Rollouts and controller (the soak: 10)")
		argo.Register(fs)
	})
	if waves < 1 {
		return fmt.Errorf("-waves %d: at least one wave", waves)
	}
	ctx := context.Background()
	if argo.Binary == "" {
		if waves == 1 {
			_, err := oneWave(ctx, c, false)
			return err
		}
		return soakRun(ctx, c, waves)
	}
	if waves > 1 {
		return fmt.Errorf("-argo with -waves %d: the comparison is of one wave", waves)
	}
	ours, err := oneWave(ctx, c, true)
	if err != nil {
		return err
	}
	theirs, err := argo.Config(c)
	if err != nil {
		return err
	}
	argoFigures, err := oneWave(ctx, theirs, false)
	if err != nil {
		return err
	}
	wave.PrintComparison(os.Stdout, "the update wave", ours, argoFigures)
	return nil
}

// setup starts the benchmark's environment for c and its Rollouts on the
// first version.
func setup(ctx context.Context, c wave.Config, waves int) (*wave.Env, func(string) error, error) {
	// At the peak of the wave a rollout has its 3 pods and one surge pod.
	env, err := wave.Setup(ctx, c, "bench/scale", replicas+1)
	if err != nil {
		return nil, nil, err
	}
	wait := func(color string) error { return waitAll(ctx, env, color) }
	objects := func(i int) []client.Object { return []client.Object{rollout(env.Namespace, i, waves > 1)} }
	if err := env.FirstVersions(ctx, objects, wait); err != nil {
		env.Close()
		return nil, nil, err
	}
	return env, wait, nil
}

// oneWave runs one update wave with the controller of c, prints its
// report and returns its figures; with waitGone, once the namespace is
// gone (unless -keep), so that a run after it finds the cluster as this
// one did.
func oneWave(ctx context.Context, c wave.Config, waitGone bool) (wave.Figures, error) {
	env, wait, err := setup(ctx, c, 1)
	if err != nil {
		return wave.Figures{}, err
	}
	w, err := env.UpdateWave(ctx, "", wave.Color(1), wait)
	if err != nil {
		env.Close()
		return wave.Figures{}, err
	}
	f, err := w.MeasureSettled()
	w.End()
	env.Close()
	if err != nil {
		return f, err
	}
	report(os.Stdout, f, "", minimum)
	if !waitGone {
		return f, nil
	}
	return f, env.WaitGone(ctx)
}

// soakRun runs the soak of waves waves with the controller of c.
func soakRun(ctx context.Context, c wave.Config, waves int) error {
	env, wait, err := setup(ctx, c, waves)
	if err != nil {
		return err
	}
	defer env.Close()
	return soak(ctx, env, waves, wait)
}

// soak runs waves update waves back to back, each to a new version, and
// prints each one's figures as it ends, the last one's in full and
// whether the controller's resident set stayed flat.
func soak(ctx context.Context, env *wave.Env, waves int, wait func(string) error) error {
	s := &wave.Soak{W: os.Stdout, Waves: waves}
	var last wave.Figures
	for k := 1; k <= waves; k++ {
		w, err := env.UpdateWave(ctx, fmt.Sprint(k), wave.Color(k), wait)
		if err != nil {
			return fmt.Errorf("wave %d: %w", k, err)
		}
		last, err = w.MeasureSettled()
		w.End()
		if err != nil {
			return fmt.Errorf("wave %d: %w", k, err)
		}
		rs, err := env.ReplicaSets(ctx)
		if err != nil {
			return err
		}
		s.Add(last, rs)
	}
	// From the second wave on, each removes the ReplicaSet that falls out
	// of the revision history.
	min := maps.Clone(minimum)
	min["delete replicasets"] = 1
	report(os.Stdout, last, fmt.Sprintf(", wave %d of %d", waves, waves), min)
	s.PrintFlatness()
	return nil
}

// rollout is one benchmark Rollout: 3 replicas, a basic canary with two
// one-second pauses. For the soak it keeps one old ReplicaSet rather than
// ten, so that from the first wave on the controller holds the same
// objects after every wave: what memory then gains is not more objects.
func rollout(ns string, i int, soak bool) *v1alpha1.Rollout {
	ro := wave.Rollout(ns, i, replicas, &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
		{SetWeight: new(int32(34))},
		{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromInt32(1))}},
		{SetWeight: new(int32(67))},
		{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromInt32(1))}},
	}})
	if soak {
		ro.Spec.RevisionHistoryLimit = new(int32(1))
	}
	return ro
}

// waitAll waits until every Rollout is Healthy with all 3 replicas
// available on the given image, as stable, and no other pods left.
func waitAll(ctx context.Context, env *wave.Env, color string) error {
	return env.WaitRollouts(ctx, func(ro *v1alpha1.Rollout) bool {
		return wave.HealthyOn(ro, color) && ro.Status.AvailableReplicas == replicas && ro.Status.Replicas == replicas
	})
}

// minimum is the fewest requests the update wave of one benchmark Rollout
// needs, 19: 13 object writes and 6 Events; see bench/README.md for the
// derivation.
var minimum = wave.Minimum{
	"create replicasets":    1,
	"patch replicasets":     5,
	"patch rollouts":        1,
	"patch rollouts/status": 6,
	"create events":         6,
}

// report prints the figures of an update wave, which wave says ("" for
// the only one), against min.
func report(w io.Writer, f wave.Figures, which string, min wave.Minimum) {
	f.PrintRequests(w, "API requests by the controller during the update wave"+which, min)
	f.PrintSummary(w, "update wave", min, 0)
}
