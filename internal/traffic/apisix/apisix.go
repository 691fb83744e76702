// Package apisix routes a canary's traffic through Apache APISIX's ingress
// controller: it sets the weights of the stable and canary backends of the
// named HTTP rules of the user's ApisixRoute (apisix.apache.org/v2), and
// carries out header routes as ApisixRoutes of their own, named after the
// route and owned by the rollout, as Argo Rollouts does.
package apisix

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"regexp"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// GVK is the ApisixRoute kind the router reads and writes.
var GVK = schema.GroupVersionKind{Group: "apisix.apache.org", Version: "v2", Kind: "ApisixRoute"}

// Event reasons, as Argo Rollouts names them.
const (
	ReasonUpdateError = "ApisixRouteUpdateError"
	ReasonCreateError = "ApisixRouteCreateError"
	ReasonDeleteError = "ApisixRouteDeleteError"
	// ReasonCreated and ReasonDeleted are Aviary's: a header route's
	// ApisixRoute came or went.
	ReasonCreated = "ApisixRouteCreated"
	ReasonDeleted = "ApisixRouteDeleted"
)

const field = "spec.strategy.canary.trafficRouting.apisix.route"

// Router sets weights on one ApisixRoute and keeps the rollout's header
// routes.
type Router struct {
	traffic.WeightsOnly
	Client  client.Client
	Rollout *v1alpha1.Rollout
	traffic.Events
}

var _ traffic.Router = (*Router)(nil)

// Type names the router.
func (r *Router) Type() string { return traffic.TypeApisix }

// Rules are the HTTP rules of the ApisixRoute the rollout changes: those
// listed, or the one named like the ApisixRoute.
func Rules(ro *v1alpha1.Rollout) []string {
	route := ro.Spec.Strategy.Canary.TrafficRouting.Apisix.Route
	if len(route.Rules) == 0 {
		return []string{route.Name}
	}
	return route.Rules
}

func (r *Router) route() (*v1alpha1.ApisixRoute, error) {
	route := r.Rollout.Spec.Strategy.Canary.TrafficRouting.Apisix.Route
	if route == nil || route.Name == "" {
		return nil, &traffic.SpecError{Field: field + ".name", Msg: "name the ApisixRoute whose rules send requests to the stable and canary Services"}
	}
	return route, nil
}

func (r *Router) get(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(GVK)
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: r.Rollout.Namespace, Name: name}, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// base reads the user's ApisixRoute; missing, it is a SpecError.
func (r *Router) base(ctx context.Context) (*unstructured.Unstructured, error) {
	route, err := r.route()
	if err != nil {
		return nil, err
	}
	obj, err := r.get(ctx, route.Name)
	if apierrors.IsNotFound(err) {
		return nil, &traffic.SpecError{Field: field + ".name",
			Msg: fmt.Sprintf("ApisixRoute %q not found in namespace %q: create it with an HTTP rule whose backends are the stable and canary Services, or correct the name", route.Name, r.Rollout.Namespace)}
	}
	if err != nil {
		return nil, fmt.Errorf("read ApisixRoute %s: %w", route.Name, err)
	}
	return obj, nil
}

// SetWeight gives the canary backend of each rule weight and the stable
// backend the rest, updating the ApisixRoute only when they change.
func (r *Router) SetWeight(ctx context.Context, weight int32, _ ...traffic.WeightDestination) error {
	obj, err := r.base(ctx)
	if err != nil {
		return err
	}
	c := r.Rollout.Spec.Strategy.Canary
	next := obj.DeepCopy()
	if err := SetWeights(next, Rules(r.Rollout), c.CanaryService, c.StableService, weight); err != nil {
		return &traffic.SpecError{Field: field + ".rules", Msg: err.Error()}
	}
	if reflect.DeepEqual(next.Object["spec"], obj.Object["spec"]) {
		return nil
	}
	if err := r.Client.Update(ctx, next); err != nil {
		r.Warning(ReasonUpdateError, fmt.Sprintf("Error updating apisix route %q: %v", obj.GetName(), err))
		return fmt.Errorf("update ApisixRoute %s: %w", obj.GetName(), err)
	}
	return nil
}

