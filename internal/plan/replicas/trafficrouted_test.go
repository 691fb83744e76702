package replicas

import (
	"math"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Cases from upstream TestTrafficWeightToReplicas.
func TestWeightToReplicas(t *testing.T) {
	cases := []struct{ replicas, weight, maxWeight, want int32 }{
		{10, 0, 100, 0},
		{10, 20, 100, 2},
		{10, 25, 100, 3},
		{10, 33, 100, 4},
		{10, 99, 100, 10},
		{10, 100, 100, 10},
		{23, 100000000, 100000000, 23},
	}
	for _, c := range cases {
		if got := weightToReplicas(c.replicas, c.weight, c.maxWeight); got != c.want {
			t.Errorf("weightToReplicas(%d, %d, %d) = %d, want %d", c.replicas, c.weight, c.maxWeight, got, c.want)
		}
	}
}

// Upstream rounds with floating point; exact integer rounding agrees with it
// across realistic sizes, including the negative shares an over-100
// setCanaryScale weight produces for the stable.
func TestWeightToReplicasMatchesFloatCeil(t *testing.T) {
	for _, maxWeight := range []int32{1, 3, 100, 1000, 10000} {
		for replicas := int32(0); replicas <= 60; replicas++ {
			for weight := -2 * maxWeight; weight <= 2*maxWeight; weight += max(1, maxWeight/250) {
				want := int32(math.Ceil(float64(weight) * float64(replicas) / float64(maxWeight)))
				if got := weightToReplicas(replicas, weight, maxWeight); got != want {
					t.Fatalf("weightToReplicas(%d, %d, %d) = %d, float ceil %d", replicas, weight, maxWeight, got, want)
				}
			}
		}
	}
}

// Case from upstream TestCalculateReplicaCountsForCanaryTrafficRouting.
func TestTrafficRoutedKeepsStableFull(t *testing.T) {
	ro := oneStepRollout(10, 10, intstr.FromInt32(0), intstr.FromInt32(1), nil, &v1alpha1.RolloutTrafficRouting{})
	got := mustCanary(t, ro).DesiredCounts(ReplicaSets{}, ro.Status.Canary.Weights)
	if got != (Counts{Canary: 1, Stable: 10}) {
		t.Errorf("got %+v", got)
	}
}

// Cases from upstream TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale.
// Its fixture has a first step setWeight: <setWeight> before any extra
// steps, current step 0, and canary pods all available.
func TestDynamicStableScaleUpstreamTable(t *testing.T) {
	step60 := []v1alpha1.CanaryStep{{SetWeight: new(int32(60))}}
	cases := []struct {
		name                      string
		replicas, setWeight       int32
		abort                     bool
		steps                     []v1alpha1.CanaryStep
		canaryWeight              int32
		stableWeight              int32
		canaryRS                  int32
		stableRS, stableAvailable int32
		wantCanary, wantStable    int32
	}{
		{name: "Should scale stable replica up depending on next expected canary downscale step, if abort is true",
			replicas: 10, setWeight: 20, canaryWeight: 60, stableWeight: 40, canaryRS: 6, stableRS: 4, stableAvailable: 4, abort: true, steps: step60,
			wantCanary: 6, wantStable: 8},
		{name: "Should scale stable replica up depending on available canary replicas, if actual number of canaries is less than expected and abort is true",
			replicas: 10, setWeight: 20, abort: true, canaryWeight: 60, stableWeight: 40, canaryRS: 1, stableRS: 4, stableAvailable: 4, steps: step60,
			wantCanary: 6, wantStable: 8},
		{name: "Should scale stable replica up depending on available stable replicas, if abort is true",
			replicas: 10, setWeight: 20, abort: true, canaryWeight: 60, stableWeight: 40, canaryRS: 2, stableRS: 8, stableAvailable: 4, steps: step60,
			wantCanary: 6, wantStable: 8},
		{name: "Should scale stable up as if canaries are scaled down to 0 if stable and canary replicas not passed, and abort is true",
			replicas: 10, setWeight: 20, abort: true, canaryWeight: 60, stableWeight: 40, steps: step60,
			wantCanary: 6, wantStable: 10},
		{name: "Should scale down stable", replicas: 10, setWeight: 10, canaryWeight: 10, stableWeight: 90, wantCanary: 1, wantStable: 9},
		{name: "Should take max of desired canary (20) > actual (10)", replicas: 10, setWeight: 20, canaryWeight: 10, stableWeight: 90, wantCanary: 2, wantStable: 9},
		{name: "Should leave canary scaled up if there is still traffic to it on abort", replicas: 10, setWeight: 20, abort: true, canaryWeight: 20, stableWeight: 80,
			wantCanary: 2, wantStable: 10},
		{name: "Should reduce canary when there is less traffic to it on abort", replicas: 10, setWeight: 20, abort: true, canaryWeight: 10, stableWeight: 90,
			wantCanary: 1, wantStable: 10},
	}
	if len(cases) != 8 {
		t.Fatalf("upstream table has 8 cases, ported %d", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ro := oneStepRollout(c.replicas, c.setWeight, intstr.FromInt32(0), intstr.FromInt32(1), nil, &v1alpha1.RolloutTrafficRouting{})
			ro.Spec.Strategy.Canary.DynamicStableScale = true
			ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps, c.steps...)
			ro.Status.Abort = c.abort
			weights := &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: c.canaryWeight}, Stable: v1alpha1.WeightDestination{Weight: c.stableWeight}}
			var sets ReplicaSets
			if c.stableRS > 0 {
				sets.Stable = rs("stable", c.stableRS, c.stableAvailable)
			}
			if c.canaryRS > 0 {
				sets.New = rs("canary", c.canaryRS, c.canaryRS)
			}
			got := mustCanary(t, ro).DesiredCounts(sets, weights)
			if got != (Counts{Canary: c.wantCanary, Stable: c.wantStable}) {
				t.Errorf("got canary %d stable %d, want canary %d stable %d", got.Canary, got.Stable, c.wantCanary, c.wantStable)
			}
		})
	}
}

