// Package bluegreen runs blue-green rollouts end to end on the local
// cluster, with the controller scoped to each test's namespace: the preview
// and active Services, pre- and post-promotion analysis with real Jobs, the
// BlueGreenPause, abort, retry and promote, scale-down delays, and crash
// safety.
package bluegreen

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// greenImage is the updated version's image (the manifests start on
// argoproj/rollouts-demo:blue).
const greenImage = "argoproj/rollouts-demo:green"

// The plugin's status patches (`kubectl argo rollouts promote|abort|retry`).
const (
	promotePatch     = `{"status":{"pauseConditions":null}}`
	promoteFullPatch = `{"status":{"promoteFull":true}}`
	abortPatch       = `{"status":{"abort":true}}`
	retryPatch       = `{"status":{"abort":false}}`
)

// servicesManifest is the active and the preview Service of the inline
// rollouts; both start selecting every pod of the app, as users write them.
const servicesManifest = `apiVersion: v1
kind: Service
metadata:
  name: active-svc
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: preview-svc
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`

// smokeTemplate is an AnalysisTemplate whose one metric, "smoke", runs a
// Job. Job pods never really run on the local cluster: kwok completes them
// (Succeeded) unless the pod template's test.aviary.dev/state annotation
// says otherwise — "fail" fails them (hack/localcluster/stages.yaml).
const smokeTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: smoke-STATE
spec:
  metrics:
  - name: smoke
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            metadata:
              annotations: {test.aviary.dev/state: STATE}
            spec:
              restartPolicy: Never
              containers:
              - name: smoke
                image: busybox
                command: [sh, -c, "exit 0"]
`

// rolloutManifest is a small blue-green Rollout; manifest appends strategy
// fields to it. The delays are short so tests see them expire.
const rolloutManifest = `apiVersion: argoproj.io/v1alpha1
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
      containers:
      - name: web
        image: argoproj/rollouts-demo:blue
  strategy:
    blueGreen:
      activeService: active-svc
      previewService: preview-svc
      scaleDownDelaySeconds: 3
      abortScaleDownDelaySeconds: 3
