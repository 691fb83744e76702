// Package traffic defines what the canary reconciler needs from a traffic
// router (a service mesh, an ingress controller or a plugin) to split
// requests between the stable and canary ReplicaSets. Implementations live
// in their own packages; what weight to ask for is decided by
// internal/plan/weights.
//
// A Rollout may configure several routers at once. They are called in a
// fixed order, the one Argo Rollouts uses, so that routers layered on each
// other (an ingress in front of a mesh) change in the same sequence under
// either controller: Istio, NGINX, ALB, SMI, Ambassador, AppMesh, Traefik,
// APISIX, then each trafficRouting.plugins entry (Gateway API is one).
// Argo Rollouts takes plugins in map order, which is random; sort them by
// name for a stable order.
package traffic

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// WeightDestination is an extra destination in a split, such as an
// experiment's Service, with its share of traffic.
type WeightDestination = v1alpha1.WeightDestination

// Router type names, as Argo Rollouts reports them in logs and events.
const (
	TypeIstio      = "Istio"
	TypeNginx      = "Nginx"
	TypeALB        = "ALB"
	TypeSMI        = "SMI"
	TypeAmbassador = "Ambassador"
	TypeAppMesh    = "AppMesh"
	TypeTraefik    = "Traefik"
	TypeApisix     = "Apisix"
)

// Router splits a canary Rollout's traffic through one traffic router.
type Router interface {
	// UpdateHash tells the router which pod-template hashes are canary and
	// stable, for routers that select pods by hash (Istio DestinationRule
	// subsets, App Mesh virtual nodes); the others ignore it. It is called
	// before SetWeight, so a weight never lands on stale pods.
	UpdateHash(ctx context.Context, canaryHash, stableHash string, additional ...WeightDestination) error
	// SetWeight gives the canary weight (out of the max traffic weight) and
	// each additional destination its weight; the stable gets the rest.
	SetWeight(ctx context.Context, weight int32, additional ...WeightDestination) error
	// SetHeaderRoute adds, or with no match removes, a managed route that
	// sends matching requests to the canary.
	SetHeaderRoute(ctx context.Context, route *v1alpha1.SetHeaderRoute) error
	// SetMirrorRoute adds, or with no match removes, a managed route that
	// mirrors matching requests to the canary.
	SetMirrorRoute(ctx context.Context, route *v1alpha1.SetMirrorRoute) error
	// VerifyWeight reports whether the weights have taken effect in the
	// data plane; nil means this router cannot verify (only ALB can).
	VerifyWeight(ctx context.Context, weight int32, additional ...WeightDestination) (*bool, error)
	// RemoveManagedRoutes removes every route listed in
	// trafficRouting.managedRoutes, when the update ends or is aborted.
	RemoveManagedRoutes(ctx context.Context) error
	// Type names the router, e.g. TypeIstio.
	Type() string
}

// Routers are a Rollout's routers, in the order above. Each method calls
// every router in turn and stops at the first error, wrapped with the
// router's type, so a later router is not changed to match an earlier one
// that failed.
type Routers []Router

var _ Router = Routers(nil)

// each calls f on every router until one fails.
func (rs Routers) each(f func(Router) error) error {
	for _, r := range rs {
		if err := f(r); err != nil {
			return fmt.Errorf("%s: %w", r.Type(), err)
		}
	}
	return nil
}

// UpdateHash calls UpdateHash on each router.
func (rs Routers) UpdateHash(ctx context.Context, canaryHash, stableHash string, additional ...WeightDestination) error {
	return rs.each(func(r Router) error { return r.UpdateHash(ctx, canaryHash, stableHash, additional...) })
}

// SetWeight calls SetWeight on each router.
func (rs Routers) SetWeight(ctx context.Context, weight int32, additional ...WeightDestination) error {
	return rs.each(func(r Router) error { return r.SetWeight(ctx, weight, additional...) })
}

