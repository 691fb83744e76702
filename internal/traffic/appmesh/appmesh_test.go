package appmesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
	"github.com/aviary-rollouts/aviary/internal/traffic/traffictest"
)

const virtualService = `apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  awsName: web.shop.svc.cluster.local
  provider:
    virtualRouter:
      virtualRouterRef: {name: web-router}
`

// virtualRouter has the rollout's HTTP route, a gRPC route the rollout
// does not name, and a target in another namespace that shares the
// stable node's name.
const virtualRouter = `apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualRouter
metadata: {name: web-router, namespace: shop}
spec:
  listeners:
  - portMapping: {port: 80, protocol: http}
  routes:
  - name: primary
    httpRoute:
      match: {prefix: /}
      action:
        weightedTargets:
        - virtualNodeRef: {name: web-stable}
          weight: 100
        - virtualNodeRef: {name: web-canary, namespace: shop}
          weight: 0
        - virtualNodeRef: {name: web-stable, namespace: elsewhere}
          weight: 5
  - name: grpc
    grpcRoute:
      match: {serviceName: web.Web}
      action:
        weightedTargets:
        - virtualNodeRef: {name: web-stable}
          weight: 100
        - virtualNodeRef: {name: web-canary}
          weight: 0
`

func virtualNode(name string) string {
	return `apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: ` + name + `, namespace: shop}
spec:
  awsName: ` + name + `
  podSelector:
    matchLabels: {app: web}
  listeners:
  - portMapping: {port: 8080, protocol: http}
  serviceDiscovery:
    dns: {hostname: ` + name + `.shop.svc.cluster.local}
`
}

func rollout(routes ...string) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-1"}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{TrafficRouting: &v1alpha1.RolloutTrafficRouting{AppMesh: &v1alpha1.AppMeshTrafficRouting{
		VirtualService: &v1alpha1.AppMeshVirtualService{Name: "web", Routes: routes},
		VirtualNodeGroup: &v1alpha1.AppMeshVirtualNodeGroup{
			CanaryVirtualNodeRef: &v1alpha1.AppMeshVirtualNodeReference{Name: "web-canary"},
			StableVirtualNodeRef: &v1alpha1.AppMeshVirtualNodeReference{Name: "web-stable"},
		},
	}}}
	return ro
}

type fixture struct {
	c      client.Client
	r      *Router
	events []string
}

func newFixture(t *testing.T, ro *v1alpha1.Rollout, docs ...string) *fixture {
	b := fake.NewClientBuilder()
	for _, d := range docs {
		b = b.WithObjects(traffictest.Object(t, d))
	}
	f := &fixture{c: b.Build()}
	f.r = &Router{Client: f.c, Rollout: ro,
		Events: traffic.Events{Recorder: func(reason, msg string) { f.events = append(f.events, reason+": "+msg) },
			Warn: func(reason, msg string) { f.events = append(f.events, "Warning "+reason+": "+msg) }}}
	return f
}

