package canary

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestWorkloadRefDeployment borrows the pod template and selector of an
// existing Deployment (seed 08's pattern): the Rollout runs it, the
// Deployment is scaled to zero once the Rollout is healthy (scaleDown:
// onsuccess), and a change to the Deployment's template starts a canary
// update of the Rollout.
func TestWorkloadRefDeployment(t *testing.T) {
	e := framework.Get(t)
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, framework.Testdata(t, "workloadref.yaml"))
	var blue string
	framework.Eventually(t, 60*time.Second, "the Rollout healthy with the Deployment's template, the Deployment at 0", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		blue = ro.Status.StableRS
		d, err := e.Clientset.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && blue != "" && avail[blue] == 3 && *d.Spec.Replicas == 0 &&
			ro.Status.WorkloadObservedGeneration == ro.Annotations[v1alpha1.WorkloadGenerationAnnotation]
		return ok, describe(ro, spec, avail)
	})
	if out, err := e.Kubectl(context.Background(), "set", "image", "deployment/web", "-n", ns, "web=argoproj/rollouts-demo:green"); err != nil {
		t.Fatalf("update the Deployment: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "a canary update from the Deployment's new template", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		green := ro.Status.CurrentPodHash
		ok := green != blue && ro.Status.Phase == v1alpha1.RolloutPhasePaused && avail[green] == 1 && spec[blue] == 2
		return ok, describe(ro, spec, avail)
	})
}
