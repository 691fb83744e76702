package analysis

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// seed01Template is seed 01's success-rate template with the window and
// interval shortened for a 1 s scrape; the address points at the test's
// Prometheus.
const seed01Template = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  args:
  - name: ingress
  metrics:
  - name: success-rate
    interval: 1s
    failureLimit: 3
    successCondition: result[0] > 0.90
    provider:
      prometheus:
        address: ADDRESS
        query: >+
          sum(
            rate(nginx_ingress_controller_requests{ingress="{{args.ingress}}",status!~"[4-5].*"}[10s]))
            /
            sum(rate(nginx_ingress_controller_requests{ingress="{{args.ingress}}"}[10s])
          )
`

// seed01Rollout is a basic canary with seed 01's background analysis
// (traffic routing comes with its own issue) and short pauses.
const seed01Rollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 5
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      analysis:
        templates: [{templateName: success-rate}]
        startingStep: 1
        args: [{name: ingress, value: rollouts-demo-stable}]
      steps:
      - setWeight: 20
      - pause: {duration: 3}
      - setWeight: 40
      - pause: {duration: 3}
      - setWeight: 60
      - pause: {duration: 3}
      - setWeight: 80
      - pause: {duration: 3}
`

func setImage(t *testing.T, ns, image string) {
	t.Helper()
	framework.SetRolloutImage(t, ns, "web", image)
}

// TestBackgroundPrometheusAnalysis is the headline behaviour without a
// router: at 100% success the update completes and its background run ends
// Successful; at 50% errors the run fails after failureLimit+1 failed
// measurements and the rollout aborts by itself — Degraded, stable at 100%,
// the run's message on the Rollout, and the run's phases told on the
// Rollout under Argo Rollouts' reasons, once each (the
// on-analysis-run-running and on-analysis-run-failed triggers follow them).
func TestBackgroundPrometheusAnalysis(t *testing.T) {
	ns := framework.Namespace(t)
	// The rollout's team is told of the failure on Slack: the engine's
	// Slack service, pointed at a local stand-in of Slack's API.
	slack := framework.StartSlack(t)
	apply(t, ns, fmt.Sprintf(slackSettings, slack.APIURL))
	t.Setenv("POD_NAMESPACE", ns) // where the controller reads its notification settings
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	traffic := framework.StartIngressTraffic(t, "rollouts-demo-stable", 0)
	prom := framework.StartPrometheus(t, traffic.Addr)
	waitForRate(t, prom)
	apply(t, ns, strings.ReplaceAll(seed01Template, "ADDRESS", prom.Address)+"---\n"+seed01Rollout)
	if out, err := framework.Get(t).Kubectl(context.Background(), "annotate", "rollout", "web", "-n", ns,
		"notifications.argoproj.io/subscribe.on-analysis-run-failed.slack=deploys"); err != nil {
		t.Fatalf("subscribe: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy, describeRollout(t, ns)
	})
	if n := len(runs(t, ns)); n != 0 {
		t.Fatalf("the first deploy must not run analysis; %d runs", n)
	}

	setImage(t, ns, "argoproj/rollouts-demo:green")
	framework.Eventually(t, 120*time.Second, "green completes", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.ObservedGeneration == "2" &&
			ro.Status.StableRS == ro.Status.CurrentPodHash, describeRollout(t, ns)
	})
	greenRuns := runs(t, ns)
	framework.Eventually(t, 30*time.Second, "green's background run ended Successful", func() (bool, string) {
		greenRuns = runs(t, ns)
		return len(greenRuns) == 1 && greenRuns[0].Status.Phase == v1alpha1.AnalysisPhaseSuccessful &&
			greenRuns[0].Status.MetricResults[0].Successful > 0, describeRollout(t, ns)
	})

	traffic.SetErrorRatio(0.5)
	waitForSuccessRatio(t, prom, 0.55)
	setImage(t, ns, "argoproj/rollouts-demo:yellow")
	var stable string
	framework.Eventually(t, 120*time.Second, "yellow aborted by its analysis", func() (bool, string) {
		ro := rollout(t, ns)
		stable = ro.Status.StableRS
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Abort &&
			strings.HasPrefix(ro.Status.Message, "RolloutAborted: Rollout aborted update to revision 3: ") &&
			strings.Contains(ro.Status.Message, "result[0] > 0.90"), describeRollout(t, ns)
	})
	yellowRun := ""
	for _, run := range runs(t, ns) {
		if run.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == stable {
			continue
		}
		yellowRun = run.Name
		if run.Status.Phase != v1alpha1.AnalysisPhaseFailed || run.Status.MetricResults[0].Failed != 4 {
			t.Errorf("yellow's run: %s", describeRun(&run))
		}
	}
	for _, want := range []framework.Event{
		{Reason: "AnalysisRunRunning", Type: "Normal", Message: "Background Analysis Run '" + yellowRun + "' Status New: 'Running' Previous: 'Pending'"},
		{Reason: "AnalysisRunFailed", Type: "Warning", Message: "Background Analysis Run '" + yellowRun + "' Status New: 'Failed' Previous: 'Running'"},
	} {
		n := 0
		for _, e := range framework.RolloutEvents(t, ns) {
			if e.Reason == want.Reason && strings.Contains(e.Message, "'"+yellowRun+"'") {
				n++
				if e.Message != want.Message || e.Type != want.Type {
					t.Errorf("%s told as %s %q, want %s %q", want.Reason, e.Type, e.Message, want.Type, want.Message)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s about %s told %d times, want once; the Rollout's facts: %+v", want.Reason, yellowRun, n, framework.RolloutEvents(t, ns))
		}
	}
	framework.Eventually(t, 60*time.Second, "green back at 100%", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Replicas == 5 && ro.Status.AvailableReplicas == 5 && ro.Status.UpdatedReplicas == 0 && ro.Status.StableRS == stable,
			describeRollout(t, ns)
	})
	// Once no Event owes a notification nothing more is sent: what
	// arrived by then is all there is.
	framework.Eventually(t, 30*time.Second, "Slack told of the failed analysis, nothing left to send", func() (bool, string) {
		pending, err := framework.Get(t).Clientset.CoreV1().Events(ns).List(context.Background(),
			metav1.ListOptions{LabelSelector: events.NotifyPendingLabel + "=true"})
		if err != nil {
			return false, err.Error()
		}
		return len(slack.Messages()) > 0 && len(pending.Items) == 0, fmt.Sprintf("%d messages, %d Events pending", len(slack.Messages()), len(pending.Items))
	})
	msgs := slack.Messages()
	want := "Analysis " + yellowRun + " of web failed"
	if len(msgs) != 1 || msgs[0].Channel != "deploys" || msgs[0].Token != "xoxb-e2e" || !strings.HasPrefix(msgs[0].Text, want) {
		t.Errorf("Slack got %+v, want one message to deploys with the Secret's token, starting %q", msgs, want)
	}
}