func TestTrafficRoutedCanaryCounts(t *testing.T) {
	cases := []struct {
		name string
		in   TrafficRoutedCanary
		want Counts
	}{
		{"weight rounds up", TrafficRoutedCanary{Replicas: 5, Target: Target{Weight: 1}, MaxWeight: 100}, Counts{Canary: 1, Stable: 5}},
		{"maxTrafficWeight scales the share", TrafficRoutedCanary{Replicas: 10, Target: Target{Weight: 250}, MaxWeight: 1000}, Counts{Canary: 3, Stable: 10}},
		{"minPods raises canary", TrafficRoutedCanary{Replicas: 10, Target: Target{Weight: 10}, MaxWeight: 100, MinPodsPerReplicaSet: new(int32(3))}, Counts{Canary: 3, Stable: 10}},
		{"minPods leaves a zero canary", TrafficRoutedCanary{Replicas: 10, MaxWeight: 100, MinPodsPerReplicaSet: new(int32(3))}, Counts{Canary: 0, Stable: 10}},
		// Upstream applies no cap: minPods can exceed spec.replicas.
		{"minPods above replicas is not capped", TrafficRoutedCanary{Replicas: 2, Target: Target{Weight: 50}, MaxWeight: 100, MinPodsPerReplicaSet: new(int32(3)), DynamicStableScale: true},
			Counts{Canary: 3, Stable: 3}},
		{"dynamic: stable is its own share", TrafficRoutedCanary{Replicas: 10, Target: Target{Weight: 30}, MaxWeight: 100, DynamicStableScale: true}, Counts{Canary: 3, Stable: 7}},
		{"dynamic: stable waits for traffic to move", TrafficRoutedCanary{Replicas: 10, Target: Target{Weight: 30}, MaxWeight: 100, DynamicStableScale: true,
			Weights: &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: 10}, Stable: v1alpha1.WeightDestination{Weight: 90}}}, Counts{Canary: 3, Stable: 9}},
		{"dynamic: explicit replicas leave stable full", TrafficRoutedCanary{Replicas: 10, Target: Target{Replicas: new(int32(4))}, MaxWeight: 100, DynamicStableScale: true}, Counts{Canary: 4, Stable: 10}},
		{"dynamic: minPods on both", TrafficRoutedCanary{Replicas: 10, Target: Target{Weight: 95}, MaxWeight: 100, DynamicStableScale: true, MinPodsPerReplicaSet: new(int32(2))}, Counts{Canary: 10, Stable: 2}},
		{"not aborted: canary follows the step down", TrafficRoutedCanary{Replicas: 10, Target: Target{Weight: 10}, MaxWeight: 100, DynamicStableScale: true,
			Weights: &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: 50}, Stable: v1alpha1.WeightDestination{Weight: 50}}}, Counts{Canary: 1, Stable: 9}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := TrafficRoutedCanaryCounts(c.in); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// An aborted dynamicStableScale canary steps back down through the
