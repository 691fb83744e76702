// Package services decides which ReplicaSet each Service a Rollout manages
// (canary/stable, active/preview) selects, and when it is switched.
package services

import (
	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
)

// Target is a ReplicaSet a Service should select.
type Target struct {
	Hash      string
	Replicas  int32 // spec.replicas
	Available int32
}

// ShouldSwitch reports whether a Service whose selector currently pins
// currentHash should be switched to target now. A Service the Rollout
// already manages moves as soon as one target pod is available, so traffic
// never goes to a selector with no endpoints; a Service being adopted (no
// managed-by annotation yet) waits until the target is fully available,
// since it may be serving production traffic from elsewhere.
func ShouldSwitch(currentHash string, managed bool, target Target) bool {
	if target.Hash == "" || currentHash == target.Hash {
		return false
	}
	if !managed {
		return target.Replicas > 0 && target.Available >= target.Replicas
	}
	return target.Available > 0
}

// Canary is the ReplicaSet each of a canary Rollout's Services should
// select: the stable Service the stable ReplicaSet (the new one on a first
// deploy, which is the stable at once), the canary Service the new one —
// or, once an abort has no weight left on the canary, the stable, so users
// no longer reach the aborted version through it (a header route, or a
// client calling the canary Service directly).
func Canary(ro *v1alpha1.Rollout, rs roles.Roles) (canary, stable *appsv1.ReplicaSet) {
	stable = rs.Stable
	if stable == nil && ro.Status.StableRS == "" {
		stable = rs.New
	}
	canary = rs.New
	if ro.Status.Abort && AbortedCanaryToStable(ro.Spec.Strategy.Canary, ro.Status.Canary.Weights) {
		canary = stable
	}
	return canary, stable
}

// AbortedCanaryToStable is when an aborted canary's Service goes back to
// the stable: at once for a basic canary or a routed one that drops its
// weight to 0 in one move; with dynamicStableScale only once the weight
// the router last applied (status.canary.weights) leaves nothing on the
// canary, since until then the canary Service still carries its share.
func AbortedCanaryToStable(c *v1alpha1.CanaryStrategy, applied *v1alpha1.TrafficWeights) bool {
	return c.TrafficRouting == nil || !c.DynamicStableScale || applied == nil || applied.Canary.Weight == 0
}

// Named are the Services a Rollout's strategy names ("" for a field not
// set).
func Named(ro *v1alpha1.Rollout) []string {
	var names []string
	if c := ro.Spec.Strategy.Canary; c != nil {
		names = append(names, c.CanaryService, c.StableService)
		if c.PingPong != nil {
			names = append(names, c.PingPong.PingService, c.PingPong.PongService)
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		names = append(names, bg.ActiveService, bg.PreviewService)
	}
	return names
}

// PingPong is which of a ping-pong canary's Services is stable and which
// the canary: status.canary.stablePingPong names the stable one, and
// before it names any (the first promotion sets it) pong is stable, as in
// Argo Rollouts. "" and "" without pingPong.
func PingPong(ro *v1alpha1.Rollout) (stable, canary string) {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.PingPong == nil {
		return "", ""
	}
	if ro.Status.Canary.StablePingPong == v1alpha1.PPPing {
		return c.PingPong.PingService, c.PingPong.PongService
	}
	return c.PingPong.PongService, c.PingPong.PingService
}

// Swapped is the stablePingPong a promotion leaves: the Service that was
// the canary's becomes the stable one.
func Swapped(p v1alpha1.PingPongType) v1alpha1.PingPongType {
	if p == v1alpha1.PPPing {
		return v1alpha1.PPPong
	}
	return v1alpha1.PPPing
}

// ForRouter is the stable and canary Services a router splits between:
// the ping-pong pair when the Rollout has one and the router prefers it
// (ALB) or no canaryService and stableService are set (Istio), else those
// two.
func ForRouter(ro *v1alpha1.Rollout, preferPingPong bool) (stable, canary string) {
	c := ro.Spec.Strategy.Canary
	if c.PingPong != nil && (preferPingPong || (c.StableService == "" && c.CanaryService == "")) {
		return PingPong(ro)
	}
	return c.StableService, c.CanaryService
}
