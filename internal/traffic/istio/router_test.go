package istio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// harness is a fake API server that records updates, with a Router's
// events.
type harness struct {
	c         client.Client
	updates   []string
	events    []string
	failWrite error
}

func newHarness(objs ...*unstructured.Unstructured) *harness {
	h := &harness{}
	b := fake.NewClientBuilder()
	for _, o := range objs {
		b = b.WithObjects(o)
	}
	h.c = b.WithInterceptorFuncs(interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if h.failWrite != nil {
				return h.failWrite
			}
			h.updates = append(h.updates, fmt.Sprintf("%s %s/%s", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetNamespace(), obj.GetName()))
			return c.Update(ctx, obj, opts...)
		},
	}).Build()
	return h
}

func (h *harness) router(ro *v1alpha1.Rollout) *Router {
	return &Router{Client: h.c, Rollout: ro, Recorder: func(reason, msg string) { h.events = append(h.events, reason+": "+msg) }}
}

// get reads an object back from the fake API server.
func (h *harness) get(t *testing.T, kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	gvk := VirtualServiceGVK("")
	if kind == "DestinationRule" {
		gvk = DestinationRuleGVK("")
	}
	obj.SetGroupVersionKind(gvk)
	if err := h.c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// take returns and clears the updates and events so far.
func (h *harness) take() (updates, events []string) {
	updates, events, h.updates, h.events = h.updates, h.events, nil, nil
	return updates, events
}

// seed08Rollout is seed 08's Rollout: subset-level, no Services.
func seed08Rollout() *v1alpha1.Rollout {
	ro := istioRollout(&v1alpha1.IstioTrafficRouting{
		VirtualService:  &v1alpha1.IstioVirtualService{Name: "reviews"},
		DestinationRule: &v1alpha1.IstioDestinationRule{Name: "reviews", CanarySubsetName: "canary", StableSubsetName: "stable"},
	}, func(c *v1alpha1.CanaryStrategy) { c.CanaryService, c.StableService = "", "" })
	ro.Name = "reviews-rollout"
	return ro
}

func seed08Objects(t *testing.T) []*unstructured.Unstructured {
	vs := object(t, "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata:\n  name: reviews\n  namespace: ns\nspec:\n"+indent(seed08VirtualService, 2)+"\n")
	return []*unstructured.Unstructured{vs, object(t, seed08DestinationRule)}
}

func TestRouterSeed08RoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newHarness(seed08Objects(t)...)
	r := h.router(seed08Rollout())
	step := func() {
		t.Helper()
		if err := r.UpdateHash(ctx, "abc", "def"); err != nil {
			t.Fatal(err)
		}
		if err := r.SetWeight(ctx, 20); err != nil {
			t.Fatal(err)
		}
	}

	step()
	updates, events := h.take()
	if strings.Join(updates, ",") != "DestinationRule ns/reviews,VirtualService ns/reviews" {
		t.Errorf("updates %q", updates)
	}
	if len(events) != 2 || events[0] != "UpdatedDestinationRule: DestinationRule reviews subset updated (canary: abc, stable: def)" ||
		events[1] != "Updated VirtualService: VirtualService `reviews` set to desiredWeight '20'" {
		t.Errorf("events %q", events)
	}
	assertSpec(t, h.get(t, "VirtualService", "ns", "reviews"), `
hosts: [reviews]
http:
- route:
  - {destination: {host: reviews, subset: stable}, weight: 80}
  - {destination: {host: reviews, subset: canary}, weight: 20}
`)
	dr := h.get(t, "DestinationRule", "ns", "reviews")
	assertSpec(t, dr, `
host: reviews
subsets:
- {name: stable, labels: {version: stable, rollouts-pod-template-hash: def}}
- {name: canary, labels: {version: canary, rollouts-pod-template-hash: abc}}
`)
	if got := dr.GetAnnotations()[v1alpha1.ManagedByRolloutsKey]; got != "reviews-rollout" {
		t.Errorf("managed-by annotation %q", got)
	}

	// The same step again, as every reconcile repeats it: nothing to write.
	step()
	if updates, events := h.take(); len(updates) != 0 || len(events) != 0 {
		t.Errorf("repeat wrote %q, events %q", updates, events)
	}
	if v, err := r.VerifyWeight(ctx, 20); v != nil || err != nil {
		t.Errorf("VerifyWeight = %v, %v", v, err)
	}
	if r.Type() != traffic.TypeIstio {
		t.Errorf("Type %q", r.Type())
	}
}

