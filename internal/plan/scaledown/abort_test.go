package scaledown

import (
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var (
	thirty  = 30 * time.Second
	delayed = AbortPolicy{Delay: &thirty}
)

func TestAbortPolicyOf(t *testing.T) {
	ten := 10 * time.Second
	routed := &v1alpha1.RolloutTrafficRouting{}
	cases := []struct {
		name     string
		strategy v1alpha1.RolloutStrategy
		want     AbortPolicy
	}{
		{"basic canary", v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}}, AbortPolicy{Delay: new(time.Duration(0)), BasicCanary: true}},
		{"routed canary default", v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{TrafficRouting: routed}}, AbortPolicy{Delay: &thirty}},
		{"routed canary explicit 0", v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{TrafficRouting: routed, AbortScaleDownDelaySeconds: new(int32(0))}}, AbortPolicy{Explicit: true}},
		{"dynamic stable scale", v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{TrafficRouting: routed, DynamicStableScale: true}}, AbortPolicy{Delay: &thirty, DynamicStableScale: true}},
		{"blue-green default", v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{}}, AbortPolicy{Delay: &thirty}},
		{"blue-green explicit", v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{AbortScaleDownDelaySeconds: new(int32(10))}}, AbortPolicy{Delay: &ten, Explicit: true}},
	}
	for _, c := range cases {
		ro := &v1alpha1.Rollout{}
		ro.Spec.Strategy = c.strategy
		got := AbortPolicyOf(ro)
		sameDelay := (got.Delay == nil) == (c.want.Delay == nil) && (got.Delay == nil || *got.Delay == *c.want.Delay)
		if !sameDelay || got.Explicit != c.want.Explicit || got.BasicCanary != c.want.BasicCanary || got.DynamicStableScale != c.want.DynamicStableScale {
			t.Errorf("%s: got %+v (delay %v), want %+v", c.name, got, got.Delay, c.want)
		}
	}
}

// Cases mirror upstream TestShouldDelayScaleDownOnAbort's intent.
func TestDelays(t *testing.T) {
	cases := []struct {
		name               string
		policy             AbortPolicy
		aborted, hasStable bool
		want               bool
	}{
		{"not aborted", delayed, false, true, false},
		{"no stable to fall back to", delayed, true, false, false},
		{"basic canary never delays", AbortPolicy{Delay: new(time.Duration(0)), BasicCanary: true}, true, true, false},
		{"explicit 0 keeps the canary up instead", AbortPolicy{Explicit: true}, true, true, false},
		{"dynamicStableScale without explicit delay", AbortPolicy{Delay: &thirty, DynamicStableScale: true}, true, true, false},
		{"dynamicStableScale with explicit delay", AbortPolicy{Delay: &thirty, Explicit: true, DynamicStableScale: true}, true, true, true},
		{"routed canary or blue-green default", delayed, true, true, true},
	}
	for _, c := range cases {
		if got := c.policy.Delays(c.aborted, c.hasStable); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPlanNew(t *testing.T) {
	cases := []struct {
		name string
		in   NewRS
		want NewPlan
	}{
		{
			name: "not aborted: the replica math decides",
			in:   NewRS{Policy: delayed, HasStable: true, Desired: 4},
			want: NewPlan{Replicas: 4},
		},
		{
			name: "not aborted: a leftover deadline is cleared",
			in:   NewRS{Policy: delayed, HasStable: true, Desired: 4, Deadline: at(time.Minute)},
			want: NewPlan{Replicas: 4, ClearDeadline: true},
		},
		{
			name: "basic canary scales down at once",
			in:   NewRS{Policy: AbortPolicy{Delay: new(time.Duration(0)), BasicCanary: true}, Aborted: true, HasStable: true, StableFullyAvailable: true},
			want: NewPlan{},
		},
		{
			name: "explicit 0: sized by the replica math, which keeps setCanaryScale",
			in:   NewRS{Policy: AbortPolicy{Explicit: true}, Aborted: true, HasStable: true, StableFullyAvailable: true, Desired: 2},
			want: NewPlan{Replicas: 2},
		},
		{
			name: "waits for the stable before starting the clock",
			in:   NewRS{Policy: delayed, Aborted: true, HasStable: true, Desired: 0},
			want: NewPlan{Hold: true},
		},
		{
			name: "stable fully available: deadline written, held",
			in:   NewRS{Policy: delayed, Aborted: true, HasStable: true, StableFullyAvailable: true},
			want: NewPlan{Hold: true, Deadline: Deadline(t0, thirty), RequeueAfter: thirty},
		},
		{
			name: "before the deadline: held, requeued for the rest",
			in:   NewRS{Policy: delayed, Aborted: true, HasStable: true, StableFullyAvailable: true, Deadline: at(7 * time.Second)},
			want: NewPlan{Hold: true, RequeueAfter: 7 * time.Second},
		},
		{
			name: "deadline passed: to 0",
			in:   NewRS{Policy: delayed, Aborted: true, HasStable: true, StableFullyAvailable: true, Deadline: at(-time.Second), Desired: 3},
			want: NewPlan{},
		},
		{
			name: "unreadable deadline: sized by the replica math",
			in:   NewRS{Policy: delayed, Aborted: true, HasStable: true, Deadline: unreadable, Desired: 3},
			want: NewPlan{Replicas: 3},
		},
	}
	for _, c := range cases {
		in := c.in
		in.Now = t0
		if got := PlanNew(in); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}