// SetHeaderRoute calls SetHeaderRoute on each router.
func (rs Routers) SetHeaderRoute(ctx context.Context, route *v1alpha1.SetHeaderRoute) error {
	return rs.each(func(r Router) error { return r.SetHeaderRoute(ctx, route) })
}

// SetMirrorRoute calls SetMirrorRoute on each router.
func (rs Routers) SetMirrorRoute(ctx context.Context, route *v1alpha1.SetMirrorRoute) error {
	return rs.each(func(r Router) error { return r.SetMirrorRoute(ctx, route) })
}

// RemoveManagedRoutes calls RemoveManagedRoutes on each router.
func (rs Routers) RemoveManagedRoutes(ctx context.Context) error {
	return rs.each(func(r Router) error { return r.RemoveManagedRoutes(ctx) })
}

// VerifyWeight asks each router. The weights are verified only if every
// router that can verify says so; nil means none of them can.
func (rs Routers) VerifyWeight(ctx context.Context, weight int32, additional ...WeightDestination) (*bool, error) {
	var verified *bool
	err := rs.each(func(r Router) error {
		ok, err := r.VerifyWeight(ctx, weight, additional...)
		if err == nil && ok != nil {
			verified = new(*ok && (verified == nil || *verified))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return verified, nil
}

// Type joins the routers' types with commas, for logs.
func (rs Routers) Type() string {
	types := make([]string, len(rs))
	for i, r := range rs {
		types[i] = r.Type()
	}
	return strings.Join(types, ",")
}

// ErrWait is wrapped by a router error that says the router is waiting
// for something the cluster is still doing (pods becoming available); the
// reconciler leaves traffic as it is and tries again on the next change.
var ErrWait = errors.New("waiting for the cluster")

// SpecError is a router error that a retry will not clear: an object the
// spec names is missing or cannot be used as configured. The reconciler
// reports it as the InvalidSpec condition and an event, then waits for the
// Rollout or the object to change instead of retrying.
type SpecError struct {
	// Field is the spec field path that names the object, e.g.
	// spec.strategy.canary.trafficRouting.istio.virtualService.name.
	Field string
	// Msg says what is wrong and how to fix it.
	Msg string
}

func (e *SpecError) Error() string { return e.Field + ": " + e.Msg }

// WeightsOnly gives a router that only sets weights the calls that do
// not apply to it, doing nothing: validation refuses the header and mirror
// route steps it cannot carry out, it selects no pods by hash, and it
// cannot verify weights.
type WeightsOnly struct{}

// UpdateHash does nothing: the router's objects name Services.
func (WeightsOnly) UpdateHash(context.Context, string, string, ...WeightDestination) error {
	return nil
}

// SetHeaderRoute does nothing (validation refuses the step).
func (WeightsOnly) SetHeaderRoute(context.Context, *v1alpha1.SetHeaderRoute) error { return nil }

// SetMirrorRoute does nothing (validation refuses the step).
func (WeightsOnly) SetMirrorRoute(context.Context, *v1alpha1.SetMirrorRoute) error { return nil }

// RemoveManagedRoutes has nothing to remove.
func (WeightsOnly) RemoveManagedRoutes(context.Context) error { return nil }

// VerifyWeight cannot verify.
func (WeightsOnly) VerifyWeight(context.Context, int32, ...WeightDestination) (*bool, error) {
	return nil, nil
}

// Events are a router's ways to tell what it did (Recorder) and what went
// wrong (Warn); either may be nil.
type Events struct {
	Recorder func(reason, msg string)
	Warn     func(reason, msg string)
}

// Record tells a Normal event, if anyone listens.
func (e Events) Record(reason, msg string) {
	if e.Recorder != nil {
		e.Recorder(reason, msg)
	}
}

// Warning tells a Warning event, if anyone listens.
func (e Events) Warning(reason, msg string) {
	if e.Warn != nil {
		e.Warn(reason, msg)
	}
}
