// Package replicas decides how many pods the canary and stable ReplicaSets
// of a canary Rollout should have, and when they have enough. It makes no
// API calls: the reconciler describes the Rollout (Canary) and its
// ReplicaSets (RS) as plain values and scales to what comes back.
//
// The arithmetic follows Argo Rollouts v1.9 (utils/replicaset) case for
// case, including its rounding, so that a Rollout moves through the same
// pod counts under either controller.
package replicas

import (
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// RS is what the replica math needs to know about one ReplicaSet.
type RS struct {
	Name string
	// Replicas is spec.replicas; the API server defaults an unset value to 1.
	Replicas int32
	// StatusReplicas is status.replicas: pods that exist, ready or not.
	StatusReplicas int32
	// Available is status.availableReplicas.
	Available int32
	// Revision is the rollout.argoproj.io/revision annotation (0 if absent
	// or unparsable); other ReplicaSets are scaled down newest first.
	Revision int64
	// Created is the creation time; it breaks ties between equal revisions.
	Created time.Time
}

// FromReplicaSet reads the fields the math uses off a ReplicaSet; nil stays
// nil so a missing new or stable ReplicaSet can be passed straight through.
func FromReplicaSet(rs *appsv1.ReplicaSet) *RS {
	if rs == nil {
		return nil
	}
	out := &RS{
		Name:           rs.Name,
		Replicas:       1,
		StatusReplicas: rs.Status.Replicas,
		Available:      rs.Status.AvailableReplicas,
		Created:        rs.CreationTimestamp.Time,
	}
	if rs.Spec.Replicas != nil {
		out.Replicas = *rs.Spec.Replicas
	}
	if rev, err := strconv.ParseInt(rs.Annotations[v1alpha1.RevisionAnnotation], 10, 64); err == nil {
		out.Revision = rev
	}
	return out
}

// ReplicaSets are a Rollout's ReplicaSets by role.
type ReplicaSets struct {
	// New runs the desired pod template; nil until it is created.
	New *RS
	// Stable runs status.stableRS; nil when there is none. It may be the
	// same ReplicaSet as New (same Name), e.g. once fully promoted.
	Stable *RS
	// Others are all remaining ReplicaSets of the Rollout, including ones
	// already scaled to zero (their terminating pods may still be available).
	Others []RS
}

// stableIsSeparate reports whether there is a stable ReplicaSet to size on
// its own; when it is missing or is the new one, the whole Rollout is one
// ReplicaSet that simply goes to spec.replicas.
func (s ReplicaSets) stableIsSeparate() bool {
	if s.Stable == nil {
		return false
	}
	return s.New == nil || s.New.Name != s.Stable.Name
}

// Counts are desired spec.replicas for the canary (new) and stable
// ReplicaSets.
type Counts struct {
	Canary int32
	Stable int32
}

func replicasOf(rs *RS) int32 {
	if rs == nil {
		return 0
	}
	return rs.Replicas
}

func totalReplicas(sets []RS) int32 {
	var n int32
	for _, rs := range sets {
		n += rs.Replicas
	}
	return n
}

func totalAvailable(sets []RS) int32 {
	var n int32
	for _, rs := range sets {
		n += rs.Available
	}
	return n
}
