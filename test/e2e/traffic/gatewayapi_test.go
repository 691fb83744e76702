package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// gatewayManifest is a canary routed by an HTTPRoute through the built-in
// Gateway API router, configured exactly as the argoproj-labs/gatewayAPI
// plugin is, with a header route at the first pause.
const gatewayManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: argoproj/rollouts-demo:blue
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      trafficRouting:
        managedRoutes:
        - name: beta-users
        plugins:
          argoproj-labs/gatewayAPI:
            httpRoute: web-route
            namespace: NAMESPACE
      steps:
      - setWeight: 20
      - setHeaderRoute:
          name: beta-users
          match:
          - headerName: X-Canary
            headerValue:
              exact: "yes"
      - pause: {}
      - setWeight: 60
      - pause: {}
---
apiVersion: v1
kind: Service
metadata: {name: web-stable}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-canary}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web-route
spec:
  parentRefs:
  - name: edge
  hostnames: ["web.example.com"]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /}
    backendRefs:
    - name: web-stable
      port: 80
      weight: 100
    - name: web-canary
      port: 80
      weight: 0
`

// httpRouteRules summarises the HTTPRoute's rules: each rule's header
// matches (if any) and backend=weight list.
func httpRouteRules(e *framework.Env, ns string) string {
	route := &unstructured.Unstructured{}
	route.SetAPIVersion("gateway.networking.k8s.io/v1")
	route.SetKind("HTTPRoute")
	if err := e.Client.Get(context.Background(), framework.Key(ns, "web-route"), route); err != nil {
		return err.Error()
	}
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	var out []string
	for _, r := range rules {
		m := r.(map[string]any)
		var parts []string
		for _, match := range asSlice(m["matches"]) {
			for _, h := range asSlice(match.(map[string]any)["headers"]) {
				hm := h.(map[string]any)
				parts = append(parts, fmt.Sprintf("[%v=%v]", hm["name"], hm["value"]))
			}
		}
		for _, b := range asSlice(m["backendRefs"]) {
			bm := b.(map[string]any)
			w, _ := json.Marshal(bm["weight"])
			parts = append(parts, fmt.Sprintf("%v=%s", bm["name"], w))
		}
		out = append(out, strings.Join(parts, ","))
	}
	return strings.Join(out, " | ")
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestGatewayAPIHTTPRoute: the HTTPRoute backendRef weights follow the
// steps, the header route is an added rule sending X-Canary: yes to the
// canary alone, and promotion ends at 100/0 with the rule removed. A second
// update is aborted: all weight returns to stable in the reconcile that
// records the abort.
func TestGatewayAPIHTTPRoute(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	manifest := strings.ReplaceAll(gatewayManifest, "NAMESPACE", ns)
	if out, err := e.KubectlStdin(ctx, []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	rollout := func() *v1alpha1.Rollout {
		var r v1alpha1.Rollout
		_ = e.Client.Get(ctx, framework.Key(ns, "web"), &r)
		return &r
	}
	waitFor := func(what, want string, phase v1alpha1.RolloutPhase, step int32) {
		t.Helper()
		framework.Eventually(t, 60*time.Second, what, func() (bool, string) {
			r := rollout()
			rules := httpRouteRules(e, ns)
			return r.Status.Phase == phase && (step < 0 || ptrVal(r.Status.CurrentStepIndex) == step) && rules == want,
				fmt.Sprintf("%s step %d %q; rules %q, want %q", r.Status.Phase, ptrVal(r.Status.CurrentStepIndex), r.Status.Message, rules, want)
		})
	}
	waitFor("the first version Healthy", "web-stable=100,web-canary=0", v1alpha1.RolloutPhaseHealthy, -1)

	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	waitFor("20% and the header rule at the first pause",
		"[X-Canary=yes],web-canary=1 | web-stable=80,web-canary=20", v1alpha1.RolloutPhasePaused, 2)
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	waitFor("60% at the second pause", "[X-Canary=yes],web-canary=1 | web-stable=40,web-canary=60", v1alpha1.RolloutPhasePaused, 4)
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	waitFor("promoted: 100/0, header rule removed", "web-stable=100,web-canary=0", v1alpha1.RolloutPhaseHealthy, -1)

	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:yellow")
	waitFor("the next update at its first pause", "[X-Canary=yes],web-canary=1 | web-stable=80,web-canary=20", v1alpha1.RolloutPhasePaused, 2)
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"abort":true}}`)
	framework.Eventually(t, 30*time.Second, "aborted: all weight on stable, header rule removed", func() (bool, string) {
		r := rollout()
		rules := httpRouteRules(e, ns)
		if r.Status.Phase == v1alpha1.RolloutPhaseDegraded && rules != "web-stable=100,web-canary=0" {
			t.Fatalf("Degraded after the abort while the rules are still %q: the weight must return in the same reconcile", rules)
		}
		return r.Status.Phase == v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s %q; rules %q", r.Status.Phase, r.Status.Message, rules)
	})
}
