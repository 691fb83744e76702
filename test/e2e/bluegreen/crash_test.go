package bluegreen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// crashManifest is one rollout of the crash test with its two Services:
// pre- and post-promotion analysis (Jobs that succeed), a short automatic
// pause and a short scale-down delay, so every decision of the blue-green
// flow happens within a few seconds.
const crashManifest = `apiVersion: v1
kind: Service
metadata:
  name: NAME-active
spec:
  selector: {app: NAME}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: NAME-preview
spec:
  selector: {app: NAME}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: NAME
spec:
  replicas: 3
  revisionHistoryLimit: 5
  selector:
    matchLabels: {app: NAME}
  template:
    metadata:
      labels: {app: NAME}
    spec:
      containers:
        - name: app
          image: argoproj/rollouts-demo:blue
  strategy:
    blueGreen:
      activeService: NAME-active
      previewService: NAME-preview
      autoPromotionSeconds: 2
      scaleDownDelaySeconds: 3
      prePromotionAnalysis:
        templates: [{templateName: smoke-ready}]
      postPromotionAnalysis:
        templates: [{templateName: smoke-ready}]
`

const crashDelay = 3 * time.Second

// crashEventReasons are the decision events the crash test counts: each
// must be recorded exactly once per update, whatever the kills. (The
// controller journals these before acting on them; SwitchService and
// ScalingReplicaSet go through the ordinary recorder, which a SIGKILL may
// lose, so they are not counted.) RolloutAborted, RolloutRetry and
// SkipSteps must not happen at all.
var crashEventReasons = []string{"RolloutPaused", "RolloutResumed", "RolloutCompleted", "RolloutAborted", "RolloutRetry", "SkipSteps"}

// crashWantEvents is what each rollout's update must record of
// crashEventReasons, as "reason: message" with the rollout's name written
// NAME and its old and new hashes <old> and <new>.
var crashWantEvents = []string{
	"RolloutPaused: Rollout is paused (BlueGreenPause)",
	"RolloutResumed: Rollout is resumed",
	"RolloutCompleted: Rollout completed update to revision 2 (<new>): Completed blue-green update",
}

