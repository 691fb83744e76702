package model

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
	"github.com/aviary-rollouts/aviary/internal/rollout"
)

// Case is one reproducible sequence: a Rollout shape, the actions done to
// it, and the seed of the cluster's own randomness (pod start-up delays).
type Case struct {
	Name    string   `json:"name,omitempty"`
	Seed    uint64   `json:"seed"`
	Shape   Shape    `json:"shape"`
	Actions []Action `json:"actions"`
	// Violation is what the sequence showed when it was saved.
	Violation *Violation `json:"violation,omitempty"`
	// Note says, for a saved case, what it found and why it is kept.
	Note string `json:"note,omitempty"`
}

// Outcome is what running a case gave.
type Outcome struct {
	// Case holds the actions applied (the generated ones, when generated).
	Case       Case
	Steps      int
	Reconciles int
	Checks     int
	Violation  *Violation
	// Trace is the run step by step, for a person.
	Trace []string
}

// The simulation's bounds.
const (
	// settleBudget is how much simulated time passes after an action
	// (other than a wait) while the cluster settles: enough for pods to
	// start, not enough for most pauses to expire on their own.
	settleBudget = 10 * time.Second
	// maxRounds bounds the rounds of one action.
	maxRounds = 60
	// maxBurst bounds the reconciles in a row within a round (the
	// controller is reconciled again as long as it writes, as its own
	// watch events would make it).
	maxBurst = 6
	// keepSnapshots is how many earlier steps a restarted controller's
	// cache may be behind.
	keepSnapshots = 4
)

// runner runs one case.
type runner struct {
	w          *World
	cl         *cluster
	check      *checker
	ctrl       *rollout.Reconciler
	staleLeft  int
	snaps      []snapshot
	dues       []time.Time
	reconciles int
	trace      []string
	// seen is the last observation of the live Rollout and ReplicaSets,
	// at seenAt writes.
	seen   *v1alpha1.Rollout
	seenRS []appsv1.ReplicaSet
	seenAt int
	// idleWrites and idleAt are the write count and time of the last
	// reconcile that wrote nothing (-1: none since the controller started).
	idleWrites int
	idleAt     time.Time
	// lastStale is set when the last reconcile read the stale cache;
	// staleWrote when one wrote since the last user action.
	lastStale, staleWrote bool
}

// checker holds what the invariants need across steps.
type checker struct {
	shape  Shape
	w      *World
	opened Opened
	seen   map[string]journaled
	// judged is how many journal entries DecisionEventsOnce has seen.
	judged int
	checks int
}

// Run plays c: its actions, or with gen, steps actions drawn by gen.
func Run(c Case, gen *rand.Rand, steps int) (out Outcome) {
	out.Case = Case{Seed: c.Seed, Shape: c.Shape}
	r, err := newRunner(c)
	if err != nil {
		out.Violation = violation("Harness", "%v", err)
		return out
	}
	defer func() {
		out.Reconciles, out.Checks, out.Trace = r.reconciles, r.check.checks, r.trace
	}()
	if v := r.start(); v != nil {
		out.Violation = v
		return out
	}
	var g *generator
	if gen != nil {
		g = &generator{rng: gen, images: 1}
	} else {
		steps = len(c.Actions)
	}
	for i := range steps {
		var a Action
		if g != nil {
			ro, err := r.w.rolloutNow()
			if err != nil {
				out.Violation = violation("Harness", "%v", err)
				return out
			}
			var runs v1alpha1.AnalysisRunList
			if err := r.w.store.List(context.Background(), &runs, client.InNamespace(Namespace)); err != nil {
				out.Violation = violation("Harness", "%v", err)
				return out
			}
			a = g.next(ro, runs.Items, c.Shape)
		} else {
			a = c.Actions[i]
		}
		out.Case.Actions = append(out.Case.Actions, a)
		out.Steps++
		if v := r.step(a); v != nil {
			r.snapshotTrace()
			r.note("  ✗ " + v.Error())
			v.After = a.Kind
			out.Violation = v
			return out
		}
	}
	return out
}

func newRunner(c Case) (*runner, error) {
	w, err := newWorld()
	if err != nil {
		return nil, err
	}
	r := &runner{w: w, cl: newCluster(w, c.Seed)}
	r.check = &checker{shape: c.Shape, w: w, opened: newOpened(), seen: map[string]journaled{}}
	return r, nil
}

