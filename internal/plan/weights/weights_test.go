package weights

import (
	"slices"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
)

func setWeight(w int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: &w} }

var pause = v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}}

// midUpdate is a 10-replica routed canary with steps [setWeight 20, pause,
// setWeight 50, pause] at step idx, stable "s" fully up and canary "c" with
// canary pods, all available.
func midUpdate(idx int32, canary int32) Input {
	return Input{
		Canary: replicas.Canary{
			Replicas: 10, MaxTrafficWeight: 100, TrafficRouted: true,
			Steps:            []v1alpha1.CanaryStep{setWeight(20), pause, setWeight(50), pause},
			CurrentStepIndex: idx, StableRS: "s", CurrentPodHash: "c",
		},
		Sets: replicas.ReplicaSets{
			New:    &replicas.RS{Name: "c", Replicas: canary, StatusReplicas: canary, Available: canary},
			Stable: &replicas.RS{Name: "s", Replicas: 10, StatusReplicas: 10, Available: 10},
		},
	}
}

func weightsAt(canary int32, hash string) *v1alpha1.TrafficWeights {
	return &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: canary, PodTemplateHash: hash}, Stable: v1alpha1.WeightDestination{Weight: 100 - canary, PodTemplateHash: "s"}}
}

var experiment = []v1alpha1.WeightDestination{{Weight: 10, ServiceName: "exp-svc", PodTemplateHash: "e"}}

