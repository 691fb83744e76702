package replicas

import (
	"math"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// AtDesiredReplicaCounts reports whether a setWeight or setCanaryScale step
// has been carried out: the canary is at its desired size and available (or
// past replicaProgressThreshold), and the stable has exactly its desired
// pods, though not necessarily available ones. A dynamicStableScale stable
// is not checked, since it follows traffic rather than the step. For a basic
// canary, other ReplicaSets must also have no available pods left, because
// they would still receive traffic.
func (c Canary) AtDesiredReplicaCounts(sets ReplicaSets, weights *v1alpha1.TrafficWeights) bool {
	desired := c.DesiredCounts(sets, weights)
	if !ReplicaProgressThresholdMet(c.ReplicaProgressThreshold, sets.New, desired.Canary) {
		return false
	}
	if !c.TrafficRouted || !c.DynamicStableScale {
		if !allCreated(sets.Stable, desired.Stable) {
			return false
		}
	}
	if !c.TrafficRouted && totalAvailable(sets.Others) != 0 {
		return false
	}
	return true
}

// ReplicaProgressThresholdMet reports whether enough of rs's pods are
// available to move on when desired are wanted. Without a threshold (or
// with a negative value) that means exactly desired, both in spec and
// available; a Percent threshold compares available/desired (always met
// when nothing is desired); any other type counts available pods. A
// missing ReplicaSet never meets it.
func ReplicaProgressThresholdMet(threshold *v1alpha1.ReplicaProgressThreshold, rs *RS, desired int32) bool {
	if threshold == nil || rs == nil || threshold.Value < 0 {
		return allAvailable(rs, desired)
	}
	if threshold.Type == v1alpha1.ProgressTypePercentage {
		if desired == 0 {
			return true
		}
		percent := float64(rs.Available) / float64(desired) * 100
		// Tolerate float error: 29 of 100 computes as 28.999999999999996%.
		return percent >= float64(threshold.Value) || math.Abs(percent-float64(threshold.Value)) <= 1e-10
	}
	return rs.Available >= threshold.Value
}

// allAvailable: rs is sized to desired and all of those pods are available.
func allAvailable(rs *RS, desired int32) bool {
	return rs != nil && rs.Replicas == desired && rs.Available == desired
}

// allCreated: rs is sized to desired and exactly that many pods exist.
func allCreated(rs *RS, desired int32) bool {
	return rs != nil && rs.Replicas == desired && rs.StatusReplicas == desired
}
