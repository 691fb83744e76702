package gatewayapi

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// harness is a fake cluster serving the route kinds given (all when none),
// counting route updates and recording events.
type harness struct {
	c       client.Client
	updates int
	events  []string
	// beforeUpdate, when set, may change or refuse an update, as the API
	// server would.
	beforeUpdate func(obj client.Object) error
}

func newHarness(t *testing.T, served []Kind, objs ...client.Object) *harness {
	t.Helper()
	if served == nil {
		served = Kinds
	}
	m := meta.NewDefaultRESTMapper(nil)
	for _, k := range served {
		m.Add(k.GroupVersionKind(), meta.RESTScopeNamespace)
	}
	m.Add(corev1.SchemeGroupVersion.WithKind("Service"), meta.RESTScopeNamespace)
	h := &harness{}
	// The fake client does not consult the RESTMapper for unstructured
	// objects; answer as a real client does for a kind the cluster lacks.
	notServed := func(gvk schema.GroupVersionKind) error {
		for _, k := range served {
			if gvk == k.GroupVersionKind() || gvk == k.GroupVersionKind().GroupVersion().WithKind(string(k)+"List") {
				return nil
			}
		}
		if gvk.Group != Group {
			return nil
		}
		return &meta.NoKindMatchError{GroupKind: gvk.GroupKind(), SearchedVersions: []string{gvk.Version}}
	}
	h.c = fake.NewClientBuilder().WithRESTMapper(m).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := notServed(obj.GetObjectKind().GroupVersionKind()); err != nil {
				return err
			}
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if err := notServed(list.GetObjectKind().GroupVersionKind()); err != nil {
				return err
			}
			return c.List(ctx, list, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if _, ok := obj.(*unstructured.Unstructured); ok {
				h.updates++
				if h.beforeUpdate != nil {
					if err := h.beforeUpdate(obj); err != nil {
						return err
					}
				}
			}
			return c.Update(ctx, obj, opts...)
		},
	}).Build()
	return h
}

// router is a fresh Router, as each reconcile (or a restarted controller)
// builds one.
func (h *harness) router(ro *v1alpha1.Rollout) *Router {
	return &Router{Client: h.c, Rollout: ro, Recorder: func(reason, msg string) { h.events = append(h.events, reason+": "+msg) }}
}

func (h *harness) get(t *testing.T, kind Kind, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(kind.GroupVersionKind())
	if err := h.c.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: name}, u); err != nil {
		t.Fatal(err)
	}
	return u
}

// object is a route in namespace ns as the cluster holds it.
func object(t *testing.T, kind Kind, name string, labels map[string]string, rules ...map[string]any) *unstructured.Unstructured {
	t.Helper()
	obj := route(kind, rules...)
	u := &unstructured.Unstructured{Object: stored(t, kind, obj)}
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

func split(port int64) map[string]any {
	return rule([]any{prefix("/")}, ref("app-stable", port, "weight", int64(100)), ref("app-canary", port, "weight", int64(0)))
}

func specError(t *testing.T, err error, field, msg string) {
	t.Helper()
	var se *traffic.SpecError
	if !errors.As(err, &se) || se.Field != field || !strings.Contains(se.Msg, msg) {
		t.Fatalf("error %v, want a SpecError on %s containing %q", err, field, msg)
	}
}

func TestRouterSetWeight(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil, object(t, HTTPRoute, "web", nil, split(80)), object(t, GRPCRoute, "rpc", map[string]string{"team": "a"}, split(9090)))
	ro := rolloutWith(`{"httpRoute": "web", "grpcRoute": "rpc"}`)
	ro.Spec.Strategy.Canary.TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000)

	if err := h.router(ro).SetWeight(ctx, 100); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind Kind
		name string
	}{{HTTPRoute, "web"}, {GRPCRoute, "rpc"}} {
		got := h.get(t, c.kind, c.name)
		if w := weights(rulesOf(got.Object)[0]); w["app-canary"] != int64(100) || w["app-stable"] != int64(900) {
			t.Errorf("%s weights %v, want 100 of 1000", c.kind, w)
		}
		if got.GetLabels()[DefaultInProgressLabelKey] != DefaultInProgressLabelValue {
			t.Errorf("%s labels %v", c.kind, got.GetLabels())
		}
	}
	if h.updates != 2 || len(h.events) != 2 || !strings.HasPrefix(h.events[0], ReasonUpdated+`: Updated HTTPRoute "web": canary weight 100, stable weight 900`) {
		t.Fatalf("updates %d events %v", h.updates, h.events)
	}

	// The same weight from a new Router writes nothing.
	if err := h.router(ro).SetWeight(ctx, 100); err != nil || h.updates != 2 {
		t.Fatalf("same weight: err %v, updates %d", err, h.updates)
	}

	if err := h.router(ro).SetWeight(ctx, 0); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, GRPCRoute, "rpc")
	if w := weights(rulesOf(got.Object)[0]); w["app-canary"] != int64(0) || w["app-stable"] != int64(1000) {
		t.Fatalf("weights %v", w)
	}
	if !reflect.DeepEqual(got.GetLabels(), map[string]string{"team": "a"}) || got.GetAnnotations() != nil {
		t.Fatalf("labels %v annotations %v after the canary", got.GetLabels(), got.GetAnnotations())
	}
}

