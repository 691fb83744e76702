// Package istio routes a canary's traffic through Istio, as Argo Rollouts
// does: it sets the weights of the stable and canary destinations in the
// routes of the user's VirtualServices (by Service host, or by
// DestinationRule subset when a destinationRule is configured), pins the
// DestinationRule's subsets to the ReplicaSets' pod-template hashes, and
// adds and removes the header and mirror routes of setHeaderRoute and
// setMirrorRoute steps.
//
// The objects are read and written as unstructured networking.istio.io
// objects, so no Istio Go module is needed. What to change is decided by
// pure functions over those objects (ApplyWeights, ApplyHeaderRoute,
// ApplyMirrorRoute, RemoveRoutes, ApplyHashes); Router only reads, applies
// one of them and updates the object when it changed.
//
// Note: Argo Rollouts holds back the DestinationRule update until the
// ReplicaSets it points the subsets at are fully available, when the
// Rollout has no canary and stable Services. Router applies that rule
// only when given the Rollout's ReplicaSets (Router.ReplicaSets); without
// them it updates the subsets at once.
package istio

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// Event reasons, as Argo Rollouts records them.
const (
	ReasonUpdatedVirtualService  = "Updated VirtualService"
	ReasonUpdatedDestinationRule = "UpdatedDestinationRule"
)

// ReasonRouteSelectorSkipped is the Warning event of a route selector the
// VirtualService has no route of that kind for (see Skipped): the routes
// that exist were split, this one was ignored.
const ReasonRouteSelectorSkipped = "VirtualServiceRouteSkipped"

// Router splits a Rollout's traffic through its Istio VirtualServices and
// DestinationRule.
type Router struct {
	// Client reads and updates the VirtualServices and DestinationRule.
	Client client.Client
	// Rollout is the Rollout being reconciled.
	Rollout *v1alpha1.Rollout
	// Recorder, when set, receives an event for each update.
	Recorder func(reason, msg string)
	// Warn, when set, receives a warning (a Warning event and a log line
	// for the user) about configuration that was tolerated, not applied.
	Warn func(reason, msg string)
	// APIVersion is the networking.istio.io version to use;
	// v1alpha1.DefaultIstioAPIVersion (v1alpha3) when empty.
	APIVersion string
	// ReplicaSets are the Rollout's ReplicaSets. When set, UpdateHash
	// waits for them as DelayHashUpdate says; when nil it never waits.
	ReplicaSets []*appsv1.ReplicaSet
}

var _ traffic.Router = (*Router)(nil)

// Type is traffic.TypeIstio.
func (r *Router) Type() string { return traffic.TypeIstio }

// VerifyWeight cannot verify Istio weights, so it reports nil.
func (r *Router) VerifyWeight(context.Context, int32, ...traffic.WeightDestination) (*bool, error) {
	return nil, nil
}

// SetWeight gives the canary destinations weight and the stable ones the
// rest in every VirtualService, updating only those that change.
//
// A route selector that finds nothing because the VirtualService has no
// route of its kind (Skipped) does not stop the others; each time such a
// VirtualService is updated, Warn is told which selectors were skipped.
func (r *Router) SetWeight(ctx context.Context, weight int32, additional ...traffic.WeightDestination) error {
	s := SplitOf(r.Rollout)
	var warnings []string
	err := r.eachVirtualService(ctx, func(vs *unstructured.Unstructured, ref VirtualServiceRef) (bool, string, error) {
		notes, err := Skipped(vs, ref)
		if err != nil {
			return false, "", err
		}
		changed, err := ApplyWeights(vs, ref, s, weight, additional)
		if changed && len(notes) > 0 {
			warnings = append(warnings, fmt.Sprintf("VirtualService %s: skipped %s, as the VirtualService has no route of that kind; the routes it has were set to desiredWeight '%d'. "+
				"Remove the selector from the rollout, or add the route to the VirtualService", ref.key(), strings.Join(notes, "; "), weight))
		}
		return changed, fmt.Sprintf("VirtualService `%s` set to desiredWeight '%d'", ref.Name, weight), err
	})
	if err != nil {
		return err
	}
	for _, w := range warnings {
		if r.Warn != nil {
			r.Warn(ReasonRouteSelectorSkipped, w)
		}
	}
	return nil
}

// SetHeaderRoute adds the header route to every VirtualService, or with
// no match removes it.
func (r *Router) SetHeaderRoute(ctx context.Context, route *v1alpha1.SetHeaderRoute) error {
	if route == nil {
		return nil
	}
	s := SplitOf(r.Rollout)
	return r.eachVirtualService(ctx, func(vs *unstructured.Unstructured, ref VirtualServiceRef) (bool, string, error) {
		changed, err := ApplyHeaderRoute(vs, ref, s, route)
		return changed, fmt.Sprintf("VirtualService `%s` set headerRoute '%s'", ref.Name, route.Name), err
	})
}

// SetMirrorRoute adds the mirror route to every VirtualService, or with
// no match removes it.
func (r *Router) SetMirrorRoute(ctx context.Context, route *v1alpha1.SetMirrorRoute) error {
	if route == nil {
		return nil
	}
	s := SplitOf(r.Rollout)
	return r.eachVirtualService(ctx, func(vs *unstructured.Unstructured, ref VirtualServiceRef) (bool, string, error) {
		changed, err := ApplyMirrorRoute(vs, ref, s, route)
		return changed, fmt.Sprintf("VirtualService `%s` set mirrorRoute '%s'", ref.Name, route.Name), err
	})
}

