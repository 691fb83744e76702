package smi

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// trafficSplitNameField is the spec path naming the TrafficSplit, reported
// when a TrafficSplit of that name cannot be used.
const trafficSplitNameField = "spec.strategy.canary.trafficRouting.smi.trafficSplitName"

// Event reasons, as Argo Rollouts records them.
const (
	EventTrafficSplitCreated    = "TrafficSplitCreated"
	EventTrafficSplitNotCreated = "TrafficSplitNotCreated"
)

// Router keeps the Rollout's TrafficSplit at the weight asked for.
type Router struct {
	// Client reads, creates and patches the TrafficSplit.
	Client client.Client
	// Rollout is the Rollout being reconciled; it controls the TrafficSplit.
	Rollout *v1alpha1.Rollout
	// Recorder, when set, receives an event for each create attempt.
	Recorder func(reason, msg string)
	// APIVersion is the split.smi-spec.io version to use: "v1alpha1" (the
	// default when empty), "v1alpha2" or "v1alpha3". Argo Rollouts takes
	// it from --traffic-split-api-version, for the whole controller.
	APIVersion string
}

var _ traffic.Router = (*Router)(nil)

// Type is traffic.TypeSMI.
func (r *Router) Type() string { return traffic.TypeSMI }

// SetWeight creates the TrafficSplit, or patches its spec when it differs,
// so that the canary Service gets weight, each additional destination its
// weight and the stable Service the rest of 100.
func (r *Router) SetWeight(ctx context.Context, weight int32, additional ...traffic.WeightDestination) error {
	gvk, err := GVK(r.APIVersion)
	if err != nil {
		return err
	}
	name := TrafficSplitName(r.Rollout)
	desired := DesiredSpec(r.Rollout, weight, additional...)
	live, err := r.liveOrCreate(ctx, gvk, name, desired)
	if err != nil || live == nil {
		return err
	}
	patch, err := SpecPatch(live, desired, gvk.Version)
	if err != nil || patch == nil {
		return err
	}
	if err := r.Client.Patch(ctx, live, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("patch TrafficSplit %s/%s: %w", live.GetNamespace(), name, err)
	}
	return nil
}

// liveOrCreate returns the TrafficSplit name if this Rollout controls it,
// or creates it with spec desired and returns nil.
func (r *Router) liveOrCreate(ctx context.Context, gvk schema.GroupVersionKind, name string, desired Spec) (*unstructured.Unstructured, error) {
	live, err := r.get(ctx, gvk, name)
	if err != nil || live != nil {
		return live, err
	}
	obj := NewTrafficSplit(r.Rollout, gvk, name, desired)
	err = r.Client.Create(ctx, obj)
	if err == nil {
		r.event(EventTrafficSplitCreated, fmt.Sprintf("TrafficSplit `%s` created", name))
		return nil, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		r.event(EventTrafficSplitNotCreated, fmt.Sprintf("TrafficSplit `%s` failed creation: %v", name, err))
		return nil, fmt.Errorf("create TrafficSplit %s/%s: %w", obj.GetNamespace(), name, err)
	}
	// Created since the read above, by another reconcile (the cache lags
	// writes) or by someone else; the read below tells which.
	live, err = r.get(ctx, gvk, name)
	if err == nil && live == nil {
		err = fmt.Errorf("TrafficSplit %s/%s exists but cannot be read yet", obj.GetNamespace(), name)
	}
	return live, err
}

// get reads the TrafficSplit name: nil if it does not exist, a SpecError
// if this Rollout does not control it, since taking over another owner's
// split would fight that owner.
func (r *Router) get(ctx context.Context, gvk schema.GroupVersionKind, name string) (*unstructured.Unstructured, error) {
	ns := r.Rollout.Namespace
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, live); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read TrafficSplit %s/%s (%s): %w", ns, name, gvk.GroupVersion(), err)
	}
	if !metav1.IsControlledBy(live, r.Rollout) {
		return nil, &traffic.SpecError{Field: trafficSplitNameField,
			Msg: fmt.Sprintf("Rollout does not own TrafficSplit %q in namespace %q (it is not its controller): delete it or choose another name", name, ns)}
	}
	return live, nil
}

// event records an event when there is a recorder.
func (r *Router) event(reason, msg string) {
	if r.Recorder != nil {
		r.Recorder(reason, msg)
	}
}

// UpdateHash does nothing: the TrafficSplit names Services, not pods.
func (r *Router) UpdateHash(context.Context, string, string, ...traffic.WeightDestination) error {
	return nil
}

// SetHeaderRoute does nothing: SMI has no header routes, and validation
// rejects setHeaderRoute steps with SMI routing.
func (r *Router) SetHeaderRoute(context.Context, *v1alpha1.SetHeaderRoute) error { return nil }

// SetMirrorRoute does nothing: SMI cannot mirror, and validation rejects
// setMirrorRoute steps with SMI routing.
func (r *Router) SetMirrorRoute(context.Context, *v1alpha1.SetMirrorRoute) error { return nil }

// RemoveManagedRoutes does nothing: the router adds no managed routes.
func (r *Router) RemoveManagedRoutes(context.Context) error { return nil }

// VerifyWeight cannot verify SMI weights, so it reports nil.
func (r *Router) VerifyWeight(context.Context, int32, ...traffic.WeightDestination) (*bool, error) {
	return nil, nil
}
