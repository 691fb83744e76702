// Package traefik routes a canary's traffic through Traefik: it sets the
// weights of the stable and canary entries of the user's weighted
// TraefikService (spec.weighted.services). It supports both API groups,
// traefik.io and the older traefik.containo.us.
package traefik

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// Groups are the TraefikService API versions tried, newest first.
var Groups = []schema.GroupVersionKind{
	{Group: "traefik.io", Version: "v1alpha1", Kind: "TraefikService"},
	{Group: "traefik.containo.us", Version: "v1alpha1", Kind: "TraefikService"},
}

// Router sets weights on one weighted TraefikService.
type Router struct {
	Client   client.Client
	Rollout  *v1alpha1.Rollout
	Recorder func(reason, msg string)
}

var _ traffic.Router = (*Router)(nil)

// Type names the router.
func (r *Router) Type() string { return "Traefik" }

// SetWeight gives the canary entry weight and the stable entry the rest,
// updating the TraefikService only when they change.
func (r *Router) SetWeight(ctx context.Context, weight int32, _ ...traffic.WeightDestination) error {
	c := r.Rollout.Spec.Strategy.Canary
	obj, err := r.get(ctx, c.TrafficRouting.Traefik.WeightedTraefikServiceName)
	if err != nil {
		return err
	}
	changed, err := SetWeights(obj, c.CanaryService, c.StableService, weight, 100-weight)
	if err != nil || !changed {
		return err
	}
	if err := r.Client.Update(ctx, obj); err != nil {
		if r.Recorder != nil {
			r.Recorder("TraefikServiceUpdateError", fmt.Sprintf("Error updating TraefikService %q: %v", obj.GetName(), err))
		}
		return fmt.Errorf("update TraefikService %s: %w", obj.GetName(), err)
	}
	return nil
}

func (r *Router) get(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	var last error
	for _, gvk := range Groups {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: r.Rollout.Namespace, Name: name}, obj)
		switch {
		case err == nil:
			return obj, nil
		case meta.IsNoMatchError(err) || client.IgnoreNotFound(err) == nil:
			last = err
			continue
		default:
			return nil, fmt.Errorf("read TraefikService %s: %w", name, err)
		}
	}
	return nil, &traffic.SpecError{Field: "spec.strategy.canary.trafficRouting.traefik.weightedTraefikServiceName",
		Msg: fmt.Sprintf("TraefikService %q not found in namespace %q (%v): create it with entries for the stable and canary Services", name, r.Rollout.Namespace, last)}
}

// SetWeights sets the weights of the canary and stable entries of a
// TraefikService's spec.weighted.services and reports whether anything
// changed.
func SetWeights(obj *unstructured.Unstructured, canary, stable string, canaryWeight, stableWeight int32) (bool, error) {
	services, found, err := unstructured.NestedSlice(obj.Object, "spec", "weighted", "services")
	if err != nil || !found {
		return false, fmt.Errorf("TraefikService %s: spec.weighted.services was not found", obj.GetName())
	}
	changed, seenCanary, seenStable := false, false, false
	for i, s := range services {
		entry, ok := s.(map[string]any)
		if !ok {
			continue
		}
		var want int64
		switch entry["name"] {
		case canary:
			want, seenCanary = int64(canaryWeight), true
		case stable:
			want, seenStable = int64(stableWeight), true
		default:
			continue
		}
		if w, ok := entry["weight"].(int64); !ok || w != want {
			entry["weight"] = want
			services[i] = entry
			changed = true
		}
	}
	if !seenCanary {
		return false, fmt.Errorf("TraefikService %s: no entry for the canary Service %q in spec.weighted.services", obj.GetName(), canary)
	}
	if !seenStable {
		return false, fmt.Errorf("TraefikService %s: no entry for the stable Service %q in spec.weighted.services", obj.GetName(), stable)
	}
	if changed {
		if err := unstructured.SetNestedSlice(obj.Object, services, "spec", "weighted", "services"); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// UpdateHash is not needed: the TraefikService names Services.
func (r *Router) UpdateHash(context.Context, string, string, ...traffic.WeightDestination) error {
	return nil
}

// SetHeaderRoute is not supported by Traefik routing (validation rejects it).
func (r *Router) SetHeaderRoute(context.Context, *v1alpha1.SetHeaderRoute) error { return nil }

// SetMirrorRoute is not supported by Traefik routing (validation rejects it).
func (r *Router) SetMirrorRoute(context.Context, *v1alpha1.SetMirrorRoute) error { return nil }

// RemoveManagedRoutes has nothing to remove.
func (r *Router) RemoveManagedRoutes(context.Context) error { return nil }

// VerifyWeight cannot verify.
func (r *Router) VerifyWeight(context.Context, int32, ...traffic.WeightDestination) (*bool, error) {
	return nil, nil
}
