// Package weights decides the traffic weight a canary's router(s) should be
// given on a reconcile, and whether it may be applied yet. It makes no API
// calls: the reconciler describes the Rollout and its ReplicaSets the way
// the replica math does (internal/plan/replicas) and hands the result to
// the routers. The rules are Argo Rollouts v1.9's reconcileTrafficRouting.
package weights

import (
	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
)

// Input is what Decide needs.
type Input struct {
	// Canary is the Rollout as the replica math sees it; TrafficRouted
	// should be set, as only a routed canary has weights to decide.
	Canary replicas.Canary
	// Sets are the new, stable and other ReplicaSets.
	Sets replicas.ReplicaSets
	// Current is status.canary.weights, what the routers were last given;
	// nil before the first time.
	Current *v1alpha1.TrafficWeights
	// Experiment are the destinations of a running experiment step's
	// templates that have a weight; they take their share from stable.
	Experiment []v1alpha1.WeightDestination
}

// Reasons a Decision gives for its weight.
const (
	ReasonRollbackToStable = "dynamic rollback to stable"
	ReasonFullyPromoted    = "fully promoted"
	ReasonAborted          = "aborted"
	ReasonNoCanaryPods     = "new ReplicaSet has no available pods"
	ReasonPromoteFull      = "full promotion"
	ReasonCanaryNotReady   = "canary not at its desired count: previous setWeight"
	ReasonStep             = "current setWeight"
	ReasonStepsDone        = "all steps done"
	ReasonNoSteps          = "no steps"
)

// Decision is the weight for this reconcile and what goes with it.
type Decision struct {
	// Desired is the canary weight, out of the max traffic weight.
	Desired int32
	// Additional are experiment destinations to give their weights.
	Additional []v1alpha1.WeightDestination
	// Stable is what remains for the stable: max - Desired - additional.
	Stable int32
	// CanaryHash is the canary pod-template hash for UpdateHash: the new
	// ReplicaSet's, or in a dynamic rollback the previous canary's, since
	// the new ReplicaSet is then the stable and the split is between them.
	CanaryHash string
	// StableHash is the stable pod-template hash for UpdateHash.
	StableHash string
	// RemoveManagedRoutes asks the routers to drop header and mirror
	// routes. It holds whether or not MayMove.
	RemoveManagedRoutes bool
	// ResetFirst asks for SetWeight(Desired) before UpdateHash: the canary
	// had weight but has no pods now, and moving the hash first would send
	// that weight to nothing.
	ResetFirst bool
	// MayMove is false when the stable lacks the available pods for the
	// traffic it would get; the routers are then left as they are.
	MayMove bool
	// Reason names the rule that chose Desired.
	Reason string
}

// Decide picks the canary weight. In order: a dynamicStableScale rollback
// to stable and an abort move traffic back as the stable can take it (at
// once to 0 without dynamicStableScale); a fully promoted rollout gives the
// canary nothing, the new ReplicaSet being the stable; a canary with no
// available pods gets 0; promoteFull keeps the weight, or with
// dynamicStableScale follows the canary's available pods; during the steps
// the weight is the setWeight in force, but the previous one until the
// canary has its pods, so weight never leads readiness; after the last step
// it is the max. Experiment destinations join the step weights and the
// no-pods case, and reduce the stable's share.
func Decide(in Input) Decision {
	d := decide(in)
	c, maxW := in.Canary, in.Canary.MaxTrafficWeight
	if in.Sets.Stable != nil {
		d.StableHash = c.StableRS
	}
	if d.Reason != ReasonRollbackToStable && in.Sets.New != nil {
		d.CanaryHash = c.CurrentPodHash
	}
	d.Stable = maxW - d.Desired
	for _, a := range d.Additional {
		d.Stable -= a.Weight
	}
	d.MayMove = stableCanTake(c, in.Sets.Stable, maxW-d.Desired)
	d.ResetFirst = !hasAvailable(in.Sets.New) && in.Current != nil && in.Current.Canary.Weight > 0
	return d
}

// decide applies the rules in Argo Rollouts' order; Decide fills in the
// rest.
func decide(in Input) Decision {
	c, sets := in.Canary, in.Sets
	maxW := c.MaxTrafficWeight
	fullyPromoted := c.StableRS == c.CurrentPodHash
	switch {
	case fullyPromoted && rollingBackToStable(in):
		return Decision{Desired: stepBackWeight(in), CanaryHash: in.Current.Canary.PodTemplateHash, Reason: ReasonRollbackToStable}
	case fullyPromoted:
		return Decision{RemoveManagedRoutes: true, Reason: ReasonFullyPromoted}
	case c.Abort:
		w := stepBackWeight(in)
		return Decision{Desired: w, RemoveManagedRoutes: true, Reason: ReasonAborted}
	case !hasAvailable(sets.New):
		return Decision{Additional: in.Experiment, RemoveManagedRoutes: true, Reason: ReasonNoCanaryPods}
	case c.PromoteFull:
		return Decision{Desired: promoteFullWeight(in), RemoveManagedRoutes: true, Reason: ReasonPromoteFull}
	case len(c.Steps) == 0:
		// Argo Rollouts gives no weight here: with no steps the canary only
		// gets traffic by becoming the stable.
		return Decision{Reason: ReasonNoSteps}
	case !c.AtDesiredReplicaCounts(sets, nil):
		return Decision{Desired: previousSetWeight(c), Additional: in.Experiment, Reason: ReasonCanaryNotReady}
	case int(c.CurrentStepIndex) != len(c.Steps):
		return Decision{Desired: c.CurrentSetWeight(), Additional: in.Experiment, Reason: ReasonStep}
	}
	return Decision{Desired: maxW, Reason: ReasonStepsDone}
}