// SetWeights sets, in each named rule of spec.http, the canary backend's
// weight and the stable backend's to the rest of 100.
func SetWeights(obj *unstructured.Unstructured, rules []string, canary, stable string, weight int32) error {
	return editRules(obj, rules, func(rule map[string]any, backends []any) error {
		if err := setBackendWeight(obj, rule, backends, canary, int64(weight)); err != nil {
			return err
		}
		return setBackendWeight(obj, rule, backends, stable, int64(100-weight))
	})
}

// editRules calls edit on each named rule of spec.http with its backends,
// and writes spec.http back.
func editRules(obj *unstructured.Unstructured, rules []string, edit func(rule map[string]any, backends []any) error) error {
	http, found, err := unstructured.NestedSlice(obj.Object, "spec", "http")
	if err != nil || !found {
		return fmt.Errorf("ApisixRoute %q has no spec.http rules: add an HTTP rule whose backends are the stable and canary Services", obj.GetName())
	}
	for _, name := range rules {
		rule := findRule(http, name)
		if rule == nil {
			return fmt.Errorf("ApisixRoute %q has no HTTP rule named %q: give the rule that name in spec.http, or correct the rules", obj.GetName(), name)
		}
		backends, _ := rule["backends"].([]any)
		if err := edit(rule, backends); err != nil {
			return err
		}
	}
	return unstructured.SetNestedSlice(obj.Object, http, "spec", "http")
}

func findRule(http []any, name string) map[string]any {
	for _, r := range http {
		if rule, ok := r.(map[string]any); ok && rule["name"] == name {
			return rule
		}
	}
	return nil
}

func setBackendWeight(obj *unstructured.Unstructured, rule map[string]any, backends []any, service string, weight int64) error {
	for _, b := range backends {
		if backend, ok := b.(map[string]any); ok && backend["serviceName"] == service {
			backend["weight"] = weight
			return nil
		}
	}
	return fmt.Errorf("ApisixRoute %q: HTTP rule %q has no backend with serviceName %q: list both the stable and canary Services in its backends",
		obj.GetName(), rule["name"], service)
}

// SetHeaderRoute keeps the ApisixRoute named after the route: a copy of
// the user's, owned by the rollout, whose rules send requests matching the
// headers to the canary alone, at a priority above the user's rules. With
// no match it is deleted.
func (r *Router) SetHeaderRoute(ctx context.Context, h *v1alpha1.SetHeaderRoute) error {
	existing, err := r.get(ctx, h.Name)
	switch {
	case apierrors.IsNotFound(err):
		existing = nil
	case err != nil:
		return fmt.Errorf("read ApisixRoute %s: %w", h.Name, err)
	case !metav1.IsControlledBy(existing, r.Rollout):
		return &traffic.SpecError{Field: "spec.strategy.canary.trafficRouting.managedRoutes",
			Msg: fmt.Sprintf("ApisixRoute %q already exists and is not the rollout's: rename the header route or the ApisixRoute", h.Name)}
	}
	if len(h.Match) == 0 {
		if existing == nil {
			return nil
		}
		return r.delete(ctx, existing)
	}
	base, err := r.base(ctx)
	if err != nil {
		return err
	}
	c := r.Rollout.Spec.Strategy.Canary
	want, err := HeaderRoute(base, h, Rules(r.Rollout), c.CanaryService, c.StableService)
	if err != nil {
		return &traffic.SpecError{Field: field + ".rules", Msg: err.Error()}
	}
	if existing == nil {
		want.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(r.Rollout, v1alpha1.GroupVersion.WithKind("Rollout"))})
		if err := r.Client.Create(ctx, want); err != nil {
			r.Warning(ReasonCreateError, fmt.Sprintf("Error create apisix route %q: %v", h.Name, err))
			return fmt.Errorf("create ApisixRoute %s: %w", h.Name, err)
		}
		r.Record(ReasonCreated, fmt.Sprintf("Created ApisixRoute %s for header route %s", h.Name, h.Name))
		return nil
	}
	if reflect.DeepEqual(existing.Object["spec"], want.Object["spec"]) && maps.Equal(existing.GetLabels(), want.GetLabels()) {
		return nil
	}
	next := existing.DeepCopy()
	next.Object["spec"] = want.Object["spec"]
	next.SetLabels(want.GetLabels())
	if err := r.Client.Update(ctx, next); err != nil {
		r.Warning(ReasonUpdateError, fmt.Sprintf("Error update apisix route %q: %v", h.Name, err))
		return fmt.Errorf("update ApisixRoute %s: %w", h.Name, err)
	}
	return nil
}

