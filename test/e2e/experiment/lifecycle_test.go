package experiment

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestProgressDeadline: a template whose image never pulls (a registry
// host ending in .invalid) fails the Experiment once its
// progressDeadlineSeconds pass, with Argo Rollouts' message, and the
// ReplicaSets are scaled down.
func TestProgressDeadline(t *testing.T) {
	ns, _ := scoped(t)
	m := replace(twoTemplates, "NAME", "exp", "DURATION", "1m", "CANARY", "registry.invalid/demo:1")
	m = strings.Replace(m, "spec:\n  duration", "spec:\n  progressDeadlineSeconds: 15\n  duration", 1)
	apply(t, ns, m)
	ex := waitForPhase(t, ns, "exp", v1alpha1.AnalysisPhaseFailed, 90*time.Second)
	want := "Template 'canary' exceeded its progressDeadlineSeconds (15)"
	if ex.Status.Message != want || ex.Status.AvailableAt != nil {
		t.Errorf("failed: %s", describe(ex))
	}
	waitScaledDown(t, ns, 30*time.Second, "exp-baseline", "exp-canary")
	if evs := experimentEvents(t, ns, "exp", "TemplateFailed"); len(evs) != 1 || !strings.Contains(evs[0], want) {
		t.Errorf("TemplateFailed events: %q", evs)
	}
}

// checked is an Experiment without a duration whose required analysis
// asks a local web server; it ends when the analysis does.
const checked = `apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: NAME
spec:
  scaleDownDelaySeconds: 2
  templates:
  - name: canary
    selector:
      matchLabels: {app: NAME}
    template:
      metadata:
        labels: {app: NAME}
      spec:
        containers:
        - name: demo
          image: argoproj/rollouts-demo:yellow
  analyses:
  - name: check
    templateName: check
    requiredForCompletion: true
    args:
    - name: rs
      value: "{{templates.canary.replicaset.name}}"
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: check
spec:
  args:
  - name: rs
  metrics:
  - name: ok
    interval: 1s
    count: 2
    failureLimit: 0
    successCondition: result == true
    provider:
      web:
        url: "URL?rs={{args.rs}}"
        jsonPath: "{$.ok}"
`

// verdict serves {"ok": <v>} and counts the requests per ReplicaSet.
type verdict struct {
	URL string
	ok  atomic.Bool
}

func startVerdict(t *testing.T, ok bool) *verdict {
	t.Helper()
	v := &verdict{}
	v.ok.Store(ok)
	addr := framework.FreeAddr(t)
	v.URL = "http://" + addr + "/"
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"ok": %v}`, v.ok.Load())
	})}
	go func() { _ = srv.ListenAndServe() }()
	t.Cleanup(func() { _ = srv.Close() })
	return v
}

// TestTerminateAndRetry: `terminate experiment` (spec.terminate) ends a
// running Experiment Successful and winds it down; `retry experiment`
// (status null) on a failed one runs it again, with a new AnalysisRun next
// to the old one, to Successful.
func TestTerminateAndRetry(t *testing.T) {
	ns, _ := scoped(t)
	e := framework.Get(t)
	ctx := context.Background()

	// Runs until terminated: no duration, no analysis.
	apply(t, ns, replace(twoTemplates, "NAME", "forever", "  duration: DURATION\n", "", "CANARY", "argoproj/rollouts-demo:yellow"))
	waitForPhase(t, ns, "forever", v1alpha1.AnalysisPhaseRunning, 60*time.Second)
	if out, err := e.Kubectl(ctx, "patch", "-n", ns, "experiment", "forever", "--type", "merge", "-p", `{"spec":{"terminate":true}}`); err != nil {
		t.Fatalf("terminate: %v %s", err, out)
	}
	ex := waitForPhase(t, ns, "forever", v1alpha1.AnalysisPhaseSuccessful, 30*time.Second)
	for _, ts := range ex.Status.TemplateStatuses {
		if ts.Status != v1alpha1.TemplateStatusSuccessful {
			t.Errorf("terminated: %s", describe(ex))
		}
	}
	waitScaledDown(t, ns, 30*time.Second, "forever-baseline", "forever-canary")

	v := startVerdict(t, false)
	apply(t, ns, replace(checked, "NAME", "exp", "URL", v.URL))
	ex = waitForPhase(t, ns, "exp", v1alpha1.AnalysisPhaseFailed, 90*time.Second)
	if r := ex.Status.AnalysisRuns; len(r) != 1 || r[0].AnalysisRun != "exp-check" {
		t.Fatalf("failed: %s", describe(ex))
	}
	waitScaledDown(t, ns, 30*time.Second, "exp-canary")
	v.ok.Store(true)
	if out, err := e.Kubectl(ctx, "patch", "-n", ns, "experiment", "exp", "--subresource", "status", "--type", "merge", "-p", `{"status":null}`); err != nil {
		t.Fatalf("retry: %v %s", err, out)
	}
	ex = waitForPhase(t, ns, "exp", v1alpha1.AnalysisPhaseSuccessful, 90*time.Second)
	if r := ex.Status.AnalysisRuns; len(r) != 1 || r[0].AnalysisRun != "exp-check.1" || r[0].Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("retried: %s", describe(ex))
	}
	run := getRun(t, ns, "exp-check.1")
	if !hasArg(run, "rs", "exp-canary") {
		t.Errorf("args: %+v", run.Spec.Args)
	}
	if old := getRun(t, ns, "exp-check"); old.Status.Phase != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("the first run: %s", old.Status.Phase)
	}
	waitScaledDown(t, ns, 30*time.Second, "exp-canary")
}

// experimentEvents are the messages of the Events with reason on the
// Experiment.
func experimentEvents(t *testing.T, ns, name, reason string) []string {
	t.Helper()
	list, err := framework.Get(t).Clientset.CoreV1().Events(ns).List(context.Background(), metav1ListOptions())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "Experiment" && e.InvolvedObject.Name == name && e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}

// TestReplicaSetNameTaken: a ReplicaSet the Experiment does not control
// already holds a template's ReplicaSet name. The Experiment ends in Error
// with a message naming the ReplicaSet and the fix (Argo Rollouts retries
// with a new collisionCount forever, as the name does not change), and the
// other ReplicaSet is left alone.
func TestReplicaSetNameTaken(t *testing.T) {
	ns, _ := scoped(t)
	apply(t, ns, `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: taken-baseline
spec:
  replicas: 0
  selector:
    matchLabels: {app: someone-else}
  template:
    metadata:
      labels: {app: someone-else}
    spec:
      containers:
      - name: demo
        image: argoproj/rollouts-demo:blue
`)
	apply(t, ns, replace(twoTemplates, "NAME", "taken", "DURATION", "1m", "CANARY", "argoproj/rollouts-demo:yellow"))
	ex := waitForPhase(t, ns, "taken", v1alpha1.AnalysisPhaseError, 60*time.Second)
	want := "Failed to create ReplicaSet taken-baseline for template 'baseline': a ReplicaSet of that name already exists and is not controlled by experiment taken; delete it or rename the template"
	if ex.Status.Message != want {
		t.Errorf("message %q, want %q (%s)", ex.Status.Message, want, describe(ex))
	}
	rs := replicaSets(t, ns)["taken-baseline"]
	if len(rs.OwnerReferences) != 0 || rs.Spec.Template.Labels["app"] != "someone-else" {
		t.Errorf("the other ReplicaSet was changed: %+v", rs.ObjectMeta)
	}
	if evs := experimentEvents(t, ns, "taken", "TemplateError"); len(evs) != 1 || !strings.Contains(evs[0], want) {
		t.Errorf("TemplateError events: %q", evs)
	}
}
