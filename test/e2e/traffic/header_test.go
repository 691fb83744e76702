package traffic

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestNginxSeed05 plays seed 05: the canary Ingress carries the
// canary-by-header annotation from additionalIngressAnnotations, and at the
// first pause the canary pod is labelled deployment=canary, the stable pod
// deployment=stable.
func TestNginxSeed05(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	seed := framework.Example(t, "05-nginx-header-canary.yaml")
	if out, err := e.Kubectl(ctx, "apply", "-n", ns, "-f", seed); err != nil {
		t.Fatalf("apply seed 05: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		var r v1alpha1.Rollout
		_ = e.Client.Get(ctx, framework.Key(ns, "canary-demo"), &r)
		return r.Status.Phase == v1alpha1.RolloutPhaseHealthy, string(r.Status.Phase)
	})
	framework.SetRolloutImage(t, ns, "canary-demo", "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "header canary Ingress and role labels at the pause", func() (bool, string) {
		var r v1alpha1.Rollout
		if err := e.Client.Get(ctx, framework.Key(ns, "canary-demo"), &r); err != nil {
			return false, err.Error()
		}
		var ing networkingv1.Ingress
		if err := e.Client.Get(ctx, framework.Key(ns, "canary-demo-canary-demo-canary"), &ing); err != nil {
			return false, err.Error()
		}
		var pods corev1.PodList
		if err := e.Client.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		roles := map[string]string{}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				roles[p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]] = p.Labels["deployment"]
			}
		}
		ok := r.Status.Phase == v1alpha1.RolloutPhasePaused && ing.Annotations["nginx.ingress.kubernetes.io/canary-by-header"] == "X-Canary" &&
			ing.Annotations["nginx.ingress.kubernetes.io/canary-weight"] == "20" &&
			roles[r.Status.CurrentPodHash] == "canary" && roles[r.Status.StableRS] == "stable"
		return ok, fmt.Sprintf("phase %s annotations %v roles %v", r.Status.Phase, ing.Annotations, roles)
	})
}
