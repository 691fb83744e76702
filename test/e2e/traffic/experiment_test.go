package traffic

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// experimentRollout is a canary whose second step runs an Experiment with
// one template on the new version taking weight 10 of the traffic for
// 20 s; ROUTING configures the router, OBJECTS are its objects.
const experimentRollout = `apiVersion: argoproj.io/v1alpha1
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
        ports: [{name: http, containerPort: 8080}]
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      trafficRouting:
ROUTING
      steps:
      - setWeight: 20
      - experiment:
          duration: 20s
          templates:
          - name: exp
            specRef: canary
            weight: 10
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
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
OBJECTS`

// istioSubsets routes by subset of the web host; the experiment's template
// gets its own destination (its Service's host) and DestinationRule subset.
const istioSubsets = `---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: web}
spec:
  hosts: [web]
  http:
  - name: primary
    route:
    - destination: {host: web, subset: stable}
      weight: 100
    - destination: {host: web, subset: canary}
      weight: 0
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: web}
spec:
  host: web
  subsets:
  - name: canary
    labels: {app: web}
  - name: stable
    labels: {app: web}
`

// istioSplit is the primary route's destinations ("host/subset=weight")
// and the DestinationRule's subsets ("name:hash").
func istioSplit(e *framework.Env, ns string) string {
	vs := &unstructured.Unstructured{}
	vs.SetAPIVersion("networking.istio.io/v1alpha3")
	vs.SetKind("VirtualService")
	if err := e.Client.Get(context.Background(), framework.Key(ns, "web"), vs); err != nil {
		return err.Error()
	}
	routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	var dests []string
	for _, d := range routes[0].(map[string]any)["route"].([]any) {
		m := d.(map[string]any)
		host, _, _ := unstructured.NestedString(m, "destination", "host")
		subset, _, _ := unstructured.NestedString(m, "destination", "subset")
		dests = append(dests, fmt.Sprintf("%s/%s=%v", host, subset, m["weight"]))
	}
	var subsets []string
	for name, hash := range drSubsetsOf(e, ns, "web") {
		subsets = append(subsets, name+":"+hash)
	}
	slices.Sort(subsets)
	return strings.Join(dests, ",") + " subsets " + strings.Join(subsets, ",")
}

// drSubsetsOf is a DestinationRule's subset → pod-template hash.
func drSubsetsOf(e *framework.Env, ns, name string) map[string]string {
	dr := &unstructured.Unstructured{}
	dr.SetAPIVersion("networking.istio.io/v1alpha3")
	dr.SetKind("DestinationRule")
	out := map[string]string{}
	if err := e.Client.Get(context.Background(), framework.Key(ns, name), dr); err != nil {
		out["error"] = err.Error()
		return out
	}
	subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	for _, s := range subsets {
		m := s.(map[string]any)
		hash, _, _ := unstructured.NestedString(m, "labels", v1alpha1.DefaultRolloutUniqueLabelKey)
		out[m["name"].(string)] = hash
	}
	return out
}

// TestExperimentWeight: on Istio (VirtualService destination and
// DestinationRule subset) and SMI (TrafficSplit backend) an experiment
// template with weight 10 appears as its own destination while the
// Experiment runs, the stable keeping 100 - 20 - 10, and disappears when
// it ends, the rollout going on to its pause.
func TestExperimentWeight(t *testing.T) {
	for _, c := range []struct {
		name, routing, objects string
		// want is the split while the Experiment (its template's Service
		// svc, its pods' hash exHash) runs, and after it.
		during, after func(svc, exHash, canary, stable string) string
		split         func(e *framework.Env, ns string) string
	}{
		{
			name:    "istio",
			routing: "        istio:\n          virtualService: {name: web, routes: [primary]}\n          destinationRule: {name: web, canarySubsetName: canary, stableSubsetName: stable}",
			objects: istioSubsets,
			during: func(svc, exHash, canary, stable string) string {
				return fmt.Sprintf("web/stable=70,web/canary=20,%s/=10 subsets %s", svc, strings.Join(sortedStrings("canary:"+canary, "stable:"+stable, svc+":"+exHash), ","))
			},
			after: func(_, _, canary, stable string) string {
				return fmt.Sprintf("web/stable=80,web/canary=20 subsets canary:%s,stable:%s", canary, stable)
			},
			split: istioSplit,
		},
		{
			name:    "smi",
			routing: "        smi: {}",
			during: func(svc, _, _, _ string) string {
				return "root=web-stable,web-canary=20," + svc + "=10,web-stable=70"
			},
			after: func(_, _, _, _ string) string { return "root=web-stable,web-canary=20,web-stable=80" },
			split: smiWeights,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := framework.Get(t)
			ctx := context.Background()
			ns := framework.Namespace(t)
			framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
			manifest := strings.NewReplacer("ROUTING", c.routing, "OBJECTS", c.objects).Replace(experimentRollout)
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
			stable := rollout().Status.StableRS
			framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:yellow")

			var ex v1alpha1.Experiment
			framework.Eventually(t, 90*time.Second, "the Experiment running with its weight routed", func() (bool, string) {
				r := rollout()
				name := r.Status.Canary.CurrentExperiment
				if name == "" || e.Client.Get(ctx, framework.Key(ns, name), &ex) != nil || ex.Status.Phase != v1alpha1.AnalysisPhaseRunning || len(ex.Status.TemplateStatuses) != 1 {
					return false, fmt.Sprintf("rollout step %d experiment %q phase %s", ptrVal(r.Status.CurrentStepIndex), name, ex.Status.Phase)
				}
				ts := ex.Status.TemplateStatuses[0]
				got, want := c.split(e, ns), c.during(ts.ServiceName, ts.PodTemplateHash, r.Status.CurrentPodHash, stable)
				w := r.Status.Canary.Weights
				statusOK := w != nil && len(w.Additional) == 1 && w.Additional[0] == v1alpha1.WeightDestination{ServiceName: ts.ServiceName, PodTemplateHash: ts.PodTemplateHash, Weight: 10} &&
					w.Stable.Weight == 70 && w.Canary.Weight == 20
				return ts.ServiceName != "" && got == want && statusOK, fmt.Sprintf("split %q, want %q; status weights %+v", got, want, w)
			})
			framework.Eventually(t, 90*time.Second, "the Experiment over, its destination gone, the rollout at its pause", func() (bool, string) {
				r := rollout()
				got, want := c.split(e, ns), c.after("", "", r.Status.CurrentPodHash, stable)
				w := r.Status.Canary.Weights
				return r.Status.Phase == v1alpha1.RolloutPhasePaused && ptrVal(r.Status.CurrentStepIndex) == 2 && got == want && w != nil && len(w.Additional) == 0,
					fmt.Sprintf("%s step %d; split %q, want %q; status weights %+v", r.Status.Phase, ptrVal(r.Status.CurrentStepIndex), got, want, w)
			})
		})
	}
}

func sortedStrings(s ...string) []string {
	slices.Sort(s)
	return s
}
