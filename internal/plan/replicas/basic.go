package replicas

import (
	"cmp"
	"math"
	"slices"
)

// BasicCanary is a canary without a traffic router, where the only way to
// send a share of requests to the new version is to run that share of pods.
type BasicCanary struct {
	// Replicas is spec.replicas.
	Replicas int32
	// Weight is the desired canary weight out of MaxWeight.
	Weight    int32
	MaxWeight int32
	// Fenceposts bound how fast pods are added and removed.
	Fenceposts Fenceposts
	// Sets are the current ReplicaSets.
	Sets ReplicaSets
}

// BasicCanaryCounts moves the canary and stable one safe step towards the
// pod ratio that best approximates Weight. Pods are added only within
// Replicas+MaxSurge (stable first, so capacity is restored before the
// canary grows) and removed only while Replicas-MaxUnavailable stay
// available. Other ReplicaSets are drained first: while they have pods,
// canary and stable are not scaled down. With no separate stable, the new
// ReplicaSet simply heads for Replicas.
//
// When the canary is growing, stable pods count as available whether or not
// they are, so a broken stable cannot block the update; when it is
// shrinking (a lower weight or an abort), canary pods count instead.
func BasicCanaryCounts(in BasicCanary) Counts {
	newRS, stableRS := in.Sets.New, in.Sets.Stable
	separateStable := in.Sets.stableIsSeparate()

	desired := approximateCanaryStableCounts(in.Replicas, in.Weight, in.MaxWeight, in.Fenceposts.MaxSurge)
	out := Counts{Canary: replicasOf(newRS)}
	if separateStable {
		out.Stable = stableRS.Replicas
	} else {
		desired = Counts{Canary: in.Replicas}
	}

	ceiling := in.Replicas + in.Fenceposts.MaxSurge
	current := totalReplicas(in.Sets.Others) + replicasOf(newRS)
	if separateStable {
		current += stableRS.Replicas
	}
	headroom := ceiling - current
	if separateStable && stableRS.Replicas < desired.Stable && headroom > 0 {
		grow := min(headroom, desired.Stable-stableRS.Replicas)
		out.Stable = stableRS.Replicas + grow
		headroom -= grow
	}
	if newRS != nil && newRS.Replicas < desired.Canary && headroom > 0 {
		out.Canary = newRS.Replicas + min(headroom, desired.Canary-newRS.Replicas)
	}

	if totalReplicas(in.Sets.Others) > 0 {
		return out
	}

	minAvailable := in.Replicas - in.Fenceposts.MaxUnavailable
	canaryGrowing := newRS == nil || desired.Canary >= newRS.Replicas
	countedAvailable := availableForScaleDown(newRS, !canaryGrowing) + availableForScaleDown(stableRS, canaryGrowing)
	if countedAvailable <= minAvailable {
		return out
	}
	spare := countedAvailable - minAvailable
	switch {
	case !canaryGrowing:
		out.Canary = drainTowards(newRS, desired.Canary, spare, out.Canary)
		out.Canary, out.Stable = fitWithinFenceposts(newRS, stableRS, out.Canary, out.Stable, ceiling, minAvailable)
	case separateStable:
		out.Stable = drainTowards(stableRS, desired.Stable, spare, out.Stable)
		out.Stable, out.Canary = fitWithinFenceposts(stableRS, newRS, out.Stable, out.Canary, ceiling, minAvailable)
	}
	return out
}

// approximateCanaryStableCounts picks the canary/stable pod split closest to
// weight. It tries floor and ceiling of the exact share over replicas pods
// and, when surge is allowed, over replicas+1 (which can land nearer, e.g.
// 1 of 4 for 25% of 3). For weights strictly between 0 and max neither side
// is left at zero unless a single replica without surge makes it
// unavoidable; an exact half rounds the canary up.
//
// One gap is kept from Argo Rollouts for compatibility: without surge, when
// the exact share is replicas-0.5 (95% of 10, 90% of 5, 75% of 2) every
// candidate is ruled out and the canary gets no pods at all.
func approximateCanaryStableCounts(replicas, weight, maxWeight, maxSurge int32) Counts {
	if replicas == 0 || maxWeight <= 0 {
		return Counts{Stable: replicas}
	}
	type option struct{ canary, total int32 }
	exact := float64(int64(replicas)*int64(weight)) / float64(maxWeight)
	ceil, floor := int32(math.Ceil(exact)), int32(math.Floor(exact))
	zeroAllowed := weight == maxWeight || weight == 0 || (replicas == 1 && maxSurge == 0)

	var options []option
	if ceil < replicas || zeroAllowed {
		options = append(options, option{ceil, replicas})
	}
	if !halfway(replicas, weight, maxWeight) && (floor != 0 || zeroAllowed) {
		options = append(options, option{floor, replicas})
	}
	if maxSurge > 0 {
		options = append(options, option{ceil, replicas + 1})
		if !halfway(replicas+1, weight, maxWeight) && (floor != 0 || zeroAllowed) {
			options = append(options, option{floor, replicas + 1})
		}
	}
	if len(options) == 0 {
		return Counts{Stable: replicas}
	}
	best, bestDistance := options[0], weightDistance(options[0].canary, options[0].total, weight, maxWeight)
	for _, o := range options[1:] {
		if d := weightDistance(o.canary, o.total, weight, maxWeight); d < bestDistance {
			best, bestDistance = o, d
		}
	}
	return Counts{Canary: best.canary, Stable: best.total - best.canary}
}

