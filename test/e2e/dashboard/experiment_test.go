package dashboard

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// experimentRollout is a canary whose second step is Argo Rollouts'
// documented experiment: a baseline on the stable template and a canary on
// the new one, compared by an analysis.
const experimentRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: exp
spec:
  replicas: 1
  selector:
    matchLabels: {app: exp}
  template:
    metadata:
      labels: {app: exp}
      annotations: {test.aviary.dev/fast: "true"}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:green"}]
  strategy:
    canary:
      steps:
      - setWeight: 20
      - experiment:
          duration: 5m
          templates:
          - {name: baseline, specRef: stable}
          - {name: canary, specRef: canary}
          analyses:
          - name: compare
            templateName: compare
            args:
            - {name: baseline-hash, value: "{{templates.baseline.podTemplateHash}}"}
            - {name: canary-hash, value: "{{templates.canary.podTemplateHash}}"}
      - pause: {}
`

// experimentStepObjects writes, with no controller running, what the
// controller leaves mid-way through the experiment step: the rollout at
// step 1 of revision 2, its two ReplicaSets, the Experiment
// exp-<hash>-2-1 with a ReplicaSet per template (real ReplicaSets, whose
// pods the cluster runs) and its running AnalysisRun. It returns the
// Experiment's name.
func experimentStepObjects(t *testing.T, ns string) string {
	t.Helper()
	ctx := context.Background()
	c := framework.Get(t).Client
	ro := applyRollout(t, ns, "exp", experimentRollout)
	const stable, canary = "6d4f8c7b5", "7c9b5d6f8"
	name := fmt.Sprintf("exp-%s-2-1", canary)
	framework.PatchRolloutStatus(t, ns, "exp", fmt.Sprintf(`{"status":{"stableRS":%q,"currentPodHash":%q,"currentStepIndex":1,"phase":"Progressing","canary":{"currentExperiment":%q}}}`, stable, canary, name))

	newRS := func(owner client.Object, kind, name, hash, image string, annotations map[string]string) {
		t.Helper()
		labels := map[string]string{"app": "exp", v1alpha1.DefaultRolloutUniqueLabelKey: hash}
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: annotations,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, v1alpha1.GroupVersion.WithKind(kind))}},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{framework.FastStartAnnotation: "true"}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
				},
			},
		}
		if err := c.Create(ctx, rs); err != nil {
			t.Fatalf("create ReplicaSet %s: %v", name, err)
		}
	}
	newRS(ro, "Rollout", "exp-"+stable, stable, "argoproj/rollouts-demo:blue", map[string]string{v1alpha1.RevisionAnnotation: "1"})
	newRS(ro, "Rollout", "exp-"+canary, canary, "argoproj/rollouts-demo:green", map[string]string{v1alpha1.RevisionAnnotation: "2"})

	exp := &v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: canary},
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: "2"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))}},
		Spec: v1alpha1.ExperimentSpec{Duration: "5m", Templates: []v1alpha1.TemplateSpec{
			{Name: "baseline", Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "exp"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "exp"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "argoproj/rollouts-demo:blue"}}}}},
			{Name: "canary", Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "exp"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "exp"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "argoproj/rollouts-demo:green"}}}}},
		}},
	}
	if err := c.Create(ctx, exp); err != nil {
		t.Fatalf("create Experiment %s: %v", name, err)
	}
	patchExperimentStatus(t, ns, name, `{"status":{"phase":"Running","availableAt":"2026-01-01T00:00:00Z"}}`)
	// The template ReplicaSets carry the template's pod-template hash,
	// distinct from the rollout's, so their pods are theirs alone.
	for _, tmpl := range []struct{ name, hash, image string }{{"baseline", "5b7d9c6f4", "argoproj/rollouts-demo:blue"}, {"canary", "8f6c4b7d9", "argoproj/rollouts-demo:green"}} {
		newRS(exp, "Experiment", name+"-"+tmpl.name, tmpl.hash, tmpl.image, map[string]string{
			v1alpha1.ExperimentNameAnnotationKey: name, v1alpha1.ExperimentTemplateNameAnnotationKey: tmpl.name,
		})
	}

	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-compare", Namespace: ns,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(exp, v1alpha1.GroupVersion.WithKind("Experiment"))}},
		Spec: v1alpha1.AnalysisRunSpec{
			Args: []v1alpha1.Argument{{Name: "baseline-hash", Value: ptr.To("5b7d9c6f4")}, {Name: "canary-hash", Value: ptr.To("8f6c4b7d9")}},
			Metrics: []v1alpha1.Metric{{Name: "error-ratio", Interval: "10s", SuccessCondition: "result[0] <= 0.01",
				Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Address: "http://prometheus.invalid", Query: `errors{hash="{{args.canary-hash}}"} / errors{hash="{{args.baseline-hash}}"}`}}}},
		},
	}
	if err := c.Create(ctx, run); err != nil {
		t.Fatalf("create AnalysisRun %s: %v", run.Name, err)
	}
	status := `{"status":{"phase":"Running","startedAt":"2026-01-01T00:00:00Z","metricResults":[{"name":"error-ratio","phase":"Running","count":1,"successful":1,` +
		`"measurements":[{"phase":"Successful","value":"[0.004]","startedAt":"2026-01-01T00:00:00Z","finishedAt":"2026-01-01T00:00:01Z"}]}]}}`
	patchRunStatus(t, run, status)
	return name
}

// applyRollout applies the Rollout yaml (named name) in ns and reads it
// back.
func applyRollout(t *testing.T, ns, name, yaml string) *v1alpha1.Rollout {
	t.Helper()
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(yaml), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	var ro v1alpha1.Rollout
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, name), &ro); err != nil {
		t.Fatal(err)
	}
	return &ro
}

// patchRunStatus merges patch into run's status, as the controller would
// write it.
func patchRunStatus(t *testing.T, run *v1alpha1.AnalysisRun, patch string) {
	t.Helper()
	if err := framework.Get(t).Client.Status().Patch(context.Background(), run, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("patch status of AnalysisRun %s: %v", run.Name, err)
	}
}

func patchExperimentStatus(t *testing.T, ns, name, patch string) {
	t.Helper()
	exp := &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := framework.Get(t).Client.Status().Patch(context.Background(), exp, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("patch status of Experiment %s: %v", name, err)
	}
}

// TestDashboardExperimentStep: the rollout page shows an experiment step's
// Experiment under its revision with its templates' ReplicaSets, their
// pods as the cluster runs them and its AnalysisRun; the experiment step
// expands to the Experiment and its phase; the run is with the rollout's
// runs, marked as the Experiment's; and a change of the Experiment's phase
// reaches the open page without a reload.
func TestDashboardExperimentStep(t *testing.T) {
	t.Parallel()
	ns := framework.Namespace(t)
	name := experimentStepObjects(t, ns)
	d := startDashboard(t, ns, "0")
	b := newBrowser(t)

	b.open(d.URL+"/rollout/"+ns+"/exp", "[data-testid=revision]")
	b.markPage()
	expSel := fmt.Sprintf(`[data-testid=revision][data-revision="2"] [data-testid=experiment][data-name=%q]`, name)
	b.waitFor(pageTimeout, "the Experiment under revision 2", func() (bool, string) {
		return b.count(expSel) == 1, b.describe()
	})
	if got := b.attr(expSel, "data-status"); got != "Running" {
		t.Errorf("Experiment status %q, want Running", got)
	}
	if got := b.count(`[data-testid=revision][data-revision="1"] [data-testid=experiment]`); got != 0 {
		t.Errorf("revision 1 shows %d experiments, want none", got)
	}
	if head := b.text(expSel + " .exp-head"); !strings.Contains(head, name) || !strings.Contains(head, "step 1") {
		t.Errorf("Experiment head %q, want its name and step 1", head)
	}

	// Its two templates' ReplicaSets, each with its running pod, inside
	// the Experiment and not among the rollout's own.
	for _, tmpl := range []string{"baseline", "canary"} {
		rs := fmt.Sprintf(`%s [data-testid=replicaset][data-name=%q]`, expSel, name+"-"+tmpl)
		b.waitFor(2*time.Minute, "the running pod of template "+tmpl, func() (bool, string) {
			st := b.attrs(rs+" [data-testid=pod]", "data-status")
			return len(st) == 1 && st[0] == "Running", fmt.Sprintf("pods %v", st)
		})
		if tag := b.text(rs + " .tag.template"); tag != "Σ "+tmpl {
			t.Errorf("template tag of %s: %q", tmpl, tag)
		}
	}
	if got := b.attrs(`[data-testid=revision][data-revision="2"] > [data-testid=replicaset]`, "data-name"); len(got) != 1 || got[0] != "exp-7c9b5d6f8" {
		t.Errorf("revision 2's own ReplicaSets %v, want [exp-7c9b5d6f8]", got)
	}

	// Its run: linked from the Experiment, listed with the runs.
	runName := name + "-compare"
	if href := b.attr(expSel+" a", "href"); href != "#run-"+runName {
		t.Errorf("the Experiment links %q, want #run-%s", href, runName)
	}
	runSel := fmt.Sprintf(`[data-testid=analysisrun][data-name=%q]`, runName)
	if got := b.attr(runSel, "data-status"); got != "Running" {
		t.Errorf("run status %q, want Running", got)
	}
	if meta := b.text(runSel + " .run-head"); !strings.Contains(meta, "Experiment "+name) || !strings.Contains(meta, "revision 2") {
		t.Errorf("run head %q, want it marked as the Experiment's, of revision 2", meta)
	}

	// The experiment step is current and expands to its templates,
	// analysis and Experiment.
	b.wantSteps(3, 1)
	step := `[data-testid=step][data-index="1"]`
	if got := b.text(step + " summary"); got != "Experiment for 5m" {
		t.Errorf("step text %q", got)
	}
	b.click(step + " summary")
	b.waitFor(pageTimeout, "the experiment step's details", func() (bool, string) {
		return b.visible(step+" [data-testid=step-experiment]") == 1, b.text(step)
	})
	details := b.text(step + " .step-details")
	for _, want := range []string{"template baseline (spec ref stable)", "template canary (spec ref canary)", "analysis compare: compare", "experiment " + name + " Running"} {
		if !strings.Contains(details, want) {
			t.Errorf("step details %q lack %q", details, want)
		}
	}
	b.click(step + " [data-testid=step-experiment] a")
	b.waitFor(pageTimeout, "the link to go to the Experiment", func() (bool, string) {
		h := must[string](b, "location.hash")
		return h == "#exp-"+name, "hash " + h
	})

	// The Experiment fails: the page shows it, with the message, live.
	msg := `Metric "error-ratio" assessed Failed due to failed (1) > failureLimit (0)`
	patchExperimentStatus(t, ns, name, fmt.Sprintf(`{"status":{"phase":"Failed","message":%q}}`, msg))
	b.waitFor(pageTimeout, "the Experiment to read Failed", func() (bool, string) {
		return b.attr(expSel, "data-status") == "Failed", b.attr(expSel, "data-status")
	})
	if got := b.text(expSel + " [data-testid=experiment-message]"); got != msg {
		t.Errorf("Experiment message %q, want %q", got, msg)
	}
	b.waitFor(pageTimeout, "the step to show the Experiment Failed", func() (bool, string) {
		got := b.text(step + " [data-testid=step-experiment]")
		return strings.HasSuffix(got, "Failed"), got
	})
	if !b.kept() {
		t.Error("the page reloaded; it should update in place")
	}
	b.screenshots("experiment-step", d.URL+"/rollout/"+ns+"/exp", expSel)
}

// liveExperimentRollout's second step runs a baseline and a canary for 20s.
const liveExperimentRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: live
spec:
  replicas: 2
  selector:
    matchLabels: {app: live}
  template:
    metadata:
      labels: {app: live}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - experiment:
          duration: 20s
          templates:
          - {name: baseline, specRef: stable}
          - {name: canary, specRef: canary}
      - pause: {}
`

