package traffic

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const appMeshObjects = `apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualService
metadata: {name: web}
spec:
  awsName: web.svc.cluster.local
  provider:
    virtualRouter:
      virtualRouterRef: {name: web-router}
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualRouter
metadata: {name: web-router}
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
        - virtualNodeRef: {name: web-canary}
          weight: 0
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: web-stable}
spec:
  podSelector:
    matchLabels: {app: web}
  listeners:
  - portMapping: {port: 8080, protocol: http}
  serviceDiscovery:
    dns: {hostname: web-stable.svc.cluster.local}
---
apiVersion: appmesh.k8s.aws/v1beta2
kind: VirtualNode
metadata: {name: web-canary}
spec:
  podSelector:
    matchLabels: {app: web}
  listeners:
  - portMapping: {port: 8080, protocol: http}
  serviceDiscovery:
    dns: {hostname: web-canary.svc.cluster.local}
`

// appMeshState is "stable=<hash> canary=<hash> weights=<stable>/<canary>"
// from the VirtualNodes' pod selectors and the VirtualRouter's route.
func appMeshState(e *framework.Env, ns string) string {
	get := func(kind, name string) *unstructured.Unstructured {
		obj, _ := foreign(e, ns, "appmesh.k8s.aws/v1beta2", kind, name)
		return obj
	}
	hash := func(name string) string {
		obj := get("VirtualNode", name)
		if obj == nil {
			return "missing"
		}
		h, _, _ := unstructured.NestedString(obj.Object, "spec", "podSelector", "matchLabels", v1alpha1.DefaultRolloutUniqueLabelKey)
		return h
	}
	var weights []string
	if vr := get("VirtualRouter", "web-router"); vr != nil {
		routes, _, _ := unstructured.NestedSlice(vr.Object, "spec", "routes")
		for _, r := range routes {
			targets, _, _ := unstructured.NestedSlice(r.(map[string]any), "httpRoute", "action", "weightedTargets")
			for _, t := range targets {
				weights = append(weights, fmt.Sprint(t.(map[string]any)["weight"]))
			}
		}
	}
	return fmt.Sprintf("stable=%s canary=%s weights=%s", hash("web-stable"), hash("web-canary"), strings.Join(weights, "/"))
}

// TestAppMesh walks a canary through App Mesh (stand-in CRDs with the
// controller's schema) to the end, then another through an abort: the
// VirtualNodes select the stable and canary hashes (placeholders when
// there is no canary), and the VirtualRouter's route weighs them by step.
func TestAppMesh(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	routing := "        appMesh:\n          virtualService:\n            name: web\n            routes: [primary]\n" +
		"          virtualNodeGroup:\n            canaryVirtualNodeRef: {name: web-canary}\n            stableVirtualNodeRef: {name: web-stable}"
	manifest := strings.Replace(routedRollout, "ROUTING", routing, 1) + "---\n" + appMeshObjects
	if out, err := e.KubectlStdin(ctx, []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	rollout := func() *v1alpha1.Rollout {
		var r v1alpha1.Rollout
		_ = e.Client.Get(ctx, framework.Key(ns, "web"), &r)
		return &r
	}
	waitFor := func(what string, phase v1alpha1.RolloutPhase, want func(r *v1alpha1.Rollout) string) {
		t.Helper()
		framework.Eventually(t, 60*time.Second, what, func() (bool, string) {
			r := rollout()
			got, w := appMeshState(e, ns), want(r)
			return r.Status.Phase == phase && got == w, fmt.Sprintf("%s %q; %s, want %s", r.Status.Phase, r.Status.Message, got, w)
		})
	}
	settled := func(r *v1alpha1.Rollout) string {
		return fmt.Sprintf("stable=%s canary=canary-hash weights=100/0", r.Status.StableRS)
	}
	split := func(stable, canary int) func(r *v1alpha1.Rollout) string {
		return func(r *v1alpha1.Rollout) string {
			return fmt.Sprintf("stable=%s canary=%s weights=%d/%d", r.Status.StableRS, r.Status.CurrentPodHash, stable, canary)
		}
	}
	waitFor("the first version Healthy, the canary node on the placeholder", v1alpha1.RolloutPhaseHealthy, settled)
	first := rollout().Status.StableRS

	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	waitFor("30% at the first pause", v1alpha1.RolloutPhasePaused, split(70, 30))
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	waitFor("70% at the second pause", v1alpha1.RolloutPhasePaused, split(30, 70))
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	waitFor("promoted: the stable node on the new pods, all weight on it", v1alpha1.RolloutPhaseHealthy, settled)
	if r := rollout(); r.Status.StableRS == first || r.Status.StableRS != r.Status.CurrentPodHash {
		t.Fatalf("Healthy without the new stable: stable %s (was %s), current %s", r.Status.StableRS, first, r.Status.CurrentPodHash)
	}

	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:yellow")
	waitFor("30% in the second update", v1alpha1.RolloutPhasePaused, split(70, 30))
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"abort":true}}`)
	framework.Eventually(t, 30*time.Second, "aborted with all weight on the stable node", func() (bool, string) {
		r := rollout()
		got := appMeshState(e, ns)
		if r.Status.Phase == v1alpha1.RolloutPhaseDegraded && !strings.HasSuffix(got, "weights=100/0") {
			t.Fatalf("Degraded after the abort while App Mesh is %s: the weights must return in the same reconcile", got)
		}
		return r.Status.Phase == v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s %q; %s", r.Status.Phase, r.Status.Message, got)
	})
}
