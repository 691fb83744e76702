package replicas

import (
	"errors"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Canary is a canary Rollout as the replica math sees it: the spec with
// defaults applied, and the status fields that say where the update is.
type Canary struct {
	// Replicas is spec.replicas.
	Replicas int32
	// Fenceposts are the resolved maxSurge and maxUnavailable.
	Fenceposts Fenceposts
	// MaxTrafficWeight is the total setWeight is relative to.
	MaxTrafficWeight int32
	// TrafficRouted is set when a traffic router splits requests; otherwise
	// the weight is approximated by pod counts.
	TrafficRouted bool
	// DynamicStableScale shrinks the stable as canary traffic grows.
	DynamicStableScale bool
	// MinPodsPerReplicaSet raises non-zero traffic-routed counts; nil is unset.
	MinPodsPerReplicaSet *int32
	// ReplicaProgressThreshold is how many available canary pods suffice.
	ReplicaProgressThreshold *v1alpha1.ReplicaProgressThreshold
	// KeepCanaryScaleOnAbort is set by abortScaleDownDelaySeconds: 0 with
	// traffic routing: the canary is never scaled down after an abort, so
	// a setCanaryScale keeps applying.
	KeepCanaryScaleOnAbort bool
	// Steps are spec.strategy.canary.steps.
	Steps []v1alpha1.CanaryStep

	// CurrentStepIndex is status.currentStepIndex (0 when unset).
	CurrentStepIndex int32
	// Abort is status.abort.
	Abort bool
	// PromoteFull is status.promoteFull.
	PromoteFull bool
	// StableRS is status.stableRS, the stable pod-template hash.
	StableRS string
	// CurrentPodHash is status.currentPodHash, the desired template hash.
	CurrentPodHash string
}

// ErrNotCanary is returned by CanaryFromRollout for a non-canary Rollout.
var ErrNotCanary = errors.New("rollout does not use the canary strategy")

// CanaryFromRollout describes a Rollout for the replica math, applying the
// same defaults the rest of the controller reads. The error is ErrNotCanary,
// or an unparsable maxSurge/maxUnavailable; in the latter case the Canary is
// still complete, with zero fenceposts, as Argo Rollouts carries on.
func CanaryFromRollout(ro *v1alpha1.Rollout) (Canary, error) {
	cs := ro.Spec.Strategy.Canary
	if cs == nil {
		return Canary{}, ErrNotCanary
	}
	replicas := ro.ReplicasOrDefault()
	fenceposts, err := CanaryFenceposts(replicas, ro.MaxSurgeOrDefault(), ro.MaxUnavailableOrDefault())
	abortDelay, _ := ro.AbortScaleDownDelaySecondsOrDefault()
	c := Canary{
		Replicas:                 replicas,
		Fenceposts:               fenceposts,
		MaxTrafficWeight:         ro.MaxTrafficWeight(),
		TrafficRouted:            cs.TrafficRouting != nil,
		DynamicStableScale:       cs.DynamicStableScale,
		MinPodsPerReplicaSet:     cs.MinPodsPerReplicaSet,
		ReplicaProgressThreshold: cs.ReplicaProgressThreshold,
		KeepCanaryScaleOnAbort:   cs.TrafficRouting != nil && abortDelay == nil,
		Steps:                    cs.Steps,
		Abort:                    ro.Status.Abort,
		PromoteFull:              ro.Status.PromoteFull,
		StableRS:                 ro.Status.StableRS,
		CurrentPodHash:           ro.Status.CurrentPodHash,
	}
	if ro.Status.CurrentStepIndex != nil {
		c.CurrentStepIndex = *ro.Status.CurrentStepIndex
	}
	return c, err
}

// Target is what the canary should be sized for: a traffic weight, or an
// explicit pod count (setCanaryScale.replicas) that ignores weight.
type Target struct {
	// Weight is out of MaxTrafficWeight; 0 when Replicas is set.
	Weight int32
	// Replicas, when set, is the canary pod count.
	Replicas *int32
}

// Target is the canary size the current step asks for. Until there is a
// stable to canary against, and once promotion is done or forced, it is the
// whole of MaxTrafficWeight.
func (c Canary) Target(sets ReplicaSets) Target {
	if c.PromoteFull || c.StableRS == "" || c.CurrentPodHash == c.StableRS {
		return Target{Weight: c.MaxTrafficWeight}
	}
	if scs := c.activeSetCanaryScale(); scs != nil {
		if scs.Replicas != nil {
			n := *scs.Replicas
			return Target{Replicas: &n}
		}
		if scs.Weight != nil {
			return Target{Weight: *scs.Weight}
		}
	}
	if c.Abort && c.DynamicStableScale && sets.New != nil && sets.Stable != nil {
		return Target{Weight: c.abortStepDownWeight(sets)}
	}
	return Target{Weight: c.CurrentSetWeight()}
}

// CurrentSetWeight is the setWeight in force at the current step: the last
// one at or before it, 0 if none yet or aborted, and MaxTrafficWeight once
// past the last step (or with no steps at all).
func (c Canary) CurrentSetWeight() int32 {
	if c.Abort {
		return 0
	}
	idx, ok := c.currentStep()
	if !ok {
		return c.MaxTrafficWeight
	}
	for i := idx; i >= 0; i-- {
		if w := c.Steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// currentStep is the index of the step being executed, if any remains. A
// negative index (status is client-writable) is read as 0; Argo Rollouts
// would index out of range.
func (c Canary) currentStep() (int, bool) {
	idx := max(int(c.CurrentStepIndex), 0)
	if idx >= len(c.Steps) {
		return 0, false
	}
	return idx, true
}

// activeSetCanaryScale is the setCanaryScale override in force, if any. It
// needs a traffic router (pods without traffic are pointless otherwise), is
// dropped on abort unless the canary is meant to stay up, and a later
// matchTrafficWeight cancels it.
func (c Canary) activeSetCanaryScale() *v1alpha1.SetCanaryScale {
	if !c.TrafficRouted {
		return nil
	}
	if c.Abort && !c.KeepCanaryScaleOnAbort {
		return nil
	}
	idx, ok := c.currentStep()
	if !ok {
		return nil
	}
	for i := idx; i >= 0; i-- {
		scs := c.Steps[i].SetCanaryScale
		if scs == nil {
			continue
		}
		if scs.MatchTrafficWeight {
			return nil
		}
		return scs
	}
	return nil
}

// abortStepDownWeight walks an aborted dynamicStableScale canary back down
// through the setWeight steps instead of dropping it to 0 at once, so the
// stable can grow back without a surge. It picks the largest step weight
// whose pod count is below what the canary still has to carry.
func (c Canary) abortStepDownWeight(sets ReplicaSets) int32 {
	stillCanary := max(c.Replicas-sets.Stable.Available, sets.New.Available)
	for i := len(c.Steps) - 1; i >= 0; i-- {
		w := c.Steps[i].SetWeight
		if w == nil {
			continue
		}
		if weightToReplicas(c.Replicas, *w, c.MaxTrafficWeight) < stillCanary {
			return *w
		}
	}
	return 0
}

// DesiredCounts are the canary and stable sizes for this reconcile. weights
// are the traffic weights to respect (status.canary.weights); only a
// dynamicStableScale traffic-routed canary reads them.
func (c Canary) DesiredCounts(sets ReplicaSets, weights *v1alpha1.TrafficWeights) Counts {
	target := c.Target(sets)
	if !c.TrafficRouted {
		return BasicCanaryCounts(BasicCanary{
			Replicas:   c.Replicas,
			Weight:     target.Weight,
			MaxWeight:  c.MaxTrafficWeight,
			Fenceposts: c.Fenceposts,
			Sets:       sets,
		})
	}
	return TrafficRoutedCanaryCounts(TrafficRoutedCanary{
		Replicas:             c.Replicas,
		Target:               target,
		MaxWeight:            c.MaxTrafficWeight,
		MinPodsPerReplicaSet: c.MinPodsPerReplicaSet,
		DynamicStableScale:   c.DynamicStableScale,
		Abort:                c.Abort,
		Weights:              weights,
	})
}