`

// manifest is the Services, the passing (smoke-ready) and failing
// (smoke-fail) templates and the Rollout "web" with the given lines added
// under strategy.blueGreen (written as at that level, without indentation).
func manifest(blueGreenFields ...string) string {
	var b strings.Builder
	b.WriteString(servicesManifest + "---\n")
	b.WriteString(strings.ReplaceAll(smokeTemplate, "STATE", "ready") + "---\n")
	b.WriteString(strings.ReplaceAll(smokeTemplate, "STATE", "fail") + "---\n")
	b.WriteString(rolloutManifest)
	for _, f := range blueGreenFields {
		for _, line := range strings.Split(strings.TrimRight(f, "\n"), "\n") {
			b.WriteString("      " + line + "\n")
		}
	}
	return b.String()
}

func applyYAML(t *testing.T, ns, manifest string) {
	t.Helper()
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

// fixture is one test's namespace, its controller and the rollout under
// test with its two Services.
type fixture struct {
	t               *testing.T
	c               client.Client
	ns, name        string
	active, preview string
	ctl             *framework.Controller
	mu              sync.Mutex
	guards          []*guard
	replicas        int32
	blue, green     string        // pod-template hashes of the first and the updated version
	abortScaleDelay time.Duration // abortScaleDownDelaySeconds of the inline manifests
}

// newFixture creates the test's namespace and runs a controller scoped to
// it (no leader election), so tests never share a controller.
func newFixture(t *testing.T, name string, replicas int32) *fixture {
	t.Helper()
	ns := framework.Namespace(t)
	ctl := framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	return &fixture{t: t, c: framework.Get(t).Client, ns: ns, name: name, active: "active-svc", preview: "preview-svc", ctl: ctl,
		replicas: replicas, abortScaleDelay: 3 * time.Second}
}

// rsState is one ReplicaSet of the rollout.
type rsState struct {
	name      string
	revision  string
	spec      int32
	available int32
	deadline  string // the scale-down-deadline annotation
}

// runState is one AnalysisRun in the namespace.
type runState struct {
	name, kind string // kind: the rollout-type label (PrePromotion, PostPromotion)
	phase      v1alpha1.AnalysisPhase
	message    string
	terminate  bool
}

// snapshot is one look at the rollout, its ReplicaSets, Services and runs.
// The Services are read first and the runs and ReplicaSets after them, so a
// snapshot never shows a Service ahead of what made it switch.
type snapshot struct {
	at              time.Time // when the reads ended
	ro              *v1alpha1.Rollout
	rs              map[string]rsState // by pod-template hash
	active, preview string             // the Services' rollouts-pod-template-hash selectors
	activeOwner     string             // the active Service's managed-by annotation
	runs            []runState
}

func (f *fixture) read(ctx context.Context) (snapshot, error) {
	s := snapshot{ro: &v1alpha1.Rollout{}, rs: map[string]rsState{}}
	var svc corev1.Service
	if err := f.c.Get(ctx, framework.Key(f.ns, f.active), &svc); err != nil {
		return s, fmt.Errorf("get service %s: %w", f.active, err)
	}
	s.active, s.activeOwner = svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey], svc.Annotations[v1alpha1.ManagedByRolloutsKey]
	if err := f.c.Get(ctx, framework.Key(f.ns, f.preview), &svc); err != nil {
		return s, fmt.Errorf("get service %s: %w", f.preview, err)
	}
	s.preview = svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
	var runs v1alpha1.AnalysisRunList
	if err := f.c.List(ctx, &runs, client.InNamespace(f.ns)); err != nil {
		return s, fmt.Errorf("list analysis runs: %w", err)
	}
	for _, r := range runs.Items {
		s.runs = append(s.runs, runState{name: r.Name, kind: r.Labels[v1alpha1.RolloutTypeLabel], phase: r.Status.Phase, message: r.Status.Message, terminate: r.Spec.Terminate})
	}
	sort.Slice(s.runs, func(i, j int) bool { return s.runs[i].name < s.runs[j].name })
	if err := f.c.Get(ctx, framework.Key(f.ns, f.name), s.ro); err != nil {
		return s, fmt.Errorf("get rollout %s: %w", f.name, err)
	}
	var list appsv1.ReplicaSetList
	if err := f.c.List(ctx, &list, client.InNamespace(f.ns)); err != nil {
		return s, fmt.Errorf("list replicasets: %w", err)
	}
	for _, rs := range list.Items {
		var spec int32
		if rs.Spec.Replicas != nil {
			spec = *rs.Spec.Replicas
		}
		s.rs[rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]] = rsState{name: rs.Name, revision: rs.Annotations[v1alpha1.RevisionAnnotation],
			spec: spec, available: rs.Status.AvailableReplicas, deadline: rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]}
	}
	// Everything read was so by now: a guard that sees a change may say it
	// happened no later than this, never that it happened earlier.
	s.at = time.Now()
	return s, nil
}

func (f *fixture) snap() snapshot {
	f.t.Helper()
	s, err := f.read(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (s snapshot) String() string {
	st := s.ro.Status
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s %q (generation %d observed %s), abort %v abortedAt %v promoteFull %v, pause %v controllerPause %v, stable %s current %s, "+
		"status active %s preview %s; services active %s (managed by %q) preview %s; replicasets:",
		st.Phase, st.Message, s.ro.Generation, st.ObservedGeneration, st.Abort, st.AbortedAt, st.PromoteFull, pauseReasons(s.ro), st.ControllerPause,
		st.StableRS, st.CurrentPodHash, st.BlueGreen.ActiveSelector, st.BlueGreen.PreviewSelector, s.active, s.activeOwner, s.preview)
	hashes := make([]string, 0, len(s.rs))
	for h := range s.rs {
		hashes = append(hashes, h)
	}
	sort.Strings(hashes)
	for _, h := range hashes {
		rs := s.rs[h]
		fmt.Fprintf(&b, " %s(rev %s) %d/%d", h, rs.revision, rs.available, rs.spec)
		if rs.deadline != "" {
			fmt.Fprintf(&b, " deadline %s", rs.deadline)
		}
		b.WriteString(";")
	}
	fmt.Fprintf(&b, " pre-promotion run %s, post-promotion run %s; runs:", runStatus(st.BlueGreen.PrePromotionAnalysisRunStatus), runStatus(st.BlueGreen.PostPromotionAnalysisRunStatus))
	for _, r := range s.runs {
		fmt.Fprintf(&b, " %s[%s] %s %q terminate=%v;", r.name, r.kind, r.phase, r.message, r.terminate)
	}
	return b.String()
}

func runStatus(r *v1alpha1.RolloutAnalysisRunStatus) string {
	if r == nil {
		return "none"
	}
	return fmt.Sprintf("%s %s %q", r.Name, r.Status, r.Message)
}

func pauseReasons(ro *v1alpha1.Rollout) []string {
	var out []string
	for _, c := range ro.Status.PauseConditions {
		out = append(out, string(c.Reason))
	}
	return out
}

// pauseStart is when the BlueGreenPause began, zero if there is none.
func pauseStart(ro *v1alpha1.Rollout) time.Time {
	for _, c := range ro.Status.PauseConditions {
		if c.Reason == v1alpha1.PauseReasonBlueGreenPause {
			return c.StartTime.Time
		}
	}
	return time.Time{}
}

// runsOf returns the namespace's runs with the given rollout-type label.
func (s snapshot) runsOf(kind string) []runState {
	var out []runState
	for _, r := range s.runs {
		if r.kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// current reports whether the status is about the spec as it is now.
func (s snapshot) current() bool {
	return s.ro.Status.ObservedGeneration == fmt.Sprint(s.ro.Generation)
}

// until polls the cluster until cond holds, failing the test on timeout or
// as soon as a running guard has seen a violation. It returns the snapshot
// that satisfied cond.
func (f *fixture) until(timeout time.Duration, what string, cond func(s snapshot) bool) snapshot {
	f.t.Helper()
	var last snapshot
	framework.Eventually(f.t, timeout, what, func() (bool, string) {
		f.checkGuards()
		last = f.snap()
		return cond(last), last.String()
	})
	f.checkGuards()
	return last
}

// holds polls the cluster for d and fails the test at the first poll where
// cond does not hold.
func (f *fixture) holds(d time.Duration, what string, cond func(s snapshot) bool) {
	f.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		f.checkGuards()
		s := f.snap()
		if !cond(s) {
			f.t.Fatalf("%s stopped holding: %s", what, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// guard polls the cluster in the background, every 150 ms, until released,
// and keeps the first violation its check reports: "never" and "not before"
// properties are checked at every poll, not only where a test happens to
// look. check runs on the guard's goroutine only; whatever it records may be
// read once the guard is released.
type guard struct {
	what      string
	stop      chan struct{}
	done      chan struct{}
	once      sync.Once
	mu        sync.Mutex
	violation string
	polls     int
}

func (f *fixture) guard(what string, check func(s snapshot) string) *guard {
	g := &guard{what: what, stop: make(chan struct{}), done: make(chan struct{})}
	// poll looks once and reports whether check found a violation.
	poll := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := f.read(ctx)
		cancel()
		if err != nil {
			return false
		}
		g.mu.Lock()
		g.polls++
		g.mu.Unlock()
		if v := check(s); v != "" {
			g.mu.Lock()
			g.violation = v + "\n  at " + s.at.Format("15:04:05.000") + ": " + s.String()
			g.mu.Unlock()
			return true
		}
		return false
	}
	go func() {
		defer close(g.done)
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
		for !poll() {
			select {
			case <-g.stop:
				// A last look, so the guard has seen at least what the
				// test saw before releasing it.
				poll()
				return
			case <-tick.C:
			}
		}
	}()
	f.mu.Lock()
	f.guards = append(f.guards, g)
	f.mu.Unlock()
	f.t.Cleanup(g.end)
	return g
}

func (g *guard) end() {
	g.once.Do(func() { close(g.stop) })
	<-g.done
}

func (g *guard) state() (string, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.violation, g.polls
}

// release stops the guard and fails the test if it saw a violation (or
// never managed to look).
func (f *fixture) release(g *guard) {
	f.t.Helper()
	g.end()
	f.mu.Lock()
	f.guards = slices.DeleteFunc(f.guards, func(x *guard) bool { return x == g })
	f.mu.Unlock()
	v, polls := g.state()
	if v != "" {
		f.t.Fatalf("%s: violated: %s", g.what, v)
	}
	if polls == 0 {
		f.t.Fatalf("%s: the guard never read the cluster", g.what)
	}
}

func (f *fixture) checkGuards() {
	f.t.Helper()
	f.mu.Lock()
	gs := slices.Clone(f.guards)
	f.mu.Unlock()
	for _, g := range gs {
		if v, _ := g.state(); v != "" {
			f.t.Fatalf("%s: violated: %s", g.what, v)
		}
	}
}

// deploy applies the manifest and waits for the first version: Healthy,
// stable, fully available, with the active Service (managed by the rollout)
// and status.blueGreen.activeSelector on it. It returns its hash.
func (f *fixture) deploy(manifest string) string {
	f.t.Helper()
	applyYAML(f.t, f.ns, manifest)
	s := f.until(90*time.Second, "the first version Healthy behind the active Service", func(s snapshot) bool {
		h := s.ro.Status.CurrentPodHash
		return s.current() && s.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && h != "" && s.ro.Status.StableRS == h &&
			s.rs[h].available == f.replicas && s.active == h && s.activeOwner == f.name && s.ro.Status.BlueGreen.ActiveSelector == h
	})
	f.blue = s.ro.Status.CurrentPodHash
	return f.blue
}

// update sets the green image, as `kubectl argo rollouts set image` does,
// and waits until the controller has created the new ReplicaSet; it
// returns its hash.
func (f *fixture) update() string {
	f.t.Helper()
	framework.SetRolloutImage(f.t, f.ns, f.name, greenImage)
	s := f.until(60*time.Second, "a new ReplicaSet for the green image", func(s snapshot) bool {
		h := s.ro.Status.CurrentPodHash
		_, ok := s.rs[h]
		return s.current() && h != "" && h != f.blue && ok
	})
	f.green = s.ro.Status.CurrentPodHash
	return f.green
}

func (f *fixture) patchStatus(patch string) {
	f.t.Helper()
	framework.PatchRolloutStatus(f.t, f.ns, f.name, patch)
}

// previewUp is the preview state before promotion: the new pods all
// available behind the preview Service (and its status selector), the
// active Service still on the old version.
func (f *fixture) previewUp(s snapshot) bool {
	return s.current() && s.preview == f.green && s.ro.Status.BlueGreen.PreviewSelector == f.green &&
		s.rs[f.green].spec == f.replicas && s.rs[f.green].available == f.replicas &&
		s.active == f.blue && s.rs[f.blue].available == f.replicas
}

// pausedForPromotion is the BlueGreenPause with the preview up.
func (f *fixture) pausedForPromotion(s snapshot) bool {
	return f.previewUp(s) && s.ro.Status.Phase == v1alpha1.RolloutPhasePaused &&
		slices.Contains(pauseReasons(s.ro), string(v1alpha1.PauseReasonBlueGreenPause)) && !s.ro.Status.Abort
}

// promoted is the end of an update: green Healthy and stable behind the
// active Service (the preview Service on it too).
func (f *fixture) promoted(s snapshot) bool {
	st := s.ro.Status
	return s.current() && st.Phase == v1alpha1.RolloutPhaseHealthy && st.StableRS == f.green && st.CurrentPodHash == f.green &&
		s.active == f.green && st.BlueGreen.ActiveSelector == f.green && s.preview == f.green && st.BlueGreen.PreviewSelector == f.green &&
		s.rs[f.green].available == f.replicas && !st.Abort && len(st.PauseConditions) == 0 && !st.PromoteFull
}

// activeStays guards that the active Service never leaves the hash.
func (f *fixture) activeStays(hash, why string) *guard {
	return f.guard("the active Service stays on "+hash+" ("+why+")", func(s snapshot) string {
		if s.active != hash {
			return fmt.Sprintf("active Service selects %q", s.active)
		}
		return ""
	})
}

// scaledDown is what a scale-down guard saw of one ReplicaSet: when it was
// first seen at 0 replicas after being up, and the scale-down-deadline it
// carried while up.
type scaledDown struct {
	up                 bool
	at, deadlineSeenAt time.Time
	deadline           string
	history            []string // every deadline seen, with when it was first seen
}

// watchScaleDown records when the ReplicaSet with the hash, once seen up,
// is scaled to 0. With requireDeadline it guards Argo's scale-down delay
// mechanism: the ReplicaSet must have been seen up with a
// scale-down-deadline annotation, and scaled to 0 only once that deadline
// has passed.
func (f *fixture) watchScaleDown(hash string, requireDeadline bool, out *scaledDown) *guard {
	return f.guard("ReplicaSet "+hash+" scaled down only after its delay", func(s snapshot) string {
		rs, ok := s.rs[hash]
		if !ok || !out.at.IsZero() {
			return ""
		}
		if rs.spec > 0 {
			out.up = true
			if rs.deadline != "" && out.deadline != rs.deadline {
				out.deadline, out.deadlineSeenAt = rs.deadline, s.at
				out.history = append(out.history, rs.deadline+" (seen "+s.at.Format("15:04:05.000")+")")
			}
			return ""
		}
		if !out.up {
			return ""
		}
		out.at = s.at
		if !requireDeadline {
			return ""
		}
		if out.deadline == "" {
			return "scaled to 0 without ever being seen up with a scale-down-deadline annotation"
		}
		d, err := time.Parse(time.RFC3339, out.deadline)
		if err != nil {
			return fmt.Sprintf("scale-down-deadline %q is not RFC 3339: %v", out.deadline, err)
		}
		// The controller compares the deadline with its own clock, the
		// same host's.
		if s.at.Before(d) {
			return fmt.Sprintf("scaled to 0 at %s, before its scale-down-deadline %s (deadlines seen while up: %v)", s.at.Format(time.RFC3339Nano), out.deadline, out.history)
		}
		return ""
	})
}

// eventMessages lists the messages of the facts told about the namespace's
// Rollouts with reason.
func eventMessages(t *testing.T, ns, reason string) []string {
	t.Helper()
	return framework.RolloutEventMessages(t, ns, reason)
}
