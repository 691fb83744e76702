package malformed

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestRolloutNamingAMalformedTemplate: a Rollout whose analysis names an
// AnalysisTemplate that exists but is malformed is InvalidSpec saying the
// template cannot be read and which field is wrong — not that it is
// missing — and goes on once the template is fixed.
func TestRolloutNamingAMalformedTemplate(t *testing.T) {
	ns := framework.Namespace(t)
	create(t, ns,
		strings.NewReplacer("NAME", "smoke", "MEMORY", "invalid").Replace(smokeTemplate),
		analysedRollout)
	startController(t, ns)
	jobMemory := "spec.metrics[0].provider.job.spec.template.spec.containers[0].resources.requests.memory"
	framework.Eventually(t, 60*time.Second, "InvalidSpec naming the malformed template's field", func() (bool, string) {
		msg := invalidSpec(read(t, ns, "Rollout", "web"))
		return strings.Contains(msg, `AnalysisTemplate "smoke" cannot be read: `+jobMemory), msg
	})
	// Fixed: replaced by a sound template of the same name.
	gvr := v1alpha1.GroupVersion.WithResource("analysistemplates")
	if err := framework.Get(t).Dynamic.Resource(gvr).Namespace(ns).Delete(context.Background(), "smoke", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	create(t, ns, strings.NewReplacer("NAME", "smoke", "MEMORY", "16Mi").Replace(smokeTemplate))
	framework.Eventually(t, 60*time.Second, "the InvalidSpec gone once the template is fixed", func() (bool, string) {
		msg := invalidSpec(read(t, ns, "Rollout", "web"))
		return msg == "", msg
	})
}

// TestExperimentNamingAMalformedTemplate: the same for an Experiment's
// analysis: InvalidSpec says the template cannot be read and which field
// is wrong, and the Experiment runs once the template is fixed.
func TestExperimentNamingAMalformedTemplate(t *testing.T) {
	ns := framework.Namespace(t)
	create(t, ns, strings.NewReplacer("NAME", "smoke", "MEMORY", "invalid").Replace(smokeTemplate), `apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: checked
spec:
  duration: 5s
  templates:
  - name: canary
    selector:
      matchLabels: {app: checked}
    template:
      metadata:
        labels: {app: checked}
      spec:
        containers:
        - name: demo
          image: argoproj/rollouts-demo:blue
  analyses:
  - name: smoke
    templateName: smoke
`)
	startController(t, ns)
	jobMemory := "spec.metrics[0].provider.job.spec.template.spec.containers[0].resources.requests.memory"
	framework.Eventually(t, 60*time.Second, "InvalidSpec naming the malformed template's field", func() (bool, string) {
		msg := invalidSpec(read(t, ns, "Experiment", "checked"))
		return strings.Contains(msg, `AnalysisTemplate "smoke" cannot be read: `+jobMemory), msg
	})
	gvr := v1alpha1.GroupVersion.WithResource("analysistemplates")
	if err := framework.Get(t).Dynamic.Resource(gvr).Namespace(ns).Delete(context.Background(), "smoke", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	create(t, ns, strings.NewReplacer("NAME", "smoke", "MEMORY", "16Mi").Replace(smokeTemplate))
	framework.Eventually(t, 90*time.Second, "the Experiment Successful once the template is fixed", func() (bool, string) {
		u := read(t, ns, "Experiment", "checked")
		return status(u, "phase") == string(v1alpha1.AnalysisPhaseSuccessful), status(u, "phase") + " " + status(u, "message") + " " + invalidSpec(u)
	})
}
