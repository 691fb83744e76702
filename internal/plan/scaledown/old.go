package scaledown

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
)

// OldRS is an old ReplicaSet of a traffic-routed canary: neither the new
// nor the stable one.
type OldRS struct {
	// RS gives the name, spec.replicas, revision and creation time.
	replicas.RS
	// Deadline is its scale-down-deadline annotation.
	Deadline Mark
	// Referenced is set when a Service, the Rollout's status or a router
	// still points at its pods (a user went back mid-update): scaling it
	// down would drop live traffic, so it is left alone.
	Referenced bool
}

// Old is what PlanOld needs to scale down a traffic-routed canary's old
// ReplicaSets.
type Old struct {
	Now  time.Time
	Sets []OldRS
	// FullyPromoted is status.stableRS == status.currentPodHash: an old
	// ReplicaSet is then the previous stable, which may still be draining
	// traffic the router only just moved.
	FullyPromoted bool
	// DynamicStableScale shrank the previous stable along with its
	// traffic, so there is nothing left to drain and no delay applies.
	DynamicStableScale bool
	// Delay is scaleDownDelaySeconds (Rollout.ScaleDownDelaySecondsOrDefault).
	Delay time.Duration
	// RevisionLimit is scaleDownDelayRevisionLimit: how many old
	// ReplicaSets may wait out a deadline at once; nil is no limit.
	RevisionLimit *int32
	// MaxScaleDown is available pods across all ReplicaSets minus
	// (replicas - maxUnavailable). Nothing is scaled down while it is not
	// positive.
	MaxScaleDown int32
}

// Action is a change to one ReplicaSet.
type Action struct {
	Name string
	// Replicas is the new spec.replicas (unchanged when only annotating).
	Replicas int32
	// Deadline, when not empty, is a scale-down-deadline value to write.
	Deadline string
}

// OldPlan is the outcome of PlanOld.
type OldPlan struct {
	// Actions are the ReplicaSets to change, newest revision first.
	Actions []Action
	// RequeueAfter is when the earliest deadline falls due; 0 when none is
	// pending.
	RequeueAfter time.Duration
}

// PlanOld scales down the old ReplicaSets of a traffic-routed canary,
// newest revision first (creation time breaks ties). A ReplicaSet that is
// the previous stable (the rollout is fully promoted, or it already has a
// deadline) is kept at its size until now+Delay, recorded as a new deadline
// annotation, then scaled to 0; one beyond RevisionLimit, or whose deadline
// is unreadable, goes to 0 at once. With DynamicStableScale it goes to 0 at
// once. Any other is an intermediate canary abandoned mid-update (V2 when
// V3 was applied), which the router sends no traffic, so it goes to 0 too.
//
// MaxScaleDown only decides whether another ReplicaSet may start scaling
// down; one that does goes all the way, as in Argo Rollouts, since the
// router has already moved its traffic.
//
// One deliberate difference: a Delay of 0 scales the previous stable down
// at once. Argo Rollouts instead keeps it up for good and requeues without
// pause (argoproj/argo-rollouts#1992, open as a bug).
func PlanOld(in Old) OldPlan {
	var plan OldPlan
	if in.MaxScaleDown <= 0 {
		return plan
	}
	sets := slices.Clone(in.Sets)
	slices.SortStableFunc(sets, func(a, b OldRS) int {
		return cmp.Or(cmp.Compare(b.Revision, a.Revision), b.Created.Compare(a.Created))
	})
	limit := int32(math.MaxInt32)
	if in.RevisionLimit != nil {
		limit = *in.RevisionLimit
	}
	budget, waiting := in.MaxScaleDown, int32(0)
	for _, rs := range sets {
		if rs.Referenced {
			continue
		}
		if budget <= 0 {
			break
		}
		if rs.Replicas == 0 {
			continue
		}
		act := Action{Name: rs.Name}
		previousStable := in.FullyPromoted || rs.Deadline.State != Unmarked
		if previousStable && !in.DynamicStableScale {
			var wait time.Duration
			act, wait = hold(in, rs, limit, &waiting)
			plan.RequeueAfter = requeue(plan.RequeueAfter, wait)
		}
		if act.Replicas == rs.Replicas && act.Deadline == "" {
			continue
		}
		plan.Actions = append(plan.Actions, act)
		budget -= rs.Replicas - act.Replicas
	}
	return plan
}

// hold keeps a previous stable up until its deadline, writing one if it has
// none, while fewer than limit ReplicaSets are waiting (counted in waiting).
// It returns the action and how long until the ReplicaSet should be looked
// at again.
func hold(in Old, rs OldRS, limit int32, waiting *int32) (Action, time.Duration) {
	down := Action{Name: rs.Name}
	if rs.Deadline.State == Unmarked {
		if in.Delay <= 0 || *waiting >= limit {
			return down, 0
		}
		*waiting++
		return Action{Name: rs.Name, Replicas: rs.Replicas, Deadline: Deadline(in.Now, in.Delay)}, in.Delay
	}
	*waiting++
	left := rs.Deadline.remaining(in.Now)
	if *waiting > limit || left <= 0 {
		return down, 0
	}
	return Action{Name: rs.Name, Replicas: rs.Replicas}, left
}
