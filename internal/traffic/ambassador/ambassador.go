// Package ambassador routes a canary's traffic through Ambassador
// (Emissary-ingress): for each Mapping the Rollout names it keeps a clone,
// `<mapping>-canary`, whose service is the canary Service and whose
// spec.weight is the canary's share. Ambassador sends that share to the
// clone and the rest to the user's Mapping, which must have no weight of
// its own. At weight 0 the clone is set to 0, then deleted once Ambassador
// has had time to apply that (CleanupDelay).
package ambassador

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// Event reasons, as Argo Rollouts names them.
const (
	ReasonWeightUpdate   = "CanaryMappingWeightUpdate"
	ReasonCreationError  = "CanaryMappingCreationError"
	ReasonUpdateError    = "CanaryMappingUpdateError"
	ReasonCleanupError   = "CanaryMappingCleanupError"
	ReasonMappingMissing = "AmbassadorMappingNotFound"
	ReasonConfigError    = "AmbassadorMappingConfigError"
)

// ZeroSinceAnnotation marks a canary Mapping set to weight 0 with the time
// it was, so a later reconcile knows when it may delete it.
const ZeroSinceAnnotation = "rollouts.aviary.dev/zero-weight-since"

// CleanupDelay is how long a canary Mapping stays at weight 0 before it is
// deleted, the time Argo Rollouts gives Ambassador to stop sending it
// requests. Argo Rollouts sleeps that long inside its reconcile; Aviary
// asks to be called back instead, so no worker is held.
const CleanupDelay = 5 * time.Second

const field = "spec.strategy.canary.trafficRouting.ambassador.mappings"

// GVK is the Mapping kind of apiVersion (--ambassador-api-version):
// Mapping in getambassador.io, AmbassadorMapping in x.getambassador.io.
// A bare version means getambassador.io.
func GVK(apiVersion string) (schema.GroupVersionKind, error) {
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		group, version = "getambassador.io", apiVersion
	}
	switch group {
	case "getambassador.io":
		return schema.GroupVersionKind{Group: group, Version: version, Kind: "Mapping"}, nil
	case "x.getambassador.io":
		return schema.GroupVersionKind{Group: group, Version: version, Kind: "AmbassadorMapping"}, nil
	}
	return schema.GroupVersionKind{}, fmt.Errorf("%q is not an Ambassador API version: use getambassador.io/<version> or x.getambassador.io/<version>", apiVersion)
}

// CanaryName is the name of the canary clone of Mapping name (the base
// name cut to 246 characters, as Argo Rollouts does).
func CanaryName(name string) string {
	if len(name) > 246 {
		name = name[:246]
	}
	return name + "-canary"
}

// Router keeps the canary clones of a Rollout's Mappings.
type Router struct {
	traffic.WeightsOnly
	Client  client.Client
	Rollout *v1alpha1.Rollout
	traffic.Events
	// Requeue asks for another reconcile within d (a clone waiting to be
	// deleted); nil when nothing can call back.
	Requeue func(d time.Duration)
	// APIVersion is the Mappings' apiVersion; "" is getambassador.io/v2.
	APIVersion string
	Now        func() time.Time
}

var _ traffic.Router = (*Router)(nil)

// Type names the router.
func (r *Router) Type() string { return traffic.TypeAmbassador }

// SetWeight brings every canary clone to weight: created from its Mapping
// when missing (not at 0), updated when different, and deleted once it has
// been at 0 for CleanupDelay.
func (r *Router) SetWeight(ctx context.Context, weight int32, _ ...traffic.WeightDestination) error {
	gvk, err := r.gvk()
	if err != nil {
		return err
	}
	for _, name := range r.Rollout.Spec.Strategy.Canary.TrafficRouting.Ambassador.Mappings {
		if err := r.setWeight(ctx, gvk, name, weight); err != nil {
			return err
		}
	}
	return nil
}

func (r *Router) gvk() (schema.GroupVersionKind, error) {
	v := r.APIVersion
	if v == "" {
		v = v1alpha1.DefaultAmbassadorAPIVersion
	}
	return GVK(v)
}

func (r *Router) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Router) setWeight(ctx context.Context, gvk schema.GroupVersionKind, base string, weight int32) error {
	ns := r.Rollout.Namespace
	canary := &unstructured.Unstructured{}
	canary.SetGroupVersionKind(gvk)
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: CanaryName(base)}, canary)
	switch {
	case apierrors.IsNotFound(err):
		if weight == 0 {
			return nil
		}
		return r.create(ctx, gvk, base, weight)
	case err != nil:
		return fmt.Errorf("read %s %s: %w", gvk.Kind, CanaryName(base), err)
	}
	next, due := Step(canary, weight, r.now())
	switch {
	case due:
		if err := r.Client.Delete(ctx, canary); client.IgnoreNotFound(err) != nil {
			r.Warning(ReasonCleanupError, fmt.Sprintf("Error deleting canary mapping %q: %v", canary.GetName(), err))
			return fmt.Errorf("delete %s %s: %w", gvk.Kind, canary.GetName(), err)
		}
		return nil
	case next != nil:
		if err := r.Client.Update(ctx, next); err != nil {
			r.Warning(ReasonUpdateError, fmt.Sprintf("Error updating canary mapping %q: %v", canary.GetName(), err))
			return fmt.Errorf("update %s %s: %w", gvk.Kind, canary.GetName(), err)
		}
		if GetWeight(next) != GetWeight(canary) {
			r.Record(ReasonWeightUpdate, fmt.Sprintf("Set canary mapping %s weight to %d", canary.GetName(), weight))
		}
	}
	if weight == 0 && r.Requeue != nil {
		obj := canary
		if next != nil {
			obj = next
		}
		r.Requeue(Remaining(obj, r.now()))
	}
	return nil
}