// halfway reports whether weight's share of total pods is exactly n.5, where
// floor and ceiling are equally good and the larger canary wins.
func halfway(total, weight, maxWeight int32) bool {
	_, frac := math.Modf(float64(total) * (float64(weight) / float64(maxWeight)))
	return frac == 0.5
}

// weightDistance is how far canary of total pods is from weight.
func weightDistance(canary, total, weight, maxWeight int32) float64 {
	actual := float64(int64(canary)*int64(maxWeight)) / float64(total)
	return math.Abs(actual - float64(weight))
}

// availableForScaleDown is how many of rs's pods count as available when
// deciding how many may go. Pods beyond spec are leaving anyway and never
// count; ignoreAvailability counts every pod in spec as available.
func availableForScaleDown(rs *RS, ignoreAvailability bool) int32 {
	if rs == nil {
		return 0
	}
	if rs.Replicas < rs.Available || ignoreAvailability {
		return rs.Replicas
	}
	return rs.Available
}

// drainTowards lowers rs towards desired by at most spare pods; count is
// returned unchanged when rs is not above desired.
func drainTowards(rs *RS, desired, spare, count int32) int32 {
	if rs != nil && rs.Replicas > desired {
		return max(desired, rs.Replicas-spare)
	}
	return count
}

// fitWithinFenceposts reconciles the drained ReplicaSet's count with the
// other one's: the other gives up pods to stay under the surge ceiling, but
// takes back as many as are needed to keep minAvailable, and the drained
// one then absorbs whatever is still over the ceiling.
func fitWithinFenceposts(drained, other *RS, drainedCount, otherCount, ceiling, minAvailable int32) (int32, int32) {
	if other == nil {
		return drainedCount, otherCount
	}
	available := int32(0)
	if drained != nil {
		available += min(drained.Available, drainedCount)
	}
	otherCount -= max(0, otherCount+drainedCount-ceiling)
	available += min(other.Available, otherCount)
	lost := max(0, other.Available-otherCount)
	short := max(0, minAvailable-available)
	otherCount += min(lost, short)
	drainedCount -= max(0, otherCount+drainedCount-ceiling)
	return drainedCount, otherCount
}

// Scale is a new spec.replicas for the named ReplicaSet.
type Scale struct {
	Name     string
	Replicas int32
}

// BasicCanaryOtherScaleDowns scales down the other (older or abandoned)
// ReplicaSets of a basic canary, whose pods would otherwise keep serving
// traffic. First each drops its unavailable pods, oldest ReplicaSet first;
// then the newest revisions give up pods while more than
// replicas-maxUnavailable pods stay available across all ReplicaSets. The
// result has one entry, the final size, per ReplicaSet to change.
//
// A ReplicaSet reporting more available pods than its spec (status not yet
// caught up with a scale-down) stops the pass after the unavailable-pod
// clean-up of the ReplicaSets before it: Argo Rollouts treats that as an
// error and waits for the next reconcile.
func BasicCanaryOtherScaleDowns(replicas, maxUnavailable int32, sets ReplicaSets) []Scale {
	others := make([]RS, 0, len(sets.Others))
	for _, rs := range sets.Others {
		if rs.Replicas > 0 {
			others = append(others, rs)
		}
	}
	if len(others) == 0 {
		return nil
	}

	var scales []Scale
	slices.SortStableFunc(others, func(a, b RS) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Name, b.Name))
	})
	for i := range others {
		rs := &others[i]
		if rs.Replicas == rs.Available {
			continue
		}
		if rs.Available > rs.Replicas {
			return scales
		}
		rs.Replicas = rs.Available
		scales = append(scales, Scale{Name: rs.Name, Replicas: rs.Available})
	}

	available := totalAvailable(sets.Others)
	if sets.New != nil {
		available += sets.New.Available
	}
	if sets.stableIsSeparate() {
		available += sets.Stable.Available
	}
	spare := available - (replicas - maxUnavailable)
	slices.SortStableFunc(others, func(a, b RS) int {
		return cmp.Or(cmp.Compare(b.Revision, a.Revision), b.Created.Compare(a.Created))
	})
	for _, rs := range others {
		if spare <= 0 {
			break
		}
		if rs.Replicas == 0 {
			continue
		}
		keep := max(rs.Replicas-spare, 0)
		scales = setScale(scales, rs.Name, keep)
		spare -= rs.Replicas - keep
	}
	return scales
}

// setScale records name's new size, replacing an earlier one so the caller
// sees one final size per ReplicaSet.
func setScale(scales []Scale, name string, replicas int32) []Scale {
	for i := range scales {
		if scales[i].Name == name {
			scales[i].Replicas = replicas
			return scales
		}
	}
	return append(scales, Scale{Name: name, Replicas: replicas})
}
