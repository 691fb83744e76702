package experimentstep

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// chaosRollout is the documented rollout at one replica, named name, with
// stable and canary Services, a Service for the canary template, the
// step's duration and a short scale-down delay.
func chaosRollout(t *testing.T, name, duration string) string {
	t.Helper()
	ro := edit(t, documented,
		"replicas: 2", "replicas: 1",
		"    canary:\n      steps:", "    canary:\n      stableService: web-stable\n      canaryService: web-canary\n      steps:",
		"specRef: canary\n", "specRef: canary\n            service: {}\n",
		"DURATION", "duration: "+duration+"\n          scaleDownDelaySeconds: 2",
	)
	for _, svc := range []string{"web-stable", "web-canary"} {
		ro += "---\n" + edit(t, selectingService, "NAME", svc, "APP", "web")
	}
	return strings.ReplaceAll(ro, "web", name)
}

const selectingService = `apiVersion: v1
kind: Service
metadata:
  name: NAME
spec:
  selector: {app: APP}
  ports: [{name: http, port: 80, targetPort: 8080}]
`

// chaosExperiment is the standalone two-template Experiment at one replica
// each, labelled by name so that every Experiment's templates hash apart,
// running duration (none: until its required analyses end) with analyses.
func chaosExperiment(t *testing.T, name, duration, analyses string) string {
	t.Helper()
	d := ""
	if duration != "" {
		d = "  duration: " + duration + "\n"
	}
	return edit(t, framework.TwoTemplateExperiment,
		"  duration: DURATION\n", d,
		"replicas: 2", "replicas: 1",
		"scaleDownDelaySeconds: 3", "scaleDownDelaySeconds: 2",
		"CANARY", "argoproj/rollouts-demo:yellow",
		"app: demo", "app: "+name,
		"NAME", name,
	) + analyses
}

// requiredCompare is the documented step's analysis as a standalone
// Experiment's, required for its completion.
const requiredCompare = `  analyses:
  - name: compare
    templateName: compare
    requiredForCompletion: true
    args:
    - name: baseline-hash
      value: "{{templates.baseline.podTemplateHash}}"
    - name: canary-hash
      value: "{{templates.canary.podTemplateHash}}"
`

// chaosOutcome is how a Rollout or standalone Experiment must end.
type chaosOutcome int

const (
	passes   chaosOutcome = iota // the Experiment succeeds (the rollout completes)
	fails                        // the canary errs, the Experiment fails (the rollout aborts)
	promoted                     // promoted during the step: the Experiment is terminated
	timed                        // a standalone Experiment with a duration and no analysis
)

var (
	gvrRS          = appsv1.SchemeGroupVersion.WithResource("replicasets")
	gvrService     = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	gvrPod         = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	gvrRun         = v1alpha1.AnalysisRunGVR
	gvrExperiment  = v1alpha1.ExperimentGVR
	chaosResources = []schema.GroupVersionResource{gvrRS, gvrService, gvrPod, gvrRun, gvrExperiment}
)