func TestDecide(t *testing.T) {
	cases := []struct {
		name string
		in   Input
		mod  func(*Input)
		want Decision
	}{
		// Steps (see also TestDecideSteps).
		{
			name: "setCanaryScale does not change traffic",
			in:   midUpdate(2, 5),
			mod: func(in *Input) {
				in.Canary.Steps = []v1alpha1.CanaryStep{setWeight(20), {SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: new(int32(5))}}, pause}
			},
			want: Decision{Desired: 20, Stable: 80, MayMove: true, Reason: ReasonStep},
		},
		{
			name: "maxTrafficWeight scales the total",
			in:   midUpdate(4, 10),
			mod:  func(in *Input) { in.Canary.MaxTrafficWeight = 1000 },
			want: Decision{Desired: 1000, MayMove: true, Reason: ReasonStepsDone},
		},
		{
			name: "no steps: the canary only gets traffic by becoming stable",
			in:   midUpdate(0, 10),
			mod:  func(in *Input) { in.Canary.Steps = nil },
			want: Decision{Stable: 100, MayMove: true, Reason: ReasonNoSteps},
		},

		// Experiments.
		{
			name: "experiment weights come out of the stable",
			in:   midUpdate(1, 2),
			mod:  func(in *Input) { in.Experiment = experiment },
			want: Decision{Desired: 20, Additional: experiment, Stable: 70, MayMove: true, Reason: ReasonStep},
		},
		{
			name: "experiment weights kept while the canary scales",
			in:   midUpdate(2, 2),
			mod:  func(in *Input) { in.Experiment = experiment },
			want: Decision{Desired: 20, Additional: experiment, Stable: 70, MayMove: true, Reason: ReasonCanaryNotReady},
		},
		{
			name: "experiment weights dropped after the last step",
			in:   midUpdate(4, 10),
			mod:  func(in *Input) { in.Experiment = experiment },
			want: Decision{Desired: 100, MayMove: true, Reason: ReasonStepsDone},
		},

		// No canary pods.
		{
			name: "no new ReplicaSet: 0, experiments kept, routes removed",
			in:   midUpdate(2, 5),
			mod:  func(in *Input) { in.Sets.New = nil; in.Experiment = experiment },
			want: Decision{Additional: experiment, Stable: 90, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonNoCanaryPods},
		},
		{
			name: "canary lost its pods after getting weight: reset before the hash moves",
			in:   midUpdate(2, 5),
			mod:  func(in *Input) { in.Sets.New.Available = 0; in.Current = weightsAt(20, "c") },
			want: Decision{Stable: 100, RemoveManagedRoutes: true, ResetFirst: true, MayMove: true, Reason: ReasonNoCanaryPods},
		},

		// Promotion.
		{
			name: "fully promoted: canary 0, routes removed",
			in:   midUpdate(4, 10),
			mod:  func(in *Input) { in.Canary.StableRS = "c"; in.Sets.Stable = in.Sets.New },
			want: Decision{Stable: 100, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonFullyPromoted},
		},
		{
			name: "fully promoted: routes removed even when traffic may not move",
			in:   midUpdate(4, 10),
			mod:  func(in *Input) { in.Canary.StableRS = "c"; in.Sets.Stable = nil },
			want: Decision{Stable: 100, RemoveManagedRoutes: true, Reason: ReasonFullyPromoted},
		},
		{
			name: "promoteFull keeps the weight until the Services switch",
			in:   midUpdate(1, 7),
			mod:  func(in *Input) { in.Canary.PromoteFull = true; in.Current = weightsAt(20, "c") },
			want: Decision{Desired: 20, Stable: 80, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonPromoteFull},
		},
		{
			name: "promoteFull with no weights yet: 0",
			in:   midUpdate(1, 7),
			mod:  func(in *Input) { in.Canary.PromoteFull = true },
			want: Decision{Stable: 100, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonPromoteFull},
		},
		{
			name: "promoteFull with dynamicStableScale follows available canary pods",
			in:   midUpdate(1, 7),
			mod: func(in *Input) {
				in.Canary.PromoteFull, in.Canary.DynamicStableScale = true, true
				in.Sets.Stable.Available = 3
			},
			want: Decision{Desired: 70, Stable: 30, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonPromoteFull},
		},
		{
			name: "promoteFull with dynamicStableScale never exceeds the max",
			in:   midUpdate(1, 12),
			mod:  func(in *Input) { in.Canary.PromoteFull, in.Canary.DynamicStableScale = true, true },
			want: Decision{Desired: 100, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonPromoteFull},
		},

		// Abort.
		{
			name: "abort: 0 at once, canary Service back to stable",
			in:   midUpdate(0, 5),
			mod:  func(in *Input) { in.Canary.Abort = true; in.Current = weightsAt(50, "c") },
			want: Decision{Stable: 100, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonAborted},
		},
		{
			name: "abort beats a canary with no pods",
			in:   midUpdate(0, 5),
			mod:  func(in *Input) { in.Canary.Abort = true; in.Sets.New = nil; in.Experiment = experiment },
			want: Decision{Stable: 100, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonAborted},
		},
		{
			name: "abort, dynamicStableScale, no weights yet: the larger of step and what stable leaves",
			in:   midUpdate(0, 5),
			mod:  func(in *Input) { abortDynamic(8, 0)(in); in.Current = nil },
			want: Decision{Desired: 20, Stable: 80, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonAborted},
		},
		{
			name: "abort, dynamicStableScale, a kept setCanaryScale does not set traffic",
			in:   midUpdate(0, 5),
			mod: func(in *Input) {
				abortDynamic(8, 50)(in)
				in.Canary.KeepCanaryScaleOnAbort = true
				in.Canary.Steps = append([]v1alpha1.CanaryStep{{SetCanaryScale: &v1alpha1.SetCanaryScale{Weight: new(int32(90))}}}, in.Canary.Steps...)
			},
			want: Decision{Desired: 20, Stable: 80, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonAborted},
		},

		// Dynamic rollback to stable.
		{
			name: "rollback to a growing dynamic stable: previous canary keeps its weight",
			in:   midUpdate(4, 5),
			mod:  rollback(6),
			want: Decision{Desired: 50, Stable: 50, MayMove: true, Reason: ReasonRollbackToStable},
		},
		{
			name: "rollback done once the stable is full: plain fully promoted",
			in:   midUpdate(4, 5),
			mod:  rollback(10),
			want: Decision{Stable: 100, RemoveManagedRoutes: true, MayMove: true, Reason: ReasonFullyPromoted},
		},
		{
			name: "rollback without dynamicStableScale: plain fully promoted",
			in:   midUpdate(4, 5),
			mod:  func(in *Input) { rollback(6)(in); in.Canary.DynamicStableScale = false },
			want: Decision{Stable: 100, RemoveManagedRoutes: true, Reason: ReasonFullyPromoted},
		},

		{
			name: "no stable: nothing may move (nor is the step done)",
			in:   midUpdate(0, 2),
			mod:  func(in *Input) { in.Sets.Stable = nil },
			want: Decision{Stable: 100, Reason: ReasonCanaryNotReady},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			if c.mod != nil {
				c.mod(&in)
			}
			got := Decide(in)
			got.CanaryHash, got.StableHash = "", ""
			if got.Desired != c.want.Desired || got.Stable != c.want.Stable || got.Reason != c.want.Reason ||
				got.RemoveManagedRoutes != c.want.RemoveManagedRoutes ||
				got.ResetFirst != c.want.ResetFirst || got.MayMove != c.want.MayMove || !slices.Equal(got.Additional, c.want.Additional) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// Through the steps [setWeight 20, pause, setWeight 50, pause] the weight
// follows the setWeight in force, but only once the canary has all its
// pods; until then it stays at the previous setWeight.
func TestDecideSteps(t *testing.T) {
	cases := []struct {
		name                    string
		step, canary, available int32
		want                    int32
		reason                  string
	}{
		{"at desired count: current setWeight", 0, 2, 2, 20, ReasonStep},
		{"a pause keeps the last setWeight", 1, 2, 2, 20, ReasonStep},
		{"canary still scaling: previous setWeight", 2, 2, 2, 20, ReasonCanaryNotReady},
		{"canary pods not all available: previous setWeight", 2, 5, 4, 20, ReasonCanaryNotReady},
		{"no setWeight before the first step: 0", 0, 2, 1, 0, ReasonCanaryNotReady},
		{"second setWeight reached", 2, 5, 5, 50, ReasonStep},
		{"after the last step, at desired count: max", 4, 10, 10, 100, ReasonStepsDone},
		{"after the last step, canary still scaling: last setWeight", 4, 5, 5, 50, ReasonCanaryNotReady},
	}
	for _, c := range cases {
		in := midUpdate(c.step, c.canary)
		in.Sets.New.Available = c.available
		d := Decide(in)
		if d.Desired != c.want || d.Stable != 100-c.want || d.Reason != c.reason || !d.MayMove || d.RemoveManagedRoutes {
			t.Errorf("%s: got %+v, want weight %d (%s)", c.name, d, c.want, c.reason)
		}
	}
}

// At setWeight 20 of 10 replicas the stable must carry 80%: 8 pods, or
// whatever replicaProgressThreshold accepts instead (it also gates the
// canary's own 2 pods).
func TestDecideStableMustTakeItsShare(t *testing.T) {
	pods := func(n int32) *v1alpha1.ReplicaProgressThreshold {
		return &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePods, Value: n}
	}
	percent := func(n int32) *v1alpha1.ReplicaProgressThreshold {
		return &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePercentage, Value: n}
	}
	cases := []struct {
		name      string
		available int32
		threshold *v1alpha1.ReplicaProgressThreshold
		want      bool
	}{
		{"enough pods", 8, nil, true},
		{"one short", 7, nil, false},
		{"short, but within a pod threshold", 7, pods(2), true},
		{"short, within a percent threshold", 7, percent(80), true},
		{"short, outside a percent threshold", 7, percent(90), false},
	}
	for _, c := range cases {
		in := midUpdate(0, 2)
		in.Sets.Stable.Available = c.available
		in.Canary.ReplicaProgressThreshold = c.threshold
		d := Decide(in)
		if d.Desired != 20 || d.MayMove != c.want {
			t.Errorf("%s: desired %d may move %v, want 20 and %v", c.name, d.Desired, d.MayMove, c.want)
		}
	}
	// The stable's need rounds down: 75% of 10 is 7 pods.
	in := midUpdate(0, 3)
	in.Canary.Steps[0] = setWeight(25)
	in.Sets.Stable.Available = 7
	if d := Decide(in); d.Desired != 25 || !d.MayMove {
		t.Errorf("rounding: %+v", d)
	}
}

