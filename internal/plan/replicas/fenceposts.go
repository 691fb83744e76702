package replicas

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Fenceposts bound a basic canary's scaling: at most Replicas+MaxSurge pods
// in total, and at least Replicas-MaxUnavailable available.
type Fenceposts struct {
	MaxSurge       int32
	MaxUnavailable int32
}

// CanaryFenceposts resolves a canary's maxSurge and maxUnavailable against
// spec.replicas. Pass the defaulted values (Rollout.MaxSurgeOrDefault and
// MaxUnavailableOrDefault).
//
// Any string counts as a percentage, with or without "%": the defaults are
// the string "25", and Argo Rollouts parses them with Kubernetes' deprecated
// lenient reader, so a user's "3" means 3% here even though validation reads
// it as 3 pods. Surge rounds up and unavailability down; when both come to
// zero, one pod may be unavailable so the update can still move. The result
// never lets more than all replicas be unavailable.
//
// An unparsable value gives zero for both, with the error; Argo Rollouts
// ignores the error (validation reports it) and carries on with the zeros.
func CanaryFenceposts(replicas int32, maxSurge, maxUnavailable intstr.IntOrString) (Fenceposts, error) {
	f, err := resolveFenceposts(&maxSurge, &maxUnavailable, replicas)
	if err != nil {
		return Fenceposts{}, err
	}
	if replicas == 0 {
		f.MaxUnavailable = 0
	}
	f.MaxUnavailable = min(f.MaxUnavailable, replicas)
	return f, nil
}

// resolveFenceposts is the resolution step on its own: a nil bound is 0,
// and the both-zero rule applies even to zero replicas.
func resolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, replicas int32) (Fenceposts, error) {
	surge, err := lenientScaledValue(maxSurge, replicas, true)
	if err != nil {
		return Fenceposts{}, fmt.Errorf("maxSurge: %w", err)
	}
	unavailable, err := lenientScaledValue(maxUnavailable, replicas, false)
	if err != nil {
		return Fenceposts{}, fmt.Errorf("maxUnavailable: %w", err)
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return Fenceposts{MaxSurge: surge, MaxUnavailable: unavailable}, nil
}

// lenientScaledValue reads an int as a pod count and any string, after
// dropping every "%", as a percentage of total.
func lenientScaledValue(v *intstr.IntOrString, total int32, roundUp bool) (int32, error) {
	if v == nil {
		return 0, nil
	}
	if v.Type == intstr.Int {
		return v.IntVal, nil
	}
	percent, err := strconv.Atoi(strings.ReplaceAll(v.StrVal, "%", ""))
	if err != nil {
		return 0, fmt.Errorf("invalid value %q: not a number or percentage", v.StrVal)
	}
	scaled := float64(percent) * float64(total) / 100
	if roundUp {
		return int32(math.Ceil(scaled)), nil
	}
	return int32(math.Floor(scaled)), nil
}

// LenientScaledDown resolves one bound the lenient way, rounding down: an
// int is a pod count, any string a percentage of total (blue-green's
// maxUnavailable is read like this, without the canary's both-zero rule).
func LenientScaledDown(v intstr.IntOrString, total int32) (int32, error) {
	return lenientScaledValue(&v, total, false)
}