// start creates the Rollout and what it references, as a user applying
// them, starts the controller, and lets the first revision come up.
func (r *runner) start() *Violation {
	ctx := context.Background()
	user := r.w.as("user")
	for _, o := range r.check.shape.objects() {
		if err := user.Create(ctx, o); err != nil {
			return violation("Harness", "create %T: %v", o, err)
		}
	}
	r.ctrl, r.idleWrites = r.w.newController(nil, 0, &r.staleLeft), -1
	r.note("start: " + r.check.shape.String())
	return r.runFor(settleBudget, false)
}

// step applies one action and lets the cluster settle.
func (r *runner) step(a Action) *Violation {
	snap, err := r.w.takeSnapshot()
	if err != nil {
		return violation("Harness", "snapshot: %v", err)
	}
	r.snaps = append(r.snaps, snap)
	if len(r.snaps) > keepSnapshots {
		r.snaps = r.snaps[1:]
	}
	switch a.Kind {
	case ControllerRestart:
		back := min(max(a.Back, 1), len(r.snaps))
		r.ctrl, r.idleWrites = r.w.newController(r.snaps[len(r.snaps)-back], a.Stale, &r.staleLeft), -1
		r.dues = nil // the new process has no requeues pending; it starts by reconciling everything
		r.note(a.String())
		return r.runFor(settleBudget, false)
	case Wait:
		r.note(a.String())
		return r.runFor(time.Duration(a.Seconds)*time.Second, true)
	}
	ro, err := r.w.rolloutNow()
	if err != nil {
		return violation("Harness", "%v", err)
	}
	r.check.userAction(ro, a)
	if a.Kind != Analysis {
		r.staleWrote = false
	}
	if err := r.apply(context.Background(), a); err != nil && !apierrors.IsConflict(err) {
		return violation("Harness", "%s: %v", a, err)
	}
	r.note(a.String())
	return r.runFor(settleBudget, false)
}

// runFor runs rounds — the ReplicaSet and AnalysisRun controllers, then
// the Rollout controller — for budget of simulated time: a busy round
// takes a tick, a quiet one jumps to the next pending event (a pod
// becoming ready or available, a requeue the controller asked for). With
// wait the clock ends at the budget's end even if nothing happens. Once
// quiet, the settled-state invariants are checked.
func (r *runner) runFor(budget time.Duration, wait bool) *Violation {
	ctx := context.Background()
	deadline := r.w.now.Add(budget)
	for range maxRounds {
		before := r.w.writes
		if _, err := r.cl.step(ctx); err != nil {
			return violation("Harness", "ReplicaSet model: %v", err)
		}
		if err := r.cl.runs(ctx); err != nil {
			return violation("Harness", "AnalysisRun model: %v", err)
		}
		stale := r.staleLeft > 0
		if r.triggered() {
			if v := r.burst(); v != nil {
				return v
			}
		}
		if r.w.writes != before || stale {
			r.w.advance(tick)
			continue
		}
		next, ok := r.nextEvent()
		if !ok || r.w.now.Add(next).After(deadline) {
			if wait && r.w.now.Before(deadline) {
				r.w.now = deadline
			}
			r.snapshotTrace()
			if _, podsPending := r.cl.nextEvent(); podsPending {
				return nil // out of time, not settled: pods are still starting
			}
			return r.settled()
		}
		r.w.advance(next)
	}
	r.snapshotTrace()
	return nil // still busy: the next action finds it so
}

// nextEvent is how long until something is due by the clock alone.
func (r *runner) nextEvent() (time.Duration, bool) {
	next, ok := r.cl.nextEvent()
	var keep []time.Time
	for _, due := range r.dues {
		if d := due.Sub(r.w.now); d > 0 {
			keep = append(keep, due)
			if !ok || d < next {
				next, ok = d, true
			}
		}
	}
	r.dues = keep
	return next, ok
}

// triggered reports whether the real controller would reconcile now: a
// write since its last reconcile that wrote nothing (a watch event), a
// requeue fallen due since then, or a cache still stale.
func (r *runner) triggered() bool {
	if r.staleLeft > 0 || r.idleWrites != r.w.writes {
		return true
	}
	for _, due := range r.dues {
		if due.After(r.idleAt) && !due.After(r.w.now) {
			return true
		}
	}
	return false
}

// burst reconciles the Rollout, again as long as the controller writes.
func (r *runner) burst() *Violation {
	for range maxBurst {
		before := r.w.writes
		retry, v := r.reconcile()
		if v != nil {
			return v
		}
		if r.w.writes == before && !retry {
			// Only a reconcile from a fresh cache is idle: once a stale
			// cache catches up it delivers the changes it had missed as
			// watch events, and the controller reconciles again.
			if !r.lastStale {
				r.idleWrites, r.idleAt = r.w.writes, r.w.now
			}
			return nil
		}
	}
	return nil
}

