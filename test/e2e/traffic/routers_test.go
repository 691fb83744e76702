package traffic

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// routedRollout is a canary of two replicas with stable/canary Services,
// routed by ROUTING, pausing at 30% and 70%.
const routedRollout = `apiVersion: argoproj.io/v1alpha1
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
ROUTING
      steps:
      - setWeight: 30
      - pause: {}
      - setWeight: 70
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
`

// router is one router's configuration for routedRollout, its extra
// objects, and how to read the stable/canary weights it was given.
type routerCase struct {
	name    string
	routing string
	objects string
	weights func(e *framework.Env, ns string) string
}

func traefikWeights(e *framework.Env, ns string) string {
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("traefik.io/v1alpha1")
	obj.SetKind("TraefikService")
	if err := e.Client.Get(context.Background(), framework.Key(ns, "web-weighted"), obj); err != nil {
		return err.Error()
	}
	services, _, _ := unstructured.NestedSlice(obj.Object, "spec", "weighted", "services")
	var w []string
	for _, s := range services {
		m := s.(map[string]any)
		w = append(w, fmt.Sprintf("%v=%v", m["name"], m["weight"]))
	}
	return strings.Join(w, ",")
}

// smiWeights also checks that the TrafficSplit is the rollout's.
func smiWeights(e *framework.Env, ns string) string {
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("split.smi-spec.io/v1alpha1")
	obj.SetKind("TrafficSplit")
	if err := e.Client.Get(context.Background(), framework.Key(ns, "web"), obj); err != nil {
		return err.Error()
	}
	owner := metav1.GetControllerOf(obj)
	if owner == nil || owner.Kind != "Rollout" || owner.Name != "web" {
		return fmt.Sprintf("TrafficSplit not controlled by the rollout: %v", obj.GetOwnerReferences())
	}
	root, _, _ := unstructured.NestedString(obj.Object, "spec", "service")
	backends, _, _ := unstructured.NestedSlice(obj.Object, "spec", "backends")
	w := []string{"root=" + root}
	for _, b := range backends {
		m := b.(map[string]any)
		w = append(w, fmt.Sprintf("%v=%v", m["service"], m["weight"]))
	}
	return strings.Join(w, ",")
}

var routerCases = []routerCase{
	{
		name:    "traefik",
		routing: "        traefik:\n          weightedTraefikServiceName: web-weighted",
		objects: `apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata: {name: web-weighted}
spec:
  weighted:
    services:
    - name: web-stable
      port: 80
      weight: 100
    - name: web-canary
      port: 80
      weight: 0
`,
		weights: traefikWeights,
	},
	{
		name:    "smi",
		routing: "        smi: {}",
		weights: smiWeights,
	},
}

// TestRouterWeightsAndAbort runs the same canary through each router whose
// own test does not already cover an abort: the weights follow the steps,
// and an abort gives the stable everything in the reconcile that records it.
func TestRouterWeightsAndAbort(t *testing.T) {
	want := map[string][3]string{ // at 30%, at 70%, after the abort
		"traefik": {"web-stable=70,web-canary=30", "web-stable=30,web-canary=70", "web-stable=100,web-canary=0"},
		"smi":     {"root=web-stable,web-canary=30,web-stable=70", "root=web-stable,web-canary=70,web-stable=30", "root=web-stable,web-canary=0,web-stable=100"},
	}
	for _, rc := range routerCases {
		t.Run(rc.name, func(t *testing.T) {
			e := framework.Get(t)
			ctx := context.Background()
			ns := framework.Namespace(t)
			framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
			manifest := strings.Replace(routedRollout, "ROUTING", rc.routing, 1)
			if rc.objects != "" {
				manifest += "---\n" + rc.objects
			}
			if out, err := e.KubectlStdin(ctx, []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
				t.Fatalf("apply: %v\n%s", err, out)
			}
			rollout := func() *v1alpha1.Rollout {
				var r v1alpha1.Rollout
				_ = e.Client.Get(ctx, framework.Key(ns, "web"), &r)
				return &r
			}
			waitFor := func(what, weights string, phase v1alpha1.RolloutPhase) {
				t.Helper()
				framework.Eventually(t, 60*time.Second, what, func() (bool, string) {
					r := rollout()
					got := rc.weights(e, ns)
					return r.Status.Phase == phase && got == weights, fmt.Sprintf("%s %q; weights %q, want %q", r.Status.Phase, r.Status.Message, got, weights)
				})
			}
			framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
				r := rollout()
				return r.Status.Phase == v1alpha1.RolloutPhaseHealthy, fmt.Sprintf("%s %q", r.Status.Phase, r.Status.Message)
			})
			framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
			waitFor("30% at the first pause", want[rc.name][0], v1alpha1.RolloutPhasePaused)
			framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
			waitFor("70% at the second pause", want[rc.name][1], v1alpha1.RolloutPhasePaused)
			framework.PatchRolloutStatus(t, ns, "web", `{"status":{"abort":true}}`)
			framework.Eventually(t, 30*time.Second, "aborted with all weight on stable", func() (bool, string) {
				r := rollout()
				got := rc.weights(e, ns)
				if r.Status.Phase == v1alpha1.RolloutPhaseDegraded && got != want[rc.name][2] {
					t.Fatalf("Degraded after the abort while the weights are still %q: they must return in the same reconcile", got)
				}
				return r.Status.Phase == v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s %q; weights %q", r.Status.Phase, r.Status.Message, got)
			})
			// The canary Service goes back to the stable pods too.
			var svc corev1.Service
			if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-canary"}, &svc); err != nil {
				t.Fatal(err)
			}
			if got := svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]; got != rollout().Status.StableRS {
				t.Errorf("canary Service selects %q after the abort, want the stable %q", got, rollout().Status.StableRS)
			}
		})
	}
}
