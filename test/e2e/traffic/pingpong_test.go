package traffic

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// istioPingPong is a ping-pong canary routed by an Istio VirtualService
// that names the ping and pong Services as hosts (no canary or stable
// Services: the pair takes their roles).
const istioPingPong = `apiVersion: argoproj.io/v1alpha1
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
      pingPong: {pingService: web-ping, pongService: web-pong}
      trafficRouting:
        istio:
          virtualService: {name: web, routes: [primary]}
      steps:
      - setWeight: 30
      - pause: {}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - name: primary
    route:
    - destination: {host: web-ping}
      weight: 100
    - destination: {host: web-pong}
      weight: 0
---
apiVersion: v1
kind: Service
metadata: {name: web-ping}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-pong}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
`

// TestIstioPingPong: the VirtualService's ping and pong destinations swap
// roles at each promotion, as status.canary.stablePingPong records; the
// canary-role Service follows the new pods; an abort gives the stable
// role's Service everything back.
func TestIstioPingPong(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	if out, err := e.KubectlStdin(ctx, []byte(istioPingPong), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	a := &albEnv{t: t, e: e, ns: ns, ctx: ctx}
	weights := func() string {
		vs := &unstructured.Unstructured{}
		vs.SetAPIVersion("networking.istio.io/v1alpha3")
		vs.SetKind("VirtualService")
		if err := e.Client.Get(ctx, framework.Key(ns, "web"), vs); err != nil {
			return err.Error()
		}
		routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		var out []string
		for _, d := range routes[0].(map[string]any)["route"].([]any) {
			dm := d.(map[string]any)
			host, _, _ := unstructured.NestedString(dm, "destination", "host")
			out = append(out, fmt.Sprintf("%s=%v", host, dm["weight"]))
		}
		return strings.Join(out, ",")
	}
	selector := func(name string) string {
		var s corev1.Service
		if err := e.Client.Get(ctx, framework.Key(ns, name), &s); err != nil {
			t.Fatal(err)
		}
		return s.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
	}
	at := func(what string, phase v1alpha1.RolloutPhase, stablePP v1alpha1.PingPongType, want string) {
		t.Helper()
		a.wait(90*time.Second, what, func(r *v1alpha1.Rollout) (bool, string) {
			got := weights()
			return r.Status.Phase == phase && r.Status.Canary.StablePingPong == stablePP && got == want,
				fmt.Sprintf("stablePingPong %q weights %s", r.Status.Canary.StablePingPong, got)
		})
	}
	at("the first deploy: ping stable", v1alpha1.RolloutPhaseHealthy, v1alpha1.PPPing, "web-ping=100,web-pong=0")
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	at("v2 at 30% on pong", v1alpha1.RolloutPhasePaused, v1alpha1.PPPing, "web-ping=70,web-pong=30")
	v2 := a.rollout().Status.CurrentPodHash
	if got := selector("web-pong"); got != v2 {
		t.Errorf("pong selects %q, want the canary %q", got, v2)
	}
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	at("v2 promoted: pong stable", v1alpha1.RolloutPhaseHealthy, v1alpha1.PPPong, "web-ping=0,web-pong=100")
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:yellow")
	at("v3 at 30% on ping", v1alpha1.RolloutPhasePaused, v1alpha1.PPPong, "web-ping=30,web-pong=70")
	if got, v3 := selector("web-ping"), a.rollout().Status.CurrentPodHash; got != v3 {
		t.Errorf("ping selects %q, want the canary %q", got, v3)
	}
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"abort":true}}`)
	at("v3 aborted: pong keeps everything", v1alpha1.RolloutPhaseDegraded, v1alpha1.PPPong, "web-ping=0,web-pong=100")
}