// TestDashboardExperimentStepLive: with the controller running a real
// update, the open rollout page shows the experiment step's Experiment as
// the controller creates it (under the new revision, both templates'
// pods), then its success and the rollout moving on to the pause.
func TestDashboardExperimentStepLive(t *testing.T) {
	t.Parallel()
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(liveExperimentRollout), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	d := startDashboard(t, ns, "0")
	b := newBrowser(t)
	b.open(d.URL+"/rollout/"+ns+"/live", "[data-testid=revision]")
	b.waitFor(time.Minute, "the rollout healthy at revision 1", func() (bool, string) {
		st := b.text("[data-testid=rollout-status]")
		return st == "Healthy", st
	})
	b.markPage()

	framework.SetRolloutImage(t, ns, "live", "argoproj/rollouts-demo:green")
	exp := `[data-testid=revision][data-revision="2"] [data-testid=experiment]`
	b.waitFor(2*time.Minute, "the controller's Experiment running under revision 2 with both templates' pods", func() (bool, string) {
		pods := b.attrs(exp+" [data-testid=pod]", "data-status")
		return b.attr(exp, "data-status") == "Running" && len(pods) == 2 && pods[0] == "Running" && pods[1] == "Running",
			fmt.Sprintf("experiment %s, pods %v; page: %s", b.attr(exp, "data-status"), pods, b.describe())
	})
	var ro v1alpha1.Rollout
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, "live"), &ro); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("live-%s-2-1", ro.Status.CurrentPodHash)
	if got := b.attr(exp, "data-name"); got != name {
		t.Errorf("Experiment %q, want %q (<rollout>-<hash>-<revision>-<step>)", got, name)
	}
	if got := b.attrs(exp+" [data-testid=replicaset]", "data-name"); len(got) != 2 || got[0] != name+"-baseline" || got[1] != name+"-canary" {
		t.Errorf("Experiment ReplicaSets %v", got)
	}
	b.wantSteps(3, 1)

	// The Experiment succeeds after its 20s and the rollout moves on to
	// the pause; the step keeps the Experiment and its outcome.
	b.waitFor(time.Minute, "the Experiment Successful", func() (bool, string) {
		return b.attr(exp, "data-status") == "Successful", b.attr(exp, "data-status")
	})
	framework.Eventually(t, time.Minute, "the rollout at its pause (step 2)", func() (bool, string) {
		if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, "live"), &ro); err != nil {
			return false, err.Error()
		}
		return ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 2, fmt.Sprintf("step %v, phase %s", ro.Status.CurrentStepIndex, ro.Status.Phase)
	})
	b.wantSteps(3, 2)
	step := `[data-testid=step][data-index="1"]`
	b.click(step + " summary")
	b.waitFor(pageTimeout, "the done step naming its Experiment", func() (bool, string) {
		got := b.text(step + " [data-testid=step-experiment]")
		return got == "experiment "+name+" Successful", got
	})
	if !b.kept() {
		t.Error("the page reloaded; it should update in place")
	}
}
