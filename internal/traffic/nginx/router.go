package nginx

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	jsonpatch "github.com/evanphx/json-patch/v5"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// stableIngressField is the spec path naming the stable Ingress name.
func stableIngressField(ro *v1alpha1.Rollout, name string) string {
	const base = "spec.strategy.canary.trafficRouting.nginx."
	for i, n := range ro.Spec.Strategy.Canary.TrafficRouting.Nginx.StableIngresses {
		if n == name {
			return fmt.Sprintf("%sstableIngresses[%d]", base, i)
		}
	}
	return base + "stableIngress"
}

// Router keeps the canary Ingress of each of Rollout's stable Ingresses
// (nginx.stableIngresses, or nginx.stableIngress) at the weight asked for.
type Router struct {
	// Client reads the stable and canary Ingresses and writes the canaries.
	Client client.Client
	// Rollout is the Rollout being reconciled; it owns the canaries.
	Rollout *v1alpha1.Rollout
	// Recorder, when set, receives an event for each create and patch.
	Recorder func(reason, msg string)

	// route is the header route asked for by SetHeaderRoute; routeKnown
	// says whether this router has been told it (or told to remove it).
	// Until then, the header annotations already on a canary are kept as
	// they are, so a router built afresh for a reconcile without a header
	// step neither drops nor garbles a route an earlier step added.
	route      *v1alpha1.SetHeaderRoute
	routeKnown bool
}

var _ traffic.Router = (*Router)(nil)

// Type is traffic.TypeNginx.
func (r *Router) Type() string { return traffic.TypeNginx }

// UpdateHash does nothing: the canary Ingress selects the canary Service,
// not pods by hash.
func (r *Router) UpdateHash(context.Context, string, string, ...traffic.WeightDestination) error {
	return nil
}

// SetMirrorRoute does nothing: NGINX canary annotations cannot mirror.
func (r *Router) SetMirrorRoute(context.Context, *v1alpha1.SetMirrorRoute) error {
	return nil
}

// VerifyWeight cannot verify NGINX weights, so it reports nil.
func (r *Router) VerifyWeight(context.Context, int32, ...traffic.WeightDestination) (*bool, error) {
	return nil, nil
}

// SetWeight creates or patches the canary Ingress of every stable Ingress
// so NGINX sends it weight (out of maxTrafficWeight) of the requests.
// Additional destinations are not supported by NGINX and are ignored.
func (r *Router) SetWeight(ctx context.Context, weight int32, _ ...traffic.WeightDestination) error {
	for _, name := range StableIngresses(r.Rollout) {
		if err := r.setWeight(ctx, name, weight); err != nil {
			return err
		}
	}
	return nil
}

// setWeight brings the canary of the stable Ingress name to weight.
func (r *Router) setWeight(ctx context.Context, name string, weight int32) error {
	ns := r.Rollout.Namespace
	var stable networkingv1.Ingress
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &stable); err != nil {
		if apierrors.IsNotFound(err) {
			return &traffic.SpecError{Field: stableIngressField(r.Rollout, name),
				Msg: fmt.Sprintf("Ingress %q not found in namespace %q: create the Ingress or correct the name", name, ns)}
		}
		return fmt.Errorf("read stable ingress %s/%s: %w", ns, name, err)
	}
	desired, err := DesiredCanaryIngress(r.Rollout, &stable, weight)
	if err != nil {
		return err
	}
	prefix := r.Rollout.NginxAnnotationPrefixOrDefault()
	keys := HeaderRouteKeys(prefix)
	if r.routeKnown {
		desired.Annotations = WithHeaderRoute(desired.Annotations, prefix, r.route)
	}
	live, err := r.liveOrCreate(ctx, desired, weight)
	if err != nil || live == nil {
		return err
	}
	if !r.routeKnown {
		// A route an earlier step added may be on the canary, and mixing
		// its keys with the spec's would match neither; keep the live
		// header keys as they are until SetHeaderRoute or
		// RemoveManagedRoutes says what they should be.
		for _, k := range keys {
			delete(desired.Annotations, k)
		}
		maps.Copy(desired.Annotations, headerOnly(live.Annotations, keys))
	}
	desired.Annotations = MergeAnnotations(live.Annotations, desired.Annotations, keys)
	return r.patch(ctx, live, desired, fmt.Sprintf("Updating Ingress `%s` to desiredWeight '%d'", live.Name, weight))
}

// liveOrCreate returns the canary Ingress named like desired if this
// Rollout controls it, or creates desired and returns nil. It returns an
// error for an Ingress of that name owned by something else, which the
// router must not take over.
func (r *Router) liveOrCreate(ctx context.Context, desired *networkingv1.Ingress, weight int32) (*networkingv1.Ingress, error) {
	live, err := r.canary(ctx, desired.Name)
	if err != nil || live != nil {
		return live, err
	}
	r.event("CreatingCanaryIngress", fmt.Sprintf("Creating canary ingress `%s` with weight `%d`", desired.Name, weight))
	err = r.Client.Create(ctx, desired)
	if err == nil {
		return nil, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create canary ingress %s/%s: %w", desired.Namespace, desired.Name, err)
	}
	// Another reconcile created it since the read above (the cache lags
	// writes); carry on as if it had been there.
	live, err = r.canary(ctx, desired.Name)
	if err == nil && live == nil {
		err = fmt.Errorf("canary ingress %s/%s exists but cannot be read yet", desired.Namespace, desired.Name)
	}
	return live, err
}