// TestChaosKillsDuringExperimentsAndSteps kills the controller with
// SIGKILL at seeded random moments (replay with framework.SeedEnv) while
// ten canaries run experiment steps (six pass, three fail, one is promoted
// during the step) and ten standalone Experiments run beside them (four
// timed, three with a passing and three with a failing required
// analysis). Everything ever created is recorded; once all settles each
// Rollout and Experiment must be in its phase, with exactly one Experiment
// per rollout step, one ReplicaSet per template (scaled to 0), one Service
// per template asking for one (deleted), one AnalysisRun per analysis, and
// no rollout Service ever selecting an experiment's pods.
func TestChaosKillsDuringExperimentsAndSteps(t *testing.T) {
	ns := framework.Namespace(t)
	start := func() *framework.Controller {
		return framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	}
	framework.CLIBinary(t) // built now, not while the kills go on
	traffic := framework.StartHashTraffic(t)
	prom := framework.StartPrometheus(t, traffic.Addr)
	serveExperimentHashes(t, ns, traffic)

	rollouts := map[string]chaosOutcome{}
	standalone := map[string]chaosOutcome{}
	// Three measurements, so that the analyses of standalone Experiments
	// without a duration end.
	docs := []string{edit(t, compareTemplate, "ADDRESS", prom.Address, "    failureLimit: 0\n", "    count: 3\n    failureLimit: 0\n")}
	for i := range 10 {
		name, outcome, duration := fmt.Sprintf("ro-pass-%d", i), passes, "10s"
		switch {
		case i >= 6 && i < 9:
			name, outcome, duration = fmt.Sprintf("ro-fail-%d", i), fails, "5m"
		case i == 9:
			name, outcome, duration = "ro-promote", promoted, "1h"
		}
		rollouts[name] = outcome
		docs = append(docs, chaosRollout(t, name, duration))
	}
	ctl := start()
	apply(t, ns, strings.Join(docs, "---\n"))
	stable := map[string]string{}
	for name := range rollouts {
		stable[name] = healthy(t, ns, name)
	}
	// From here on, with every rollout Service selecting its stable pods
	// by hash, before any experiment pod exists.
	created := framework.RecordCreated(t, ns, chaosResources...)

	docs = nil
	for i := range 10 {
		name, outcome, duration, analyses := fmt.Sprintf("ex-timed-%d", i), timed, "10s", ""
		switch {
		case i >= 4 && i < 7:
			name, outcome, duration, analyses = fmt.Sprintf("ex-pass-%d", i), passes, "", requiredCompare
		case i >= 7:
			name, outcome, duration, analyses = fmt.Sprintf("ex-fail-%d", i), fails, "", requiredCompare
		}
		standalone[name] = outcome
		docs = append(docs, chaosExperiment(t, name, duration, analyses))
	}
	apply(t, ns, strings.Join(docs, "---\n"))
	for name := range rollouts {
		framework.SetRolloutImage(t, ns, name, "argoproj/rollouts-demo:yellow")
	}

	promotedAt := ""
	observe := func() {
		if promotedAt != "" {
			return
		}
		for _, ex := range experiments(t, ns) {
			if owner := metav1.GetControllerOf(&ex); owner != nil && owner.Name == "ro-promote" && ex.Status.Phase == v1alpha1.AnalysisPhaseRunning {
				cli(t, ns, "promote", "ro-promote")
				promotedAt = ex.Name
				t.Logf("promoted ro-promote while %s runs", ex.Name)
				return
			}
		}
	}
	settled := func() (bool, string) {
		var pending []string
		for name, want := range rollouts {
			if ro := getRollout(t, ns, name); !rolloutEnded(ro, want) {
				pending = append(pending, name+": "+describeRollout(ro))
			}
		}
		for _, ex := range experiments(t, ns) {
			want, standing := standalone[ex.Name]
			if standing && ex.Status.Phase != experimentPhase(want) || !standing && !ex.Status.Phase.Completed() || !analysesRecorded(&ex) {
				pending = append(pending, describeExperiment(&ex))
			}
		}
		return len(pending) == 0, strings.Join(pending, "\n")
	}
	k := framework.NewKillSchedule(t)
	k.Until(t, ctl, start, 40, 200*time.Second, observe, settled)

	framework.Eventually(t, 60*time.Second, "every experiment ReplicaSet at 0 and no experiment Service left", func() (bool, string) {
		var left []string
		for _, rs := range replicaSets(t, ns) {
			if owner := metav1.GetControllerOf(&rs); owner != nil && owner.Kind == "Experiment" && *rs.Spec.Replicas != 0 {
				left = append(left, rs.Name)
			}
		}
		for _, svc := range current(t, ns, gvrService) {
			if owner := metav1.GetControllerOf(&svc); owner != nil && owner.Kind == "Experiment" {
				left = append(left, "service "+svc.GetName())
			}
		}
		return len(left) == 0, strings.Join(left, ", ")
	})

	all := experiments(t, ns)
	byName := map[string]v1alpha1.Experiment{}
	for _, ex := range all {
		byName[ex.Name] = ex
	}
	ownedBy := ownership(created)
	for name, want := range rollouts {
		ro := getRollout(t, ns, name)
		checkRollout(t, ro, want, stable[name], ownedBy)
		exName := fmt.Sprintf("%s-%s-2-1", name, ro.Status.CurrentPodHash)
		if exps := ownedBy[ro.UID][gvrExperiment]; !slices.Equal(names(exps), []string{exName}) {
			t.Errorf("%s: Experiments ever created %v, want exactly [%s]", name, names(exps), exName)
			continue
		}
		ex := byName[exName]
		checkExperiment(t, &ex, want, ownedBy)
	}
	if promotedAt == "" {
		t.Errorf("ro-promote's Experiment never seen Running, never promoted")
	}
	for name, want := range standalone {
		ex, ok := byName[name]
		if !ok {
			t.Errorf("Experiment %s missing", name)
			continue
		}
		checkExperiment(t, &ex, want, ownedBy)
	}
	if len(all) != len(rollouts)+len(standalone) {
		t.Errorf("%d Experiments, want %d: %v", len(all), len(rollouts)+len(standalone), slices.Sorted(maps.Keys(byName)))
	}
	var services []string
	for name := range rollouts {
		services = append(services, name+"-stable", name+"-canary")
	}
	checkNeverSelected(t, created, services)
}

