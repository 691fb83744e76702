package experimentstep

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// documented is Argo Rollouts' documented experiment step: after 50%, a
// baseline on the stable template and a canary on the new one run
// DURATION while an analysis (compareTemplate) compares them through their
// pod-template hashes; then the rollout completes.
const documented = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
  labels: {team: shop}
spec:
  replicas: 2
  revisionHistoryLimit: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: argoproj/rollouts-demo:blue
        ports: [{name: http, containerPort: 8080}]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - experiment:
          DURATION
          templates:
          - name: baseline
            specRef: stable
          - name: canary
            specRef: canary
          analyses:
          - name: compare
            templateName: compare
            args:
            - name: baseline-hash
              value: "{{templates.baseline.podTemplateHash}}"
            - name: canary-hash
              value: "{{templates.canary.podTemplateHash}}"
`

// compareTemplate is the analysis of the documented step: the canary's
// error ratio minus the baseline's, each selected by its template's hash,
// on the Prometheus at ADDRESS.
const compareTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: compare
spec:
  args:
  - name: baseline-hash
  - name: canary-hash
  metrics:
  - name: error-ratio-difference
    initialDelay: 5s
    interval: 3s
    failureLimit: 0
    consecutiveErrorLimit: 10
    successCondition: result[0] <= 0.05
    provider:
      prometheus:
        address: ADDRESS
        query: >+
          ` + framework.ErrorRatioDifference + "\n"

// startDocumented applies the documented rollout, waits for its first
// version, updates the image and starts counting both versions' requests
// (the canary's with canaryErrors of them failing) under the hashes the
// Experiment will give its templates. It returns the step's Experiment
// name as Argo Rollouts forms it.
func startDocumented(t *testing.T, ns, duration string, canaryErrors float64) string {
	t.Helper()
	traffic := framework.StartHashTraffic(t)
	prom := framework.StartPrometheus(t, traffic.Addr)
	apply(t, ns, strings.NewReplacer("DURATION", duration, "ADDRESS", prom.Address).Replace(documented+"---\n"+compareTemplate))
	stable := healthy(t, ns, "web")
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:yellow")
	ro := waitRollout(t, ns, "web", 30*time.Second, "the update to start", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.CurrentPodHash != stable
	})
	canary := ro.Status.CurrentPodHash
	traffic.Serve(templateHash(t, ns, stable), 0)
	traffic.Serve(templateHash(t, ns, canary), canaryErrors)
	return "web-" + canary + "-2-1"
}

// TestDocumentedStepPasses: the step's Experiment is created as Argo
// Rollouts creates it, named by the status while it runs, its analysis
// compares the two templates' hashes on a real Prometheus; it succeeds and
// the rollout proceeds to completion.
func TestDocumentedStepPasses(t *testing.T) {
	ns := scoped(t)
	name := startDocumented(t, ns, "duration: 20s", 0)
	ex := waitExperiment(t, ns, name, 90*time.Second, "the step's Experiment Running", func(ex *v1alpha1.Experiment) bool {
		return ex.Status.Phase == v1alpha1.AnalysisPhaseRunning
	})
	ro := getRollout(t, ns, "web")
	if ro.Status.Canary.CurrentExperiment != name || *ro.Status.CurrentStepIndex != 1 {
		t.Fatalf("while it runs: %s", describeRollout(ro))
	}
	ref := metav1.GetControllerOf(ex)
	if ref == nil || ref.Kind != "Rollout" || ref.UID != ro.UID || ex.Labels["team"] != "shop" ||
		ex.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != ro.Status.CurrentPodHash || ex.Annotations[v1alpha1.RevisionAnnotation] != "2" {
		t.Fatalf("Experiment metadata: owner %+v labels %v annotations %v", ref, ex.Labels, ex.Annotations)
	}
	images := map[string]string{}
	for _, tmpl := range ex.Spec.Templates {
		images[tmpl.Name] = tmpl.Template.Spec.Containers[0].Image
	}
	if images["baseline"] != "argoproj/rollouts-demo:blue" || images["canary"] != "argoproj/rollouts-demo:yellow" {
		t.Fatalf("templates: %v, want the stable image for the baseline and the new one for the canary", images)
	}
	waitExperiment(t, ns, name, 60*time.Second, "the Experiment Successful", func(ex *v1alpha1.Experiment) bool {
		return ex.Status.Phase == v1alpha1.AnalysisPhaseSuccessful
	})
	ro = waitRollout(t, ns, "web", 90*time.Second, "the rollout Healthy on the new version", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash
	})
	if ro.Status.Canary.CurrentExperiment != "" {
		t.Errorf("completed, still naming the experiment: %s", describeRollout(ro))
	}
	var reasons []string
	for _, e := range framework.RolloutEvents(t, ns) {
		reasons = append(reasons, e.Reason)
	}
	if !slices.Contains(reasons, rules.ReasonExperimentCreated) {
		t.Errorf("events %v: want %s", reasons, rules.ReasonExperimentCreated)
	}
	if n := len(experiments(t, ns)); n != 1 {
		t.Errorf("%d Experiments, want exactly one", n)
	}
}