// TestCrashSafetyUnderRandomKills updates many blue-green rollouts at once
// and kills the controller with SIGKILL at random moments, starting a new
// one each time. Every rollout must end Healthy on the new image with its
// active and preview Services on the new hash and the old ReplicaSet scaled
// to 0 after its delay; at every poll the active Service may only move to
// a fully available new ReplicaSet whose pre-promotion run succeeded, and
// never back; each rollout ends with exactly two ReplicaSets, its
// pre- and post-promotion runs (those status names) Successful, and each
// decision event recorded exactly once.
func TestCrashSafetyUnderRandomKills(t *testing.T) {
	const n = 20
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	start := func() *framework.Controller {
		return framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	}
	ctl := start()
	docs := []string{strings.ReplaceAll(smokeTemplate, "STATE", "ready")}
	for i := range n {
		docs = append(docs, strings.ReplaceAll(crashManifest, "NAME", fmt.Sprintf("app-%02d", i)))
	}
	applyYAML(t, ns, strings.Join(docs, "---\n"))
	framework.Eventually(t, 120*time.Second, "all rollouts Healthy on the first version", func() (bool, string) {
		w := readWorld(t, ns)
		done := 0
		for _, ro := range w.rollouts {
			if w.finished(ro, "blue") {
				done++
			}
		}
		return done == n && len(w.rollouts) == n, fmt.Sprintf("%d of %d: %s", done, len(w.rollouts), w.pending("blue"))
	})
	first := readWorld(t, ns)
	blue := map[string]string{} // rollout → first hash
	for _, ro := range first.rollouts {
		blue[ro.Name] = ro.Status.CurrentPodHash
	}
	if len(first.runs) != 0 {
		t.Fatalf("the first deploy created AnalysisRuns: %v", first.runs)
	}
	seen := map[string]bool{} // events from the first deploy
	for _, ev := range framework.RolloutEvents(t, ns) {
		seen[ev.Name] = true
	}

	// The guard: at every poll, per rollout, the active Service moves only
	// to a fully available ReplicaSet whose pre-promotion run succeeded,
	// once; the old ReplicaSet is scaled to 0 only once its
	// scale-down-deadline (seen while it was up) has passed.
	type history struct {
		switched, scaled time.Time
		deadline         string
	}
	var mu sync.Mutex
	hist := map[string]*history{}
	var violation string
	stop, stopped := make(chan struct{}), make(chan struct{})
	look := func() {
		w, err := loadWorld(ctx, e.Client, ns)
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, ro := range w.rollouts {
			h := hist[ro.Name]
			if h == nil {
				h = &history{}
				hist[ro.Name] = h
			}
			if v := checkCrashInvariants(w, ro, blue[ro.Name], h.switched.IsZero()); v != "" && violation == "" {
				violation = ro.Name + ": " + v
			}
			active := w.services[ro.Name+"-active"]
			if active != blue[ro.Name] && h.switched.IsZero() {
				h.switched = w.at
			}
			old := w.rsOf(ro.Name, blue[ro.Name])
			if old == nil || !h.scaled.IsZero() {
				continue
			}
			if *old.Spec.Replicas > 0 {
				if d := old.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]; d != "" {
					h.deadline = d
				}
				continue
			}
			h.scaled = w.at
			d, err := time.Parse(time.RFC3339, h.deadline)
			if err != nil && violation == "" {
				violation = fmt.Sprintf("%s: old ReplicaSet scaled to 0 without being seen up with a valid scale-down-deadline (%q)", ro.Name, h.deadline)
			} else if w.at.Before(d) && violation == "" {
				violation = fmt.Sprintf("%s: old ReplicaSet scaled to 0 at %s, before its scale-down-deadline %s", ro.Name, w.at.Format(time.RFC3339Nano), h.deadline)
			}
		}
	}
	go func() {
		defer close(stopped)
		for {
			look()
			select {
			case <-stop:
				look() // at least what the test saw before stopping the guard
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	endGuard := sync.OnceFunc(func() { close(stop); <-stopped })
	t.Cleanup(endGuard)
	guardViolation := func() string { mu.Lock(); defer mu.Unlock(); return violation }

	for i := range n {
		framework.SetRolloutImage(t, ns, fmt.Sprintf("app-%02d", i), greenImage)
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("kill schedule seed %d", seed)
	deadline := time.Now().Add(4 * time.Minute)
	for kills := 0; ; kills++ {
		if v := guardViolation(); v != "" {
			t.Fatalf("after %d kills: %s", kills, v)
		}
		w := readWorld(t, ns)
		done := 0
		for _, ro := range w.rollouts {
			if w.finished(ro, "green") {
				done++
			}
		}
		if done == n {
			t.Logf("all %d rollouts done after %d kills", n, kills)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d rollouts done after %d kills: %s", done, n, kills, w.pending("green"))
		}
		if kills < 12 {
			time.Sleep(time.Duration(200+rng.IntN(1800)) * time.Millisecond)
			ctl.Kill()
			time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
			ctl = start()
		} else {
			time.Sleep(time.Second) // let the last controller finish
		}
	}
	endGuard()
	if v := guardViolation(); v != "" {
		t.Fatal(v)
	}

	final := readWorld(t, ns)
	for _, ro := range final.rollouts {
		h := hist[ro.Name]
		if h == nil || h.switched.IsZero() || h.scaled.IsZero() {
			t.Errorf("%s: the guard never saw the switch and the old ReplicaSet's scale-down: %+v", ro.Name, h)
			continue
		}
		if got := h.scaled.Sub(h.switched); got < crashDelay-2*time.Second {
			t.Errorf("%s: old ReplicaSet scaled to 0 %s after the switch was seen, scaleDownDelaySeconds is %s", ro.Name, got, crashDelay)
		}
		// Exactly two ReplicaSets (blue and green), one run of each kind,
		// both Successful.
		var sets []string
		for _, rs := range final.replicaSets {
			if owner := metav1.GetControllerOf(&rs); owner != nil && owner.Name == ro.Name {
				sets = append(sets, rs.Name)
			}
		}
		if len(sets) != 2 {
			t.Errorf("%s has ReplicaSets %v, want exactly 2", ro.Name, sets)
		}
		// The runs named in status passed, and no run is left unfinished or
		// failed. A kill between creating a run and recording its name in
		// status leaves a run no status names; the next controller creates
		// another (name.1), as Argo Rollouts does when the first has
		// already completed (CreateWithCollisionCounter) — logged, not a
		// failure.
		for kind, named := range map[string]*v1alpha1.RolloutAnalysisRunStatus{
			v1alpha1.RolloutTypePrePromotionLabel:  ro.Status.BlueGreen.PrePromotionAnalysisRunStatus,
			v1alpha1.RolloutTypePostPromotionLabel: ro.Status.BlueGreen.PostPromotionAnalysisRunStatus,
		} {
			runs := final.runsOf(ro.Name, kind)
			if run := final.run(named); run == nil || run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || named.Status != v1alpha1.AnalysisPhaseSuccessful {
				t.Errorf("%s: status names %s run %s; runs %v", ro.Name, kind, runStatus(named), describeRuns(runs))
			}
			for _, r := range runs {
				if r.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
					t.Errorf("%s: %s run %s ended %s %q", ro.Name, kind, r.Name, r.Status.Phase, r.Status.Message)
				}
			}
			if len(runs) > 1 {
				t.Logf("%s: %d %s runs after the kills: %v", ro.Name, len(runs), kind, describeRuns(runs))
			}
		}
	}

	// Each decision event exactly once, counted once.
	green := map[string]string{}
	for _, ro := range final.rollouts {
		green[ro.Name] = ro.Status.CurrentPodHash
	}
	byRollout, detail := map[string][]string{}, map[string][]string{}
	for _, ev := range framework.RolloutEvents(t, ns) {
		if seen[ev.Name] || !slices.Contains(crashEventReasons, ev.Reason) {
			continue
		}
		if ev.Count != 1 {
			t.Errorf("event %s of %s counted %d times: %s", ev.Reason, ev.Object, ev.Count, ev.Message)
		}
		line := ev.Reason + ": " + strings.NewReplacer(blue[ev.Object], "<old>", green[ev.Object], "<new>", ev.Object, "NAME").Replace(ev.Message)
		byRollout[ev.Object] = append(byRollout[ev.Object], line)
		detail[ev.Object] = append(detail[ev.Object], fmt.Sprintf("%s@rv%s %s", ev.Reason, ev.Version, ev.Message))
	}
	want := slices.Clone(crashWantEvents)
	slices.Sort(want)
	for i := range n {
		name := fmt.Sprintf("app-%02d", i)
		got := byRollout[name]
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("rollout %s decision events:\n got %q\nwant %q\n(%q)", name, got, want, detail[name])
		}
	}
}

// checkCrashInvariants is the crash guard's per-rollout check of one
// world: before the switch the active Service is on the first hash; once
// it has moved it must be on a fully available ReplicaSet that a Successful
// pre-promotion run cleared, and it never moves back.
func checkCrashInvariants(w *world, ro v1alpha1.Rollout, blue string, beforeSwitch bool) string {
	active := w.services[ro.Name+"-active"]
	if active == blue {
		if !beforeSwitch {
			return "the active Service moved back to the first hash"
		}
		return ""
	}
	if active == "" {
		return "the active Service lost its hash selector"
	}
	if !beforeSwitch {
		return ""
	}
	rs := w.rsOf(ro.Name, active)
	if rs == nil || rs.Status.AvailableReplicas != 3 {
		return fmt.Sprintf("the active Service switched to %q, not a fully available ReplicaSet", active)
	}
	named := ro.Status.BlueGreen.PrePromotionAnalysisRunStatus
	if run := w.run(named); run == nil || run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		return fmt.Sprintf("the active Service switched to %q; status names pre-promotion run %s; runs %v",
			active, runStatus(named), describeRuns(w.runsOf(ro.Name, v1alpha1.RolloutTypePrePromotionLabel)))
	}
	return ""
}

