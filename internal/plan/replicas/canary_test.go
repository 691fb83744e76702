package replicas

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// oneStepRollout is the fixture of the upstream canary tables: a single step
// holding setWeight (and any setCanaryScale), at step 0, with stable hash
// "stable" and desired hash "canary".
func oneStepRollout(replicas, setWeight int32, maxSurge, maxUnavailable intstr.IntOrString, scs *v1alpha1.SetCanaryScale, tr *v1alpha1.RolloutTrafficRouting) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Replicas = new(replicas)
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{
		MaxSurge:       &maxSurge,
		MaxUnavailable: &maxUnavailable,
		Steps:          []v1alpha1.CanaryStep{{SetWeight: new(setWeight), SetCanaryScale: scs}},
		TrafficRouting: tr,
	}
	ro.Status.StableRS = "stable"
	ro.Status.CurrentPodHash = "canary"
	return ro
}

func mustCanary(t *testing.T, ro *v1alpha1.Rollout) Canary {
	t.Helper()
	c, err := CanaryFromRollout(ro)
	if err != nil {
		t.Fatalf("CanaryFromRollout: %v", err)
	}
	return c
}

func rs(name string, replicas, available int32) *RS {
	return &RS{Name: name, Replicas: replicas, Available: available}
}

// Cases from upstream TestCalculateReplicaCountsForCanary. Basic canaries
// are given their canary, stable and older ReplicaSets; traffic-routed ones
// no ReplicaSets, as upstream does.
func TestDesiredCountsUpstreamCanaryTable(t *testing.T) {
	type tc struct {
		name                   string
		replicas, setWeight    int32
		maxSurge, maxUnavail   intstr.IntOrString
		promoteFull, abort     bool
		stable, canary         [2]int32 // spec, available
		older                  *RS
		setCanaryScale         *v1alpha1.SetCanaryScale
		trafficRouted          bool
		abortScaleDownDelay    *int32
		minPodsPerReplicaSet   *int32
		wantCanary, wantStable int32
	}
	i, s := intstr.FromInt32, intstr.FromString
	cases := []tc{
		{name: "Do not add extra RSs in scaleDownCount when .Spec.Replica < AvailableReplicas", replicas: 10, setWeight: 100, maxSurge: i(3), maxUnavail: i(0),
			stable: [2]int32{7, 8}, canary: [2]int32{6, 3}, wantStable: 7, wantCanary: 6},
		{name: "Use max surge int to scale up canary", replicas: 10, setWeight: 20, maxSurge: i(2), maxUnavail: i(0),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, wantStable: 10, wantCanary: 2},
		{name: "Use max surge percentage to scale up canary", replicas: 10, setWeight: 20, maxSurge: s("20%"), maxUnavail: i(0),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, wantStable: 10, wantCanary: 2},
		{name: "Scale down extra stable replicas", replicas: 10, setWeight: 20, maxSurge: s("20%"), maxUnavail: i(0),
			stable: [2]int32{10, 10}, canary: [2]int32{2, 2}, wantStable: 8, wantCanary: 2},
		{name: "Do not go past max surge", replicas: 10, setWeight: 30, maxSurge: i(2), maxUnavail: i(0),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, wantStable: 10, wantCanary: 2},
		{name: "Use max unavailable int to scale down stableRS", replicas: 10, setWeight: 20, maxSurge: i(0), maxUnavail: i(2),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, wantStable: 8, wantCanary: 0},
		{name: "Use max surge percentage to scale down stableRS", replicas: 10, setWeight: 20, maxSurge: i(0), maxUnavail: s("20%"),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, wantStable: 8, wantCanary: 0},
		{name: "Do not go past max unavailable", replicas: 10, setWeight: 30, maxSurge: i(0), maxUnavail: i(2),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, wantStable: 8, wantCanary: 0},
		{name: "Use Max Surge and Max Unavailable", replicas: 10, setWeight: 50, maxSurge: i(2), maxUnavail: i(1),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, wantStable: 9, wantCanary: 2},
		{name: "Scale canaryRS to zero on setWeight of 0%", replicas: 10, setWeight: 0, maxSurge: i(1), maxUnavail: i(1),
			stable: [2]int32{10, 10}, canary: [2]int32{1, 1}, wantStable: 10, wantCanary: 0},
		{name: "Scale stable to zero on setWeight of 100%", replicas: 10, setWeight: 100, maxSurge: i(1), maxUnavail: i(1),
			stable: [2]int32{1, 1}, canary: [2]int32{10, 10}, wantStable: 0, wantCanary: 10},
		{name: "Do not scale canaryRS down to zero on non-zero weight", replicas: 1, setWeight: 20, maxSurge: i(1), maxUnavail: i(0),
			stable: [2]int32{1, 1}, canary: [2]int32{0, 0}, wantStable: 1, wantCanary: 1},
		{name: "Do not scale canaryRS down to zero on non-100 weight", replicas: 1, setWeight: 90, maxSurge: i(1), maxUnavail: i(0),
			stable: [2]int32{1, 1}, canary: [2]int32{0, 0}, wantStable: 1, wantCanary: 1},
		{name: "Scale canaryRS to zero on <50 weight without surge", replicas: 1, setWeight: 49, maxSurge: i(0), maxUnavail: i(1),
			stable: [2]int32{1, 1}, canary: [2]int32{0, 0}, wantStable: 1, wantCanary: 0},
		{name: "Scale stableRS down to zero on >=50 weight without surge", replicas: 1, setWeight: 51, maxSurge: i(0), maxUnavail: i(1),
			stable: [2]int32{1, 1}, canary: [2]int32{0, 0}, wantStable: 0, wantCanary: 0},
		{name: "Scale canaryRS to one on >=50 weight without surge and stable replicas", replicas: 1, setWeight: 51, maxSurge: i(0), maxUnavail: i(1),
			stable: [2]int32{0, 0}, canary: [2]int32{0, 0}, wantStable: 0, wantCanary: 1},
		{name: "Scale up Stable before canaryRS", replicas: 10, setWeight: 30, maxSurge: i(1), maxUnavail: i(0),
			stable: [2]int32{1, 1}, canary: [2]int32{0, 0}, older: rs("older", 3, 3), wantStable: 7, wantCanary: 1},
		{name: "Scale down canaryRS and stable", replicas: 10, setWeight: 30, maxSurge: i(0), maxUnavail: i(3),
			stable: [2]int32{8, 5}, canary: [2]int32{4, 4}, wantStable: 7, wantCanary: 3},
		{name: "Scale down stable and canary available", replicas: 10, setWeight: 100, maxSurge: i(1), maxUnavail: i(0),
			stable: [2]int32{10, 2}, canary: [2]int32{10, 8}, wantStable: 2, wantCanary: 9},
		{name: "Do not scale down canaryRS or stable when older RS count >= scaleDownCount", replicas: 10, setWeight: 30, maxSurge: i(0), maxUnavail: i(1),
			stable: [2]int32{8, 6}, canary: [2]int32{4, 2}, older: rs("older", 3, 3), wantStable: 8, wantCanary: 4},
		{name: "Do not round past maxSurge with uneven setWeight divisor", replicas: 10, setWeight: 5, maxSurge: i(0), maxUnavail: i(1),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, wantStable: 9, wantCanary: 0},
		{name: "Do not round past maxSurge with uneven setWeight divisor (part 2)", replicas: 10, setWeight: 5, maxSurge: i(0), maxUnavail: i(1),
			stable: [2]int32{9, 9}, canary: [2]int32{0, 0}, wantStable: 9, wantCanary: 1},
		{name: "Use maxUnavailable of 1 when percentage of maxUnavailable and maxSurge result in 0 replicas", replicas: 10, setWeight: 10, maxSurge: s("0%"), maxUnavail: s("0%"),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, wantStable: 9, wantCanary: 0},
		{name: "For canary replicas, use setCanaryScale.replicas when specified along with trafficRouting (and ignore setWeight)", replicas: 1, setWeight: 100,
			stable: [2]int32{1, 1}, setCanaryScale: &v1alpha1.SetCanaryScale{Replicas: new(int32(9))}, trafficRouted: true, wantStable: 1, wantCanary: 9},
		{name: "Use setCanaryScale.weight for canary replicas when specified with trafficRouting (and ignore setWeight)", replicas: 4, setWeight: 100,
			stable: [2]int32{4, 4}, setCanaryScale: &v1alpha1.SetCanaryScale{Weight: new(int32(200))}, trafficRouted: true, wantStable: 4, wantCanary: 8},
		{name: "Ignore setCanaryScale replicas/weight when matchTrafficWeight is true", replicas: 10, setWeight: 20, maxSurge: s("20%"), maxUnavail: i(0),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, setCanaryScale: &v1alpha1.SetCanaryScale{Replicas: new(int32(9)), Weight: new(int32(100)), MatchTrafficWeight: true}, trafficRouted: true,
			wantStable: 10, wantCanary: 2},
		{name: "Ignore setCanaryScale when trafficRouting is missing and use setWeight for replicas", replicas: 10, setWeight: 20, maxSurge: s("20%"), maxUnavail: i(0),
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, setCanaryScale: &v1alpha1.SetCanaryScale{Replicas: new(int32(9)), Weight: new(int32(100))},
			wantStable: 10, wantCanary: 2},
		{name: "honor maxSurge during scale up when stableRS unavailable", replicas: 4, setWeight: 100, maxSurge: i(1), maxUnavail: i(0),
			stable: [2]int32{4, 1}, canary: [2]int32{0, 0}, wantStable: 4, wantCanary: 1},
		{name: "scale down to maxunavailable without exceeding maxSurge", replicas: 3, setWeight: 99, maxSurge: i(0), maxUnavail: i(2),
			stable: [2]int32{3, 3}, canary: [2]int32{0, 0}, wantStable: 1, wantCanary: 0},
		{name: "scale down to maxunavailable without exceeding maxSurge (part 2)", replicas: 3, setWeight: 99, maxSurge: i(0), maxUnavail: i(2),
			stable: [2]int32{1, 1}, canary: [2]int32{0, 0}, wantStable: 1, wantCanary: 2},
		{name: "honor maxUnavailable during scale down stableRS unavailable", replicas: 4, setWeight: 100, maxSurge: i(1), maxUnavail: i(0),
			stable: [2]int32{4, 1}, canary: [2]int32{1, 1}, wantStable: 3, wantCanary: 1},
		{name: "honor maxUnavailable when aborting or reducing weight part 1", replicas: 4, setWeight: 0, maxSurge: i(1), maxUnavail: i(0),
			stable: [2]int32{0, 0}, canary: [2]int32{4, 4}, wantStable: 1, wantCanary: 4},
		{name: "honor maxUnavailable when aborting or reducing weight part 2", replicas: 4, setWeight: 0, maxSurge: i(1), maxUnavail: i(0),
			stable: [2]int32{1, 0}, canary: [2]int32{4, 4}, wantStable: 1, wantCanary: 4},
		{name: "honor maxUnavailable when aborting or reducing weight part 3", replicas: 4, setWeight: 0, maxSurge: i(1), maxUnavail: i(0),
			stable: [2]int32{1, 1}, canary: [2]int32{4, 4}, wantStable: 1, wantCanary: 3},
		{name: "promote full does not consider weight", promoteFull: true, replicas: 4, setWeight: 1, maxSurge: i(4), maxUnavail: i(4),
			stable: [2]int32{4, 4}, canary: [2]int32{0, 0}, wantStable: 0, wantCanary: 4},
		{name: "promote full still honors maxSurge/maxUnavailable", promoteFull: true, replicas: 4, setWeight: 1, maxSurge: i(3), maxUnavail: i(0),
			stable: [2]int32{4, 4}, canary: [2]int32{0, 0}, wantStable: 4, wantCanary: 3},
		{name: "aborted with abortScaleDownDelaySeconds:0 and setCanaryScale", replicas: 1, setCanaryScale: &v1alpha1.SetCanaryScale{Replicas: new(int32(1))},
			trafficRouted: true, abortScaleDownDelay: new(int32(0)), abort: true, stable: [2]int32{1, 1}, canary: [2]int32{1, 1}, wantStable: 1, wantCanary: 1},
		{name: "aborted with abortScaleDownDelaySeconds>0 and setCanaryScale", replicas: 1, setCanaryScale: &v1alpha1.SetCanaryScale{Replicas: new(int32(1))},
			trafficRouted: true, abortScaleDownDelay: new(int32(30)), abort: true, stable: [2]int32{1, 1}, canary: [2]int32{1, 1}, wantStable: 1, wantCanary: 0},
		{name: "Honor MinPodsPerReplicaSet when using trafficRouting and starting canary", replicas: 10, setWeight: 5,
			stable: [2]int32{10, 10}, canary: [2]int32{0, 0}, trafficRouted: true, minPodsPerReplicaSet: new(int32(2)), wantStable: 10, wantCanary: 2},
	}
	if len(cases) != 39 {
		t.Fatalf("upstream table has 39 cases, ported %d", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tr *v1alpha1.RolloutTrafficRouting
			if c.trafficRouted {
				tr = &v1alpha1.RolloutTrafficRouting{}
			}
			ro := oneStepRollout(c.replicas, c.setWeight, c.maxSurge, c.maxUnavail, c.setCanaryScale, tr)
			ro.Status.PromoteFull = c.promoteFull
			ro.Status.Abort = c.abort
			ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = c.abortScaleDownDelay
			ro.Spec.Strategy.Canary.MinPodsPerReplicaSet = c.minPodsPerReplicaSet
			canary := mustCanary(t, ro)
			var sets ReplicaSets
			if !c.trafficRouted {
				sets = ReplicaSets{New: rs("canary", c.canary[0], c.canary[1]), Stable: rs("stable", c.stable[0], c.stable[1])}
				if c.older != nil {
					sets.Others = []RS{*c.older}
				}
			}
			got := canary.DesiredCounts(sets, nil)
			if got != (Counts{Canary: c.wantCanary, Stable: c.wantStable}) {
				t.Errorf("got canary %d stable %d, want canary %d stable %d", got.Canary, got.Stable, c.wantCanary, c.wantStable)
			}
		})
	}
}

