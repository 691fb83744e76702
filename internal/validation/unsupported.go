package validation

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// unsupported lists valid Argo Rollouts features this build of Aviary does
// not carry out yet, so a Rollout using one stops with a clear message
// instead of silently waiting forever. Each entry goes when its feature
// lands.
func unsupported(ro *v1alpha1.Rollout, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	add := func(p *field.Path, what string) {
		errs = append(errs, field.Forbidden(p, "this Aviary build does not carry out "+what+" yet"))
	}
	c := ro.Spec.Strategy.Canary
	if c == nil {
		return errs
	}
	p := spec.Child("strategy", "canary")
	if c.PingPong != nil {
		add(p.Child("pingPong"), "ping-pong services")
	}
	return errs
}
