package traffic

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// seed08Steps replaces seed 08's steps: the same kind of subset-split
// canary, with header and mirror routes added and removed by steps, and
// indefinite pauses where the test looks at the VirtualService.
const seed08Steps = `      steps:
      - setWeight: 10
      - setHeaderRoute:
          name: canary-header
          match:
          - headerName: X-Canary
            headerValue:
              exact: "yes"
      - setMirrorRoute:
          name: canary-mirror
          percentage: 50
          match:
          - method:
              exact: GET
      - pause: {}
      - setHeaderRoute:
          name: canary-header
      - setWeight: 40
      - pause: {}
      - setWeight: 80
      - pause: {duration: 1s}
`

// istioSeed08 is seed 08 with the steps above and managedRoutes for them.
// Its SkyWalking analysis is left out here: analysis.TestSkyWalkingSeed08
// covers that metric; this test is about the routing.
func istioSeed08(t *testing.T, e *framework.Env) string {
	raw, err := os.ReadFile(framework.Example(t, "08-istio-workloadref-skywalking.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	start, end := strings.Index(s, "      analysis:\n"), strings.Index(s, "      canaryMetadata:\n")
	steps := strings.Index(s, "      steps:\n")
	docEnd := strings.Index(s, "\n---\n")
	if start < 0 || end < start || steps < 0 || docEnd < steps {
		t.Fatal("seed 08 changed shape: update istioSeed08")
	}
	rollout := s[:start] + s[end:steps] + seed08Steps
	rollout = strings.Replace(rollout, "      trafficRouting:\n", "      trafficRouting:\n        managedRoutes:\n        - name: canary-header\n        - name: canary-mirror\n", 1)
	return rollout + s[docEnd:]
}

// vsRoutes summarises the VirtualService's HTTP routes as
// "name:dest=weight,…" entries, "mirror" noted.
func vsRoutes(e *framework.Env, ns string) string {
	vs := &unstructured.Unstructured{}
	vs.SetAPIVersion("networking.istio.io/v1alpha3")
	vs.SetKind("VirtualService")
	if err := e.Client.Get(context.Background(), framework.Key(ns, "reviews"), vs); err != nil {
		return err.Error()
	}
	routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	var out []string
	for _, r := range routes {
		m := r.(map[string]any)
		var dests []string
		for _, d := range m["route"].([]any) {
			dm := d.(map[string]any)
			subset, _, _ := unstructured.NestedString(dm, "destination", "subset")
			dests = append(dests, fmt.Sprintf("%s=%v", subset, dm["weight"]))
		}
		entry := fmt.Sprintf("%v:%s", m["name"], strings.Join(dests, ","))
		if mirror, ok := m["mirror"].(map[string]any); ok {
			entry += fmt.Sprintf("+mirror(%v)", mirror["subset"])
		}
		out = append(out, entry)
	}
	return strings.Join(out, " ")
}

// drSubsets is the DestinationRule's subset → pod-template hash.
func drSubsets(e *framework.Env, ns string) map[string]string {
	dr := &unstructured.Unstructured{}
	dr.SetAPIVersion("networking.istio.io/v1alpha3")
	dr.SetKind("DestinationRule")
	out := map[string]string{}
	if err := e.Client.Get(context.Background(), framework.Key(ns, "reviews"), dr); err != nil {
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

// TestIstioSeed08 plays seed 08 (workloadRef, subset-level Istio split):
// the DestinationRule subsets carry the canary and stable hashes, the
// VirtualService subset weights follow the steps, and the header and
// mirror routes appear, go, and are cleaned up at the end. A second update
// is aborted: all weight returns to stable and the managed routes go.
func TestIstioSeed08(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	if out, err := e.KubectlStdin(ctx, []byte(istioSeed08(t, e)), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply seed 08: %v\n%s", err, out)
	}
	rollout := func() *v1alpha1.Rollout {
		var r v1alpha1.Rollout
		_ = e.Client.Get(ctx, framework.Key(ns, "reviews-rollout"), &r)
		return &r
	}
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		r := rollout()
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy, fmt.Sprintf("%s %q", r.Status.Phase, r.Status.Message)
	})
	blue := rollout().Status.StableRS
	setDeploymentImage := func(image string) {
		if out, err := e.Kubectl(ctx, "set", "image", "-n", ns, "deployment/reviews", "reviews="+image); err != nil {
			t.Fatalf("set image: %v\n%s", err, out)
		}
	}
	setDeploymentImage("docker.io/istio/examples-bookinfo-reviews-v2:1.16.4")

	var green string
	framework.Eventually(t, 60*time.Second, "10% to the canary subset with header and mirror routes at the first pause", func() (bool, string) {
		r := rollout()
		green = r.Status.CurrentPodHash
		dr := drSubsets(e, ns)
		routes := vsRoutes(e, ns)
		want := "canary-header:canary=100 canary-mirror:stable=90,canary=10+mirror(canary) <nil>:stable=90,canary=10" // managedRoutes order
		return r.Status.Phase == v1alpha1.RolloutPhasePaused && green != blue && dr["canary"] == green && dr["stable"] == blue && routes == want,
			fmt.Sprintf("%s step %d %q; subsets %v; routes %q, want %q", r.Status.Phase, ptrVal(r.Status.CurrentStepIndex), r.Status.Message, dr, routes, want)
	})
	framework.PatchRolloutStatus(t, ns, "reviews-rollout", `{"status":{"pauseConditions":null}}`) // promote
	framework.Eventually(t, 60*time.Second, "the header route gone, the mirror kept, 40% at the second pause", func() (bool, string) {
		r := rollout()
		routes := vsRoutes(e, ns)
		want := "canary-mirror:stable=60,canary=40+mirror(canary) <nil>:stable=60,canary=40"
		return r.Status.Phase == v1alpha1.RolloutPhasePaused && ptrVal(r.Status.CurrentStepIndex) == 6 && routes == want,
			fmt.Sprintf("%s step %d; routes %q, want %q", r.Status.Phase, ptrVal(r.Status.CurrentStepIndex), routes, want)
	})
	framework.PatchRolloutStatus(t, ns, "reviews-rollout", `{"status":{"pauseConditions":null}}`)
	framework.Eventually(t, 60*time.Second, "promoted: all weight on the new stable, managed routes removed", func() (bool, string) {
		r := rollout()
		dr := drSubsets(e, ns)
		routes := vsRoutes(e, ns)
		want := "<nil>:stable=100,canary=0"
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy && r.Status.StableRS == green && dr["stable"] == green && routes == want,
			fmt.Sprintf("%s %q; subsets %v; routes %q, want %q", r.Status.Phase, r.Status.Message, dr, routes, want)
	})

	setDeploymentImage("docker.io/istio/examples-bookinfo-reviews-v3:1.16.4")
	framework.Eventually(t, 60*time.Second, "the next update paused with its routes", func() (bool, string) {
		r := rollout()
		routes := vsRoutes(e, ns)
		return r.Status.Phase == v1alpha1.RolloutPhasePaused && strings.Contains(routes, "canary-header") && strings.Contains(routes, "canary=10"), routes
	})
	framework.PatchRolloutStatus(t, ns, "reviews-rollout", `{"status":{"abort":true}}`) // abort
	// The reconcile that records the abort has already moved the weight:
	// the routes are read after the Rollout, so they can only be newer.
	framework.Eventually(t, 30*time.Second, "aborted: all weight back on stable, managed routes removed", func() (bool, string) {
		r := rollout()
		routes := vsRoutes(e, ns)
		want := "<nil>:stable=100,canary=0"
		if r.Status.Phase == v1alpha1.RolloutPhaseDegraded && routes != want {
			t.Fatalf("Degraded after the abort while the routes are still %q: the weight must return in the same reconcile", routes)
		}
		return r.Status.Abort && r.Status.Phase == v1alpha1.RolloutPhaseDegraded && drSubsets(e, ns)["stable"] == green,
			fmt.Sprintf("%s %q; routes %q, want %q", r.Status.Phase, r.Status.Message, routes, want)
	})
}

func ptrVal(p *int32) int32 {
	if p == nil {
		return -1
	}
	return *p
}