// TestDocumentedStepFailsAndAborts: the canary answers half its requests
// with errors, the comparison fails, the Experiment fails, and the rollout
// aborts with the Experiment's message and goes back to the stable version.
func TestDocumentedStepFailsAndAborts(t *testing.T) {
	ns := scoped(t)
	name := startDocumented(t, ns, "duration: 5m", 0.5)
	ex := waitExperiment(t, ns, name, 120*time.Second, "the Experiment Failed", func(ex *v1alpha1.Experiment) bool {
		return ex.Status.Phase == v1alpha1.AnalysisPhaseFailed
	})
	if ex.Status.Message == "" {
		t.Fatalf("a failed Experiment without a message: %s", describeExperiment(ex))
	}
	want := "Rollout aborted update to revision 2: " + ex.Status.Message
	ro := waitRollout(t, ns, "web", 60*time.Second, "the rollout aborted back to stable", func(ro *v1alpha1.Rollout) bool {
		c := rules.FindCondition(ro.Status.Conditions, v1alpha1.RolloutProgressing)
		return ro.Status.Abort && ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && c != nil && c.Reason == v1alpha1.RolloutAbortedReason && c.Message == want
	})
	if ro.Status.Canary.CurrentExperiment != "" {
		t.Errorf("aborted, still naming the experiment: %s", describeRollout(ro))
	}
	framework.Eventually(t, 60*time.Second, "the canary scaled to 0, the stable whole", func() (bool, string) {
		var got []string
		ok := true
		for _, rs := range replicaSets(t, ns) {
			if len(rs.OwnerReferences) == 0 || rs.OwnerReferences[0].Kind != "Rollout" {
				continue
			}
			h := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
			switch {
			case h == ro.Status.CurrentPodHash && *rs.Spec.Replicas != 0, h == ro.Status.StableRS && rs.Status.AvailableReplicas != 2:
				ok = false
			}
			got = append(got, rs.Name)
		}
		return ok, strings.Join(got, ",")
	})
}

// TestPromoteTerminatesTheExperiment: `promote` during a long experiment
// step skips it; the Experiment is told to stop (spec.terminate) and ends,
// and the rollout goes on to completion.
func TestPromoteTerminatesTheExperiment(t *testing.T) {
	ns := scoped(t)
	name := startDocumented(t, ns, "duration: 1h", 0)
	waitExperiment(t, ns, name, 90*time.Second, "the Experiment Running", func(ex *v1alpha1.Experiment) bool {
		return ex.Status.Phase == v1alpha1.AnalysisPhaseRunning
	})
	cli(t, ns, "promote", "web")
	ex := waitExperiment(t, ns, name, 60*time.Second, "the Experiment terminated and ended", func(ex *v1alpha1.Experiment) bool {
		return ex.Spec.Terminate && ex.Status.Phase.Completed()
	})
	if ex.Status.Phase == v1alpha1.AnalysisPhaseFailed || ex.Status.Phase == v1alpha1.AnalysisPhaseError {
		t.Errorf("a terminated Experiment ended %s", describeExperiment(ex))
	}
	waitRollout(t, ns, "web", 90*time.Second, "the rollout Healthy on the new version", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash && ro.Status.Canary.CurrentExperiment == ""
	})
}
