package traffic

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	rolloutctl "github.com/aviary-rollouts/aviary/internal/rollout"
	"github.com/aviary-rollouts/aviary/internal/traffic/istio"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// removeRoutingPatch takes trafficRouting out of the rollout.
const removeRoutingPatch = `[{"op":"remove","path":"/spec/strategy/canary/trafficRouting"}]`

// routedSetup applies routedRollout with routing and objects, runs a
// controller for the namespace and waits for the update to the green image
// to pause at 30%, as paused says. It returns the namespace, a reader of
// the rollout and the controller.
func routedSetup(t *testing.T, routing, objects string, paused func(ns string) (bool, string)) (string, func() *v1alpha1.Rollout, *framework.Controller) {
	t.Helper()
	return routedSetupSteps(t, routing, objects, "", paused)
}

// routedSetupSteps is routedSetup with steps put before routedRollout's.
func routedSetupSteps(t *testing.T, routing, objects, steps string, paused func(ns string) (bool, string)) (string, func() *v1alpha1.Rollout, *framework.Controller) {
	t.Helper()
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	ctl := framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	manifest := strings.NewReplacer("ROUTING", routing, "      steps:\n", "      steps:\n"+steps).Replace(routedRollout)
	if objects != "" {
		manifest += "---\n" + objects
	}
	if out, err := e.KubectlStdin(ctx, []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	rollout := func() *v1alpha1.Rollout {
		var r v1alpha1.Rollout
		_ = e.Client.Get(ctx, framework.Key(ns, "web"), &r)
		return &r
	}
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		r := rollout()
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy, fmt.Sprintf("%s %q", r.Status.Phase, r.Status.Message)
	})
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "paused at 30%", func() (bool, string) {
		r := rollout()
		ok, why := paused(ns)
		return ok && r.Status.Phase == v1alpha1.RolloutPhasePaused, fmt.Sprintf("%s %q; %s", r.Status.Phase, r.Status.Message, why)
	})
	return ns, rollout, ctl
}

// patchRollout sends a JSON patch to rollout web.
func patchRollout(t *testing.T, ns, patch string) {
	t.Helper()
	ro := &v1alpha1.Rollout{}
	ro.Namespace, ro.Name = ns, "web"
	if err := framework.Get(t).Client.Patch(context.Background(), ro, client.RawPatch(types.JSONPatchType, []byte(patch))); err != nil {
		t.Fatalf("patch rollout %s: %v", patch, err)
	}
}

// istioObject reads an Istio object of the namespace.
func istioObject(e *framework.Env, ns, kind, name string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("networking.istio.io/v1alpha3")
	obj.SetKind(kind)
	return obj, e.Client.Get(context.Background(), framework.Key(ns, name), obj)
}

// destinationRule summarises DestinationRule web-dr: its managed-by
// annotation and each subset's labels.
func destinationRule(e *framework.Env, ns string) string {
	dr, err := istioObject(e, ns, "DestinationRule", "web-dr")
	if err != nil {
		return err.Error()
	}
	subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	var out []string
	for _, s := range subsets {
		m := s.(map[string]any)
		labels, _, _ := unstructured.NestedStringMap(m, "labels")
		out = append(out, fmt.Sprintf("%v=%v", m["name"], labels))
	}
	return fmt.Sprintf("managed-by %q subsets %s", dr.GetAnnotations()[v1alpha1.ManagedByRolloutsKey], strings.Join(out, " "))
}

// TestRemovingIstioRoutingReleasesDestinationRule: taking trafficRouting
// out of an Istio rollout with a DestinationRule releases the rule, as
// Argo Rollouts does: the managed-by annotation and the subsets' pod-
// template hash labels go, the user's own labels stay. The VirtualService
// is the user's and is left as it is; status.canary.weights goes, there
// being no routing to report.
func TestRemovingIstioRoutingReleasesDestinationRule(t *testing.T) {
	e := framework.Get(t)
	routing := `        istio:
          virtualService: {name: web-vs}
          destinationRule: {name: web-dr, canarySubsetName: canary, stableSubsetName: stable}`
	objects := `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: web-vs}
spec:
  hosts: [web]
  http:
  - route:
    - {destination: {host: web, subset: stable}, weight: 100}
    - {destination: {host: web, subset: canary}, weight: 0}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: web-dr}
spec:
  host: web
  subsets:
  - {name: stable, labels: {app: web}}
  - {name: canary, labels: {app: web}}
`
	var blue, green string
	ns, rollout, _ := routedSetup(t, routing, objects, func(ns string) (bool, string) {
		dr := destinationRule(e, ns)
		return strings.Contains(dr, `managed-by "web"`) && strings.Count(dr, v1alpha1.DefaultRolloutUniqueLabelKey) == 2, dr
	})
	r := rollout()
	blue, green = r.Status.StableRS, r.Status.CurrentPodHash
	if r.Status.Canary.Weights == nil || r.Status.Canary.Weights.Canary.Weight != 30 {
		t.Fatalf("status.canary.weights %+v at the first pause, want canary 30", r.Status.Canary.Weights)
	}
	t.Logf("paused at 30%%: stable %s canary %s, %s", blue, green, destinationRule(e, ns))

	patchRollout(t, ns, removeRoutingPatch)
	want := `managed-by "" subsets stable=map[app:web] canary=map[app:web]`
	framework.Eventually(t, 60*time.Second, "the DestinationRule released and the weights gone from status", func() (bool, string) {
		r := rollout()
		dr := destinationRule(e, ns)
		return dr == want && r.Status.Canary.Weights == nil && r.Status.ObservedGeneration == fmt.Sprint(r.Generation),
			fmt.Sprintf("%s; want %s; weights %+v", dr, want, r.Status.Canary.Weights)
	})
	var events corev1.EventList
	if err := e.Client.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range events.Items {
		found = found || (ev.Reason == rolloutctl.ReasonDestinationRuleReleased && strings.Contains(ev.Message, "web-dr"))
	}
	if !found {
		t.Error("no DestinationRuleReleased event naming web-dr")
	}
}