// slackSettings are notification settings with the engine's Slack service
// at a stand-in's API URL (%s), its token from the Secret, and a trigger
// for failed analyses whose message names the newest run of the rollout's
// revision.
const slackSettings = `apiVersion: v1
kind: ConfigMap
metadata:
  name: argo-rollouts-notification-configmap
data:
  service.slack: |
    token: $slack-token
    apiURL: %s
  trigger.on-analysis-run-failed: |
    - send: [analysis-run-failed]
  template.analysis-run-failed: |
    message: Analysis {{(index .analysisRuns 0).metadata.name}} of {{.rollout.metadata.name}} failed ({{.serviceType}})
---
apiVersion: v1
kind: Secret
metadata:
  name: argo-rollouts-notification-secret
stringData:
  slack-token: xoxb-e2e
`

// inconclusiveTemplate is seed 06's success band: between the conditions a
// measurement is Inconclusive.
const inconclusiveTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: band
spec:
  metrics:
  - name: success-rate-band
    successCondition: result >= 0.90
    failureCondition: result < 0.50
    provider:
      web:
        url: URL
        jsonPath: "{$.rate}"
`

const bandRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - analysis:
          templates: [{templateName: band}]
      - setWeight: 100
`

// TestInconclusiveAnalysisPausesUntilPromote: a measurement between the
// conditions pauses the rollout (InconclusiveAnalysisRun); promote moves
// past the step.
func TestInconclusiveAnalysisPausesUntilPromote(t *testing.T) {
	ns, _ := scoped(t)
	url := serve(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"rate":0.7}`)) })
	apply(t, ns, strings.ReplaceAll(inconclusiveTemplate, "URL", url)+"---\n"+bandRollout)
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		return rollout(t, ns).Status.Phase == v1alpha1.RolloutPhaseHealthy, describeRollout(t, ns)
	})
	setImage(t, ns, "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "paused on the inconclusive run", func() (bool, string) {
		ro := rollout(t, ns)
		paused := false
		for _, c := range ro.Status.PauseConditions {
			paused = paused || c.Reason == v1alpha1.PauseReasonInconclusiveAnalysis
		}
		return paused && ro.Status.Phase == v1alpha1.RolloutPhasePaused && *ro.Status.CurrentStepIndex == 1, describeRollout(t, ns)
	})
	// `kubectl argo rollouts promote`
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"pauseConditions":null}}`)
	framework.Eventually(t, 60*time.Second, "the update completes after promote", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash && ro.Status.ObservedGeneration == "2",
			describeRollout(t, ns)
	})
}

// TestUnreachablePrometheusNeverPromotes: with no Prometheus at the
// template's address every measurement errors; the background run ends
// Error after the consecutive-error limit and the rollout aborts instead
// of promoting.
func TestUnreachablePrometheusNeverPromotes(t *testing.T) {
	ns, _ := scoped(t)
	tmpl := strings.Replace(strings.ReplaceAll(seed01Template, "ADDRESS", "http://"+framework.FreeAddr(t)),
		"    failureLimit: 3\n", "    failureLimit: 3\n    consecutiveErrorLimit: 1\n", 1)
	apply(t, ns, tmpl+"---\n"+strings.Replace(seed01Rollout, "startingStep: 1", "startingStep: 0", 1))
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		return rollout(t, ns).Status.Phase == v1alpha1.RolloutPhaseHealthy, describeRollout(t, ns)
	})
	setImage(t, ns, "argoproj/rollouts-demo:green")
	framework.Eventually(t, 90*time.Second, "aborted on the erroring analysis", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Abort && ro.Status.StableRS != ro.Status.CurrentPodHash &&
			strings.Contains(ro.Status.Message, "consecutive errors"), describeRollout(t, ns)
	})
	for _, run := range runs(t, ns) {
		if run.Status.Phase != v1alpha1.AnalysisPhaseError || run.Status.MetricResults[0].Successful != 0 {
			t.Errorf("run: %s", describeRun(&run))
		}
	}
}
