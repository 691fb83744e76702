package services

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
)

func TestShouldSwitch(t *testing.T) {
	cases := []struct {
		name    string
		current string
		managed bool
		target  Target
		want    bool
	}{
		{"already pointing there", "abc", true, Target{Hash: "abc", Replicas: 3, Available: 3}, false},
		{"managed, one pod available", "old", true, Target{Hash: "new", Replicas: 3, Available: 1}, true},
		{"managed, none available", "old", true, Target{Hash: "new", Replicas: 3, Available: 0}, false},
		{"adopting needs all pods", "", false, Target{Hash: "new", Replicas: 3, Available: 2}, false},
		{"adopting, fully available", "", false, Target{Hash: "new", Replicas: 3, Available: 3}, true},
		{"adopting a target with no replicas", "", false, Target{Hash: "new", Replicas: 0, Available: 0}, false},
		{"no target", "old", true, Target{}, false},
	}
	for _, c := range cases {
		if got := ShouldSwitch(c.current, c.managed, c.target); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// The canary Service of an aborted canary goes back to the stable at once,
// except with dynamicStableScale while the router still has weight on it.
func TestAbortedCanaryToStable(t *testing.T) {
	routed := &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "web"}}
	weight := func(w int32) *v1alpha1.TrafficWeights {
		return &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: w}}
	}
	for _, c := range []struct {
		name    string
		c       v1alpha1.CanaryStrategy
		applied *v1alpha1.TrafficWeights
		want    bool
	}{
		{"basic canary", v1alpha1.CanaryStrategy{}, nil, true},
		{"routed, weight dropped in one move", v1alpha1.CanaryStrategy{TrafficRouting: routed}, weight(30), true},
		{"dynamic, weight still on the canary", v1alpha1.CanaryStrategy{TrafficRouting: routed, DynamicStableScale: true}, weight(30), false},
		{"dynamic, no weight left", v1alpha1.CanaryStrategy{TrafficRouting: routed, DynamicStableScale: true}, weight(0), true},
		{"dynamic, no weights recorded", v1alpha1.CanaryStrategy{TrafficRouting: routed, DynamicStableScale: true}, nil, true},
	} {
		if got := AbortedCanaryToStable(&c.c, c.applied); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCanaryTargets(t *testing.T) {
	rs := func(hash string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash}}
	}
	newRS, stableRS := rs("new"), rs("old")
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
	if c, s := Canary(ro, roles.Roles{New: newRS}); c != newRS || s != newRS {
		t.Errorf("first deploy: canary %v stable %v, want the new ReplicaSet for both", c, s)
	}
	ro.Status.StableRS = "old"
	if c, s := Canary(ro, roles.Roles{New: newRS, Stable: stableRS}); c != newRS || s != stableRS {
		t.Errorf("update: canary %v stable %v", c, s)
	}
	ro.Status.Abort = true
	if c, s := Canary(ro, roles.Roles{New: newRS, Stable: stableRS}); c != stableRS || s != stableRS {
		t.Errorf("aborted: canary %v stable %v, want the stable for both", c, s)
	}
}