// TestRemovingNginxRoutingDeletesCanaryIngress: the canary Ingress the
// rollout created for NGINX is deleted once trafficRouting is taken out,
// so NGINX no longer sends it its last weight. (Argo Rollouts leaves it,
// argoproj/argo-rollouts#4751.)
func TestRemovingNginxRoutingDeletesCanaryIngress(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	objects := `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: web-stable, port: {number: 80}}}
`
	canaryWeight := func(ns string) (bool, string) {
		var ing networkingv1.Ingress
		if err := e.Client.Get(ctx, framework.Key(ns, "web-web-canary"), &ing); err != nil {
			return false, err.Error()
		}
		w := ing.Annotations["nginx.ingress.kubernetes.io/canary-weight"]
		return w == "30", "canary weight " + w
	}
	ns, _, _ := routedSetup(t, "        nginx:\n          stableIngress: web", objects, canaryWeight)
	patchRollout(t, ns, removeRoutingPatch)
	framework.Eventually(t, 60*time.Second, "the canary Ingress deleted", func() (bool, string) {
		var ing networkingv1.Ingress
		err := e.Client.Get(ctx, framework.Key(ns, "web-web-canary"), &ing)
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		return false, fmt.Sprintf("still there (err %v, deleting %v)", err, ing.DeletionTimestamp)
	})
	var stable networkingv1.Ingress
	if err := e.Client.Get(ctx, framework.Key(ns, "web"), &stable); err != nil {
		t.Fatalf("the stable Ingress must stay: %v", err)
	}
}

// tlsVirtualService has TLS routes only.
const tlsVirtualService = `apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: web-vs}
spec:
  hosts: [web.example.com]
  tls:
  - match: [{port: 443, sniHosts: [web.example.com]}]
    route:
    - {destination: {host: web-stable}, weight: 100}
    - {destination: {host: web-canary}, weight: 0}
`

// tlsWeights is the VirtualService's TLS route weights, "host=weight,…".
func tlsWeights(e *framework.Env, ns string) string {
	vs, err := istioObject(e, ns, "VirtualService", "web-vs")
	if err != nil {
		return err.Error()
	}
	routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "tls")
	var out []string
	for _, r := range routes {
		dests, _, _ := unstructured.NestedSlice(r.(map[string]any), "route")
		for _, d := range dests {
			host, _, _ := unstructured.NestedString(d.(map[string]any), "destination", "host")
			out = append(out, fmt.Sprintf("%s=%v", host, d.(map[string]any)["weight"]))
		}
	}
	return strings.Join(out, ",")
}

