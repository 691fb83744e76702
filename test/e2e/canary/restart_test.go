package canary

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestRestartReplacesEveryPod sends what `kubectl argo rollouts restart`
// sends (spec.restartAt): every pod older than it is evicted and replaced,
// and status.restartedAt echoes it when done.
func TestRestartReplacesEveryPod(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-canary")+"---\n"+strings.ReplaceAll(serviceTemplate, "NAME", "web-stable")+"---\n"+servicesManifest)
	waitForFirstVersion(t, ns, 4)
	before, err := e.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]bool{}
	for _, p := range before.Items {
		old[p.Name] = true
	}
	// Kubernetes times have second precision: make every pod strictly older.
	time.Sleep(1100 * time.Millisecond)
	restartAt := time.Now().UTC().Format(time.RFC3339)
	if out, err := e.Kubectl(ctx, "patch", "rollout", "rollouts-demo", "-n", ns, "--type", "merge",
		"-p", fmt.Sprintf(`{"spec":{"restartAt":%q}}`, restartAt)); err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	framework.Eventually(t, 90*time.Second, "all pods replaced and restartedAt recorded", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		pods, err := e.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		survivors := 0
		for _, p := range pods.Items {
			if old[p.Name] {
				survivors++
			}
		}
		ok := survivors == 0 && ro.Status.RestartedAt != nil && ro.Status.RestartedAt.UTC().Format(time.RFC3339) == restartAt &&
			ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.AvailableReplicas == 4
		return ok, fmt.Sprintf("%d old pods left; %s", survivors, describe(ro, spec, avail))
	})
}