// RemoveManagedRoutes removes every route named in managedRoutes from
// every VirtualService.
func (r *Router) RemoveManagedRoutes(ctx context.Context) error {
	s := SplitOf(r.Rollout)
	if len(s.ManagedRoutes) == 0 {
		return nil
	}
	return r.eachVirtualService(ctx, func(vs *unstructured.Unstructured, ref VirtualServiceRef) (bool, string, error) {
		changed, err := RemoveRoutes(vs, s.ManagedRoutes)
		return changed, fmt.Sprintf("VirtualService `%s` removed all managed routes.", ref.Name), err
	})
}

// UpdateHash pins the destinationRule's subsets to the canary and stable
// hashes (and the additional destinations' subsets to theirs). Without a
// destinationRule it does nothing: hosts, not subsets, are split then.
func (r *Router) UpdateHash(ctx context.Context, canaryHash, stableHash string, additional ...traffic.WeightDestination) error {
	is, err := r.istio()
	if err != nil || is.DestinationRule == nil {
		return err
	}
	spec := is.DestinationRule
	if wait, rs := DelayHashUpdate(r.Rollout, r.ReplicaSets, canaryHash, stableHash); wait {
		// A plain error: the reconciler retries, and by then the
		// ReplicaSet may be ready.
		return fmt.Errorf("delaying the update of DestinationRule %s/%s: ReplicaSet %s is not fully available yet: %w", r.Rollout.Namespace, spec.Name, rs, traffic.ErrWait)
	}
	dr := &unstructured.Unstructured{}
	dr.SetGroupVersionKind(DestinationRuleGVK(r.APIVersion))
	key := types.NamespacedName{Namespace: r.Rollout.Namespace, Name: spec.Name}
	if err := r.Client.Get(ctx, key, dr); err != nil {
		if se := r.missing(err, "DestinationRule", key, fieldIstio+".destinationRule.name",
			"create it with the stable and canary subsets"); se != nil {
			return se
		}
		return fmt.Errorf("read DestinationRule %s: %w", key, err)
	}
	changed, err := ApplyHashes(dr, spec, r.Rollout.Name, canaryHash, stableHash, additional)
	if err != nil || !changed {
		return err
	}
	if err := r.Client.Update(ctx, dr); err != nil {
		return fmt.Errorf("update DestinationRule %s: %w", key, err)
	}
	r.event(ReasonUpdatedDestinationRule, fmt.Sprintf("DestinationRule %s subset updated (%s: %s, %s: %s)",
		spec.Name, spec.CanarySubsetName, canaryHash, spec.StableSubsetName, stableHash))
	return nil
}

// istio is the Rollout's Istio configuration.
func (r *Router) istio() (*v1alpha1.IstioTrafficRouting, error) {
	c := r.Rollout.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil || c.TrafficRouting.Istio == nil {
		return nil, fmt.Errorf("rollout %s/%s has no istio traffic routing", r.Rollout.Namespace, r.Rollout.Name)
	}
	return c.TrafficRouting.Istio, nil
}

// eachVirtualService reads each VirtualService in turn, applies f and
// updates it when f changed it, stopping at the first error so that the
// VirtualServices change in the spec's order.
func (r *Router) eachVirtualService(ctx context.Context, f func(*unstructured.Unstructured, VirtualServiceRef) (bool, string, error)) error {
	if _, err := r.istio(); err != nil {
		return err
	}
	refs := VirtualServices(r.Rollout)
	if len(refs) == 0 {
		return &traffic.SpecError{Field: fieldIstio + ".virtualService",
			Msg: "Istio routing names no VirtualService: set virtualService.name, or list them in virtualServices"}
	}
	for _, ref := range refs {
		vs := &unstructured.Unstructured{}
		vs.SetGroupVersionKind(VirtualServiceGVK(r.APIVersion))
		key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
		if err := r.Client.Get(ctx, key, vs); err != nil {
			if se := r.missing(err, "VirtualService", key, ref.Field+".name",
				"create it, or correct the name (name.namespace or namespace/name for another namespace)"); se != nil {
				return se
			}
			return fmt.Errorf("read VirtualService %s: %w", key, err)
		}
		changed, msg, err := f(vs, ref)
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		if err := r.Client.Update(ctx, vs); err != nil {
			return fmt.Errorf("update VirtualService %s: %w", key, err)
		}
		r.event(ReasonUpdatedVirtualService, msg)
	}
	return nil
}

// missing turns a read error that waiting will not fix, the object or
// its kind not existing, into a SpecError; any other error is nil.
func (r *Router) missing(err error, kind string, key types.NamespacedName, field, fix string) *traffic.SpecError {
	switch {
	case apierrors.IsNotFound(err):
		return &traffic.SpecError{Field: field, Msg: fmt.Sprintf("%s %q not found in namespace %q: %s", kind, key.Name, key.Namespace, fix)}
	case meta.IsNoMatchError(err):
		return &traffic.SpecError{Field: field, Msg: fmt.Sprintf("the cluster does not serve %s %s/%s (%v): install Istio, or run the controller with the Istio API version the cluster serves",
			kind, Group, versionOrDefault(r.APIVersion), err)}
	}
	return nil
}

// event records an event when there is a recorder.
func (r *Router) event(reason, msg string) {
	if r.Recorder != nil {
		r.Recorder(reason, msg)
	}
}
