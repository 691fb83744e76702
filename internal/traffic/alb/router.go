package alb

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	jsonpatch "github.com/evanphx/json-patch/v5"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// PatchingReason is the event reason of every change to an Ingress, as
// Argo Rollouts records it.
const PatchingReason = "PatchingALBIngress"

// Router keeps the actions annotation of each of the Rollout's ALB
// Ingresses at the weight asked for. The Ingresses are the user's: the
// router changes only the annotations it manages and, for header routes,
// the paths that point at them.
type Router struct {
	// Client reads and patches the Ingresses.
	Client client.Client
	// Rollout is the Rollout being reconciled.
	Rollout *v1alpha1.Rollout
	// Recorder, when set, receives an event for each patch.
	Recorder func(reason, msg string)
}

var _ traffic.Router = (*Router)(nil)

// Type is traffic.TypeALB.
func (r *Router) Type() string { return traffic.TypeALB }

// UpdateHash does nothing: target groups follow Services, not pod hashes.
func (r *Router) UpdateHash(context.Context, string, string, ...traffic.WeightDestination) error {
	return nil
}

// SetMirrorRoute does nothing: listener rules cannot mirror (validation
// refuses mirror steps with ALB).
func (r *Router) SetMirrorRoute(context.Context, *v1alpha1.SetMirrorRoute) error { return nil }

// VerifyWeight reports nil: this build does not read the weights back
// from AWS.
func (r *Router) VerifyWeight(context.Context, int32, ...traffic.WeightDestination) (*bool, error) {
	return nil, nil
}

// IngressField is the spec path naming the Ingress name.
func IngressField(ro *v1alpha1.Rollout, name string) string {
	const base = "spec.strategy.canary.trafficRouting.alb."
	if i := slices.Index(routing(ro).Ingresses, name); i >= 0 {
		return fmt.Sprintf("%singresses[%d]", base, i)
	}
	return base + "ingress"
}

func (r *Router) field(name string) string { return IngressField(r.Rollout, name) }

// CheckIngress returns the SpecError that stops SetWeight on ing, if any:
// no path routes to the root Service, so the load balancer controller
// would never read the action, or the managed annotation is garbled.
func CheckIngress(ro *v1alpha1.Rollout, ing *networkingv1.Ingress) error {
	root := RootService(ro)
	if !hasBackend(ing, root) {
		return &traffic.SpecError{Field: IngressField(ro, ing.Name),
			Msg: fmt.Sprintf("Ingress %q has no path to Service %q, whose action carries the weights: add a rule with that backend, or set alb.rootService to the Service it routes to", ing.Name, root)}
	}
	if _, err := parseManaged(ing.Annotations); err != nil {
		return &traffic.SpecError{Field: IngressField(ro, ing.Name),
			Msg: fmt.Sprintf("Ingress %q: %v; correct or remove that annotation", ing.Name, err)}
	}
	return nil
}

// ingress reads the Ingress name; a missing one is a SpecError naming the
// field that names it.
func (r *Router) ingress(ctx context.Context, name string) (*networkingv1.Ingress, error) {
	ns := r.Rollout.Namespace
	var ing networkingv1.Ingress
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &ing); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &traffic.SpecError{Field: r.field(name),
				Msg: fmt.Sprintf("Ingress %q not found in namespace %q: create the Ingress or correct the name", name, ns)}
		}
		return nil, fmt.Errorf("read ALB ingress %s/%s: %w", ns, name, err)
	}
	return &ing, nil
}

// SetWeight writes the forward action for weight (and the additional
// destinations) on every Ingress, recording the key as the Rollout's.
func (r *Router) SetWeight(ctx context.Context, weight int32, additional ...traffic.WeightDestination) error {
	action, err := ForwardAction(r.Rollout, weight, additional...)
	if err != nil {
		return &traffic.SpecError{Field: "spec.strategy.canary.trafficRouting.alb.stickinessConfig", Msg: err.Error()}
	}
	k := ActionKey(r.Rollout)
	for _, name := range Ingresses(r.Rollout) {
		live, err := r.ingress(ctx, name)
		if err != nil {
			return err
		}
		if err := CheckIngress(r.Rollout, live); err != nil {
			return err
		}
		desired := live.DeepCopy()
		desired.Annotations = withAnnotation(desired.Annotations, k, action)
		if err := withManaged(desired.Annotations, r.Rollout.Name, true, k); err != nil {
			return r.badManaged(name, err)
		}
		if err := r.patch(ctx, live, desired, fmt.Sprintf("Updating Ingress `%s` to desiredWeight '%d'", name, weight)); err != nil {
			return err
		}
	}
	return nil
}

// SetHeaderRoute adds the route's action and conditions annotations and a
// path whose backend is the route's action, or with no match removes them.
func (r *Router) SetHeaderRoute(ctx context.Context, route *v1alpha1.SetHeaderRoute) error {
	if route == nil {
		return nil
	}
	add := len(route.Match) > 0
	var action, conditions string
	if add {
		var err error
		if action, err = HeaderAction(r.Rollout); err != nil {
			return &traffic.SpecError{Field: "spec.strategy.canary.trafficRouting.alb.stickinessConfig", Msg: err.Error()}
		}
		if conditions, err = HeaderConditions(route); err != nil {
			return fmt.Errorf("encode header route %q conditions: %w", route.Name, err)
		}
	}
	actionKey, conditionKey := RouteKeys(r.Rollout, route.Name)
	for _, name := range Ingresses(r.Rollout) {
		live, err := r.ingress(ctx, name)
		if err != nil {
			return err
		}
		desired := live.DeepCopy()
		if add {
			desired.Annotations = withAnnotation(desired.Annotations, actionKey, action)
			desired.Annotations[conditionKey] = conditions
			addRoutePath(desired, route.Name)
		} else {
			delete(desired.Annotations, actionKey)
			delete(desired.Annotations, conditionKey)
			removeRoutePath(desired, route.Name)
		}
		if desired.Annotations == nil {
			desired.Annotations = map[string]string{}
		}
		if err := withManaged(desired.Annotations, r.Rollout.Name, add, actionKey, conditionKey); err != nil {
			return r.badManaged(name, err)
		}
		sortPaths(desired, r.Rollout.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes)
		if err := r.patch(ctx, live, desired, fmt.Sprintf("Updating Ingress `%s` header route %q", name, route.Name)); err != nil {
			return err
		}
	}
	return nil
}

