package scaledown

import (
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// AbortPolicy is how the new ReplicaSet of an aborted update (the canary,
// or the blue-green preview) is scaled down.
type AbortPolicy struct {
	// Delay is abortScaleDownDelaySeconds as
	// Rollout.AbortScaleDownDelaySecondsOrDefault resolves it: 30 s by
	// default, nil when explicitly 0 (keep the ReplicaSet up for good).
	Delay *time.Duration
	// Explicit reports that abortScaleDownDelaySeconds was set.
	Explicit bool
	// BasicCanary is a canary without a traffic router: its pods take
	// traffic just by existing, so they must go at once.
	BasicCanary bool
	// DynamicStableScale is the canary's dynamicStableScale.
	DynamicStableScale bool
}

// AbortPolicyOf reads the policy off a Rollout of either strategy.
func AbortPolicyOf(ro *v1alpha1.Rollout) AbortPolicy {
	delay, explicit := ro.AbortScaleDownDelaySecondsOrDefault()
	p := AbortPolicy{Delay: delay, Explicit: explicit}
	if c := ro.Spec.Strategy.Canary; c != nil {
		p.BasicCanary = c.TrafficRouting == nil
		p.DynamicStableScale = c.DynamicStableScale
	}
	return p
}

// Delays reports whether the new ReplicaSet's scale-down waits for a
// deadline. Only an aborted update with a stable to fall back to waits.
// With dynamicStableScale and no explicit delay it does not: the replica
// math already shrinks the canary only as its traffic moves away.
func (p AbortPolicy) Delays(aborted, hasStable bool) bool {
	switch {
	case !aborted, !hasStable, p.BasicCanary, p.Delay == nil:
		return false
	case p.DynamicStableScale && !p.Explicit:
		return false
	}
	return true
}

// NewRS is what PlanNew needs to size the new ReplicaSet.
type NewRS struct {
	Now    time.Time
	Policy AbortPolicy
	// Aborted is status.abort.
	Aborted bool
	// HasStable is set when there is a stable ReplicaSet.
	HasStable bool
	// StableFullyAvailable is set when the stable's available pods equal
	// spec.replicas: the delay only starts once the traffic taken from the
	// canary has somewhere to go.
	StableFullyAvailable bool
	// Deadline is the new ReplicaSet's scale-down-deadline annotation.
	Deadline Mark
	// Desired is the size the replica math gives it.
	Desired int32
}

// NewPlan is the outcome of PlanNew.
type NewPlan struct {
	// Hold leaves the ReplicaSet's size alone this reconcile.
	Hold bool
	// Replicas is the new spec.replicas when not holding.
	Replicas int32
	// Deadline, when not empty, is a scale-down-deadline value to write.
	Deadline string
	// ClearDeadline asks to remove the annotation: it is left over from an
	// earlier scale-down (e.g. the rollout went back to this ReplicaSet)
	// and must not scale it down now.
	ClearDeadline bool
	// RequeueAfter is when the deadline falls due; 0 when none is pending.
	RequeueAfter time.Duration
}

// PlanNew sizes the new ReplicaSet. Normally it is Desired. When the
// policy delays an abort, it is held at its size: first until the stable
// is fully available, when a deadline of now+Delay is written, then until
// that deadline, when it goes to 0. An unreadable deadline is not
// rewritten; the ReplicaSet is sized to Desired, as in Argo Rollouts.
func PlanNew(in NewRS) NewPlan {
	if !in.Policy.Delays(in.Aborted, in.HasStable) {
		return NewPlan{Replicas: in.Desired, ClearDeadline: in.Deadline.State != Unmarked}
	}
	switch in.Deadline.State {
	case Marked:
		if left := in.Deadline.remaining(in.Now); left > 0 {
			return NewPlan{Hold: true, RequeueAfter: left}
		}
		return NewPlan{}
	case Unreadable:
		return NewPlan{Replicas: in.Desired}
	}
	if !in.StableFullyAvailable {
		return NewPlan{Hold: true}
	}
	delay := *in.Policy.Delay
	return NewPlan{Hold: true, Deadline: Deadline(in.Now, delay), RequeueAfter: max(delay, 0)}
}