// Cases from upstream TestCalculateReplicaCountsForNewDeployment and
// TestCalculateReplicaCountsForCanaryStableRSdEdgeCases: without a separate
// stable the new ReplicaSet heads for all replicas.
func TestDesiredCountsWithoutSeparateStable(t *testing.T) {
	i := intstr.FromInt32
	newDeployment := mustCanary(t, oneStepRollout(10, 10, i(0), i(1), nil, nil))
	noStableHash := oneStepRollout(10, 10, i(0), i(1), nil, nil)
	noStableHash.Status.StableRS, noStableHash.Status.CurrentPodHash = "", ""
	edge := mustCanary(t, noStableHash)
	cases := []struct {
		name   string
		canary Canary
		sets   ReplicaSets
		want   Counts
	}{
		{"new deployment: stable is the new RS", newDeployment, ReplicaSets{New: rs("stable", 10, 0), Stable: rs("stable", 10, 0)}, Counts{Canary: 10}},
		{"no stable RS", edge, ReplicaSets{New: rs("stable", 9, 9)}, Counts{Canary: 10}},
		{"stable RS is the new RS", edge, ReplicaSets{New: rs("stable", 9, 9), Stable: rs("stable", 9, 9)}, Counts{Canary: 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.canary.DesiredCounts(c.sets, nil); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// Cases from upstream TestGetCanaryReplicasOrWeight.
func TestTarget(t *testing.T) {
	scaleSteps := func(scs v1alpha1.SetCanaryScale) []v1alpha1.CanaryStep {
		return []v1alpha1.CanaryStep{{SetWeight: new(int32(10))}, {SetCanaryScale: &scs}}
	}
	cases := []struct {
		name   string
		canary Canary
		want   Target
	}{
		{"test full promote rollout", Canary{MaxTrafficWeight: 100, PromoteFull: true}, Target{Weight: 100}},
		{"test canary step weight", Canary{MaxTrafficWeight: 100, TrafficRouted: true, Steps: scaleSteps(v1alpha1.SetCanaryScale{Weight: new(int32(20))}), CurrentStepIndex: 1, StableRS: "stable-rs"},
			Target{Weight: 20}},
		{"test canary step replicas", Canary{MaxTrafficWeight: 100, TrafficRouted: true, Steps: scaleSteps(v1alpha1.SetCanaryScale{Replicas: new(int32(5))}), CurrentStepIndex: 1, StableRS: "stable-rs"},
			Target{Replicas: new(int32(5))}},
		{"test get current step weight", Canary{MaxTrafficWeight: 100, Abort: true}, Target{Weight: 100}},
		// Not upstream: an empty setCanaryScale falls through to the weight.
		{"empty setCanaryScale uses setWeight", Canary{MaxTrafficWeight: 100, TrafficRouted: true, Steps: scaleSteps(v1alpha1.SetCanaryScale{}), CurrentStepIndex: 1, StableRS: "s"},
			Target{Weight: 10}},
		{"currentPodHash equal to stable is fully promoted", Canary{MaxTrafficWeight: 50, Steps: scaleSteps(v1alpha1.SetCanaryScale{}), StableRS: "s", CurrentPodHash: "s"},
			Target{Weight: 50}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.canary.Target(ReplicaSets{})
			if got.Weight != c.want.Weight || (got.Replicas == nil) != (c.want.Replicas == nil) || (got.Replicas != nil && *got.Replicas != *c.want.Replicas) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// Cases from upstream TestGetCurrentSetWeight, plus step walking.
func TestCurrentSetWeight(t *testing.T) {
	steps := []v1alpha1.CanaryStep{{SetWeight: new(int32(10))}}
	cases := []struct {
		name   string
		canary Canary
		want   int32
	}{
		{"past the last step", Canary{MaxTrafficWeight: 100, Steps: steps, CurrentStepIndex: 1}, 100},
		{"at the setWeight step", Canary{MaxTrafficWeight: 100, Steps: steps}, 10},
		{"aborted", Canary{MaxTrafficWeight: 100, Steps: steps, Abort: true}, 0},
		// Not upstream.
		{"no steps", Canary{MaxTrafficWeight: 100}, 100},
		{"last setWeight before a pause", Canary{MaxTrafficWeight: 100, Steps: []v1alpha1.CanaryStep{{SetWeight: new(int32(10))}, {SetWeight: new(int32(40))}, {Pause: &v1alpha1.RolloutPause{}}}, CurrentStepIndex: 2}, 40},
		{"no setWeight yet", Canary{MaxTrafficWeight: 100, Steps: []v1alpha1.CanaryStep{{Pause: &v1alpha1.RolloutPause{}}, {SetWeight: new(int32(40))}}}, 0},
		{"negative index reads as 0", Canary{MaxTrafficWeight: 100, Steps: steps, CurrentStepIndex: -3}, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.canary.CurrentSetWeight(); got != c.want {
				t.Errorf("got %d, want %d", got, c.want)
			}
		})
	}
}

func TestSetCanaryScaleOverride(t *testing.T) {
	steps := []v1alpha1.CanaryStep{
		{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: new(int32(3))}},
		{SetWeight: new(int32(20))},
		{SetCanaryScale: &v1alpha1.SetCanaryScale{MatchTrafficWeight: true}},
		{SetWeight: new(int32(50))},
	}
	base := Canary{Replicas: 10, MaxTrafficWeight: 100, TrafficRouted: true, Steps: steps, StableRS: "s", CurrentPodHash: "c"}
	cases := []struct {
		name   string
		mutate func(*Canary)
		want   Counts
	}{
		{"replicas override at its own step", func(*Canary) {}, Counts{Canary: 3, Stable: 10}},
		{"override outlives a later setWeight", func(c *Canary) { c.CurrentStepIndex = 1 }, Counts{Canary: 3, Stable: 10}},
		{"matchTrafficWeight cancels it", func(c *Canary) { c.CurrentStepIndex = 3 }, Counts{Canary: 5, Stable: 10}},
		{"dropped on abort", func(c *Canary) { c.CurrentStepIndex = 1; c.Abort = true }, Counts{Canary: 0, Stable: 10}},
		{"kept on abort with abortScaleDownDelaySeconds 0", func(c *Canary) { c.CurrentStepIndex = 1; c.Abort = true; c.KeepCanaryScaleOnAbort = true }, Counts{Canary: 3, Stable: 10}},
		{"ignored without a router", func(c *Canary) {
			c.TrafficRouted = false
			c.CurrentStepIndex = 1
			c.Fenceposts = Fenceposts{MaxSurge: 10}
		}, Counts{Canary: 2, Stable: 8}},
		{"explicit replicas skip minPodsPerReplicaSet", func(c *Canary) { c.MinPodsPerReplicaSet = new(int32(5)) }, Counts{Canary: 3, Stable: 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			canary := base
			c.mutate(&canary)
			sets := ReplicaSets{}
			if !canary.TrafficRouted {
				sets = ReplicaSets{New: rs("c", 2, 2), Stable: rs("s", 8, 8)}
			}
			if got := canary.DesiredCounts(sets, nil); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestCanaryFromRollout(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		ro := &v1alpha1.Rollout{}
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
		c := mustCanary(t, ro)
		want := Canary{Replicas: 1, Fenceposts: Fenceposts{MaxSurge: 1, MaxUnavailable: 0}, MaxTrafficWeight: v1alpha1.DefaultMaxTrafficWeight}
		if c.Replicas != want.Replicas || c.Fenceposts != want.Fenceposts || c.MaxTrafficWeight != want.MaxTrafficWeight || c.TrafficRouted || c.KeepCanaryScaleOnAbort {
			t.Errorf("got %+v, want %+v", c, want)
		}
	})
	t.Run("spec and status", func(t *testing.T) {
		ro := oneStepRollout(8, 20, intstr.FromString("50%"), intstr.FromInt32(1), nil, &v1alpha1.RolloutTrafficRouting{MaxTrafficWeight: new(int32(1000))})
		ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = new(int32(0))
		ro.Spec.Strategy.Canary.DynamicStableScale = true
		ro.Spec.Strategy.Canary.MinPodsPerReplicaSet = new(int32(2))
		ro.Status.CurrentStepIndex = new(int32(1))
		ro.Status.Abort, ro.Status.PromoteFull = true, true
		c := mustCanary(t, ro)
		if c.Replicas != 8 || c.Fenceposts != (Fenceposts{MaxSurge: 4, MaxUnavailable: 1}) || c.MaxTrafficWeight != 1000 ||
			!c.TrafficRouted || !c.DynamicStableScale || *c.MinPodsPerReplicaSet != 2 || !c.KeepCanaryScaleOnAbort ||
			c.CurrentStepIndex != 1 || !c.Abort || !c.PromoteFull || c.StableRS != "stable" || c.CurrentPodHash != "canary" || len(c.Steps) != 1 {
			t.Errorf("got %+v", c)
		}
	})
	t.Run("abortScaleDownDelaySeconds 0 needs a router", func(t *testing.T) {
		ro := oneStepRollout(8, 20, intstr.FromInt32(1), intstr.FromInt32(1), nil, nil)
		ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = new(int32(0))
		if mustCanary(t, ro).KeepCanaryScaleOnAbort {
			t.Error("basic canary keeps its canary on abort")
		}
	})
	t.Run("bad fenceposts", func(t *testing.T) {
		ro := oneStepRollout(8, 20, intstr.FromString("oops"), intstr.FromInt32(1), nil, nil)
		c, err := CanaryFromRollout(ro)
		if err == nil || c.Replicas != 8 || c.Fenceposts != (Fenceposts{}) {
			t.Errorf("got %+v, %v", c, err)
		}
	})
	t.Run("blue-green", func(t *testing.T) {
		ro := &v1alpha1.Rollout{}
		ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{}
		if _, err := CanaryFromRollout(ro); !errors.Is(err, ErrNotCanary) {
			t.Errorf("got %v", err)
		}
	})
}