// TestIstioHTTPRouteNameOnTLSOnlyVirtualService: a rollout naming an HTTP
// route (routes: [primary]) alongside tlsRoutes, on a VirtualService with
// only TLS routes, is routed through the TLS routes — as Argo Rollouts
// does, checking only the route kinds the VirtualService has — with a
// Warning event naming the skipped route and the VirtualService, instead
// of being refused as InvalidSpec.
func TestIstioHTTPRouteNameOnTLSOnlyVirtualService(t *testing.T) {
	e := framework.Get(t)
	routing := `        istio:
          virtualService:
            name: web-vs
            routes: [primary]
            tlsRoutes:
            - port: 443
              sniHosts: [web.example.com]`
	ns, rollout, ctl := routedSetup(t, routing, tlsVirtualService, func(ns string) (bool, string) {
		w := tlsWeights(e, ns)
		return w == "web-stable=70,web-canary=30", "TLS weights " + w
	})
	if r := rollout(); r.Status.Phase == v1alpha1.RolloutPhaseDegraded {
		t.Fatalf("Degraded: %q", r.Status.Message)
	}
	var warning string
	framework.Eventually(t, 10*time.Second, "a Warning event naming the route and the VirtualService", func() (bool, string) {
		var events corev1.EventList
		_ = e.Client.List(context.Background(), &events, client.InNamespace(ns))
		for _, ev := range events.Items {
			if ev.Reason == istio.ReasonRouteSelectorSkipped && ev.Type == corev1.EventTypeWarning {
				warning = ev.Message
			}
		}
		return strings.Contains(warning, `HTTP route "primary"`) && strings.Contains(warning, ns+"/web-vs"), fmt.Sprintf("warning %q", warning)
	})
	t.Logf("warning: %s", warning)
	ctl.WaitForOutput(10*time.Second, istio.ReasonRouteSelectorSkipped) // the log line
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	framework.Eventually(t, 60*time.Second, "70% at the second pause", func() (bool, string) {
		r := rollout()
		w := tlsWeights(e, ns)
		return r.Status.Phase == v1alpha1.RolloutPhasePaused && w == "web-stable=30,web-canary=70", fmt.Sprintf("%s %q; TLS weights %s", r.Status.Phase, r.Status.Message, w)
	})
}

// TestRemovingSMIRoutingDeletesTrafficSplit: the TrafficSplit the rollout
// created for SMI is deleted once trafficRouting is taken out, so the mesh
// no longer splits the root Service at its last weights.
func TestRemovingSMIRoutingDeletesTrafficSplit(t *testing.T) {
	e := framework.Get(t)
	ns, _, _ := routedSetup(t, "        smi: {}", "", func(ns string) (bool, string) {
		w := smiWeights(e, ns)
		return w == "root=web-stable,web-canary=30,web-stable=70", "TrafficSplit " + w
	})
	patchRollout(t, ns, removeRoutingPatch)
	framework.Eventually(t, 60*time.Second, "the TrafficSplit deleted", func() (bool, string) {
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion("split.smi-spec.io/v1alpha1")
		obj.SetKind("TrafficSplit")
		err := e.Client.Get(context.Background(), framework.Key(ns, "web"), obj)
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		return false, fmt.Sprintf("still there (err %v, deleting %v)", err, obj.GetDeletionTimestamp())
	})
}

// TestRemovingAmbassadorRoutingDeletesCanaryMapping: the canary Mapping the
// rollout created is deleted once trafficRouting is taken out, so
// Ambassador no longer sends it its last weight.
func TestRemovingAmbassadorRoutingDeletesCanaryMapping(t *testing.T) {
	e := framework.Get(t)
	ns, _, _ := routedSetup(t, "        ambassador:\n          mappings: [web]", ambassadorMapping, func(ns string) (bool, string) {
		m := mapping(e, ns, "web-canary")
		return m == "service=web-canary:80 weight=30 owner=Rollout/web", "canary Mapping " + m
	})
	patchRollout(t, ns, removeRoutingPatch)
	framework.Eventually(t, 60*time.Second, "the canary Mapping deleted", func() (bool, string) {
		m := mapping(e, ns, "web-canary")
		return m == "absent", "canary Mapping " + m
	})
	if m := mapping(e, ns, "web"); m != "service=web-stable:80" {
		t.Errorf("the user's Mapping changed: %s", m)
	}
}

// TestRemovingAPISIXHeaderRouteDeletesIt: the header route's ApisixRoute
// is deleted once the route is taken out of managedRoutes (with its step)
// mid-update, though the update itself never reaches a step removing it.
func TestRemovingAPISIXHeaderRouteDeletesIt(t *testing.T) {
	e := framework.Get(t)
	routing := "        managedRoutes:\n        - name: web-header\n        apisix:\n          route:\n            name: web\n            rules: [web-rule]"
	ns, _, _ := routedSetupSteps(t, routing, apisixRoute,
		"      - setHeaderRoute:\n          name: web-header\n          match:\n          - headerName: X-Canary\n            headerValue: {exact: \"yes\"}\n",
		func(ns string) (bool, string) {
			h := apisixRules(e, ns, "web-header")
			return strings.HasSuffix(h, "owner=Rollout/web"), "header route " + h
		})
	patchRollout(t, ns, `[{"op":"remove","path":"/spec/strategy/canary/steps/0"},{"op":"remove","path":"/spec/strategy/canary/trafficRouting/managedRoutes"}]`)
	framework.Eventually(t, 60*time.Second, "the header route's ApisixRoute deleted", func() (bool, string) {
		h := apisixRules(e, ns, "web-header")
		return h == "absent", "header route " + h
	})
}