// Step is what a canary Mapping becomes for weight at now: the updated
// object (nil when it is already right), or due when it has been at 0 for
// CleanupDelay and is to be deleted.
func Step(canary *unstructured.Unstructured, weight int32, now time.Time) (next *unstructured.Unstructured, due bool) {
	_, marked := canary.GetAnnotations()[ZeroSinceAnnotation]
	if weight == 0 && GetWeight(canary) == 0 && marked {
		return nil, Remaining(canary, now) <= 0
	}
	if weight != 0 && GetWeight(canary) == int64(weight) && !marked {
		return nil, false
	}
	next = canary.DeepCopy()
	ann := next.GetAnnotations()
	if weight == 0 {
		if ann == nil {
			ann = map[string]string{}
		}
		ann[ZeroSinceAnnotation] = now.UTC().Format(time.RFC3339)
	} else {
		delete(ann, ZeroSinceAnnotation)
	}
	next.SetAnnotations(ann)
	setWeight(next, weight)
	return next, false
}

// Remaining is how long a canary Mapping at weight 0 still has to wait
// before it is deleted; an unreadable mark counts as set now.
func Remaining(canary *unstructured.Unstructured, now time.Time) time.Duration {
	since, err := time.Parse(time.RFC3339, canary.GetAnnotations()[ZeroSinceAnnotation])
	if err != nil {
		return CleanupDelay
	}
	return since.Add(CleanupDelay).Sub(now)
}

func (r *Router) create(ctx context.Context, gvk schema.GroupVersionKind, base string, weight int32) error {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: r.Rollout.Namespace, Name: base}, obj)
	if apierrors.IsNotFound(err) {
		r.Warning(ReasonMappingMissing, fmt.Sprintf("Ambassador mapping %q not found", base))
		return &traffic.SpecError{Field: field, Msg: fmt.Sprintf("%s %q not found in namespace %q: create it or correct the name", gvk.Kind, base, r.Rollout.Namespace)}
	}
	if err != nil {
		return fmt.Errorf("read %s %s: %w", gvk.Kind, base, err)
	}
	c := r.Rollout.Spec.Strategy.Canary
	canary, err := Clone(obj, c.CanaryService, c.StableService, weight)
	if err != nil {
		r.Warning(ReasonConfigError, fmt.Sprintf("Ambassador mapping %q can not define weight", base))
		return &traffic.SpecError{Field: field, Msg: err.Error()}
	}
	canary.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(r.Rollout, v1alpha1.GroupVersion.WithKind("Rollout"))})
	if err := r.Client.Create(ctx, canary); err != nil {
		r.Warning(ReasonCreationError, fmt.Sprintf("Error creating canary mapping: %v", err))
		return fmt.Errorf("create %s %s: %w", gvk.Kind, canary.GetName(), err)
	}
	r.Record(ReasonWeightUpdate, fmt.Sprintf("Created canary mapping %s with weight %d", canary.GetName(), weight))
	return nil
}

// Clone is the canary clone of base Mapping: its spec with the first
// occurrence of the stable Service's name in spec.service replaced by the
// canary's (spec.service may carry a namespace and port around the name)
// and spec.weight set, under the canary name in base's namespace, with no
// other metadata. A base that defines a weight is refused: Ambassador
// would weigh it against the clone, not give it the rest.
func Clone(base *unstructured.Unstructured, canaryService, stableService string, weight int32) (*unstructured.Unstructured, error) {
	if w := GetWeight(base); w != 0 {
		return nil, fmt.Errorf("%s %q defines spec.weight %d: remove it; the rollout weighs the canary clone %q against it and the Mapping takes the rest",
			base.GetKind(), base.GetName(), w, CanaryName(base.GetName()))
	}
	canary := base.DeepCopy()
	delete(canary.Object, "metadata")
	delete(canary.Object, "status")
	canary.SetName(CanaryName(base.GetName()))
	canary.SetNamespace(base.GetNamespace())
	svc, _, _ := unstructured.NestedString(base.Object, "spec", "service")
	if err := unstructured.SetNestedField(canary.Object, strings.Replace(svc, stableService, canaryService, 1), "spec", "service"); err != nil {
		return nil, fmt.Errorf("%s %q: spec: %w", base.GetKind(), base.GetName(), err)
	}
	setWeight(canary, weight)
	return canary, nil
}

// GetWeight is a Mapping's spec.weight, 0 when unset.
func GetWeight(obj *unstructured.Unstructured) int64 {
	w, _, _ := unstructured.NestedInt64(obj.Object, "spec", "weight")
	return w
}

func setWeight(obj *unstructured.Unstructured, weight int32) {
	_ = unstructured.SetNestedField(obj.Object, int64(weight), "spec", "weight")
}

// Named are the canary Mappings ro's spec calls for; none without
// Ambassador routing.
func Named(ro *v1alpha1.Rollout) []string {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil || c.TrafficRouting.Ambassador == nil {
		return nil
	}
	var out []string
	for _, m := range c.TrafficRouting.Ambassador.Mappings {
		out = append(out, CanaryName(m))
	}
	return out
}