// serveExperimentHashes counts requests for every experiment ReplicaSet's
// hash as soon as it exists: the canary template of an Experiment whose
// name says fail answers half of them with errors, every other template
// none.
func serveExperimentHashes(t *testing.T, ns string, traffic *framework.HashTraffic) {
	e := framework.Get(t)
	framework.Every(t, 300*time.Millisecond, func() {
		var list appsv1.ReplicaSetList
		if err := e.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return // the next tick tries again
		}
		for _, rs := range list.Items {
			ex, tmpl := rs.Annotations[v1alpha1.ExperimentNameAnnotationKey], rs.Annotations[v1alpha1.ExperimentTemplateNameAnnotationKey]
			if ex == "" {
				continue
			}
			ratio := 0.0
			if strings.Contains(ex, "fail-") && tmpl == "canary" {
				ratio = 0.5
			}
			traffic.Serve(rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey], ratio)
		}
	})
}

func rolloutEnded(ro *v1alpha1.Rollout, want chaosOutcome) bool {
	if want == fails {
		return ro.Status.Abort && ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Canary.CurrentExperiment == ""
	}
	return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash &&
		ro.Status.Canary.CurrentExperiment == "" && ro.Status.CurrentPodHash != "" && rolloutRevision(ro) == "2"
}

func rolloutRevision(ro *v1alpha1.Rollout) string { return ro.Annotations[v1alpha1.RevisionAnnotation] }

func experimentPhase(want chaosOutcome) v1alpha1.AnalysisPhase {
	if want == fails {
		return v1alpha1.AnalysisPhaseFailed
	}
	return v1alpha1.AnalysisPhaseSuccessful
}

// checkRollout: the rollout's final state, and exactly its two ReplicaSets
// ever created, the stable one whole and the other at 0.
func checkRollout(t *testing.T, ro *v1alpha1.Rollout, want chaosOutcome, firstStable string, ownedBy map[types.UID]map[schema.GroupVersionResource][]unstructured.Unstructured) {
	t.Helper()
	wantStable := ro.Status.CurrentPodHash
	if want == fails {
		wantStable = firstStable
		c := rules.FindCondition(ro.Status.Conditions, v1alpha1.RolloutProgressing)
		if c == nil || c.Reason != v1alpha1.RolloutAbortedReason || !strings.HasPrefix(c.Message, "Rollout aborted update to revision 2: ") {
			t.Errorf("%s aborted without the Experiment's message: %s", ro.Name, describeRollout(ro))
		}
	}
	if !rolloutEnded(ro, want) || ro.Status.StableRS != wantStable || ro.Status.CurrentPodHash == firstStable {
		t.Errorf("%s: want stable %s: %s", ro.Name, wantStable, describeRollout(ro))
	}
	rss := ownedBy[ro.UID][gvrRS]
	if len(rss) != 2 {
		t.Errorf("%s: ReplicaSets ever created %v, want its two", ro.Name, names(rss))
	}
	for _, rs := range replicaSetsOf(t, ro.Namespace, ro.UID) {
		want := int32(0)
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == wantStable {
			want = 1
		}
		if *rs.Spec.Replicas != want {
			t.Errorf("%s: ReplicaSet %s at %d replicas, want %d", ro.Name, rs.Name, *rs.Spec.Replicas, want)
		}
	}
}

// analysesRecorded: every analysis the Experiment's status names has
// ended there. An Experiment whose templates finish before an optional
// analysis is terminal at once; the run it then terminates ends a moment
// later, and the status write recording that can be retried after a
// kill or a conflict, so the phase alone does not mean the status is
// final.
func analysesRecorded(ex *v1alpha1.Experiment) bool {
	for _, r := range ex.Status.AnalysisRuns {
		// An analysis whose run was never created (a promote that
		// terminates the Experiment before its templates are available)
		// has nothing left to record.
		if r.AnalysisRun != "" && !r.Phase.Completed() {
			return false
		}
	}
	return true
}

// notStarted: the Experiment's status names no AnalysisRun.
func notStarted(ex *v1alpha1.Experiment) bool {
	for _, r := range ex.Status.AnalysisRuns {
		if r.AnalysisRun != "" {
			return false
		}
	}
	return true
}

