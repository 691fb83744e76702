// Package restart decides which pods to evict for `kubectl argo rollouts
// restart` (spec.restartAt): every pod created before restartAt is
// replaced, a batch at a time, so the Rollout keeps serving.
//
// The batch is counted as Argo Rollouts counts it: at most
// max(maxUnavailable, 1) pods are restarted at once, and an eviction is
// allowed only while the pods available (not terminating) stay at or above
// max(spec.replicas, the ReplicaSets' wanted total) minus that number. Pods
// that are missing (evicted and not yet recreated, or held back by a quota)
// therefore count against the batch just like unready ones.
package restart

import (
	"cmp"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
)

// Pod is what the decision needs to know about one pod of the Rollout.
type Pod struct {
	Name    string
	Created time.Time
	// Ready is the pod's Ready condition; ReadySince is when it last
	// turned True.
	Ready      bool
	ReadySince time.Time
	// Terminating pods are on their way out: never available, never
	// evicted again, but still old until they are gone.
	Terminating bool
	// Priority orders ReplicaSets: lower goes first (other, stable, new).
	Priority int
}

// Input is one restart decision's view of the Rollout.
type Input struct {
	Pods      []Pod
	RestartAt time.Time
	// Replicas is spec.replicas; Wanted is the sum of spec.replicas over the
	// Rollout's ReplicaSets (above Replicas during a surge or an uneven
	// canary weight).
	Replicas, Wanted int32
	// MaxUnavailable is the strategy's, resolved (see MaxUnavailable).
	MaxUnavailable int32
	// MinReady is spec.minReadySeconds: a pod is available once Ready for
	// longer than this, as its ReplicaSet counts it.
	MinReady time.Duration
	Now      time.Time
}

// Available reports whether p counts as available at now.
func (p Pod) Available(minReady time.Duration, now time.Time) bool {
	if !p.Ready || p.Terminating {
		return false
	}
	return minReady <= 0 || (!p.ReadySince.IsZero() && p.ReadySince.Add(minReady).Before(now))
}

// Decision is what to do now for a restart.
type Decision struct {
	// Order lists the old pods that may be evicted, in the order to try
	// them: unavailable ones first (replacing them loses nothing), then by
	// ReplicaSet priority, oldest first.
	Order []string
	// Batch is how many of them to evict now. An eviction a
	// PodDisruptionBudget refuses does not count: the next in Order is
	// tried instead, as Argo Rollouts does.
	Batch int
	// Done is set when no pod created before restartAt is left,
	// terminating ones included.
	Done bool
}

// Plan decides the restart's next batch. A restartAt still in the future
// (`restart --in`) evicts nothing yet.
func Plan(in Input) Decision {
	if in.RestartAt.After(in.Now) {
		return Decision{}
	}
	var old []Pod
	left, available := false, int32(0)
	for _, p := range in.Pods {
		if p.Available(in.MinReady, in.Now) {
			available++
		}
		if p.Created.Before(in.RestartAt) {
			left = true
			if !p.Terminating {
				old = append(old, p)
			}
		}
	}
	if !left {
		return Decision{Done: true}
	}
	concurrent := max(in.MaxUnavailable, 1)
	budget := available - (max(in.Replicas, in.Wanted) - concurrent)
	if budget <= 0 {
		return Decision{}
	}
	slices.SortStableFunc(old, func(a, b Pod) int {
		aa, ba := a.Available(in.MinReady, in.Now), b.Available(in.MinReady, in.Now)
		return cmp.Or(boolOrder(aa, ba), cmp.Compare(a.Priority, b.Priority), a.Created.Compare(b.Created), cmp.Compare(a.Name, b.Name))
	})
	d := Decision{Batch: int(budget)}
	for _, p := range old {
		d.Order = append(d.Order, p.Name)
	}
	return d
}

// RecheckAfter is how soon an unfinished restart should be looked at again
// when nothing else happens: at restartAt if that is still ahead, else after
// fallback (pod and ReplicaSet changes normally come first).
func RecheckAfter(restartAt, now time.Time, fallback time.Duration) time.Duration {
	if d := restartAt.Sub(now); d > 0 {
		return min(d, fallback)
	}
	return fallback
}

// MaxUnavailable resolves the maxUnavailable a restart batches by, as Argo
// Rollouts does: a canary's comes from its fenceposts (surge rounds up,
// unavailability down, one if both are zero); a blue-green's is its own
// blueGreen.maxUnavailable (default "25", any string a percentage) rounded
// down. Either is capped at replicas, and zero replicas give zero.
func MaxUnavailable(specReplicas int32, canary bool, maxSurge, maxUnavailable intstr.IntOrString) int32 {
	if specReplicas <= 0 {
		return 0
	}
	var n int32
	if canary {
		f, err := replicas.CanaryFenceposts(specReplicas, maxSurge, maxUnavailable)
		if err != nil {
			return 0
		}
		n = f.MaxUnavailable
	} else {
		v, err := replicas.LenientScaledDown(maxUnavailable, specReplicas)
		if err != nil {
			return 0
		}
		n = v
	}
	return min(n, specReplicas)
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