func TestRouterSelectors(t *testing.T) {
	ctx := context.Background()
	demo := map[string]string{"app": "demo"}
	h := newHarness(t, nil,
		object(t, HTTPRoute, "a", nil, split(80)), object(t, HTTPRoute, "b", demo, split(80)),
		object(t, HTTPRoute, "c", demo, split(80)), object(t, HTTPRoute, "d", nil, split(80)),
		object(t, TCPRoute, "db", demo, split(5432)))
	ro := rolloutWith(`{"httpRoutes": [{"name": "c", "useHeaderRoutes": true}, {"name": "a"}], "httpRouteSelector": {"matchLabels": {"app": "demo"}}, "tcpRouteSelector": {"matchLabels": {"app": "demo"}}}`)
	if err := h.router(ro).SetWeight(ctx, 10); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind Kind
		name string
		want int64
	}{{HTTPRoute, "a", 10}, {HTTPRoute, "b", 10}, {HTTPRoute, "c", 10}, {HTTPRoute, "d", 0}, {TCPRoute, "db", 10}} {
		if w := weights(rulesOf(h.get(t, c.kind, c.name).Object)[0]); w["app-canary"] != c.want {
			t.Errorf("%s %s: canary weight %v, want %d", c.kind, c.name, w["app-canary"], c.want)
		}
	}
	if h.updates != 4 {
		t.Fatalf("%d updates, want 4 (each route once)", h.updates)
	}

	// Header rules go to the named route that asks for them, not to those
	// a selector finds.
	step := &v1alpha1.SetHeaderRoute{Name: "header", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X-Canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}}
	if err := h.router(ro).SetHeaderRoute(ctx, step); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"a": 1, "b": 1, "c": 2} {
		if n := len(rulesOf(h.get(t, HTTPRoute, name).Object)); n != want {
			t.Errorf("HTTPRoute %s has %d rules, want %d", name, n, want)
		}
	}

	none := rolloutWith(`{"httpRouteSelector": {"matchLabels": {"app": "nothing"}}}`)
	specError(t, h.router(none).SetWeight(ctx, 10), ConfigField, `its selectors match none in namespace "ns"`)
}