// Every VirtualService, in whatever namespace, gets the same treatment.
func TestRouterSeveralVirtualServices(t *testing.T) {
	ctx := context.Background()
	vs := func(ns, name string) *unstructured.Unstructured {
		return object(t, fmt.Sprintf("apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s\n", name, ns, indent(hostVirtualService, 2)))
	}
	h := newHarness(vs("ns", "a"), vs("mesh", "b"), vs("edge", "c"))
	ro := istioRollout(&v1alpha1.IstioTrafficRouting{VirtualServices: []v1alpha1.IstioVirtualService{
		{Name: "a"}, {Name: "mesh/b", Routes: []string{"primary"}}, {Name: "c.edge"},
	}}, func(c *v1alpha1.CanaryStrategy) {
		c.TrafficRouting.ManagedRoutes = []v1alpha1.MangedRoutes{{Name: "header-route"}, {Name: "mirror-route"}}
	})
	r := h.router(ro)
	all := "VirtualService ns/a,VirtualService mesh/b,VirtualService edge/c"
	for _, c := range []struct {
		name    string
		call    func() error
		updates string
	}{
		{"set weight", func() error { return r.SetWeight(ctx, 50) }, all},
		{"same weight", func() error { return r.SetWeight(ctx, 50) }, ""},
		{"header route", func() error {
			return r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "header-route", Match: []v1alpha1.HeaderRoutingMatch{
				{HeaderName: "x-canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}})
		}, all},
		{"mirror route", func() error {
			return r.SetMirrorRoute(ctx, &v1alpha1.SetMirrorRoute{Name: "mirror-route", Match: []v1alpha1.RouteMatch{
				{Method: &v1alpha1.StringMatch{Exact: "GET"}}}})
		}, all},
		{"weight moves the mirror route too", func() error { return r.SetWeight(ctx, 60) }, all},
		{"remove managed routes", func() error { return r.RemoveManagedRoutes(ctx) }, all},
		{"nothing left to remove", func() error { return r.RemoveManagedRoutes(ctx) }, ""},
		{"nil header route", func() error { return r.SetHeaderRoute(ctx, nil) }, ""},
	} {
		if err := c.call(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if updates, _ := h.take(); strings.Join(updates, ",") != c.updates {
			t.Errorf("%s: updates %q, want %q", c.name, updates, c.updates)
		}
	}
	for _, key := range [][2]string{{"ns", "a"}, {"mesh", "b"}, {"edge", "c"}} {
		assertSpec(t, h.get(t, "VirtualService", key[0], key[1]), `
hosts: [app.example.com]
http:
- name: primary
  route:
  - {destination: {host: stable-svc, port: {number: 8080}}, weight: 40}
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 60}
`)
	}
}

func TestRouterHeaderAndMirrorRoutesOnTheServer(t *testing.T) {
	ctx := context.Background()
	h := newHarness(seed08Objects(t)...)
	ro := seed08Rollout()
	ro.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes = []v1alpha1.MangedRoutes{{Name: "header-route"}, {Name: "mirror-route"}}
	r := h.router(ro)
	if err := r.SetMirrorRoute(ctx, &v1alpha1.SetMirrorRoute{Name: "mirror-route", Match: []v1alpha1.RouteMatch{{Path: &v1alpha1.StringMatch{Prefix: "/"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "header-route", Match: []v1alpha1.HeaderRoutingMatch{
		{HeaderName: "x-canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}}); err != nil {
		t.Fatal(err)
	}
	assertSpec(t, h.get(t, "VirtualService", "ns", "reviews"), `
hosts: [reviews]
http:
- name: header-route
  match: [{headers: {x-canary: {exact: "yes"}}}]
  route: [{destination: {host: reviews, subset: canary}, weight: 100}]
- name: mirror-route
  match: [{uri: {prefix: /}}]
  route:
  - {destination: {host: reviews, subset: stable}, weight: 100}
  - {destination: {host: reviews, subset: canary}, weight: 0}
  mirror: {host: reviews, subset: canary}
  mirrorPercentage: {value: 100}
- route:
  - {destination: {host: reviews, subset: stable}, weight: 100}
  - {destination: {host: reviews, subset: canary}, weight: 0}
`)
	if _, events := h.take(); len(events) != 2 || events[0] != "Updated VirtualService: VirtualService `reviews` set mirrorRoute 'mirror-route'" ||
		events[1] != "Updated VirtualService: VirtualService `reviews` set headerRoute 'header-route'" {
		t.Errorf("events %q", events)
	}
	// An empty match removes the route.
	if err := r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "header-route"}); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveManagedRoutes(ctx); err != nil {
		t.Fatal(err)
	}
	assertSpec(t, h.get(t, "VirtualService", "ns", "reviews"), seed08VirtualService)
}

func TestRouterSpecErrors(t *testing.T) {
	ctx := context.Background()
	twoVirtualServices := func() *v1alpha1.Rollout {
		return istioRollout(&v1alpha1.IstioTrafficRouting{VirtualServices: []v1alpha1.IstioVirtualService{{Name: "reviews"}, {Name: "mesh/missing"}}},
			func(c *v1alpha1.CanaryStrategy) { c.CanaryService, c.StableService = "", "" })
	}
	withDR := func(ro *v1alpha1.Rollout) *v1alpha1.Rollout {
		ro.Spec.Strategy.Canary.TrafficRouting.Istio.DestinationRule = seed08Subsets
		return ro
	}
	missingDR := seed08Rollout()
	missingDR.Spec.Strategy.Canary.TrafficRouting.Istio.DestinationRule = &v1alpha1.IstioDestinationRule{Name: "gone", CanarySubsetName: "canary", StableSubsetName: "stable"}
	for _, c := range []struct {
		name    string
		ro      *v1alpha1.Rollout
		call    func(*Router) error
		field   string
		errMsg  string
		updates int
	}{
		{"VirtualService not found", func() *v1alpha1.Rollout {
			ro := seed08Rollout()
			ro.Spec.Strategy.Canary.TrafficRouting.Istio.VirtualService.Name = "nope"
			return ro
		}(), func(r *Router) error { return r.SetWeight(ctx, 10) },
			fieldIstio + ".virtualService.name", `VirtualService "nope" not found in namespace "ns"`, 0},
		{"second VirtualService not found, after the first is set", withDR(twoVirtualServices()),
			func(r *Router) error { return r.SetWeight(ctx, 10) },
			// The first is already written: VirtualServices go in spec order.
			fieldIstio + ".virtualServices[1].name", `VirtualService "missing" not found in namespace "mesh"`, 1},
		{"DestinationRule not found", missingDR, func(r *Router) error { return r.UpdateHash(ctx, "abc", "def") },
			fieldIstio + ".destinationRule.name", `DestinationRule "gone" not found in namespace "ns": create it`, 0},
		{"no managed routes: nothing to read", istioRollout(&v1alpha1.IstioTrafficRouting{}), func(r *Router) error { return r.RemoveManagedRoutes(ctx) },
			"", "", 0},
		{"no VirtualService named for weights", istioRollout(&v1alpha1.IstioTrafficRouting{}), func(r *Router) error { return r.SetWeight(ctx, 1) },
			fieldIstio + ".virtualService", "names no VirtualService", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(seed08Objects(t)...)
			err := c.call(h.router(c.ro))
			assertSpecError(t, err, c.field, c.errMsg)
			if updates, _ := h.take(); len(updates) != c.updates {
				t.Errorf("updates %q, want %d", updates, c.updates)
			}
		})
	}
}

func TestRouterAPIVersion(t *testing.T) {
	objs := seed08Objects(t)
	for _, o := range objs {
		o.SetAPIVersion("networking.istio.io/v1beta1")
	}
	h := newHarness(objs...)
	r := h.router(seed08Rollout())
	r.APIVersion = "v1beta1"
	if err := r.UpdateHash(context.Background(), "abc", "def"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetWeight(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	if updates, _ := h.take(); len(updates) != 2 {
		t.Errorf("updates %q", updates)
	}
}

func TestRouterDelaysHashUpdateForUnavailableReplicaSet(t *testing.T) {
	h := newHarness(seed08Objects(t)...)
	r := h.router(seed08Rollout())
	r.ReplicaSets = append(r.ReplicaSets, replicaSet("reviews-def", "def", 5, 5), replicaSet("reviews-abc", "abc", 1, 0))
	err := r.UpdateHash(context.Background(), "abc", "def")
	if se := (*traffic.SpecError)(nil); err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), "ReplicaSet reviews-abc is not fully available") {
		t.Fatalf("error %v, want a retryable delay", err)
	}
	if updates, _ := h.take(); len(updates) != 0 {
		t.Errorf("updates %q", updates)
	}
	r.ReplicaSets[1] = replicaSet("reviews-abc", "abc", 1, 1)
	if err := r.UpdateHash(context.Background(), "abc", "def"); err != nil {
		t.Fatal(err)
	}
}

func TestRouterErrors(t *testing.T) {
	ctx := context.Background()
	h := newHarness(seed08Objects(t)...)
	h.failWrite = errors.New("conflict")
	r := h.router(seed08Rollout())
	if err := r.SetWeight(ctx, 10); err == nil || err.Error() != "update VirtualService ns/reviews: conflict" {
		t.Errorf("SetWeight error %v", err)
	}
	if err := r.UpdateHash(ctx, "abc", "def"); err == nil || err.Error() != "update DestinationRule ns/reviews: conflict" {
		t.Errorf("UpdateHash error %v", err)
	}
	if _, events := h.take(); len(events) != 0 {
		t.Errorf("events for failed writes: %q", events)
	}
	noIstio := istioRollout(nil)
	if err := h.router(noIstio).SetWeight(ctx, 10); err == nil || !strings.Contains(err.Error(), "has no istio traffic routing") {
		t.Errorf("error without istio routing: %v", err)
	}
	// Without a destinationRule, hosts are split and there are no subsets.
	if err := h.router(istioRollout(&v1alpha1.IstioTrafficRouting{})).UpdateHash(ctx, "abc", "def"); err != nil {
		t.Errorf("UpdateHash without destinationRule: %v", err)
	}
}

// A cluster without the Istio CRDs (or the version asked for) is a spec
// problem too: retrying will not make the kind appear.
func TestMissingKind(t *testing.T) {
	r := &Router{APIVersion: "v1"}
	gvk := VirtualServiceGVK("v1")
	err := r.missing(&meta.NoKindMatchError{GroupKind: gvk.GroupKind(), SearchedVersions: []string{"v1"}}, "VirtualService",
		types.NamespacedName{Namespace: "ns", Name: "vs"}, "f", "fix")
	if err == nil || err.Field != "f" || !strings.Contains(err.Msg, "the cluster does not serve VirtualService networking.istio.io/v1") {
		t.Errorf("got %v", err)
	}
	if r.missing(errors.New("timeout"), "VirtualService", types.NamespacedName{}, "f", "fix") != nil {
		t.Error("a transient error is not a spec error")
	}
}
