package cli

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// deployment reads the Deployment name in ns.
func deployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, name), &d); err != nil {
		t.Fatalf("get deployment %s/%s: %v", ns, name, err)
	}
	return &d
}

// TestWorkloadRefSetImageAndUndo checks that set image and undo change the
// Deployment a Rollout's workloadRef names, not the Rollout, and that the
// Rollout follows.
func TestWorkloadRefSetImageAndUndo(t *testing.T) {
	ns := cliNamespace(t)
	applyManifest(t, ns, framework.Testdata(t, "workloadref.yaml"))
	v := waitRollout(t, ns, demo, 60*time.Second, "Healthy on the Deployment's template", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.stable() != "" && v.avail[v.stable()] == 3 && v.image[v.stable()] == blue
	})
	blueHash := v.stable()

	mustCLI(t, ns, `deployment "web" image updated`+"\n", "set", "image", demo, "web="+green)
	if img := deployment(t, ns, "web").Spec.Template.Spec.Containers[0].Image; img != green {
		t.Fatalf("Deployment image %s, want %s", img, green)
	}
	if v := viewRollout(t, ns, demo); len(v.ro.Spec.Template.Spec.Containers) != 0 {
		t.Errorf("set image wrote a template into the Rollout: %v", v.ro.Spec.Template)
	}
	v = waitRollout(t, ns, demo, 60*time.Second, "a canary of the Deployment's new template, paused", func(v rolloutView) bool {
		return v.current() != blueHash && v.image[v.current()] == green && v.ro.Status.Phase == v1alpha1.RolloutPhasePaused && v.avail[v.current()] == 1
	})
	greenHash := v.current()
	mustCLI(t, ns, "rollout 'rollouts-demo' fully promoted\n", "promote", demo, "--full")
	waitRollout(t, ns, demo, 60*time.Second, "green stable", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.stable() == greenHash && v.avail[greenHash] == 3
	})

	mustCLI(t, ns, "rollout 'rollouts-demo' undo\n", "undo", demo)
	d := deployment(t, ns, "web")
	if img := d.Spec.Template.Spec.Containers[0].Image; img != blue {
		t.Errorf("after undo the Deployment's image is %s, want %s", img, blue)
	}
	if _, ok := d.Spec.Template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; ok {
		t.Errorf("undo copied the pod-template hash label into the Deployment: %v", d.Spec.Template.Labels)
	}
	v = waitRollout(t, ns, demo, 60*time.Second, "the rollout updating to blue's template", func(v rolloutView) bool {
		return v.current() != greenHash && v.image[v.current()] == blue && v.spec[v.current()] >= 1
	})
	// The comparison is with the Deployment's template (the Rollout has
	// none of its own): nothing to do.
	rev := v.revision[v.current()]
	mustCLI(t, ns, "skipped rollback (current template already matches revision "+rev+")\n", "undo", demo, "--to-revision", rev)
}