func TestRouterSpecErrors(t *testing.T) {
	ctx := context.Background()
	header := &v1alpha1.SetHeaderRoute{Name: "header", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X-Canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}}
	mirror := &v1alpha1.SetMirrorRoute{Name: "mirror", Match: []v1alpha1.RouteMatch{{}}}
	for _, c := range []struct {
		name   string
		served []Kind
		ro     *v1alpha1.Rollout
		call   func(*Router) error
		field  string
		msg    string
	}{
		{"route not found", nil, rolloutWith(`{"httpRoutes": [{"name": "web"}, {"name": "gone"}]}`),
			func(r *Router) error { return r.SetWeight(ctx, 10) }, ConfigField + ".httpRoutes[1].name", `HTTPRoute "gone" not found in namespace "ns": create it or correct the name`},
		{"route in the configured namespace", nil, rolloutWith(`{"httpRoute": "web", "namespace": "edge"}`),
			func(r *Router) error { return r.SetWeight(ctx, 10) }, ConfigField + ".httpRoute", `HTTPRoute "web" not found in namespace "edge"`},
		{"no rule names both Services", nil, rolloutWith(`{"httpRoute": "half"}`),
			func(r *Router) error { return r.SetWeight(ctx, 10) }, ConfigField + ".httpRoute", "has no rule whose backendRefs name both"},
		{"kind not served", []Kind{HTTPRoute}, rolloutWith(`{"tcpRoute": "db"}`),
			func(r *Router) error { return r.SetWeight(ctx, 10) }, ConfigField + ".tcpRoute", "the cluster does not serve gateway.networking.k8s.io/v1alpha2 TCPRoute"},
		{"selector kind not served", []Kind{HTTPRoute}, rolloutWith(`{"tlsRouteSelector": {"matchLabels": {"a": "b"}}}`),
			func(r *Router) error { return r.SetWeight(ctx, 10) }, ConfigField + ".tlsRouteSelector", "does not serve"},
		{"bad config", nil, rolloutWith(`{"httpRoute": "web", "extra": 1}`),
			func(r *Router) error { return r.RemoveManagedRoutes(ctx) }, ConfigField, `unknown field "extra"`},
		{"no config", nil, func() *v1alpha1.Rollout {
			ro := rolloutWith(`{}`)
			ro.Spec.Strategy.Canary.TrafficRouting.Plugins = nil
			return ro
		}(), func(r *Router) error { return r.SetWeight(ctx, 10) }, ConfigField, "is empty"},
		{"no canary Service", nil, func() *v1alpha1.Rollout {
			ro := rolloutWith(`{"httpRoute": "web"}`)
			ro.Spec.Strategy.Canary.CanaryService = ""
			return ro
		}(), func(r *Router) error { return r.SetWeight(ctx, 10) }, "spec.strategy.canary.canaryService", "is required"},
		{"weights over the maximum", nil, rolloutWith(`{"httpRoute": "web"}`),
			func(r *Router) error {
				return r.SetWeight(ctx, 60, traffic.WeightDestination{ServiceName: "exp", Weight: 50})
			}, "spec.strategy.canary.steps", "leave -10 for the stable, out of maxTrafficWeight 100"},
		{"no route for header rules", nil, rolloutWith(`{"httpRoutes": [{"name": "web"}]}`, v1alpha1.CanaryStep{}, v1alpha1.CanaryStep{SetHeaderRoute: header}),
			func(r *Router) error {
				return r.SetHeaderRoute(ctx, r.Rollout.Spec.Strategy.Canary.Steps[1].SetHeaderRoute)
			},
			"spec.strategy.canary.steps[1].setHeaderRoute", "no route takes header rules"},
		{"bad header match", nil, rolloutWith(`{"httpRoute": "web"}`),
			func(r *Router) error {
				return r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "h", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X"}}})
			}, "spec.strategy.canary.steps.setHeaderRoute.match[0].headerValue", "must set exactly one"},
		{"no HTTPRoute for mirror rules", nil, rolloutWith(`{"grpcRoute": "rpc"}`, v1alpha1.CanaryStep{SetMirrorRoute: mirror}),
			func(r *Router) error { return r.SetMirrorRoute(ctx, mirror) }, "spec.strategy.canary.steps[0].setMirrorRoute", "no HTTPRoute takes mirror rules"},
		{"header rule on a route without the Services", nil, rolloutWith(`{"httpRoute": "half"}`),
			func(r *Router) error { return r.SetHeaderRoute(ctx, header) }, ConfigField + ".httpRoute", "has no rule whose backendRefs name both"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.served, object(t, HTTPRoute, "web", nil, split(80)), object(t, HTTPRoute, "half", nil, rule(nil, ref("app-stable", 80))))
			specError(t, c.call(h.router(c.ro)), c.field, c.msg)
			if h.updates != 0 {
				t.Fatalf("%d updates", h.updates)
			}
		})
	}
}

func TestRouterHeaderRouteAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	user := []map[string]any{split(80), rule([]any{prefix("/static")}, ref("cdn", 80))}
	h := newHarness(t, nil, object(t, HTTPRoute, "web", nil, user...), object(t, GRPCRoute, "rpc", nil, split(9090)))
	original := rulesOf(h.get(t, HTTPRoute, "web").Object)
	ro := rolloutWith(`{"httpRoute": "web", "grpcRoutes": [{"name": "rpc", "useHeaderRoutes": true}]}`)
	step := &v1alpha1.SetHeaderRoute{Name: "header", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X-Canary", HeaderValue: &v1alpha1.StringMatch{Prefix: "yes"}}}}

	if err := h.router(ro).SetHeaderRoute(ctx, step); err != nil {
		t.Fatal(err)
	}
	web := rulesOf(h.get(t, HTTPRoute, "web").Object)
	if len(web) != 3 || weights(web[0])["app-canary"] != nil || len(weights(web[0])) != 1 ||
		!reflect.DeepEqual(items(asMap(items(web[0]["matches"])[0])["headers"]), []any{map[string]any{"name": "X-Canary", "type": "RegularExpression", "value": "^yes.*"}}) {
		t.Fatalf("HTTPRoute rules %v", web)
	}
	if n := len(rulesOf(h.get(t, GRPCRoute, "rpc").Object)); n != 2 {
		t.Fatalf("GRPCRoute has %d rules, want 2", n)
	}
	updates := h.updates

	// Each later reconcile repeats the step and moves the weight, with a
	// new Router each time: the header rules are found, not duplicated.
	for _, w := range []int32{10, 20} {
		r := h.router(ro)
		if err := r.SetHeaderRoute(ctx, step); err != nil {
			t.Fatal(err)
		}
		if err := r.SetWeight(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	web = rulesOf(h.get(t, HTTPRoute, "web").Object)
	if len(web) != 3 || weights(web[1])["app-canary"] != int64(20) || len(weights(web[0])) != 1 {
		t.Fatalf("HTTPRoute rules %v", web)
	}
	if h.updates != updates+4 {
		t.Fatalf("%d updates for two weight changes on two routes, want 4", h.updates-updates)
	}

	if err := h.router(ro).RemoveManagedRoutes(ctx); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, HTTPRoute, "web")
	want := original
	want[0] = split(80)
	asMap(items(want[0]["backendRefs"])[0])["weight"] = int64(80)
	asMap(items(want[0]["backendRefs"])[1])["weight"] = int64(20)
	want = rulesOf(stored(t, HTTPRoute, route(HTTPRoute, want...)))
	if !reflect.DeepEqual(rulesOf(got.Object), want) {
		t.Fatalf("after RemoveManagedRoutes\n got %v\nwant %v", rulesOf(got.Object), want)
	}
	if st := annotation(got.Object)[owner]; len(st.Rules) != 0 || !st.InProgress {
		t.Fatalf("recorded state %+v: rules gone, canary still in progress", st)
	}
	if n := len(rulesOf(h.get(t, GRPCRoute, "rpc").Object)); n != 1 {
		t.Fatalf("GRPCRoute has %d rules, want 1", n)
	}

	// Removing again writes nothing.
	updates = h.updates
	if err := h.router(ro).RemoveManagedRoutes(ctx); err != nil || h.updates != updates {
		t.Fatalf("err %v, %d updates", err, h.updates-updates)
	}
}

func TestRouterMirrorRoute(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil, object(t, HTTPRoute, "web", nil, split(80)), object(t, HTTPRoute, "other", nil, split(80)))
	step := &v1alpha1.SetMirrorRoute{Name: "mirror", Percentage: ptr.To[int32](25),
		Match: []v1alpha1.RouteMatch{{Path: &v1alpha1.StringMatch{Prefix: "/api"}, Headers: map[string]v1alpha1.StringMatch{"X-Debug": {Exact: "1"}}}}}
	ro := rolloutWith(`{"httpRoutes": [{"name": "web", "useHeaderRoutes": true}, {"name": "other"}]}`, v1alpha1.CanaryStep{SetMirrorRoute: step})
	if err := h.router(ro).SetMirrorRoute(ctx, step); err != nil {
		t.Fatal(err)
	}
	web := rulesOf(h.get(t, HTTPRoute, "web").Object)
	if len(web) != 2 {
		t.Fatalf("rules %v", web)
	}
	mirror := items(web[0]["filters"])
	want := []any{map[string]any{"type": "RequestMirror", "requestMirror": map[string]any{"percent": int64(25),
		"backendRef": map[string]any{"group": "", "kind": "Service", "name": "app-canary", "port": int64(80)}}}}
	if !reflect.DeepEqual(mirror, want) {
		t.Fatalf("filters %v, want %v", mirror, want)
	}
	if n := len(rulesOf(h.get(t, HTTPRoute, "other").Object)); n != 1 {
		t.Fatalf("route without useHeaderRoutes got a mirror rule")
	}

	if err := h.router(ro).SetMirrorRoute(ctx, &v1alpha1.SetMirrorRoute{Name: "mirror"}); err != nil {
		t.Fatal(err)
	}
	if n := len(rulesOf(h.get(t, HTTPRoute, "web").Object)); n != 1 {
		t.Fatalf("%d rules after removal", n)
	}
}

