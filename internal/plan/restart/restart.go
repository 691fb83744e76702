// Package restart decides which pods to evict for `kubectl argo rollouts
// restart` (spec.restartAt): every pod created before restartAt is
// replaced, a few at a time so the Rollout keeps serving.
package restart

import (
	"cmp"
	"slices"
	"time"
)

// Pod is what the decision needs to know about one pod of the Rollout.
type Pod struct {
	Name    string
	Created time.Time
	// Available is Ready (for minReadySeconds, as the ReplicaSet counts it).
	Available bool
	// Terminating pods are on their way out and count as unavailable.
	Terminating bool
	// Priority orders ReplicaSets: lower goes first (other, stable, new).
	Priority int
}

// Plan returns the pods to evict now and whether the restart is done (no
// pod older than restartAt is left). At most maxConcurrent pods (at least
// one) may be unavailable at once, counting those already unavailable.
func Plan(pods []Pod, restartAt time.Time, maxConcurrent int32) (evict []string, done bool) {
	var old []Pod
	unavailable := int32(0)
	for _, p := range pods {
		if p.Terminating || !p.Available {
			unavailable++
		}
		if !p.Terminating && p.Created.Before(restartAt) {
			old = append(old, p)
		}
	}
	if len(old) == 0 {
		return nil, true
	}
	slots := max(maxConcurrent, 1) - unavailable
	if slots <= 0 {
		return nil, false
	}
	// Unavailable old pods first (replacing them costs nothing), then by
	// ReplicaSet priority, oldest first.
	slices.SortStableFunc(old, func(a, b Pod) int {
		return cmp.Or(boolOrder(a.Available, b.Available), cmp.Compare(a.Priority, b.Priority), a.Created.Compare(b.Created), cmp.Compare(a.Name, b.Name))
	})
	for _, p := range old {
		if slots == 0 {
			break
		}
		evict = append(evict, p.Name)
		if p.Available {
			slots--
		}
	}
	return evict, false
}

func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}
