package services

import (
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestPingPongRoles(t *testing.T) {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{PingPong: &v1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"}}
	for _, tc := range []struct {
		status               v1alpha1.PingPongType
		stable, canary, next string
	}{
		// Before the first promotion pong is stable; each promotion swaps.
		{status: "", stable: "pong", canary: "ping", next: "ping"},
		{status: v1alpha1.PPPing, stable: "ping", canary: "pong", next: "pong"},
		{status: v1alpha1.PPPong, stable: "pong", canary: "ping", next: "ping"},
	} {
		ro.Status.Canary.StablePingPong = tc.status
		s, c := PingPong(ro)
		if s != tc.stable || c != tc.canary || string(Swapped(tc.status)) != tc.next {
			t.Errorf("%q: stable %s canary %s next %s", tc.status, s, c, Swapped(tc.status))
		}
		// Istio (not preferring) takes them too when no stable/canary
		// Services are named; ALB always.
		if s2, c2 := ForRouter(ro, false); s2 != s || c2 != c {
			t.Errorf("%q: istio without services %s %s", tc.status, s2, c2)
		}
	}
	ro.Spec.Strategy.Canary.StableService, ro.Spec.Strategy.Canary.CanaryService = "stable", "canary"
	if s, c := ForRouter(ro, false); s != "stable" || c != "canary" {
		t.Errorf("istio with services: %s %s", s, c)
	}
	if s, c := ForRouter(ro, true); s != "pong" || c != "ping" {
		t.Errorf("alb prefers ping-pong: %s %s", s, c)
	}
	if got := Named(ro); len(got) != 4 || got[2] != "ping" || got[3] != "pong" {
		t.Errorf("named %v", got)
	}
}