// TestRouterServerPrunesField checks the router against an API server that
// stores a managed rule differently from how it was sent (an older CRD
// without the mirror percent): the rule is re-recorded, so it is replaced
// and removed rather than duplicated or orphaned.
func TestRouterServerPrunesField(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil, object(t, HTTPRoute, "web", nil, split(80)))
	h.beforeUpdate = func(obj client.Object) error {
		for _, r := range rulesOf(obj.(*unstructured.Unstructured).Object) {
			for _, f := range items(r["filters"]) {
				delete(asMap(asMap(f)["requestMirror"]), "percent")
			}
		}
		return nil
	}
	step := &v1alpha1.SetMirrorRoute{Name: "mirror", Percentage: ptr.To[int32](50), Match: []v1alpha1.RouteMatch{{Method: &v1alpha1.StringMatch{Exact: "GET"}}}}
	ro := rolloutWith(`{"httpRoute": "web"}`, v1alpha1.CanaryStep{SetMirrorRoute: step})
	for range 3 {
		if err := h.router(ro).SetMirrorRoute(ctx, step); err != nil {
			t.Fatal(err)
		}
		if rules := rulesOf(h.get(t, HTTPRoute, "web").Object); len(rules) != 2 {
			t.Fatalf("%d rules, want the user's and one mirror rule: %v", len(rules), rules)
		}
	}
	if err := h.router(ro).RemoveManagedRoutes(ctx); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, HTTPRoute, "web")
	if rules := rulesOf(got.Object); len(rules) != 1 || got.GetAnnotations() != nil {
		t.Fatalf("after removal: rules %v annotations %v", rules, got.GetAnnotations())
	}
}

