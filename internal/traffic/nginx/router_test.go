package nginx

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// harness is a Router over a fake client that counts patches and records
// event reasons.
type harness struct {
	c       client.Client
	patches int
	events  []string
}

func newHarness(objs ...client.Object) *harness {
	h := &harness{}
	h.c = fake.NewClientBuilder().WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			h.patches++
			return c.Patch(ctx, obj, p, opts...)
		},
	}).Build()
	return h
}

// router is a fresh Router for ro, as a reconcile would build one.
func (h *harness) router(ro *v1alpha1.Rollout) *Router {
	return &Router{Client: h.c, Rollout: ro, Recorder: func(reason, _ string) { h.events = append(h.events, reason) }}
}

func (h *harness) get(t *testing.T, name string) *networkingv1.Ingress {
	t.Helper()
	var ing networkingv1.Ingress
	if err := h.c.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: name}, &ing); err != nil {
		t.Fatal(err)
	}
	return &ing
}

func seed04Rollout() *v1alpha1.Rollout {
	return rollout("rollouts-demo", "rollouts-demo-canary", "rollouts-demo-stable", func(tr *v1alpha1.RolloutTrafficRouting) {
		tr.Nginx.StableIngress = "rollouts-demo-stable"
	})
}

func seed05Rollout() *v1alpha1.Rollout {
	return rollout("canary-demo", "canary-demo-canary", "canary-demo", func(tr *v1alpha1.RolloutTrafficRouting) {
		tr.Nginx.StableIngress = "canary-demo"
		tr.Nginx.AdditionalIngressAnnotations = map[string]string{"canary-by-header": "X-Canary"}
	})
}

func TestSetWeightCreatesThenPatchesOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	h := newHarness(seed04Ingress())
	ro := seed04Rollout()
	const canary = "rollouts-demo-rollouts-demo-stable-canary"

	if err := h.router(ro).SetWeight(ctx, 5); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, canary)
	if got.Annotations["nginx.ingress.kubernetes.io/canary-weight"] != "5" || !metav1.IsControlledBy(got, ro) {
		t.Fatalf("created %v owners %v", got.Annotations, got.OwnerReferences)
	}
	if h.patches != 0 || len(h.events) != 1 || h.events[0] != "CreatingCanaryIngress" {
		t.Fatalf("patches %d events %v", h.patches, h.events)
	}

	if err := h.router(ro).SetWeight(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if h.patches != 0 || len(h.events) != 1 {
		t.Fatalf("same weight must not patch: patches %d events %v", h.patches, h.events)
	}

	// Another controller annotates the canary; that alone is no reason to
	// patch, and a later patch keeps its annotation.
	got.Annotations["rancher.io/managed"] = "yes"
	if err := h.c.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := h.router(ro).SetWeight(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if h.patches != 0 {
		t.Fatalf("a foreign annotation must not cause a patch: %d", h.patches)
	}

	if err := h.router(ro).SetWeight(ctx, 20); err != nil {
		t.Fatal(err)
	}
	got = h.get(t, canary)
	if h.patches != 1 || h.events[len(h.events)-1] != "PatchingCanaryIngress" {
		t.Fatalf("patches %d events %v", h.patches, h.events)
	}
	if got.Annotations["nginx.ingress.kubernetes.io/canary-weight"] != "20" || got.Annotations["rancher.io/managed"] != "yes" {
		t.Fatalf("annotations after patch %v", got.Annotations)
	}
}

func TestSetWeightPatchesADriftedSpec(t *testing.T) {
	ctx := context.Background()
	h := newHarness(seed04Ingress())
	ro := seed04Rollout()
	if err := h.router(ro).SetWeight(ctx, 5); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, "rollouts-demo-rollouts-demo-stable-canary")
	got.Spec.Rules[0].Host = "edited.local"
	if err := h.c.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := h.router(ro).SetWeight(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if got = h.get(t, got.Name); h.patches != 1 || got.Spec.Rules[0].Host != "rollouts-demo.local" {
		t.Fatalf("patches %d host %s", h.patches, got.Spec.Rules[0].Host)
	}
}

func TestSetWeightRefusesForeignIngress(t *testing.T) {
	foreign := ingress("rollouts-demo-rollouts-demo-stable-canary", rule("h", path("/", "x", port80)))
	h := newHarness(seed04Ingress(), foreign)
	err := h.router(seed04Rollout()).SetWeight(context.Background(), 5)
	if err == nil || !strings.Contains(err.Error(), `canary ingress "rollouts-demo-rollouts-demo-stable-canary" in namespace "ns" is not controlled by rollout "rollouts-demo"`) {
		t.Fatalf("got %v", err)
	}
	if h.patches != 0 || len(h.events) != 0 {
		t.Fatalf("a foreign Ingress must not be touched: patches %d events %v", h.patches, h.events)
	}
}

func TestSetWeightStableIngressMissing(t *testing.T) {
	h := newHarness()
	err := h.router(seed04Rollout()).SetWeight(context.Background(), 5)
	var se *traffic.SpecError
	if !errors.As(err, &se) || se.Field != "spec.strategy.canary.trafficRouting.nginx.stableIngress" ||
		!strings.Contains(err.Error(), `Ingress "rollouts-demo-stable" not found in namespace "ns"`) {
		t.Fatalf("got %v", err)
	}
}

func TestSetWeightEveryStableIngress(t *testing.T) {
	ro := rollout("r", "c", "s", func(tr *v1alpha1.RolloutTrafficRouting) { tr.Nginx.StableIngresses = []string{"public", "internal"} })
	h := newHarness(ingress("public", rule("p", path("/", "s", port80))), ingress("internal", rule("i", path("/", "s", port80))))
	if err := h.router(ro).SetWeight(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"r-public-canary", "r-internal-canary"} {
		if got := h.get(t, name); got.Annotations["nginx.ingress.kubernetes.io/canary-weight"] != "10" {
			t.Fatalf("%s: %v", name, got.Annotations)
		}
	}
}

func TestHeaderRouteAddedThenRemoved(t *testing.T) {
	ctx := context.Background()
	const p = "nginx.ingress.kubernetes.io/"
	const canary = "canary-demo-canary-demo-canary"
	h := newHarness(seed05Ingress())
	ro := seed05Rollout()
	route := &v1alpha1.SetHeaderRoute{Name: "h", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X-Route", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}}
	header := func() map[string]string {
		got := h.get(t, canary).Annotations
		return map[string]string{"name": got[p+"canary-by-header"], "value": got[p+"canary-by-header-value"], "weight": got[p+"canary-weight"]}
	}

	// Before the canary exists the route is remembered and created with it.
	r := h.router(ro)
	if err := r.SetHeaderRoute(ctx, route); err != nil {
		t.Fatal(err)
	}
	if err := r.SetWeight(ctx, 20); err != nil {
		t.Fatal(err)
	}
	if got, want := header(), map[string]string{"name": "X-Route", "value": "yes", "weight": "20"}; !maps.Equal(got, want) {
		t.Fatalf("created with %v, want %v", got, want)
	}

	// A later reconcile without a header step keeps the route.
	if err := h.router(ro).SetWeight(ctx, 50); err != nil {
		t.Fatal(err)
	}
	if got, want := header(), map[string]string{"name": "X-Route", "value": "yes", "weight": "50"}; !maps.Equal(got, want) {
		t.Fatalf("after SetWeight %v, want %v", got, want)
	}

	// Removing it restores the spec's own canary-by-header.
	patches := h.patches
	if err := h.router(ro).RemoveManagedRoutes(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := header(), map[string]string{"name": "X-Canary", "value": "", "weight": "50"}; !maps.Equal(got, want) {
		t.Fatalf("after removal %v, want %v", got, want)
	}
	if _, ok := h.get(t, canary).Annotations[p+"canary-by-header-value"]; ok {
		t.Fatal("canary-by-header-value must be deleted")
	}
	if h.patches != patches+1 {
		t.Fatalf("removal patches %d", h.patches-patches)
	}

	// Removing again, or setting weight after, changes nothing.
	r = h.router(ro)
	if err := r.RemoveManagedRoutes(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.SetWeight(ctx, 50); err != nil {
		t.Fatal(err)
	}
	if h.patches != patches+1 {
		t.Fatalf("nothing left to remove, but %d more patches", h.patches-patches-1)
	}
}

func TestSetHeaderRoutePatchesExistingCanary(t *testing.T) {
	ctx := context.Background()
	h := newHarness(seed04Ingress())
	ro := seed04Rollout()
	if err := h.router(ro).SetWeight(ctx, 5); err != nil {
		t.Fatal(err)
	}
	route := &v1alpha1.SetHeaderRoute{Name: "h", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X-Version", HeaderValue: &v1alpha1.StringMatch{Prefix: "v2"}}}}
	if err := h.router(ro).SetHeaderRoute(ctx, route); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, "rollouts-demo-rollouts-demo-stable-canary").Annotations
	if got["nginx.ingress.kubernetes.io/canary-by-header"] != "X-Version" || got["nginx.ingress.kubernetes.io/canary-by-header-pattern"] != "^v2.*" || got["nginx.ingress.kubernetes.io/canary-weight"] != "5" {
		t.Fatalf("annotations %v", got)
	}
	// A route with no match removes it.
	if err := h.router(ro).SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "h"}); err != nil {
		t.Fatal(err)
	}
	got = h.get(t, "rollouts-demo-rollouts-demo-stable-canary").Annotations
	if _, ok := got["nginx.ingress.kubernetes.io/canary-by-header"]; ok {
		t.Fatalf("route not removed: %v", got)
	}
	if h.patches != 2 {
		t.Fatalf("patches %d", h.patches)
	}
}

func TestNoOps(t *testing.T) {
	r := &Router{Rollout: seed04Rollout()}
	ctx := context.Background()
	if r.Type() != "Nginx" {
		t.Fatal(r.Type())
	}
	if err := r.UpdateHash(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetMirrorRoute(ctx, &v1alpha1.SetMirrorRoute{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.VerifyWeight(ctx, 5); ok != nil || err != nil {
		t.Fatal(ok, err)
	}
}