// setWeight list as the stable becomes available again.
func TestDynamicStableScaleAbortStepsDown(t *testing.T) {
	canary := Canary{
		Replicas: 10, MaxTrafficWeight: 100, TrafficRouted: true, DynamicStableScale: true, Abort: true,
		Steps:    []v1alpha1.CanaryStep{{SetWeight: new(int32(20))}, {SetWeight: new(int32(50))}, {SetWeight: new(int32(80))}},
		StableRS: "s", CurrentPodHash: "c", CurrentStepIndex: 2,
	}
	cases := []struct {
		canaryAvailable, stableAvailable int32
		want                             int32
	}{
		{8, 2, 50},  // 8 canary pods left: next lower step is 50% (5 pods)
		{5, 5, 20},  // at 50%: next is 20%
		{2, 8, 0},   // at 20%: nothing lower
		{8, 5, 50},  // canary availability counts when higher
		{3, 2, 50},  // stable missing pods counts when higher
		{10, 0, 80}, // fully canary: first step down is 80%
	}
	for _, c := range cases {
		sets := ReplicaSets{New: rs("c", c.canaryAvailable, c.canaryAvailable), Stable: rs("s", c.stableAvailable, c.stableAvailable)}
		if got := canary.Target(sets); got.Weight != c.want || got.Replicas != nil {
			t.Errorf("canary %d stable %d available: got %+v, want weight %d", c.canaryAvailable, c.stableAvailable, got, c.want)
		}
	}
}

// Properties of traffic-routed sizing over a grid of inputs.
func TestTrafficRoutedProperties(t *testing.T) {
	for replicas := int32(0); replicas <= 25; replicas++ {
		for _, maxWeight := range []int32{100, 1000} {
			for weight := int32(0); weight <= maxWeight; weight += maxWeight / 100 {
				for _, dynamic := range []bool{false, true} {
					got := TrafficRoutedCanaryCounts(TrafficRoutedCanary{Replicas: replicas, Target: Target{Weight: weight}, MaxWeight: maxWeight, DynamicStableScale: dynamic})
					if got.Canary*maxWeight < weight*replicas || got.Canary > replicas {
						t.Fatalf("r=%d w=%d/%d: canary %d outside [share, replicas]", replicas, weight, maxWeight, got.Canary)
					}
					if weight > 0 && replicas > 0 && got.Canary == 0 {
						t.Fatalf("r=%d w=%d/%d: non-zero weight without a pod", replicas, weight, maxWeight)
					}
					if !dynamic && got.Stable != replicas {
						t.Fatalf("r=%d w=%d/%d: stable %d not full", replicas, weight, maxWeight, got.Stable)
					}
					if dynamic && got.Canary+got.Stable < replicas {
						t.Fatalf("r=%d w=%d/%d: %d+%d pods cannot carry all traffic", replicas, weight, maxWeight, got.Canary, got.Stable)
					}
				}
			}
		}
	}
}