func TestRouterExperiment(t *testing.T) {
	ctx := context.Background()
	exp := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "metrics", Port: 9090}, {Name: "http", Port: 8080}}}}
	exp.Name, exp.Namespace = "app-exp", "ns"
	h := newHarness(t, nil, object(t, HTTPRoute, "web", nil, split(80)), exp)
	ro := rolloutWith(`{"httpRoute": "web", "disableInProgressLabel": true}`)
	if err := h.router(ro).SetWeight(ctx, 20, traffic.WeightDestination{ServiceName: "app-exp", Weight: 10}); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, HTTPRoute, "web")
	refs := items(rulesOf(got.Object)[0]["backendRefs"])
	if len(refs) != 3 || asMap(refs[2])["port"] != int64(8080) || asMap(refs[2])["weight"] != int64(10) || weights(rulesOf(got.Object)[0])["app-stable"] != int64(70) {
		t.Fatalf("backendRefs %v", refs)
	}
	if got.GetLabels() != nil {
		t.Fatalf("labels %v with the label disabled", got.GetLabels())
	}
	if err := h.router(ro).SetWeight(ctx, 20); err != nil {
		t.Fatal(err)
	}
	got = h.get(t, HTTPRoute, "web")
	if refs := items(rulesOf(got.Object)[0]["backendRefs"]); len(refs) != 2 || got.GetAnnotations() != nil {
		t.Fatalf("after the experiment: backendRefs %v annotations %v", refs, got.GetAnnotations())
	}

	err := h.router(ro).SetWeight(ctx, 20, traffic.WeightDestination{ServiceName: "not-yet", Weight: 10})
	if err == nil || errors.As(err, new(*traffic.SpecError)) || !apierrors.IsNotFound(err) {
		t.Fatalf("missing experiment Service: %v, want a retryable not-found error", err)
	}
}

func TestRouterUpdateErrors(t *testing.T) {
	ctx := context.Background()
	ro := rolloutWith(`{"httpRoute": "web"}`)

	h := newHarness(t, nil, object(t, HTTPRoute, "web", nil, split(80)))
	h.beforeUpdate = func(obj client.Object) error {
		return apierrors.NewInvalid(schema.GroupKind{Group: Group, Kind: "HTTPRoute"}, obj.GetName(),
			field.ErrorList{field.TooMany(field.NewPath("spec", "rules"), 17, 16)})
	}
	specError(t, h.router(ro).SetWeight(ctx, 5), ConfigField+".httpRoute", `the API server rejected the change to HTTPRoute "web"`)
	if len(h.events) != 1 || !strings.HasPrefix(h.events[0], ReasonUpdateError) {
		t.Fatalf("events %v", h.events)
	}

	// A conflict is retried on a fresh read.
	h = newHarness(t, nil, object(t, HTTPRoute, "web", nil, split(80)))
	conflicts := 1
	h.beforeUpdate = func(obj client.Object) error {
		if conflicts > 0 {
			conflicts--
			return apierrors.NewConflict(schema.GroupResource{Group: Group, Resource: "httproutes"}, obj.GetName(), errors.New("stale"))
		}
		return nil
	}
	if err := h.router(ro).SetWeight(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if w := weights(rulesOf(h.get(t, HTTPRoute, "web").Object)[0]); w["app-canary"] != int64(5) || h.updates != 2 {
		t.Fatalf("weights %v after %d updates", w, h.updates)
	}

	// Anything else is returned for a retry.
	h = newHarness(t, nil, object(t, HTTPRoute, "web", nil, split(80)))
	h.beforeUpdate = func(client.Object) error { return apierrors.NewServiceUnavailable("busy") }
	err := h.router(ro).SetWeight(ctx, 5)
	if err == nil || errors.As(err, new(*traffic.SpecError)) || !strings.Contains(err.Error(), "update HTTPRoute ns/web") {
		t.Fatalf("error %v", err)
	}
}

func TestRouterNoOps(t *testing.T) {
	r := &Router{}
	if r.Type() != "GatewayAPI" {
		t.Fatal(r.Type())
	}
	if ok, err := r.VerifyWeight(context.Background(), 10); ok != nil || err != nil {
		t.Fatal(ok, err)
	}
	if err := r.UpdateHash(context.Background(), "a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetHeaderRoute(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := r.SetMirrorRoute(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}