// reconcile runs the controller once and checks the per-reconcile
// invariants; retry reports an error to be retried (a conflict).
func (r *runner) reconcile() (retry bool, v *Violation) {
	ctx := context.Background()
	w := r.w
	beforeRo, beforeRS, err := r.observe()
	if err != nil {
		return false, violation("Harness", "%v", err)
	}
	stale := r.staleLeft > 0
	r.lastStale = stale
	journalStart, writesBefore := len(w.journal), w.writes
	r.reconciles++
	res, err := r.safeReconcile(ctx)
	if r.staleLeft > 0 {
		r.staleLeft--
	}
	if err != nil {
		var panicked *panicError
		if errors.As(err, &panicked) {
			v := violation(InvControllerErr, "the controller panicked: %v", panicked)
			v.Kind = errorKind(fmt.Sprint("panic: ", panicked.value))
			return false, v
		}
		// A conflict is an ordinary retry. A reconcile that read a stale
		// cache may also write to an object that is gone or create one
		// that exists (the cache had not seen the change): the workqueue
		// retries it too, with a fresher cache. With a fresh cache those
		// are errors like any other.
		if !apierrors.IsConflict(err) && !(stale && (apierrors.IsNotFound(err) || apierrors.IsAlreadyExists(err))) {
			v := violation(InvControllerErr, "Reconcile returned an error: %v", err)
			v.Kind = errorKind(err.Error())
			return false, v
		}
		retry = true
	}
	if res.RequeueAfter > 0 {
		r.dues = append(r.dues, w.now.Add(res.RequeueAfter))
	}
	afterRo, afterRS, err := r.observe()
	if err != nil {
		return false, violation("Harness", "%v", err)
	}
	if stale && w.writes != writesBefore {
		r.staleWrote = true
	}
	for i := journalStart; i < len(w.journal); i++ {
		w.journal[i].reconcile = r.reconciles
		w.journal[i].stepAfter = afterRo.Status.CurrentStepIndex
		w.journal[i].awaitingAfter = afterRo.Status.Canary.PromotionEvidence != nil && afterRo.Status.Canary.PromotionEvidence.Waiting != ""
	}
	c := r.check
	c.checks += 5
	v = PauseGateHolds(beforeRo, afterRo, c.opened)
	if v == nil {
		var runs v1alpha1.AnalysisRunList
		if err := w.store.List(context.Background(), &runs, client.InNamespace(Namespace)); err != nil {
			return false, violation("Harness", "%v", err)
		}
		v = NoPromotionWithoutEvidence(beforeRo, afterRo, runs.Items, c.opened)
	}
	if v == nil {
		v = BasicCanaryReplicaBounds(afterRo, beforeRS, afterRS)
	}
	if v == nil {
		v = OneReplicaSetPerRevision(afterRS)
	}
	if v == nil {
		v = DecisionEventsOnce(w.journal[c.judged:], w.versions, c.seen)
	}
	if v != nil {
		// A stale reconcile's writes (status patched from an old base)
		// can set the live Rollout back, and a fresh reconcile after them
		// then breaks a rule for the same cause.
		stale = stale || r.staleWrote
		switch {
		case stale && v.Invariant == InvDecisionOnce:
			// One cause whatever the decision: the journal names an event
			// after the Rollout version it was decided from, and a cache
			// older than the last decision decides again from another.
			v.Kind = "stale cache"
		case stale:
			// Told apart from the same rule broken with a fresh cache.
			v.Kind = strings.TrimSpace(v.Kind + " (stale cache)")
		}
		return false, v
	}
	c.judged = len(w.journal)
	if !stale && afterRo.ResourceVersion != beforeRo.ResourceVersion && w.lastRolloutWriter == "controller" {
		c.checks += 2
		if v := PhaseAgreesWithConditions(afterRo); v != nil {
			return false, v
		}
		if v := shapeValid(afterRo); v != nil {
			return false, v
		}
	}
	c.controllerMoved(beforeRo, afterRo)
	return retry, nil
}

// observe reads the live Rollout and ReplicaSets, reusing the last read
// when nothing was written since (most reconciles' "before" is the
// previous one's "after").
func (r *runner) observe() (*v1alpha1.Rollout, []appsv1.ReplicaSet, error) {
	if r.seen != nil && r.seenAt == r.w.writes {
		return r.seen, r.seenRS, nil
	}
	ro, err := r.w.rolloutNow()
	if err != nil {
		return nil, nil, err
	}
	rss, err := r.w.replicaSetsNow()
	if err != nil {
		return nil, nil, err
	}
	r.seen, r.seenRS, r.seenAt = ro, rss, r.w.writes
	return ro, rss, nil
}

