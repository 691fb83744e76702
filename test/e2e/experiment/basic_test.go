package experiment

import (
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// twoTemplates is framework.TwoTemplateExperiment: a baseline and a canary
// with a Service, running DURATION.
const twoTemplates = framework.TwoTemplateExperiment

// TestDurationSuccessful: two templates run their duration, the Experiment
// goes Pending → Running → Successful, the canary's Service exists while it
// runs and is deleted after, and both ReplicaSets end at 0 replicas after
// the scale-down delay.
func TestDurationSuccessful(t *testing.T) {
	ns, ctl := scoped(t)
	apply(t, ns, replace(twoTemplates, "NAME", "exp", "DURATION", "10s", "CANARY", "argoproj/rollouts-demo:yellow"))
	ex := waitForPhase(t, ns, "exp", v1alpha1.AnalysisPhaseRunning, 60*time.Second)
	if ex.Status.AvailableAt == nil {
		t.Fatalf("running without availableAt: %s", describe(ex))
	}
	rss := replicaSets(t, ns)
	base, canary := rss["exp-baseline"], rss["exp-canary"]
	if *base.Spec.Replicas != 2 || *canary.Spec.Replicas != 1 || base.Annotations[v1alpha1.ExperimentTemplateNameAnnotationKey] != "baseline" ||
		base.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == "" {
		t.Fatalf("ReplicaSets: baseline %v %v, canary %v", base.Spec.Replicas, base.Annotations, canary.Spec.Replicas)
	}
	svc, ok := services(t, ns)["exp-canary"]
	if !ok || svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey] != canary.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] || svc.Spec.Ports[0].Port != 8080 {
		t.Fatalf("canary Service: %v %+v", ok, svc.Spec)
	}
	for _, ts := range ex.Status.TemplateStatuses {
		if ts.Status != v1alpha1.TemplateStatusRunning {
			t.Errorf("template %s: %s", ts.Name, ts.Status)
		}
		if ts.Name == "canary" && (ts.ServiceName != "exp-canary" || ts.PodTemplateHash != canary.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]) {
			t.Errorf("canary status: service %q hash %q", ts.ServiceName, ts.PodTemplateHash)
		}
	}
	waitForPhase(t, ns, "exp", v1alpha1.AnalysisPhaseSuccessful, 60*time.Second)
	waitScaledDown(t, ns, 30*time.Second, "exp-baseline", "exp-canary")
	if _, ok := services(t, ns)["exp-canary"]; ok {
		t.Errorf("the canary Service outlived the experiment")
	}
	// The metrics as Argo Rollouts names them, read at scrape time.
	framework.Eventually(t, 15*time.Second, "experiment metrics", func() (bool, string) {
		body, err := framework.HTTPGet("http://" + ctl.MetricsAddr + "/metrics")
		return err == nil && strings.Contains(body, `experiment_info{name="exp",namespace="`+ns+`",phase="Successful"} 1`) &&
			strings.Contains(body, `experiment_phase{name="exp",namespace="`+ns+`",phase="Running"} 0`) &&
			strings.Contains(body, `experiment_reconcile_count{name="exp",namespace="`+ns+`"}`), body
	})
	ex = getExperiment(t, ns, "exp")
	for _, ts := range ex.Status.TemplateStatuses {
		if ts.Status != v1alpha1.TemplateStatusSuccessful || ts.ServiceName != "" {
			t.Errorf("template %s after: %s service %q", ts.Name, ts.Status, ts.ServiceName)
		}
	}
}