// An aborted dynamicStableScale canary (steps setWeight 20 and 50 of 10
// replicas) hands traffic back only as the stable regains pods.
func TestDecideAbortStepsBack(t *testing.T) {
	cases := []struct {
		name                    string
		canary, stable, current int32
		want                    int32
	}{
		{"stable still growing: canary keeps its weight", 5, 6, 50, 50},
		{"stable ready for the next step down", 5, 8, 50, 20},
		{"a lowered weight does not rise again", 5, 9, 10, 10},
		{"below the first step: the stable's availability decides", 1, 9, 20, 10},
		{"all back on stable", 1, 10, 10, 0},
	}
	for _, c := range cases {
		in := midUpdate(0, c.canary)
		abortDynamic(c.stable, c.current)(&in)
		d := Decide(in)
		if d.Desired != c.want || d.Reason != ReasonAborted || !d.MayMove || !d.RemoveManagedRoutes {
			t.Errorf("%s: got %+v, want weight %d", c.name, d, c.want)
		}
	}
}

// abortDynamic aborts a dynamicStableScale canary at step 0 whose stable
// has stableAvailable pods back and whose canary last had weight current.
func abortDynamic(stableAvailable, current int32) func(*Input) {
	return func(in *Input) {
		in.Canary.Abort, in.Canary.DynamicStableScale = true, true
		in.Sets.Stable.Available = stableAvailable
		in.Current = weightsAt(current, "c")
	}
}

// rollback re-applies the stable template "s" of a dynamicStableScale
// canary that had weight 50, with stableAvailable of its 10 pods back.
func rollback(stableAvailable int32) func(*Input) {
	return func(in *Input) {
		in.Canary.DynamicStableScale = true
		in.Canary.CurrentPodHash = "s"
		in.Sets.New = in.Sets.Stable
		in.Sets.Stable.Available = stableAvailable
		in.Current = weightsAt(50, "c")
	}
}

func TestDecideHashes(t *testing.T) {
	in := midUpdate(0, 2)
	if d := Decide(in); d.CanaryHash != "c" || d.StableHash != "s" {
		t.Errorf("mid-update: canary %q stable %q", d.CanaryHash, d.StableHash)
	}
	// The split during a rollback is between the previous canary and the
	// stable, which is now also the new ReplicaSet.
	rollback(6)(&in)
	if d := Decide(in); d.CanaryHash != "c" || d.StableHash != "s" {
		t.Errorf("rollback: canary %q stable %q", d.CanaryHash, d.StableHash)
	}
	in = midUpdate(0, 2)
	in.Sets.New = nil
	if d := Decide(in); d.CanaryHash != "" {
		t.Errorf("no new ReplicaSet: canary %q", d.CanaryHash)
	}
}