// rollingBackToStable: the template went back to the stable while a
// dynamicStableScale canary still had traffic, and the stable has not yet
// grown back, so traffic must return gradually.
func rollingBackToStable(in Input) bool {
	c := in.Canary
	if !c.TrafficRouted || !c.DynamicStableScale || in.Current == nil {
		return false
	}
	if in.Current.Canary.PodTemplateHash == c.CurrentPodHash {
		return false
	}
	return in.Sets.New == nil || in.Sets.New.Available < c.Replicas
}

// stepBackWeight is the canary weight while an abort or a rollback returns
// traffic to a dynamicStableScale stable: never more than the stable's
// available pods leave for the canary, and never back up once lowered, so
// a flapping stable pod cannot swing traffic to and fro. Without
// dynamicStableScale the stable is full size and takes everything at once.
func stepBackWeight(in Input) int32 {
	c, sets := in.Canary, in.Sets
	if !c.DynamicStableScale || sets.Stable == nil || sets.New == nil || c.Replicas == 0 {
		return 0
	}
	maxW := c.MaxTrafficWeight
	target := headingFor(c, sets)
	stableShare := share(maxW, sets.Stable.Available, c.Replicas)
	leftForCanary := max(0, maxW-stableShare)
	if in.Current == nil {
		return max(leftForCanary, target)
	}
	current := in.Current.Canary.Weight
	if target <= 0 {
		return min(leftForCanary, current)
	}
	if stableShare < maxW-target {
		// The stable is still growing; the canary keeps its traffic, and
		// (the replica math keeps canary pods for it) its pods.
		return current
	}
	return min(target, current)
}

// headingFor is the canary weight a step-back heads for: for an abort, the
// next setWeight down, as the replica math sizes an aborted
// dynamicStableScale canary; otherwise the setWeight in force. The replica
// math's overrides for a kept setCanaryScale and a promoted rollout size
// pods, not traffic, so they are cleared first.
func headingFor(c replicas.Canary, sets replicas.ReplicaSets) int32 {
	if !c.Abort {
		return c.CurrentSetWeight()
	}
	c.KeepCanaryScaleOnAbort, c.PromoteFull, c.CurrentPodHash = false, false, ""
	return c.Target(sets).Weight
}

// promoteFullWeight: a full promotion moves traffic only as fast as canary
// pods become available with dynamicStableScale (the stable shrinks with
// it); otherwise the weight stays until the Services switch. Argo Rollouts
// can exceed the max here when the canary surges and divides by zero
// replicas; this caps at the max instead.
func promoteFullWeight(in Input) int32 {
	c := in.Canary
	if !c.DynamicStableScale {
		if in.Current != nil {
			return in.Current.Canary.Weight
		}
		return 0
	}
	if c.Replicas <= 0 {
		return c.MaxTrafficWeight
	}
	return min(c.MaxTrafficWeight, share(c.MaxTrafficWeight, in.Sets.New.Available, c.Replicas))
}

// previousSetWeight is the last setWeight before the current step, or 0.
func previousSetWeight(c replicas.Canary) int32 {
	for i := min(int(c.CurrentStepIndex), len(c.Steps)) - 1; i >= 0; i-- {
		if w := c.Steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// stableCanTake reports whether the stable has the available pods for
// weight (rounded down), or meets replicaProgressThreshold for them, so
// moving traffic to it will not overload it.
func stableCanTake(c replicas.Canary, stable *replicas.RS, weight int32) bool {
	if stable == nil {
		return false
	}
	var need int32
	if c.MaxTrafficWeight > 0 {
		need = share(c.Replicas, weight, c.MaxTrafficWeight)
	}
	return stable.Available >= need || replicas.ReplicaProgressThresholdMet(c.ReplicaProgressThreshold, stable, need)
}

// share is a*b/div rounded down, in 64 bits so large max weights do not
// overflow.
func share(a, b, div int32) int32 {
	return int32(int64(a) * int64(b) / int64(div))
}

func hasAvailable(rs *replicas.RS) bool {
	return rs != nil && rs.Available > 0
}