// names and numbers are what differs between two occurrences of one error.
var (
	hashedName = regexp.MustCompile(`-[0-9a-z]{6,10}\b`)
	number     = regexp.MustCompile(`[0-9]+`)
)

// errorKind is an error's message without the names and numbers of one
// occurrence, to tell one failure from another (Violation.Kind).
func errorKind(msg string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	msg = number.ReplaceAllString(hashedName.ReplaceAllString(msg, "-…"), "#")
	if len(msg) > 160 {
		msg = msg[:160]
	}
	return msg
}

// panicError is a panic of the controller, with its stack.
type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("%v\n%s", p.value, p.stack) }

func (r *runner) safeReconcile(ctx context.Context) (res ctrl.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: string(debug.Stack())}
		}
	}()
	return r.ctrl.Reconcile(ctx, ctrl.Request{NamespacedName: rolloutKey})
}

// settled checks the invariants of a quiet cluster.
func (r *runner) settled() *Violation {
	ctx := context.Background()
	ro, err := r.w.rolloutNow()
	if err != nil {
		return violation("Harness", "%v", err)
	}
	rss, err := r.w.replicaSetsNow()
	if err != nil {
		return violation("Harness", "%v", err)
	}
	var ing *networkingv1.Ingress
	if r.check.shape.Routed {
		var got networkingv1.Ingress
		if err := r.w.store.Get(ctx, types.NamespacedName{Namespace: Namespace, Name: Name + "-web-canary"}, &got); err == nil {
			ing = &got
		}
	}
	r.check.checks += 3
	if v := AbortSettlesOnStable(ro, rss, ing, r.w.now); v != nil {
		return v
	}
	if v := PhaseAgreesWithConditions(ro); v != nil {
		return v
	}
	return shapeValid(ro)
}

// shapeValid: the model only draws valid Rollouts, so InvalidSpec means
// the generator or the product's validation is wrong.
func shapeValid(ro *v1alpha1.Rollout) *Violation {
	for _, c := range ro.Status.Conditions {
		if c.Type == v1alpha1.InvalidSpec {
			return violation(InvValidShapeOnly, "the controller found the model's Rollout invalid: %s", c.Message)
		}
	}
	return nil
}

// userAction tells the checker what a user is about to do, given the
// Rollout as the user's client read it.
func (c *checker) userAction(ro *v1alpha1.Rollout, a Action) {
	switch a.Kind {
	case Wait, Analysis, ControllerRestart:
		return // not a user's decision: no decision may repeat because of it
	}
	c.w.epoch++
	hash := ro.Status.CurrentPodHash
	switch a.Kind {
	case Promote:
		for _, p := range patch.Promote(ro, false) {
			if p.Subresource != patch.StatusSubresource {
				continue // a resume of spec.paused opens no gate
			}
			if ro.Spec.Strategy.Canary != nil {
				c.opened.gates[gateKey{hash, stepIndex(ro.Status)}] = true
			}
			for _, pc := range ro.Status.PauseConditions {
				if pc.Reason == v1alpha1.PauseReasonBlueGreenPause {
					c.opened.gates[gateKey{hash, bgGate}] = true
				}
			}
		}
	case PromoteFull:
		if hash != ro.Status.StableRS {
			c.opened.full[hash] = true
		}
	case Skip:
		c.opened.gates[gateKey{hash, stepIndex(ro.Status)}] = true
	case Abort, Retry, SetImage, EditSteps, Undo:
		c.opened.reset()
	}
}

// controllerMoved closes the gates when the controller starts an attempt
// over: a new revision or steps, an abort, or the steps going back.
func (c *checker) controllerMoved(before, after *v1alpha1.Rollout) {
	b, a := before.Status, after.Status
	if b.CurrentPodHash != a.CurrentPodHash || b.CurrentStepHash != a.CurrentStepHash || a.Abort && !b.Abort || stepIndex(a) < stepIndex(b) {
		c.opened.reset()
	}
}

// note adds a line to the trace.
func (r *runner) note(s string) { r.trace = append(r.trace, s) }

// snapshotTrace adds the Rollout's state to the trace.
func (r *runner) snapshotTrace() {
	ro, err := r.w.rolloutNow()
	if err != nil {
		return
	}
	rss, _ := r.w.replicaSetsNow()
	r.trace = append(r.trace, "    "+describe(ro, rss, r.w.now))
}

