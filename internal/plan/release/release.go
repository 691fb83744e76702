// Package release decides which objects a Rollout must let go of: the
// Services, DestinationRules and canary Ingresses it marked or created for
// itself and that its spec no longer names — after a switch from blue-green
// to canary, a renamed or removed Service field, or trafficRouting taken
// out. Letting go undoes only what the controller added (the pod-template
// hash pin and the managed-by mark, or the object it created), so the
// object goes back to what its owner wrote.
package release

import "slices"

// Object is one candidate, as the decision sees it.
type Object struct {
	// Name is the object's name.
	Name string
	// Holder is the Rollout the object says it belongs to: the
	// managed-by-rollouts annotation of a Service or DestinationRule, the
	// controlling owner of a created object; "" when none.
	Holder string
}

// Unreferenced returns, in the order given, the names of the objects held
// by rollout that are not among named, the objects its spec names now.
// Objects held by another Rollout, or by none, are never returned: they
// are not this Rollout's to release.
func Unreferenced(rollout string, named []string, objects []Object) []string {
	var out []string
	for _, o := range objects {
		if rollout == "" || o.Holder != rollout || slices.Contains(named, o.Name) || slices.Contains(out, o.Name) {
			continue
		}
		out = append(out, o.Name)
	}
	return out
}