// canary reads the canary Ingress name: nil if it does not exist, an error
// if this Rollout does not control it.
func (r *Router) canary(ctx context.Context, name string) (*networkingv1.Ingress, error) {
	ns := r.Rollout.Namespace
	var live networkingv1.Ingress
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &live); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read canary ingress %s/%s: %w", ns, name, err)
	}
	if !metav1.IsControlledBy(&live, r.Rollout) {
		return nil, &traffic.SpecError{Field: "spec.strategy.canary.trafficRouting.nginx",
			Msg: fmt.Sprintf("canary ingress %q in namespace %q is not controlled by rollout %q: delete or rename that Ingress so the rollout can create its own", name, ns, r.Rollout.Name)}
	}
	return &live, nil
}

// SetHeaderRoute makes the canary Ingresses send requests matching route's
// first match to the canary, or with no match stops doing so. The route is
// kept for later SetWeight calls. A canary Ingress not created yet gets the
// route when SetWeight creates it.
func (r *Router) SetHeaderRoute(ctx context.Context, route *v1alpha1.SetHeaderRoute) error {
	r.route, r.routeKnown = route, true
	if route != nil && len(route.Match) == 0 {
		r.route = nil
	}
	return r.applyHeaderRoute(ctx)
}

// RemoveManagedRoutes removes the header route from the canary Ingresses;
// header annotations the spec itself configures are put back.
func (r *Router) RemoveManagedRoutes(ctx context.Context) error {
	r.route, r.routeKnown = nil, true
	return r.applyHeaderRoute(ctx)
}

// applyHeaderRoute patches the header-route annotations of every existing
// canary Ingress to match r.route, leaving the rest (the weight included)
// to SetWeight.
func (r *Router) applyHeaderRoute(ctx context.Context) error {
	prefix := r.Rollout.NginxAnnotationPrefixOrDefault()
	keys := HeaderRouteKeys(prefix)
	want := WithHeaderRoute(headerOnly(specAnnotations(r.Rollout), keys), prefix, r.route)
	for _, name := range StableIngresses(r.Rollout) {
		live, err := r.canary(ctx, CanaryIngressName(r.Rollout.Name, name))
		if err != nil {
			return err
		}
		if live == nil {
			continue
		}
		desired := live.DeepCopy()
		desired.Annotations = maps.Clone(live.Annotations)
		if desired.Annotations == nil {
			desired.Annotations = map[string]string{}
		}
		for _, k := range keys {
			delete(desired.Annotations, k)
		}
		maps.Copy(desired.Annotations, want)
		if err := r.patch(ctx, live, desired, fmt.Sprintf("Updating Ingress `%s` header route", live.Name)); err != nil {
			return err
		}
	}
	return nil
}

// headerOnly is the entries of m whose keys are in keys.
func headerOnly(m map[string]string, keys []string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// patch sends live a JSON merge patch of the labels, annotations and spec
// that differ in desired, and nothing when none do.
func (r *Router) patch(ctx context.Context, live, desired *networkingv1.Ingress, msg string) error {
	data, err := CanaryPatch(live, desired)
	if err != nil {
		return fmt.Errorf("diff canary ingress %s/%s: %w", live.Namespace, live.Name, err)
	}
	if data == nil {
		return nil
	}
	r.event("PatchingCanaryIngress", msg)
	if err := r.Client.Patch(ctx, live, client.RawPatch(types.MergePatchType, data)); err != nil {
		return fmt.Errorf("patch canary ingress %s/%s: %w", live.Namespace, live.Name, err)
	}
	return nil
}

// patchedFields are the parts of an Ingress the router owns.
type patchedFields struct {
	Metadata patchedMeta              `json:"metadata"`
	Spec     networkingv1.IngressSpec `json:"spec"`
}

type patchedMeta struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// CanaryPatch is the JSON merge patch taking live's labels, annotations
// and spec to desired's, or nil when they already match. Like Argo
// Rollouts, labels are desired's alone; annotations should already have
// been merged with MergeAnnotations so that foreign ones are kept.
func CanaryPatch(live, desired *networkingv1.Ingress) ([]byte, error) {
	before, err := json.Marshal(fieldsOf(live))
	if err != nil {
		return nil, err
	}
	after, err := json.Marshal(fieldsOf(desired))
	if err != nil {
		return nil, err
	}
	data, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return nil, err
	}
	if string(data) == "{}" {
		return nil, nil
	}
	return data, nil
}

func fieldsOf(in *networkingv1.Ingress) patchedFields {
	return patchedFields{
		Metadata: patchedMeta{Labels: in.Labels, Annotations: in.Annotations},
		Spec:     in.Spec,
	}
}

// event records an event when there is a recorder.
func (r *Router) event(reason, msg string) {
	if r.Recorder != nil {
		r.Recorder(reason, msg)
	}
}
