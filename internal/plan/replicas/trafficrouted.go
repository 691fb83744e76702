package replicas

import "github.com/aviary-rollouts/aviary/api/v1alpha1"

// TrafficRoutedCanary is a canary whose traffic split is set by a router,
// so pod counts only need to be large enough for the traffic they get.
type TrafficRoutedCanary struct {
	// Replicas is spec.replicas.
	Replicas int32
	// Target is the canary weight, or an explicit setCanaryScale count.
	Target    Target
	MaxWeight int32
	// MinPodsPerReplicaSet raises any non-zero count; nil is unset.
	MinPodsPerReplicaSet *int32
	// DynamicStableScale shrinks the stable as canary weight rises.
	DynamicStableScale bool
	// Abort is status.abort.
	Abort bool
	// Weights are the traffic weights currently applied; nil if unknown.
	Weights *v1alpha1.TrafficWeights
}

// TrafficRoutedCanaryCounts sizes the canary for its share of traffic
// (rounded up), and keeps the stable at full size so traffic can return to
// it at any moment. maxSurge and maxUnavailable do not apply.
//
// With dynamicStableScale the stable instead shrinks to its own share, but
// never below what the weights still in place send it, so it only shrinks
// after traffic has moved. When aborting, the canary likewise keeps enough
// pods for the traffic it still receives.
func TrafficRoutedCanaryCounts(in TrafficRoutedCanary) Counts {
	var canary int32
	if in.Target.Replicas != nil {
		canary = *in.Target.Replicas
	} else {
		canary = in.atLeastMinPods(weightToReplicas(in.Replicas, in.Target.Weight, in.MaxWeight))
	}
	if !in.DynamicStableScale {
		return Counts{Canary: canary, Stable: in.Replicas}
	}
	stable := weightToReplicas(in.Replicas, in.MaxWeight-in.Target.Weight, in.MaxWeight)
	if in.Weights != nil {
		stable = max(stable, weightToReplicas(in.Replicas, in.Weights.Stable.Weight, in.MaxWeight))
		if in.Abort {
			canary = max(canary, weightToReplicas(in.Replicas, in.Weights.Canary.Weight, in.MaxWeight))
		}
	}
	return Counts{Canary: in.atLeastMinPods(canary), Stable: in.atLeastMinPods(stable)}
}

// atLeastMinPods applies minPodsPerReplicaSet, for availability of each
// ReplicaSet that has pods at all; a ReplicaSet meant to be empty stays so.
func (in TrafficRoutedCanary) atLeastMinPods(count int32) int32 {
	if count == 0 || in.MinPodsPerReplicaSet == nil {
		return count
	}
	return max(count, *in.MinPodsPerReplicaSet)
}

// weightToReplicas is the pod count for weight out of maxWeight of
// replicas, rounded up so a non-zero weight always gets a pod.
func weightToReplicas(replicas, weight, maxWeight int32) int32 {
	if maxWeight <= 0 {
		return 0
	}
	return int32(ceilDiv(int64(weight)*int64(replicas), int64(maxWeight)))
}

// ceilDiv is a/b rounded towards +infinity, for b > 0.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}