// HeaderRoute is the ApisixRoute header route h asks for, built from the
// user's base as Argo Rollouts builds it: the base's labels, annotations
// and spec under h's name; in each named rule the stable backend removed,
// the canary's weight 100, the priority one above the base rule's, and
// match.exprs the header conditions (exact as Equal, regex as RegexMatch,
// a prefix as the RegexMatch ^<prefix>.*).
func HeaderRoute(base *unstructured.Unstructured, h *v1alpha1.SetHeaderRoute, rules []string, canary, stable string) (*unstructured.Unstructured, error) {
	out := &unstructured.Unstructured{Object: map[string]any{"spec": base.DeepCopy().Object["spec"]}}
	out.SetGroupVersionKind(base.GroupVersionKind())
	out.SetName(h.Name)
	out.SetNamespace(base.GetNamespace())
	out.SetLabels(base.GetLabels())
	out.SetAnnotations(base.GetAnnotations())
	err := editRules(out, rules, func(rule map[string]any, backends []any) error {
		if err := setBackendWeight(out, rule, backends, canary, 100); err != nil {
			return err
		}
		kept := []any{}
		for _, b := range backends {
			if backend, ok := b.(map[string]any); !ok || backend["serviceName"] != stable {
				kept = append(kept, b)
			}
		}
		rule["backends"] = kept
		priority, _, _ := unstructured.NestedInt64(rule, "priority")
		rule["priority"] = priority + 1
		match, _ := rule["match"].(map[string]any)
		if match == nil {
			match = map[string]any{}
		}
		match["exprs"] = exprs(h.Match)
		rule["match"] = match
		return nil
	})
	return out, err
}

// exprs are APISIX match expressions on the request headers.
func exprs(match []v1alpha1.HeaderRoutingMatch) []any {
	out := []any{}
	for _, m := range match {
		if m.HeaderValue == nil {
			continue
		}
		add := func(op, value string) {
			out = append(out, map[string]any{"subject": map[string]any{"scope": "Header", "name": m.HeaderName}, "op": op, "value": value})
		}
		if v := m.HeaderValue.Exact; v != "" {
			add("Equal", v)
		}
		if v := m.HeaderValue.Regex; v != "" {
			add("RegexMatch", v)
		}
		if v := m.HeaderValue.Prefix; v != "" {
			// Argo Rollouts writes the prefix unquoted; quoting it keeps a
			// prefix with regex characters (a dot) literal.
			add("RegexMatch", "^"+regexp.QuoteMeta(v)+".*")
		}
	}
	return out
}

// RemoveManagedRoutes deletes the rollout's header route ApisixRoutes.
func (r *Router) RemoveManagedRoutes(ctx context.Context) error {
	for _, m := range r.Rollout.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes {
		obj, err := r.get(ctx, m.Name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read ApisixRoute %s: %w", m.Name, err)
		}
		if !metav1.IsControlledBy(obj, r.Rollout) {
			continue
		}
		if err := r.delete(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}

func (r *Router) delete(ctx context.Context, obj *unstructured.Unstructured) error {
	if err := r.Client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
		r.Warning(ReasonDeleteError, fmt.Sprintf("Error deleting apisix route %q: %v", obj.GetName(), err))
		return fmt.Errorf("delete ApisixRoute %s: %w", obj.GetName(), err)
	}
	r.Record(ReasonDeleted, fmt.Sprintf("Deleted ApisixRoute %s", obj.GetName()))
	return nil
}

// Named are the header route ApisixRoutes ro's spec may call for: its
// managed routes, with APISIX routing; none without.
func Named(ro *v1alpha1.Rollout) []string {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil || c.TrafficRouting.Apisix == nil {
		return nil
	}
	var out []string
	for _, m := range c.TrafficRouting.ManagedRoutes {
		out = append(out, m.Name)
	}
	return out
}
