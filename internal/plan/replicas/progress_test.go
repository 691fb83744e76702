package replicas

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Cases from upstream TestAtDesiredReplicaCountsForCanary: a basic canary of
// 4 with maxSurge 1 and maxUnavailable 1.
func TestAtDesiredReplicaCountsUpstreamTable(t *testing.T) {
	one := intstr.FromInt32(1)
	fixedScale := &v1alpha1.SetCanaryScale{Weight: new(int32(2)), Replicas: new(int32(2))}
	set := func(name string, replicas, available, existing int32) *RS {
		return &RS{Name: name, Replicas: replicas, Available: available, StatusReplicas: existing}
	}
	cases := []struct {
		name        string
		setWeight   int32
		scs         *v1alpha1.SetCanaryScale
		newRS, stRS *RS
		want        bool
	}{
		{"we are at desired replica counts and availability", 50, fixedScale, set("newRS", 2, 2, 2), set("stableRS", 2, 2, 2), true},
		{"new replicaset is not at desired counts or availability", 50, fixedScale, set("newRS", 2, 1, 2), set("stableRS", 2, 2, 2), false},
		{"stable replicaset is not at desired counts or availability", 75, &v1alpha1.SetCanaryScale{}, set("newRS", 3, 3, 3), set("stableRS", 2, 2, 2), false},
		{"stable replicaset is not at desired availability but is at correct count", 75, &v1alpha1.SetCanaryScale{}, set("newRS", 3, 3, 1), set("stableRS", 1, 0, 1), true},
		{"test that when status field lags behind spec.replicas we fail", 50, fixedScale, set("newRS", 2, 2, 2), set("stableRS", 2, 2, 3), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ro := oneStepRollout(4, c.setWeight, one, one, c.scs, nil)
			ro.Status.CurrentPodHash = "current"
			weights := &v1alpha1.TrafficWeights{
				Canary: v1alpha1.WeightDestination{Weight: c.setWeight},
				Stable: v1alpha1.WeightDestination{Weight: 100 - c.setWeight},
			}
			if got := mustCanary(t, ro).AtDesiredReplicaCounts(ReplicaSets{New: c.newRS, Stable: c.stRS}, weights); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestAtDesiredReplicaCounts(t *testing.T) {
	basic := Canary{Replicas: 4, MaxTrafficWeight: 100, Fenceposts: Fenceposts{MaxSurge: 1, MaxUnavailable: 1},
		Steps: []v1alpha1.CanaryStep{{SetWeight: new(int32(50))}}, StableRS: "s", CurrentPodHash: "c"}
	routed := basic
	routed.TrafficRouted = true
	dynamic := routed
	dynamic.DynamicStableScale = true
	threshold := basic
	threshold.ReplicaProgressThreshold = &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePods, Value: 1}
	full := func(name string, n int32) *RS { return &RS{Name: name, Replicas: n, Available: n, StatusReplicas: n} }
	cases := []struct {
		name   string
		canary Canary
		sets   ReplicaSets
		want   bool
	}{
		{"basic at 2/2", basic, ReplicaSets{New: full("c", 2), Stable: full("s", 2)}, true},
		{"basic: an old RS still has available pods", basic, ReplicaSets{New: full("c", 2), Stable: full("s", 2), Others: []RS{{Name: "o", Available: 1}}}, false},
		{"routed: an old RS with pods does not matter", routed, ReplicaSets{New: full("c", 2), Stable: full("s", 4), Others: []RS{*full("o", 3)}}, true},
		{"routed: stable must be full", routed, ReplicaSets{New: full("c", 2), Stable: full("s", 3)}, false},
		{"dynamic: stable is not checked", dynamic, ReplicaSets{New: full("c", 2), Stable: full("s", 4)}, true},
		{"no new RS", basic, ReplicaSets{Stable: full("s", 4)}, false},
		{"no stable RS", routed, ReplicaSets{New: full("c", 2)}, false},
		{"threshold: one available canary pod is enough", threshold, ReplicaSets{New: &RS{Name: "c", Replicas: 2, Available: 1, StatusReplicas: 2}, Stable: full("s", 2)}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.canary.AtDesiredReplicaCounts(c.sets, nil); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// Cases from upstream TestAllReplicaProgressThresholdMet, then
// TestAllDesiredAreAvailable (the no-threshold path; an unset spec.replicas
// is 1 by the time it is an RS).
func TestReplicaProgressThresholdMet(t *testing.T) {
	pct := func(v int32) *v1alpha1.ReplicaProgressThreshold {
		return &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePercentage, Value: v}
	}
	pods := func(v int32) *v1alpha1.ReplicaProgressThreshold {
		return &v1alpha1.ReplicaProgressThreshold{Type: v1alpha1.ProgressTypePods, Value: v}
	}
	cases := []struct {
		name      string
		threshold *v1alpha1.ReplicaProgressThreshold
		rs        *RS
		desired   int32
		want      bool
	}{
		{"test using percentage that 90% availability of pods passes", pct(90), &RS{Available: 9}, 10, true},
		{"test using pod values that 90% availability of pods correctly passes", pods(9), &RS{Available: 9}, 10, true},
		{"test using percentage that under 90% availability of pods correctly fails", pct(90), &RS{Available: 8}, 10, false},
		{"test using pod values that under 8 pods correctly fails", pods(8), &RS{Available: 7}, 10, false},
		{"test that when threshold is under 0, it defaults to 100% of pods being available to return true", pods(-100), &RS{Replicas: 10, Available: 10}, 10, true},
		{"test that when threshold is nil, it defaults to 100% of pods being available to return true", nil, &RS{Replicas: 5, Available: 10}, 10, false},
		{"test that when the replicaset is nil, it always returns false", pods(5), nil, 10, false},
		{"test that percentages well above the required threshold correctly pass", pct(100), &RS{Available: 100}, 10, true},
		{"test that when desired is 0, threshold is always met (percentage type only)", pct(90), &RS{}, 0, true},

		{"test correct return (true) when all desired pods are available", nil, &RS{Replicas: 10, Available: 10}, 10, true},
		{"test correct return (false) when not all desired pods are available", nil, &RS{Replicas: 10, Available: 9}, 10, false},
		{"test correct return (false) when all ReplicaSet is nil", nil, nil, 10, false},
		{"test correct return (false) when rs.Spec.Replicas is nil and desired != 1", nil, &RS{Replicas: 1, Available: 10}, 10, false},
		{"test correct return (true) when rs.Spec.Replicas is nil and desired is 1", nil, &RS{Replicas: 1, Available: 1}, 1, true},

		// Not upstream.
		{"float error does not fail an exact percentage", pct(29), &RS{Available: 29}, 100, true},
		{"pods threshold with nothing desired", pods(1), &RS{}, 0, false},
		{"an unknown type counts pods", &v1alpha1.ReplicaProgressThreshold{Type: "Pod", Value: 2}, &RS{Available: 2}, 5, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ReplicaProgressThresholdMet(c.threshold, c.rs, c.desired); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
