package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const apisixRoute = `apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata: {name: web}
spec:
  http:
  - name: web-rule
    priority: 2
    match:
      hosts: [web.example.com]
      paths: [/*]
    backends:
    - serviceName: web-stable
      servicePort: 80
      weight: 100
    - serviceName: web-canary
      servicePort: 80
      weight: 0
`

// apisixRules reads ApisixRoute name's rules as
// "rule priority service=weight... exprs", with its owner, or "absent".
func apisixRules(e *framework.Env, ns, name string) string {
	obj, why := foreign(e, ns, "apisix.apache.org/v2", "ApisixRoute", name)
	if obj == nil {
		return why
	}
	http, _, _ := unstructured.NestedSlice(obj.Object, "spec", "http")
	var out []string
	for _, r := range http {
		rule := r.(map[string]any)
		s := fmt.Sprintf("%v priority=%v", rule["name"], rule["priority"])
		backends, _ := rule["backends"].([]any)
		for _, b := range backends {
			be := b.(map[string]any)
			s += fmt.Sprintf(" %v=%v", be["serviceName"], be["weight"])
		}
		if exprs, found, _ := unstructured.NestedSlice(rule, "match", "exprs"); found {
			j, _ := json.Marshal(exprs)
			s += " exprs=" + string(j)
		}
		out = append(out, s)
	}
	if o := metav1.GetControllerOf(obj); o != nil {
		out = append(out, "owner="+o.Kind+"/"+o.Name)
	}
	return strings.Join(out, "; ")
}

// TestApisix walks a canary with a header route through APISIX (the
// project's own ApisixRoute CRD) to the end, then another through an
// abort: the rule's backend weights follow the steps, the header route is
// an ApisixRoute of its own sending matching requests to the canary alone,
// and it is deleted when the update ends either way.
func TestApisix(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	manifest := strings.NewReplacer(
		"ROUTING", "        managedRoutes:\n        - name: web-header\n        apisix:\n          route:\n            name: web\n            rules: [web-rule]",
		"      steps:\n", "      steps:\n      - setHeaderRoute:\n          name: web-header\n          match:\n          - headerName: X-Canary\n            headerValue: {exact: \"yes\"}\n",
	).Replace(routedRollout) + "---\n" + apisixRoute
	if out, err := e.KubectlStdin(ctx, []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	rollout := func() *v1alpha1.Rollout {
		var r v1alpha1.Rollout
		_ = e.Client.Get(ctx, framework.Key(ns, "web"), &r)
		return &r
	}
	const header = `web-rule priority=3 web-canary=100 exprs=[{"op":"Equal","subject":{"name":"X-Canary","scope":"Header"},"value":"yes"}]; owner=Rollout/web`
	waitFor := func(what string, phase v1alpha1.RolloutPhase, base, headerRoute string) {
		t.Helper()
		framework.Eventually(t, 60*time.Second, what, func() (bool, string) {
			r := rollout()
			b, h := apisixRules(e, ns, "web"), apisixRules(e, ns, "web-header")
			return r.Status.Phase == phase && b == base && h == headerRoute,
				fmt.Sprintf("%s %q; ApisixRoute %q, want %q; header route %q, want %q", r.Status.Phase, r.Status.Message, b, base, h, headerRoute)
		})
	}
	waitFor("the first version Healthy", v1alpha1.RolloutPhaseHealthy, "web-rule priority=2 web-stable=100 web-canary=0", "absent")

	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	waitFor("30% and the header route at the first pause", v1alpha1.RolloutPhasePaused, "web-rule priority=2 web-stable=70 web-canary=30", header)
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	waitFor("70% at the second pause", v1alpha1.RolloutPhasePaused, "web-rule priority=2 web-stable=30 web-canary=70", header)
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	waitFor("promoted: all on the new stable, header route gone", v1alpha1.RolloutPhaseHealthy, "web-rule priority=2 web-stable=100 web-canary=0", "absent")
	if r := rollout(); r.Status.StableRS != r.Status.CurrentPodHash {
		t.Fatalf("Healthy without the new stable: stable %s, current %s", r.Status.StableRS, r.Status.CurrentPodHash)
	}

	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:yellow")
	waitFor("30% and the header route in the second update", v1alpha1.RolloutPhasePaused, "web-rule priority=2 web-stable=70 web-canary=30", header)
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"abort":true}}`)
	framework.Eventually(t, 30*time.Second, "aborted with all weight on stable and the header route gone", func() (bool, string) {
		r := rollout()
		b, h := apisixRules(e, ns, "web"), apisixRules(e, ns, "web-header")
		if r.Status.Phase == v1alpha1.RolloutPhaseDegraded && (b != "web-rule priority=2 web-stable=100 web-canary=0" || h != "absent") {
			t.Fatalf("Degraded after the abort while the ApisixRoute is %q and the header route %q: both must change in the same reconcile", b, h)
		}
		return r.Status.Phase == v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s %q; ApisixRoute %q; header route %q", r.Status.Phase, r.Status.Message, b, h)
	})
}
