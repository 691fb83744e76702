package traffic

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestNginxSeed04 plays seed 04: after a new image the canary Ingress
// exists, owned by the rollout, at canary-weight 5 while the rollout waits
// at its pause; promote takes the weight to 100, the stable Service
// switches to the new hash and the weight returns to 0, the canary Ingress
// staying in place.
func TestNginxSeed04(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	seed := framework.Example(t, "04-nginx-weight-manual.yaml")
	if out, err := e.Kubectl(ctx, "apply", "-n", ns, "-f", seed); err != nil {
		t.Fatalf("apply seed 04: %v\n%s", err, out)
	}
	ro := func() *v1alpha1.Rollout {
		var r v1alpha1.Rollout
		if err := e.Client.Get(ctx, framework.Key(ns, "rollouts-demo"), &r); err != nil {
			t.Fatal(err)
		}
		return &r
	}
	canary := func() (*networkingv1.Ingress, error) {
		var ing networkingv1.Ingress
		err := e.Client.Get(ctx, framework.Key(ns, "rollouts-demo-rollouts-demo-stable-canary"), &ing)
		return &ing, err
	}
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		r := ro()
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy, string(r.Status.Phase) + " " + r.Status.Message
	})
	framework.SetRolloutImage(t, ns, "rollouts-demo", "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "the canary Ingress at weight 5, paused", func() (bool, string) {
		ing, err := canary()
		if err != nil {
			return false, err.Error()
		}
		r := ro()
		owner := metav1.GetControllerOf(ing)
		ok := ing.Annotations["nginx.ingress.kubernetes.io/canary"] == "true" && ing.Annotations["nginx.ingress.kubernetes.io/canary-weight"] == "5" &&
			owner != nil && owner.UID == r.UID && r.Status.Phase == v1alpha1.RolloutPhasePaused &&
			r.Status.Canary.Weights != nil && r.Status.Canary.Weights.Canary.Weight == 5
		return ok, fmt.Sprintf("annotations %v owner %v phase %s weights %+v", ing.Annotations, owner, r.Status.Phase, r.Status.Canary.Weights)
	})
	ing, _ := canary()
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != "rollouts-demo-canary" ||
		ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("canary Ingress spec %+v", ing.Spec)
	}
	// `kubectl argo rollouts promote`
	framework.PatchRolloutStatus(t, ns, "rollouts-demo", `{"status":{"pauseConditions":null}}`)
	framework.Eventually(t, 60*time.Second, "stable switched to the new hash and the weight back to 0", func() (bool, string) {
		r := ro()
		var svc corev1.Service
		if err := e.Client.Get(ctx, framework.Key(ns, "rollouts-demo-stable"), &svc); err != nil {
			return false, err.Error()
		}
		ing, err := canary()
		if err != nil {
			return false, "the canary Ingress must stay: " + err.Error()
		}
		ok := r.Status.Phase == v1alpha1.RolloutPhaseHealthy && r.Status.StableRS == r.Status.CurrentPodHash &&
			svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] == r.Status.CurrentPodHash &&
			ing.Annotations["nginx.ingress.kubernetes.io/canary-weight"] == "0"
		return ok, fmt.Sprintf("phase %s stable %s current %s service %v weight %s", r.Status.Phase, r.Status.StableRS, r.Status.CurrentPodHash,
			svc.Spec.Selector, ing.Annotations["nginx.ingress.kubernetes.io/canary-weight"])
	})
	// The previous stable waits out scaleDownDelaySeconds (default 30 s)
	// with the deadline recorded on it, then goes to 0.
	r := ro()
	var old appsv1.ReplicaSet
	framework.Eventually(t, 10*time.Second, "the old stable kept with a scale-down deadline", func() (bool, string) {
		var list appsv1.ReplicaSetList
		_ = e.Client.List(ctx, &list, client.InNamespace(ns))
		for _, rs := range list.Items {
			if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != r.Status.CurrentPodHash {
				old = rs
			}
		}
		return *old.Spec.Replicas == 1 && old.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] != "",
			fmt.Sprintf("%s replicas %d annotations %v", old.Name, *old.Spec.Replicas, old.Annotations)
	})
	framework.Eventually(t, 60*time.Second, "the old stable scaled to 0 after the delay", func() (bool, string) {
		_ = e.Client.Get(ctx, client.ObjectKeyFromObject(&old), &old)
		return *old.Spec.Replicas == 0, fmt.Sprint(*old.Spec.Replicas)
	})
	if !hasWeightEvent(t, ns, "Traffic weight updated from 5 to 100") {
		t.Error("no TrafficWeightUpdated event for 5 → 100")
	}
}

func hasWeightEvent(t *testing.T, ns, msg string) bool {
	t.Helper()
	return slices.Contains(framework.RolloutEventMessages(t, ns, "TrafficWeightUpdated"), msg)
}

// TestNginxAbortReturnsWeightToStable: an abort at seed 04's pause sets
// the canary weight back to 0.
func TestNginxAbortReturnsWeightToStable(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	seed := framework.Example(t, "04-nginx-weight-manual.yaml")
	if out, err := e.Kubectl(ctx, "apply", "-n", ns, "-f", seed); err != nil {
		t.Fatalf("apply seed 04: %v\n%s", err, out)
	}
	weight := func() string {
		var ing networkingv1.Ingress
		if err := e.Client.Get(ctx, framework.Key(ns, "rollouts-demo-rollouts-demo-stable-canary"), &ing); err != nil {
			return err.Error()
		}
		return ing.Annotations["nginx.ingress.kubernetes.io/canary-weight"]
	}
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		var r v1alpha1.Rollout
		_ = e.Client.Get(ctx, framework.Key(ns, "rollouts-demo"), &r)
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy, string(r.Status.Phase)
	})
	framework.SetRolloutImage(t, ns, "rollouts-demo", "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "weight 5", func() (bool, string) { w := weight(); return w == "5", w })
	// `kubectl argo rollouts abort`
	framework.PatchRolloutStatus(t, ns, "rollouts-demo", `{"status":{"abort":true}}`)
	framework.Eventually(t, 30*time.Second, "weight 0 after the abort", func() (bool, string) {
		var r v1alpha1.Rollout
		_ = e.Client.Get(ctx, framework.Key(ns, "rollouts-demo"), &r)
		w := weight()
		return w == "0" && r.Status.Phase == v1alpha1.RolloutPhaseDegraded, w + " " + string(r.Status.Phase)
	})
}