// checkExperiment: the Experiment's phase, one ReplicaSet per template
// ever created (at 0 now), one Service ever created for the canary
// template, and one AnalysisRun per analysis, in the status and in the
// cluster.
func checkExperiment(t *testing.T, ex *v1alpha1.Experiment, want chaosOutcome, ownedBy map[types.UID]map[schema.GroupVersionResource][]unstructured.Unstructured) {
	t.Helper()
	// A failed step's Experiment may be told to terminate by the abort
	// that follows; one that passes must not be, a promoted one must.
	if ex.Status.Phase != experimentPhase(want) || want != fails && (want == promoted) != ex.Spec.Terminate {
		t.Errorf("want %s (terminated %v): %s", experimentPhase(want), want == promoted, describeExperiment(ex))
	}
	owned := ownedBy[ex.UID]
	if got, want := names(owned[gvrRS]), []string{ex.Name + "-baseline", ex.Name + "-canary"}; !slices.Equal(got, want) {
		t.Errorf("%s: ReplicaSets ever created %v, want %v", ex.Name, got, want)
	}
	for _, rs := range replicaSetsOf(t, ex.Namespace, ex.UID) {
		if *rs.Spec.Replicas != 0 {
			t.Errorf("%s: ReplicaSet %s at %d replicas after the end", ex.Name, rs.Name, *rs.Spec.Replicas)
		}
	}
	if svcs := owned[gvrService]; len(svcs) != 1 || svcs[0].GetAnnotations()[v1alpha1.ExperimentTemplateNameAnnotationKey] != "canary" {
		t.Errorf("%s: Services ever created %v, want one, the canary template's", ex.Name, names(svcs))
	}
	wantRuns := []string{ex.Name + "-compare"}
	if want == timed || want == promoted && len(owned[gvrRun]) == 0 && notStarted(ex) {
		// A promote may terminate the Experiment before its templates are
		// available, when no analysis has started yet.
		wantRuns = nil
	}
	if got := names(owned[gvrRun]); !slices.Equal(got, wantRuns) {
		t.Errorf("%s: AnalysisRuns ever created %v, want %v", ex.Name, got, wantRuns)
	}
	var inStatus []string
	for _, r := range ex.Status.AnalysisRuns {
		if r.AnalysisRun == "" {
			continue
		}
		inStatus = append(inStatus, r.AnalysisRun)
		// A promote terminates the Experiment, which may end its run early.
		if want != promoted && r.Phase != experimentPhase(want) {
			t.Errorf("%s: analysis %s ended %s, want %s", ex.Name, r.Name, r.Phase, experimentPhase(want))
		}
	}
	if !slices.Equal(inStatus, wantRuns) {
		t.Errorf("%s: status names runs %v, want %v", ex.Name, inStatus, wantRuns)
	}
}

// checkNeverSelected: no version of the rollouts' Services ever seen
// selects a pod of an experiment's ReplicaSet.
func checkNeverSelected(t *testing.T, created *framework.Created, services []string) {
	t.Helper()
	experimentRS := map[types.UID]string{}
	for _, rs := range created.Objects(gvrRS) {
		if owner := metav1.GetControllerOf(&rs); owner != nil && owner.Kind == "Experiment" {
			experimentRS[rs.GetUID()] = rs.GetName()
		}
	}
	var pods []unstructured.Unstructured
	for _, p := range created.Objects(gvrPod) {
		if owner := metav1.GetControllerOf(&p); owner != nil && experimentRS[owner.UID] != "" {
			pods = append(pods, p)
		}
	}
	if len(pods) < 2*len(services) {
		t.Errorf("only %d experiment pods seen", len(pods))
	}
	hashed := 0
	for _, svc := range created.Versions(gvrService) {
		if !slices.Contains(services, svc.GetName()) {
			continue
		}
		sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
		if sel[v1alpha1.DefaultRolloutUniqueLabelKey] != "" {
			hashed++
		}
		for _, p := range pods {
			if labels.SelectorFromSet(sel).Matches(labels.Set(p.GetLabels())) {
				t.Errorf("Service %s (selector %v) selects experiment pod %s %v", svc.GetName(), sel, p.GetName(), p.GetLabels())
			}
		}
	}
	if hashed == 0 {
		t.Errorf("no version of the rollouts' Services selected by pod-template hash")
	}
}

// ownership groups everything ever created by controlling owner.
func ownership(created *framework.Created) map[types.UID]map[schema.GroupVersionResource][]unstructured.Unstructured {
	out := map[types.UID]map[schema.GroupVersionResource][]unstructured.Unstructured{}
	for _, gvr := range chaosResources {
		for _, o := range created.Objects(gvr) {
			owner := metav1.GetControllerOf(&o)
			if owner == nil {
				continue
			}
			if out[owner.UID] == nil {
				out[owner.UID] = map[schema.GroupVersionResource][]unstructured.Unstructured{}
			}
			out[owner.UID][gvr] = append(out[owner.UID][gvr], o)
		}
	}
	return out
}

func names(objs []unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetName())
	}
	slices.Sort(out)
	return out
}

func replicaSetsOf(t *testing.T, ns string, owner types.UID) []appsv1.ReplicaSet {
	t.Helper()
	var out []appsv1.ReplicaSet
	for _, rs := range replicaSets(t, ns) {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == owner {
			out = append(out, rs)
		}
	}
	return out
}

func current(t *testing.T, ns string, gvr schema.GroupVersionResource) []unstructured.Unstructured {
	t.Helper()
	list, err := framework.Get(t).Dynamic.Resource(gvr).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list %s: %v", gvr.Resource, err)
	}
	return list.Items
}