// describe is one line about the Rollout and its ReplicaSets.
func describe(ro *v1alpha1.Rollout, rss []appsv1.ReplicaSet, now time.Time) string {
	st := ro.Status
	var b strings.Builder
	fmt.Fprintf(&b, "t=%ds %s", int(now.Sub(epoch).Seconds()), st.Phase)
	if st.Message != "" {
		fmt.Fprintf(&b, " (%s)", st.Message)
	}
	if c := ro.Spec.Strategy.Canary; c != nil && len(c.Steps) > 0 {
		fmt.Fprintf(&b, " step %d/%d", stepIndex(st), len(c.Steps))
	}
	fmt.Fprintf(&b, " stable=%s current=%s", st.StableRS, st.CurrentPodHash)
	if st.Abort {
		b.WriteString(" aborted")
	}
	if ro.Spec.Paused {
		b.WriteString(" spec.paused")
	}
	if len(st.PauseConditions) > 0 {
		var rs []string
		for _, p := range st.PauseConditions {
			rs = append(rs, string(p.Reason))
		}
		fmt.Fprintf(&b, " pauseConditions=%s", strings.Join(rs, ","))
	}
	if st.ControllerPause {
		b.WriteString(" controllerPause")
	}
	if w := st.Canary.Weights; w != nil {
		fmt.Fprintf(&b, " weight=%d", w.Canary.Weight)
	}
	if bg := st.BlueGreen; ro.Spec.Strategy.BlueGreen != nil {
		fmt.Fprintf(&b, " active=%s preview=%s", bg.ActiveSelector, bg.PreviewSelector)
	}
	parts := make([]string, 0, len(rss))
	for _, rs := range slices.Clone(rss) {
		parts = append(parts, fmt.Sprintf("%s(rev %s)=%d/%d", rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey],
			rs.Annotations[v1alpha1.RevisionAnnotation], rs.Status.AvailableReplicas, specOf(&rs)))
	}
	fmt.Fprintf(&b, " | %s", strings.Join(parts, " "))
	return b.String()
}

// String is the shape as a person reads it.
func (s Shape) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %d replicas", s.Strategy, s.Replicas)
	if s.MinReadySeconds > 0 {
		fmt.Fprintf(&b, ", minReadySeconds %d", s.MinReadySeconds)
	}
	if s.Strategy == Canary {
		fmt.Fprintf(&b, ", steps %s", stepsString(s.Steps))
		if s.MaxSurge != nil {
			fmt.Fprintf(&b, ", maxSurge %s", s.MaxSurge.String())
		}
		if s.MaxUnavailable != nil {
			fmt.Fprintf(&b, ", maxUnavailable %s", s.MaxUnavailable.String())
		}
		if s.Background {
			b.WriteString(", background analysis")
			if s.StartingStep != nil {
				fmt.Fprintf(&b, " from step %d", *s.StartingStep)
			}
		}
		if s.Services {
			b.WriteString(", canary/stable Services")
		}
		if s.Routed {
			b.WriteString(", NGINX-routed")
		}
	} else {
		if s.AutoPromotionEnabled != nil {
			fmt.Fprintf(&b, ", autoPromotionEnabled %v", *s.AutoPromotionEnabled)
		}
		if s.AutoPromotionSeconds > 0 {
			fmt.Fprintf(&b, ", autoPromotionSeconds %d", s.AutoPromotionSeconds)
		}
		if s.PreviewReplicaCount != nil {
			fmt.Fprintf(&b, ", previewReplicaCount %d", *s.PreviewReplicaCount)
		}
		if s.PreviewService {
			b.WriteString(", preview Service")
		}
		if s.PrePromotion {
			b.WriteString(", pre-promotion analysis")
		}
		if s.PostPromotion {
			b.WriteString(", post-promotion analysis")
		}
	}
	if s.ScaleDownDelaySeconds != nil {
		fmt.Fprintf(&b, ", scaleDownDelaySeconds %d", *s.ScaleDownDelaySeconds)
	}
	if s.AbortScaleDownDelaySeconds != nil {
		fmt.Fprintf(&b, ", abortScaleDownDelaySeconds %d", *s.AbortScaleDownDelaySeconds)
	}
	if s.ProgressDeadlineSeconds != nil {
		fmt.Fprintf(&b, ", progressDeadlineSeconds %d", *s.ProgressDeadlineSeconds)
		if s.ProgressDeadlineAbort {
			b.WriteString(" (abort)")
		}
	}
	if s.RevisionHistoryLimit != nil {
		fmt.Fprintf(&b, ", revisionHistoryLimit %d", *s.RevisionHistoryLimit)
	}
	return b.String()
}