// RemoveManagedRoutes removes every managed route's annotations and path.
func (r *Router) RemoveManagedRoutes(ctx context.Context) error {
	routes := r.Rollout.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes
	if len(routes) == 0 {
		return nil
	}
	for _, name := range Ingresses(r.Rollout) {
		live, err := r.ingress(ctx, name)
		if err != nil {
			return err
		}
		desired := live.DeepCopy()
		if desired.Annotations == nil {
			desired.Annotations = map[string]string{}
		}
		var keys []string
		for _, route := range routes {
			a, c := RouteKeys(r.Rollout, route.Name)
			delete(desired.Annotations, a)
			delete(desired.Annotations, c)
			keys = append(keys, a, c)
			removeRoutePath(desired, route.Name)
		}
		if err := withManaged(desired.Annotations, r.Rollout.Name, false, keys...); err != nil {
			return r.badManaged(name, err)
		}
		if err := r.patch(ctx, live, desired, fmt.Sprintf("Updating Ingress `%s` removing managed routes", name)); err != nil {
			return err
		}
	}
	return nil
}

func (r *Router) badManaged(name string, err error) error {
	return &traffic.SpecError{Field: r.field(name),
		Msg: fmt.Sprintf("Ingress %q: %v; correct or remove that annotation", name, err)}
}

func withAnnotation(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

// hasBackend says whether a path of the Ingress routes to Service name.
func hasBackend(ing *networkingv1.Ingress, name string) bool {
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			if p.Backend.Service != nil && p.Backend.Service.Name == name {
				return true
			}
		}
	}
	return false
}

// addRoutePath puts first in every rule a catch-all path whose backend is
// the route's action annotation, unless a path already points at it.
func addRoutePath(ing *networkingv1.Ingress, route string) {
	if hasBackend(ing, route) {
		return
	}
	pt := networkingv1.PathTypeImplementationSpecific
	p := networkingv1.HTTPIngressPath{Path: "/*", PathType: &pt, Backend: networkingv1.IngressBackend{
		Service: &networkingv1.IngressServiceBackend{Name: route, Port: networkingv1.ServiceBackendPort{Name: useAnnotation}}}}
	for i := range ing.Spec.Rules {
		if h := ing.Spec.Rules[i].HTTP; h != nil {
			h.Paths = append([]networkingv1.HTTPIngressPath{p}, h.Paths...)
		}
	}
}

func removeRoutePath(ing *networkingv1.Ingress, route string) {
	for i := range ing.Spec.Rules {
		if h := ing.Spec.Rules[i].HTTP; h != nil {
			h.Paths = slices.DeleteFunc(h.Paths, func(p networkingv1.HTTPIngressPath) bool {
				return p.Backend.Service != nil && p.Backend.Service.Name == route
			})
		}
	}
}

// sortPaths orders each rule's paths as managedRoutes lists their
// backends, the other paths after them in their own order, so the load
// balancer evaluates header routes by the order the user gave.
func sortPaths(ing *networkingv1.Ingress, routes []v1alpha1.MangedRoutes) {
	rank := func(p networkingv1.HTTPIngressPath) int {
		if p.Backend.Service != nil {
			if i := slices.IndexFunc(routes, func(m v1alpha1.MangedRoutes) bool { return m.Name == p.Backend.Service.Name }); i >= 0 {
				return i
			}
		}
		return len(routes)
	}
	for i := range ing.Spec.Rules {
		if h := ing.Spec.Rules[i].HTTP; h != nil {
			slices.SortStableFunc(h.Paths, func(a, b networkingv1.HTTPIngressPath) int { return rank(a) - rank(b) })
		}
	}
}

// patched are the parts of an Ingress the router may change.
type patched struct {
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec networkingv1.IngressSpec `json:"spec"`
}

func patchedOf(ing *networkingv1.Ingress) ([]byte, error) {
	var p patched
	p.Metadata.Annotations, p.Spec = ing.Annotations, ing.Spec
	return json.Marshal(p)
}

// patch sends a JSON merge patch of the annotations and spec that differ
// between live and desired, and nothing when none do.
func (r *Router) patch(ctx context.Context, live, desired *networkingv1.Ingress, msg string) error {
	before, err := patchedOf(live)
	if err != nil {
		return err
	}
	after, err := patchedOf(desired)
	if err != nil {
		return err
	}
	data, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return fmt.Errorf("diff ALB ingress %s/%s: %w", live.Namespace, live.Name, err)
	}
	if string(data) == "{}" {
		return nil
	}
	if r.Recorder != nil {
		r.Recorder(PatchingReason, msg)
	}
	if err := r.Client.Patch(ctx, live, client.RawPatch(types.MergePatchType, data)); err != nil {
		return fmt.Errorf("patch ALB ingress %s/%s: %w", live.Namespace, live.Name, err)
	}
	return nil
}
