package traffic

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const ambassadorMapping = `apiVersion: getambassador.io/v2
kind: Mapping
metadata: {name: web}
spec:
  prefix: /web/
  rewrite: /
  service: web-stable:80
  timeout_ms: 3000
`

// foreign reads an object of another project's kind; when it cannot, it
// returns nil and "absent" or the error.
func foreign(e *framework.Env, ns, apiVersion, kind, name string) (*unstructured.Unstructured, string) {
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion(apiVersion)
	obj.SetKind(kind)
	err := e.Client.Get(context.Background(), framework.Key(ns, name), obj)
	if apierrors.IsNotFound(err) {
		return nil, "absent"
	}
	if err != nil {
		return nil, err.Error()
	}
	return obj, ""
}

// mapping reads Mapping name as "service weight" with its owner, or
// "absent".
func mapping(e *framework.Env, ns, name string) string {
	obj, why := foreign(e, ns, "getambassador.io/v2", "Mapping", name)
	if obj == nil {
		return why
	}
	svc, _, _ := unstructured.NestedString(obj.Object, "spec", "service")
	out := "service=" + svc
	if w, found, _ := unstructured.NestedInt64(obj.Object, "spec", "weight"); found {
		out += fmt.Sprintf(" weight=%d", w)
	}
	if prefix, _, _ := unstructured.NestedString(obj.Object, "spec", "prefix"); prefix != "/web/" {
		out += " prefix=" + prefix
	}
	if o := metav1.GetControllerOf(obj); o != nil {
		out += " owner=" + o.Kind + "/" + o.Name
	}
	return out
}

// TestAmbassador walks a canary through the Ambassador router to the end,
// then another through an abort: the canary clone of the Mapping carries
// each step's weight, goes to 0 when the update ends, and is deleted a few
// seconds later; the user's Mapping is never changed.
func TestAmbassador(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	manifest := strings.Replace(routedRollout, "ROUTING", "        ambassador:\n          mappings: [web]", 1) + "---\n" + ambassadorMapping
	if out, err := e.KubectlStdin(ctx, []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	rollout := func() *v1alpha1.Rollout {
		var r v1alpha1.Rollout
		_ = e.Client.Get(ctx, framework.Key(ns, "web"), &r)
		return &r
	}
	const base = "service=web-stable:80"
	waitFor := func(what string, phase v1alpha1.RolloutPhase, canary string) {
		t.Helper()
		framework.Eventually(t, 60*time.Second, what, func() (bool, string) {
			r := rollout()
			got, b := mapping(e, ns, "web-canary"), mapping(e, ns, "web")
			if b != base {
				t.Fatalf("the user's Mapping changed: %s", b)
			}
			return r.Status.Phase == phase && got == canary, fmt.Sprintf("%s %q; canary Mapping %q, want %q", r.Status.Phase, r.Status.Message, got, canary)
		})
	}
	waitFor("the first version Healthy, no canary Mapping", v1alpha1.RolloutPhaseHealthy, "absent")

	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	waitFor("30% at the first pause", v1alpha1.RolloutPhasePaused, "service=web-canary:80 weight=30 owner=Rollout/web")
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	waitFor("70% at the second pause", v1alpha1.RolloutPhasePaused, "service=web-canary:80 weight=70 owner=Rollout/web")
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	// At the end the clone goes to 0 and stays there for the cleanup
	// delay before it is deleted.
	sawZero := false
	framework.Eventually(t, 60*time.Second, "promoted, canary Mapping deleted", func() (bool, string) {
		r := rollout()
		got := mapping(e, ns, "web-canary")
		sawZero = sawZero || strings.Contains(got, "weight=0")
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy && r.Status.StableRS == r.Status.CurrentPodHash && got == "absent",
			fmt.Sprintf("%s %q; canary Mapping %q", r.Status.Phase, r.Status.Message, got)
	})
	if !sawZero {
		t.Errorf("the canary Mapping was deleted without first going to weight 0")
	}

	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:yellow")
	waitFor("30% at the first pause of the second update", v1alpha1.RolloutPhasePaused, "service=web-canary:80 weight=30 owner=Rollout/web")
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"abort":true}}`)
	framework.Eventually(t, 30*time.Second, "aborted with the canary Mapping at 0", func() (bool, string) {
		r := rollout()
		got := mapping(e, ns, "web-canary")
		if r.Status.Phase == v1alpha1.RolloutPhaseDegraded && strings.Contains(got, "weight=30") {
			t.Fatalf("Degraded after the abort while the canary Mapping is still %q: it must go to 0 in the same reconcile", got)
		}
		return r.Status.Phase == v1alpha1.RolloutPhaseDegraded, fmt.Sprintf("%s %q; canary Mapping %q", r.Status.Phase, r.Status.Message, got)
	})
	waitFor("the canary Mapping deleted after the abort", v1alpha1.RolloutPhaseDegraded, "absent")
}