// run is the run a status reference names, nil if none or gone.
func (w *world) run(ref *v1alpha1.RolloutAnalysisRunStatus) *v1alpha1.AnalysisRun {
	if ref == nil {
		return nil
	}
	for i := range w.runs {
		if w.runs[i].Name == ref.Name {
			return &w.runs[i]
		}
	}
	return nil
}

func describeRuns(runs []v1alpha1.AnalysisRun) []string {
	var desc []string
	for _, r := range runs {
		desc = append(desc, r.Name+" "+string(r.Status.Phase))
	}
	return desc
}

// world is one look at the whole namespace. Services are read first, then
// runs, rollouts and ReplicaSets, so nothing that made a Service switch is
// older than the Service.
type world struct {
	at          time.Time         // when the reads ended
	services    map[string]string // name → rollouts-pod-template-hash selector
	runs        []v1alpha1.AnalysisRun
	rollouts    []v1alpha1.Rollout
	replicaSets []appsv1.ReplicaSet
}

func loadWorld(ctx context.Context, c client.Client, ns string) (*world, error) {
	w := &world{services: map[string]string{}}
	var svcs corev1.ServiceList
	if err := c.List(ctx, &svcs, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	for _, s := range svcs.Items {
		w.services[s.Name] = s.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
	}
	var runs v1alpha1.AnalysisRunList
	if err := c.List(ctx, &runs, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	w.runs = runs.Items
	var ros v1alpha1.RolloutList
	if err := c.List(ctx, &ros, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	w.rollouts = ros.Items
	var rss appsv1.ReplicaSetList
	if err := c.List(ctx, &rss, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	w.replicaSets = rss.Items
	w.at = time.Now() // everything read was so by now, maybe earlier
	return w, nil
}

func readWorld(t *testing.T, ns string) *world {
	t.Helper()
	w, err := loadWorld(context.Background(), framework.Get(t).Client, ns)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) rsOf(rollout, hash string) *appsv1.ReplicaSet {
	for i := range w.replicaSets {
		rs := &w.replicaSets[i]
		if owner := metav1.GetControllerOf(rs); owner != nil && owner.Name == rollout && rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == hash {
			return rs
		}
	}
	return nil
}

func (w *world) runsOf(rollout, kind string) []v1alpha1.AnalysisRun {
	var out []v1alpha1.AnalysisRun
	for _, r := range w.runs {
		if owner := metav1.GetControllerOf(&r); owner != nil && owner.Name == rollout && r.Labels[v1alpha1.RolloutTypeLabel] == kind {
			out = append(out, r)
		}
	}
	return out
}

// finished reports whether the rollout is Healthy, fully available and
// stable on the given image colour behind both Services, with every other
// ReplicaSet at 0.
func (w *world) finished(ro v1alpha1.Rollout, color string) bool {
	st := ro.Status
	h := st.CurrentPodHash
	if !(st.Phase == v1alpha1.RolloutPhaseHealthy && h != "" && st.StableRS == h && st.ObservedGeneration == fmt.Sprint(ro.Generation) &&
		st.AvailableReplicas == 3 && ro.Spec.Template.Spec.Containers[0].Image == "argoproj/rollouts-demo:"+color &&
		st.BlueGreen.ActiveSelector == h && w.services[ro.Name+"-active"] == h && w.services[ro.Name+"-preview"] == h) {
		return false
	}
	for _, rs := range w.replicaSets {
		owner := metav1.GetControllerOf(&rs)
		if owner == nil || owner.Name != ro.Name {
			continue
		}
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == h {
			if rs.Status.AvailableReplicas != 3 {
				return false
			}
		} else if *rs.Spec.Replicas != 0 {
			return false
		}
	}
	return true
}

// pending describes the rollouts not yet finished on the colour.
func (w *world) pending(color string) string {
	var b strings.Builder
	for _, ro := range w.rollouts {
		if w.finished(ro, color) {
			continue
		}
		st := ro.Status
		fmt.Fprintf(&b, "\n  %s: %s %q stable %s current %s active %s/%s preview %s pause %v;", ro.Name, st.Phase, st.Message, st.StableRS, st.CurrentPodHash,
			st.BlueGreen.ActiveSelector, w.services[ro.Name+"-active"], w.services[ro.Name+"-preview"], pauseReasons(&ro))
		for _, rs := range w.replicaSets {
			if owner := metav1.GetControllerOf(&rs); owner != nil && owner.Name == ro.Name {
				fmt.Fprintf(&b, " %s %d/%d", rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey], rs.Status.AvailableReplicas, *rs.Spec.Replicas)
			}
		}
	}
	return b.String()
}
