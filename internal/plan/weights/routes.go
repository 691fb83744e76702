package weights

import "github.com/aviary-rollouts/aviary/api/v1alpha1"

// Routes is the state the header and mirror routes of a canary's steps
// call for at a step: for each route name, the last setHeaderRoute or
// setMirrorRoute step at or before it (one without match removes the
// route). Deriving it from every step so far, rather than from the
// current step alone, keeps the routes right when several instant steps
// pass in one reconcile and after a controller restart.
type Routes struct {
	Headers []v1alpha1.SetHeaderRoute
	Mirrors []v1alpha1.SetMirrorRoute
}

// RoutesAt is Routes at step index idx (inclusive), in step order.
func RoutesAt(steps []v1alpha1.CanaryStep, idx int) Routes {
	var r Routes
	seenH, seenM := map[string]int{}, map[string]int{}
	for i := 0; i <= idx && i < len(steps); i++ {
		if h := steps[i].SetHeaderRoute; h != nil {
			if j, ok := seenH[h.Name]; ok {
				r.Headers[j] = *h
			} else {
				seenH[h.Name] = len(r.Headers)
				r.Headers = append(r.Headers, *h)
			}
		}
		if m := steps[i].SetMirrorRoute; m != nil {
			if j, ok := seenM[m.Name]; ok {
				r.Mirrors[j] = *m
			} else {
				seenM[m.Name] = len(r.Mirrors)
				r.Mirrors = append(r.Mirrors, *m)
			}
		}
	}
	return r
}