func (f *fixture) read(t *testing.T, kind, name string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(f.r.gvk(kind))
	if err := f.c.Get(context.Background(), types.NamespacedName{Namespace: "shop", Name: name}, obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// weights are the VirtualRouter's routes' targets as
// "route: node[.ns]=weight ...".
func (f *fixture) weights(t *testing.T) string {
	t.Helper()
	routes, _, _ := unstructured.NestedSlice(f.read(t, "VirtualRouter", "web-router").Object, "spec", "routes")
	var out []string
	for _, r := range routes {
		route := r.(map[string]any)
		kind, rule := routeRule(route)
		targets, _, _ := unstructured.NestedSlice(rule, "action", "weightedTargets")
		s := fmt.Sprintf("%v(%s):", route["name"], kind)
		for _, tg := range targets {
			target := tg.(map[string]any)
			ref := target["virtualNodeRef"].(map[string]any)
			name := ref["name"].(string)
			if ns, ok := ref["namespace"].(string); ok {
				name += "." + ns
			}
			s += fmt.Sprintf(" %s=%v", name, target["weight"])
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

// TestSetWeightEveryWeight: the named route's canary and stable targets
// get each weight; the other route and the other namespace's target keep
// theirs. Without routes named, every route is split.
func TestSetWeightEveryWeight(t *testing.T) {
	f := newFixture(t, rollout("primary"), virtualService, virtualRouter)
	for w := int32(0); w <= 100; w += 10 {
		if err := f.r.SetWeight(context.Background(), w); err != nil {
			t.Fatalf("weight %d: %v", w, err)
		}
		want := fmt.Sprintf("primary(httpRoute): web-stable=%d web-canary.shop=%d web-stable.elsewhere=5; grpc(grpcRoute): web-stable=100 web-canary=0", 100-w, w)
		if got := f.weights(t); got != want {
			t.Fatalf("weight %d:\n got %s\nwant %s", w, got, want)
		}
	}
	f = newFixture(t, rollout(), virtualService, virtualRouter)
	if err := f.r.SetWeight(context.Background(), 25); err != nil {
		t.Fatal(err)
	}
	if got, want := f.weights(t), "primary(httpRoute): web-stable=75 web-canary.shop=25 web-stable.elsewhere=5; grpc(grpcRoute): web-stable=75 web-canary=25"; got != want {
		t.Errorf("all routes:\n got %s\nwant %s", got, want)
	}
	// The same weight again writes nothing.
	f.events = nil
	if err := f.r.SetWeight(context.Background(), 25); err != nil || len(f.events) != 0 {
		t.Errorf("same weight again: %v, events %q", err, f.events)
	}
}

// TestUpdateHash pins each VirtualNode's pod selector to its hash (the
// placeholders when a hash is missing or both are the same), keeping its
// other labels, and marks it as the rollout's.
func TestUpdateHash(t *testing.T) {
	for _, c := range []struct {
		canary, stable         string
		wantCanary, wantStable string
	}{
		{"abc", "def", "abc", "def"},
		{"def", "def", PlaceholderCanaryHash, "def"},
		{"", "def", PlaceholderCanaryHash, "def"},
		{"abc", "", "abc", PlaceholderStableHash},
		{"", "", PlaceholderCanaryHash, PlaceholderStableHash},
	} {
		f := newFixture(t, rollout(), virtualNode("web-canary"), virtualNode("web-stable"))
		if err := f.r.UpdateHash(context.Background(), c.canary, c.stable); err != nil {
			t.Fatal(err)
		}
		for node, hash := range map[string]string{"web-canary": c.wantCanary, "web-stable": c.wantStable} {
			obj := f.read(t, "VirtualNode", node)
			sel, _, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "podSelector")
			j, _ := json.Marshal(sel)
			if want := `{"matchLabels":{"app":"web","rollouts-pod-template-hash":"` + hash + `"}}`; string(j) != want {
				t.Errorf("UpdateHash(%q, %q): %s podSelector %s, want %s", c.canary, c.stable, node, j, want)
			}
			if got := obj.GetAnnotations()[v1alpha1.ManagedByRolloutsKey]; got != "web" {
				t.Errorf("%s not marked as the rollout's: %v", node, obj.GetAnnotations())
			}
		}
	}
}

func TestSpecErrors(t *testing.T) {
	noProvider := strings.Replace(virtualService, "  provider:\n    virtualRouter:\n      virtualRouterRef: {name: web-router}\n", "", 1)
	for _, c := range []struct {
		name  string
		ro    *v1alpha1.Rollout
		docs  []string
		field string
		want  string
		event string
	}{
		{"no virtual service", rollout(), nil, field + ".virtualService.name", `VirtualService "web" not found in namespace "shop"`, "Warning VirtualServiceNotFound"},
		{"no router ref", rollout(), []string{noProvider}, field + ".virtualService.name", `VirtualService "web" has no spec.provider.virtualRouter.virtualRouterRef`, ""},
		{"no router", rollout(), []string{virtualService}, field + ".virtualService.name", `VirtualRouter "web-router" not found in namespace "shop"`, "Warning VirtualRouterNotFound"},
		{"no such route", rollout("nope"), []string{virtualService, virtualRouter}, field + ".virtualService.routes", `VirtualRouter "web-router" has no route named "nope"`, ""},
		{"no canary target", rollout("grpc"), []string{virtualService, strings.Replace(virtualRouter, "        - virtualNodeRef: {name: web-canary}\n          weight: 0\n", "", 1)},
			field + ".virtualService.routes", `VirtualRouter "web-router": route "grpc" has no weighted target for VirtualNode "web-canary"`, ""},
	} {
		f := newFixture(t, c.ro, c.docs...)
		err := f.r.SetWeight(context.Background(), 10)
		var se *traffic.SpecError
		if !errors.As(err, &se) || se.Field != c.field || !strings.Contains(se.Msg, c.want) {
			t.Errorf("%s: error %v, want a SpecError on %s containing %q", c.name, err, c.field, c.want)
		}
		if c.event != "" && (len(f.events) != 1 || !strings.HasPrefix(f.events[0], c.event)) {
			t.Errorf("%s: events %q, want %s", c.name, f.events, c.event)
		}
	}
	f := newFixture(t, rollout(), virtualNode("web-stable"))
	err := f.r.UpdateHash(context.Background(), "abc", "def")
	var se *traffic.SpecError
	if !errors.As(err, &se) || se.Field != field+".virtualNodeGroup.canaryVirtualNodeRef.name" || !strings.Contains(se.Msg, `VirtualNode "web-canary" not found`) {
		t.Errorf("missing canary VirtualNode: %v", err)
	}
}
