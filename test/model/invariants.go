package model

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// The invariants' names, as violations and regression files carry them.
const (
	InvPauseGate      = "PauseGateHolds"
	InvAbortSettles   = "AbortSettlesOnStable"
	InvReplicaBounds  = "BasicCanaryReplicaBounds"
	InvOneRSPerRev    = "OneReplicaSetPerRevision"
	InvDecisionOnce   = "DecisionEventsOnce"
	InvPhase          = "PhaseAgreesWithConditions"
	InvControllerErr  = "ControllerNeverFails"
	InvValidShapeOnly = "ModelShapesAreValid"
	InvEvidence       = "NoPromotionWithoutEvidence"
)

// Violation is an invariant found broken.
type Violation struct {
	Invariant string `json:"invariant"`
	// Kind tells apart distinct ways of breaking one invariant (shrinking
	// keeps it, so a case does not shrink into another bug).
	Kind   string `json:"kind,omitempty"`
	Detail string `json:"detail"`
	// After is the kind of the last action before it.
	After string `json:"after,omitempty"`
}

func (v *Violation) Error() string {
	s := v.Invariant
	if v.Kind != "" {
		s += " (" + v.Kind + ")"
	}
	return s + ": " + v.Detail
}

// Same reports the same invariant broken the same way.
func (v *Violation) Same(o *Violation) bool {
	return v != nil && o != nil && v.Invariant == o.Invariant && v.Kind == o.Kind
}

func violation(name, format string, args ...any) *Violation {
	return &Violation{Invariant: name, Detail: fmt.Sprintf(format, args...)}
}

// gateKey names a manual gate: the step index of a `pause: {}` of the
// revision with pod-template hash hash (bgGate for blue-green's pause
// before promotion with autoPromotionEnabled false).
type gateKey struct {
	hash string
	step int32
}

const bgGate = -1

// Opened records the user actions that open manual gates.
type Opened struct {
	gates map[gateKey]bool
	// full holds the hashes promoted with --full (every gate opens).
	full map[string]bool
}

func newOpened() Opened { return Opened{gates: map[gateKey]bool{}, full: map[string]bool{}} }

// reset closes every gate: after an abort, a retry or a new revision or
// steps, the gates of the new attempt must be passed again.
func (o *Opened) reset() {
	clear(o.gates)
	clear(o.full)
}

// PauseGateHolds: the controller never moves a canary's currentStepIndex
// past a `pause: {}` step (and never switches a blue-green rollout with
// autoPromotionEnabled false to the new revision) unless a user action
// given while the rollout stood on that step let it through: promote or
// the Argo CD skip at that step, promote --full during the revision. A
// resume of spec.paused does not count, nor does a promote given at
// another step.
//
// Source: Argo Rollouts' canary steps — "pause: {} … Indefinite if no
// duration", complete only "when the user removed the condition while
// controllerPause=true" (rollout/canary.go:completedCurrentCanaryStep);
// the status is rebuilt every reconcile (rollout/pause.go writes
// controllerPause only while pause conditions remain), so a client that
// moves currentStepIndex and clears pauseConditions (Argo CD's
// skip-current-step) leaves no pause flag that would pass the next gate.
// Blue-green: "If autoPromotionEnabled=false, add pauseCondition
// BlueGreenPause once the new RS is ready", switched only after promote.
//
// before and after are the live Rollout around one reconcile; only a
// controller's move is judged (a user's skip moves the index itself).
func PauseGateHolds(before, after *v1alpha1.Rollout, opened Opened) *Violation {
	b, a := before.Status, after.Status
	if b.CurrentPodHash == "" || b.CurrentPodHash != a.CurrentPodHash || b.CurrentStepHash != a.CurrentStepHash ||
		a.Abort || b.PromoteFull || opened.full[b.CurrentPodHash] {
		return nil
	}
	hash := b.CurrentPodHash
	if c := after.Spec.Strategy.Canary; c != nil {
		from, to := stepIndex(b), stepIndex(a)
		for k := from; k < to && int(k) < len(c.Steps); k++ {
			if isGate(c.Steps[k]) && !opened.gates[gateKey{hash, k}] {
				v := violation(InvPauseGate, "the controller moved currentStepIndex %d→%d of revision %s past step %d (pause: {}) without a user's promote or skip there",
					from, to, hash, k)
				// At entry: it resumed the gate it stood on when the
				// reconcile began; in passing: it reached the gate from an
				// earlier step and went through it in the same pass.
				v.Kind = "in-passing"
				if k == from {
					v.Kind = "at-entry"
				}
				if len(b.PauseConditions) > 0 {
					// Worse, and one cause however reached: another pause
					// condition held the rollout.
					v.Kind = "while paused"
				}
				return v
			}
		}
	}
	if bg := after.Spec.Strategy.BlueGreen; bg != nil && bg.AutoPromotionEnabled != nil && !*bg.AutoPromotionEnabled {
		if b.BlueGreen.ActiveSelector != hash && a.BlueGreen.ActiveSelector == hash && hash != b.StableRS && !opened.gates[gateKey{hash, bgGate}] {
			v := violation(InvPauseGate, "the controller switched the active Service to %s (autoPromotionEnabled false) without a user's promote at its BlueGreenPause", hash)
			v.Kind = "blue-green"
			return v
		}
	}
	return nil
}

// NoPromotionWithoutEvidence: the controller never takes a canary's final
// step (currentStepIndex to len(steps)) while the background analysis
// that runs at its last step has no successful measurement of some metric
// — unless a user let it through (promote --full during the revision) or
// the Rollout opts out (annotation rollouts.aviary.dev/promotion-evidence
// "0"), or the run has ended (it measures no more). The model's
// AnalysisRun controller takes no measurement until an analysis action
// decides the run, so a promotion while its run is Running is always
// one without evidence; the timing of measurements against the weight is
// internal/plan/evidence's table tests' to check.
//
// Source: Aviary's own rule (docs/analysis.md, "No promotion without
// evidence"); Argo Rollouts promotes when the last pause ends, measured or
// not.
func NoPromotionWithoutEvidence(before, after *v1alpha1.Rollout, runs []v1alpha1.AnalysisRun, opened Opened) *Violation {
	b, a := before.Status, after.Status
	c := after.Spec.Strategy.Canary
	if c == nil || c.Analysis == nil || after.Annotations["rollouts.aviary.dev/promotion-evidence"] == "0" {
		return nil
	}
	hash, n := b.CurrentPodHash, int32(len(c.Steps))
	if hash == "" || hash != a.CurrentPodHash || b.CurrentStepHash != a.CurrentStepHash || b.StableRS == "" || b.StableRS == hash ||
		a.Abort || b.PromoteFull || opened.full[hash] || stepIndex(b) >= n || stepIndex(a) < n {
		return nil
	}
	if c.Analysis.StartingStep != nil && *c.Analysis.StartingStep > n-1 {
		return nil // no background analysis at the last step
	}
	var run *v1alpha1.AnalysisRun
	for i := range runs {
		r := &runs[i]
		if r.Labels["rollout-type"] != "Background" || r.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != hash ||
			r.Annotations["rollouts.aviary.dev/superseded-by-abort"] != "" {
			continue
		}
		if run == nil || run.CreationTimestamp.Before(&r.CreationTimestamp) {
			run = r
		}
	}
	if run == nil {
		v := violation(InvEvidence, "the controller took revision %s's final step (%d→%d) before its background run existed", hash, stepIndex(b), stepIndex(a))
		v.Kind = "no run"
		return v
	}
	if run.Status.Phase.Completed() {
		return nil // it measures no more: its verdict stands (an inconclusive one a user promoted past)
	}
	for _, m := range run.Spec.Metrics {
		proven := false
		for _, r := range run.Status.MetricResults {
			if r.Name != m.Name {
				continue
			}
			proven = r.Phase == v1alpha1.AnalysisPhaseSuccessful && r.Successful > 0
			for _, ms := range r.Measurements {
				proven = proven || ms.Phase == v1alpha1.AnalysisPhaseSuccessful
			}
		}
		if !proven {
			v := violation(InvEvidence, "the controller took revision %s's final step (%d→%d) while background run %s (%s) had no successful measurement of %q",
				hash, stepIndex(b), stepIndex(a), run.Name, run.Status.Phase, m.Name)
			v.Kind = "unmeasured"
			return v
		}
	}
	return nil
}

func stepIndex(st v1alpha1.RolloutStatus) int32 {
	if st.CurrentStepIndex == nil {
		return 0
	}
	return *st.CurrentStepIndex
}

// AbortSettlesOnStable: once an aborted update has settled (the cluster
// quiet), the stable ReplicaSet has spec.replicas pods, all available, the
// canary (new) ReplicaSet has none — unless abortScaleDownDelaySeconds
// keeps it: until its scale-down-deadline passes, or for ever when 0 — and
// with traffic routing the canary weight is 0 (status and the canary
// Ingress); a basic canary's other ReplicaSets are at 0 too, and a
// blue-green rollout's active Service selects the stable.
//
// Source: Argo Rollouts §4.6 Abort: "Weight goes to 0 immediately", "The
// stable RS is scaled back to 100%", "The canary RS is scaled down after
// abortScaleDownDelaySeconds (default 30s, traffic routing only; 0 = keep
// it). With basic canary it is scaled down right away"; blue-green: "the
// active Service stays on / returns to stableRS; the preview RS is scaled
// down after abortScaleDownDelaySeconds".
func AbortSettlesOnStable(ro *v1alpha1.Rollout, rss []appsv1.ReplicaSet, canaryIngress *networkingv1.Ingress, now time.Time) *Violation {
	st := ro.Status
	if !st.Abort || st.AbortedAt == nil || st.StableRS == "" || st.StableRS == st.CurrentPodHash {
		return nil
	}
	replicas := ro.ReplicasOrDefault()
	var stable, canary *appsv1.ReplicaSet
	for i := range rss {
		switch rss[i].Labels[v1alpha1.DefaultRolloutUniqueLabelKey] {
		case st.StableRS:
			stable = &rss[i]
		case st.CurrentPodHash:
			canary = &rss[i]
		}
	}
	if stable == nil {
		return violation(InvAbortSettles, "aborted, and no ReplicaSet has the stable hash %s", st.StableRS)
	}
	if specOf(stable) != replicas || stable.Status.AvailableReplicas < replicas {
		return violation(InvAbortSettles, "aborted and settled, but the stable ReplicaSet %s has %d pods (%d available), want %d",
			stable.Name, specOf(stable), stable.Status.AvailableReplicas, replicas)
	}
	routed := ro.Spec.Strategy.Canary != nil && ro.Spec.Strategy.Canary.TrafficRouting != nil
	if routed {
		if w := st.Canary.Weights; w == nil || w.Canary.Weight != 0 {
			return violation(InvAbortSettles, "aborted and settled, but status.canary.weights gives the canary %v", w)
		}
		if canaryIngress != nil {
			if got := canaryIngress.Annotations[ro.NginxAnnotationPrefixOrDefault()+"/canary-weight"]; got != "0" {
				return violation(InvAbortSettles, "aborted and settled, but the canary Ingress has canary-weight %q", got)
			}
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil && st.BlueGreen.ActiveSelector != st.StableRS {
		return violation(InvAbortSettles, "aborted and settled, but the active Service selects %q, not the stable %s", st.BlueGreen.ActiveSelector, st.StableRS)
	}
	if canary != nil && specOf(canary) != 0 && !abortHoldsCanary(ro, canary, now) {
		return violation(InvAbortSettles, "aborted and settled, but the canary ReplicaSet %s still has %d pods", canary.Name, specOf(canary))
	}
	if ro.Spec.Strategy.Canary != nil && !routed {
		for i := range rss {
			if o := &rss[i]; o != stable && o != canary && specOf(o) != 0 {
				return violation(InvAbortSettles, "aborted and settled, but the old ReplicaSet %s still has %d pods", o.Name, specOf(o))
			}
		}
	}
	return nil
}

// abortHoldsCanary reports the abortScaleDownDelaySeconds hold: 0 keeps
// the canary for ever; otherwise its scale-down-deadline annotation, once
// written, keeps it until then.
func abortHoldsCanary(ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet, now time.Time) bool {
	var field *int32
	switch {
	case ro.Spec.Strategy.BlueGreen != nil:
		field = ro.Spec.Strategy.BlueGreen.AbortScaleDownDelaySeconds
	case ro.Spec.Strategy.Canary != nil && ro.Spec.Strategy.Canary.TrafficRouting != nil:
		field = ro.Spec.Strategy.Canary.AbortScaleDownDelaySeconds
	default:
		return false
	}
	if field != nil && *field == 0 {
		return true
	}
	deadline, err := time.Parse(time.RFC3339, rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey])
	return err == nil && now.Before(deadline)
}

func specOf(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// Fenceposts resolves a basic canary's maxSurge and maxUnavailable against
// replicas, written here from Argo Rollouts' rule rather than taken from
// the product: an int is a pod count; any string is a percentage (the
// deprecated lenient intstr reading, so "3" is 3%), surge rounded up and
// unavailability down; both 0 makes maxUnavailable 1; maxUnavailable
// never exceeds replicas (§0.3, utils/replicaset/replicaset.go:
// resolveFenceposts). Defaults are "25".
func Fenceposts(replicas int32, surge, unavailable *intstr.IntOrString) (int32, int32) {
	read := func(v *intstr.IntOrString, up bool) int32 {
		if v == nil {
			v = ptr(intstr.FromString("25"))
		}
		if v.Type == intstr.Int {
			return v.IntVal
		}
		p, err := strconv.Atoi(strings.ReplaceAll(v.StrVal, "%", ""))
		if err != nil {
			return 0
		}
		x := float64(p) * float64(replicas) / 100
		if up {
			return int32(math.Ceil(x))
		}
		return int32(math.Floor(x))
	}
	s, u := read(surge, true), read(unavailable, false)
	if s == 0 && u == 0 {
		u = 1
	}
	if replicas == 0 {
		u = 0
	}
	return s, min(u, replicas)
}

// BasicCanaryReplicaBounds: in one reconcile of a basic canary (no traffic
// router), the controller
//   - never grows a ReplicaSet so that the ReplicaSets' spec.replicas add
//     up to more than replicas + maxSurge, and
//   - never shrinks ReplicaSets so that the pods that stay available add
//     up to less than replicas − maxUnavailable, or than were available
//     before if that was already less. Availability is what the
//     ReplicaSets report (status.availableReplicas), as Argo's rule
//     reads it (maxScaleDown = Σ available − minAvailable): a ReplicaSet
//     already scaled down still counts the pods its controller has not
//     removed yet, in Argo Rollouts and, on purpose, here. A scale-down
//     loses the available pods beyond its new size among those within
//     the old one (unavailable pods go first).
//
// The bounds are those of the Rollout as the controller reads it, so a
// user's /scale moves them (a scale-down to fewer replicas lets the
// controller go down to the new size at once: the floor is the new one);
// an abort shrinks the canary within the same floor (its unavailable pods
// first, as Argo Rollouts counts them out); the first deploy has a single
// ReplicaSet heading for replicas, within both bounds. Restart evictions
// are not scaling and are not judged here.
//
// Source: Argo Rollouts §4.4 "Scale-up is bounded by replicas + maxSurge:
// stable is scaled up first, then canary. Scale-down keeps available ≥
// replicas − maxUnavailable. Any other RSs are drained first"
// (utils/replicaset/canary.go:CalculateReplicaCountsForBasicCanary), and
// internal/plan/replicas.BasicCanaryCounts / BasicCanaryOtherScaleDowns.
func BasicCanaryReplicaBounds(ro *v1alpha1.Rollout, before, after []appsv1.ReplicaSet) *Violation {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting != nil {
		return nil
	}
	replicas := ro.ReplicasOrDefault()
	surge, unavailable := Fenceposts(replicas, c.MaxSurge, c.MaxUnavailable)
	prev := map[string]*appsv1.ReplicaSet{}
	for i := range before {
		prev[string(before[i].UID)] = &before[i]
	}
	var sumAfter, availBefore, availAfter int32
	grew, shrank := "", ""
	kept := map[string]bool{}
	for i := range after {
		kept[string(after[i].UID)] = true
	}
	for i := range before {
		if rs := &before[i]; !kept[string(rs.UID)] {
			// Deleted (only ever at 0): its available pods are gone.
			availBefore += rs.Status.AvailableReplicas
			if specOf(rs) > 0 {
				shrank = fmt.Sprintf("%s %d→deleted", rs.Name, specOf(rs))
			}
		}
	}
	for i := range after {
		rs := &after[i]
		n := specOf(rs)
		sumAfter += n
		old, existed := prev[string(rs.UID)]
		was := int32(0)
		avail := int32(0)
		if existed {
			was, avail = specOf(old), old.Status.AvailableReplicas
		}
		// Availability as the ReplicaSets report it, the way Argo's rule
		// reads it; shrinking loses the available pods beyond the new
		// size among those within the old one (unavailable ones go first).
		availBefore += avail
		availAfter += avail - max(0, min(avail, was)-n)
		switch {
		case n > was:
			grew = fmt.Sprintf("%s %d→%d", rs.Name, was, n)
		case n < was:
			shrank = fmt.Sprintf("%s %d→%d", rs.Name, was, n)
		}
	}
	sizes := func(rss []appsv1.ReplicaSet) string {
		parts := make([]string, len(rss))
		for i := range rss {
			parts[i] = fmt.Sprintf("%s %d (%d available)", rss[i].Name, specOf(&rss[i]), rss[i].Status.AvailableReplicas)
		}
		return strings.Join(parts, ", ")
	}
	if grew != "" && sumAfter > replicas+surge {
		v := violation(InvReplicaBounds, "scaled %s: ReplicaSets add up to %d pods, more than replicas %d + maxSurge %d; before: %s",
			grew, sumAfter, replicas, surge, sizes(before))
		v.Kind = "surge"
		return v
	}
	if floor := replicas - unavailable; shrank != "" && availAfter < min(floor, availBefore) {
		v := violation(InvReplicaBounds, "scaled %s: %d pods stay available, fewer than replicas %d − maxUnavailable %d (and %d were); before: %s; after: %s",
			shrank, availAfter, replicas, unavailable, availBefore, sizes(before), sizes(after))
		v.Kind = "availability"
		return v
	}
	return nil
}

// OneReplicaSetPerRevision: no two of the Rollout's ReplicaSets have the
// same pod-template hash or the same revision annotation.
//
// Source: Argo Rollouts §4.3 — the ReplicaSet of a template is named
// <rollout>-<hash> and created once (AlreadyExists adopts it or bumps
// collisionCount); a ReplicaSet that becomes current again gets the next
// revision, its earlier ones kept in revision-history.
func OneReplicaSetPerRevision(rss []appsv1.ReplicaSet) *Violation {
	hashes, revisions := map[string]string{}, map[string]string{}
	for _, rs := range rss {
		if h := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; h != "" {
			if other, dup := hashes[h]; dup {
				return violation(InvOneRSPerRev, "ReplicaSets %s and %s both have pod-template hash %s", other, rs.Name, h)
			}
			hashes[h] = rs.Name
		}
		if r := rs.Annotations[v1alpha1.RevisionAnnotation]; r != "" {
			if other, dup := revisions[r]; dup {
				return violation(InvOneRSPerRev, "ReplicaSets %s and %s both have revision %s", other, rs.Name, r)
			}
			revisions[r] = rs.Name
		}
	}
	return nil
}

// decisionReasons are the journaled decision events judged by
// DecisionEventsOnce. ScalingReplicaSet is journaled too but is not among
// them: the same scaling recurs legitimately within one revision (steps
// setWeight 33 then 10 on 3 replicas take the stable 3→2, back to 3, and
// 3→2 again at promotion), in Argo Rollouts as here.
var decisionReasons = map[string]bool{
	"RolloutStepCompleted": true, "RolloutCompleted": true, "RolloutPaused": true, "RolloutResumed": true,
	"RolloutAborted": true, "SkipSteps": true, "RolloutUpdated": true, "NewReplicaSetCreated": true,
	"RolloutNotCompleted": true, "ProgressDeadlineExceeded": true, "RolloutAddedToInformer": true,
	// A run's phase is told once: its message names the run and the phase
	// it moved from.
	"AnalysisRunPending": true, "AnalysisRunRunning": true, "AnalysisRunSuccessful": true,
	"AnalysisRunFailed": true, "AnalysisRunError": true, "AnalysisRunInconclusive": true,
	// A promotion's wait for evidence begins once per attempt.
	"AwaitingPromotionEvidence": true,
}

// decisionKey identifies a decision for DecisionEventsOnce: the reason and
// message, within the epoch (the user actions so far) and revision of the
// Rollout version it was decided from; a pause or resume also by the step
// the Rollout stood at once it was recorded (their message names none).
// RolloutAddedToInformer is once per Rollout, whatever happens.
func decisionKey(e journaled, v rolloutVersion) string {
	if e.reason == "RolloutAddedToInformer" {
		return e.reason + "|" + e.message
	}
	key := fmt.Sprintf("%s|%s|epoch %d|%s|%s", e.reason, e.message, v.epoch, v.podHash, v.stepHash)
	if (e.reason == "RolloutPaused" || e.reason == "RolloutResumed") && e.stepAfter != nil {
		key += fmt.Sprintf("|at step %d", *e.stepAfter)
		if e.awaitingAfter {
			// A last pause that ends while the promotion waits for
			// evidence stays on its step: its resume is not the one of
			// the step before, which also left the rollout there.
			key += "|awaiting evidence"
		}
	}
	return key
}

// DecisionEventsOnce: each decision the controller journals (step
// completed, paused, resumed, aborted, completed, updated, ReplicaSet
// created, deadline exceeded, added to informer, a run's new phase) is recorded
// once: between two user actions the same decision about the same
// revision is never recorded twice — not by a second reconcile, nor by a
// restarted controller redoing it from a cache that had not seen the
// first one's status write. seen maps each key to the event first
// recorded; it is updated.
//
// Source: Argo Rollouts' event reasons are notification triggers
// (§0.5: "Event reason strings are therefore a public API"), so a repeated
// decision notifies twice; events.Journal promises "the event stream shows
// every step exactly once" by naming each event after the decision and the
// object version it was made from.
func DecisionEventsOnce(entries []journaled, versions map[string]rolloutVersion, seen map[string]journaled) *Violation {
	for _, e := range entries {
		if !decisionReasons[e.reason] {
			continue
		}
		k := decisionKey(e, versions[e.subjectRV])
		if first, dup := seen[k]; dup && first.name != e.name {
			v := violation(InvDecisionOnce, "%s %q recorded twice (reconciles %d and %d, from Rollout versions %s and %s)",
				e.reason, e.message, first.reconcile, e.reconcile, first.subjectRV, e.subjectRV)
			v.Kind = e.reason
			return v
		}
		seen[k] = e
	}
	return nil
}

// PhaseAgreesWithConditions: the phase the controller wrote agrees with
// the rest of the status, by Argo Rollouts' rules written out here
// independently of internal/plan/phase:
//   - Degraded exactly when InvalidSpec is present or the Progressing
//     condition's reason is RolloutAborted or ProgressDeadlineExceeded; an
//     abort the controller has taken in (abortedAt set) is Degraded;
//   - otherwise Paused exactly when spec.paused or a pause condition holds
//     it (message "manually paused" or the first pause reason);
//   - the Paused condition is True exactly while spec.paused or a pause
//     condition holds (False or absent otherwise);
//   - the Completed condition is True exactly when stableRS equals
//     currentPodHash;
//   - Healthy requires Available True and Completed True, and Healthy
//     True once the counts are exact (replicas, updated and available
//     pods all equal spec.replicas) and, blue-green, a preview Service
//     selects the current revision.
//
// Three implications one might expect are not rules, in Argo Rollouts or
// here: the phase reads "at least" (updatedReplicas < replicas is
// Progressing) where the Healthy condition reads "exactly", so while a
// scale-down's surplus pods are still counted the phase is Healthy and
// the condition False; a blue-green phase reads only the active Service
// where the Healthy condition also wants the preview Service on the
// current revision (after an undo at 0 replicas it never gets there: a
// Service switches only to a ReplicaSet with an available pod); and the
// Healthy condition looks at neither an
// abort nor a pending restart, which the phase reports first (Degraded
// "RolloutAborted", Progressing "rollout is restarting"), so a True
// Healthy condition does not imply phase Healthy
// (utils/conditions.RolloutHealthyAndAvailable vs CalculateRolloutPhase).
//
// Source: utils/rollout/rolloututil.go:CalculateRolloutPhase (§1.5: the
// order InvalidSpec/RolloutAborted/ProgressDeadlineExceeded → Degraded,
// spec.paused → Paused "manually paused", pauseConditions → Paused with
// the reason, …) and §4.11: "Healthy condition: True when the rollout is
// completed and all replicas are updated and available", "Completed
// condition: True when stableRS == currentPodHash", "Available condition:
// True when available ≥ replicas".
func PhaseAgreesWithConditions(ro *v1alpha1.Rollout) *Violation {
	st := ro.Status
	find := func(t v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
		for i := range st.Conditions {
			if st.Conditions[i].Type == t {
				return &st.Conditions[i]
			}
		}
		return nil
	}
	isTrue := func(t v1alpha1.RolloutConditionType) bool {
		c := find(t)
		return c != nil && c.Status == corev1.ConditionTrue
	}
	prog := find(v1alpha1.RolloutProgressing)
	invalid := find(v1alpha1.InvalidSpec) != nil
	degraded := invalid || prog != nil && (prog.Reason == v1alpha1.RolloutAbortedReason || prog.Reason == v1alpha1.TimedOutReason)
	if (st.Phase == v1alpha1.RolloutPhaseDegraded) != degraded {
		return phaseViolation("degraded", "phase %s (%q), but InvalidSpec %v and Progressing %s", st.Phase, st.Message, invalid, conditionString(prog))
	}
	if st.Abort && st.AbortedAt != nil && !invalid && (prog == nil || prog.Reason != v1alpha1.RolloutAbortedReason) {
		return phaseViolation("aborted", "aborted at %s, but Progressing is %s", st.AbortedAt.UTC().Format(time.RFC3339), conditionString(prog))
	}
	held := ro.Spec.Paused || len(st.PauseConditions) > 0
	if !degraded {
		if (st.Phase == v1alpha1.RolloutPhasePaused) != held {
			return phaseViolation("paused", "phase %s (%q), but spec.paused %v and pause conditions %v", st.Phase, st.Message, ro.Spec.Paused, st.PauseConditions)
		}
		if held {
			want := "manually paused"
			if !ro.Spec.Paused {
				want = string(st.PauseConditions[0].Reason)
			}
			if st.Message != want {
				return phaseViolation("paused message", "phase Paused with message %q, want %q", st.Message, want)
			}
		}
	}
	if pc := find(v1alpha1.RolloutPaused); held && (pc == nil || pc.Status != corev1.ConditionTrue) || !held && pc != nil && pc.Status == corev1.ConditionTrue {
		return phaseViolation("paused condition", "Paused condition %s, but spec.paused %v and pause conditions %v", conditionString(pc), ro.Spec.Paused, st.PauseConditions)
	}
	completed := st.StableRS != "" && st.StableRS == st.CurrentPodHash
	if c := find(v1alpha1.RolloutCompleted); c != nil && (c.Status == corev1.ConditionTrue) != completed {
		return phaseViolation("completed condition", "Completed condition %s, but stableRS %q and currentPodHash %q", conditionString(c), st.StableRS, st.CurrentPodHash)
	}
	if st.Phase == v1alpha1.RolloutPhaseHealthy {
		want := []v1alpha1.RolloutConditionType{v1alpha1.RolloutAvailable, v1alpha1.RolloutCompleted}
		replicas := ro.ReplicasOrDefault()
		exact := st.Replicas == replicas && st.UpdatedReplicas == replicas && st.AvailableReplicas == replicas
		if bg := ro.Spec.Strategy.BlueGreen; bg != nil && bg.PreviewService != "" && st.BlueGreen.PreviewSelector != st.CurrentPodHash {
			exact = false // the preview Service is not back on the current revision yet
		}
		if exact {
			want = append(want, v1alpha1.RolloutHealthy)
		}
		for _, t := range want {
			if !isTrue(t) {
				return phaseViolation("healthy", "phase Healthy, but condition %s is %s", t, conditionString(find(t)))
			}
		}
	}
	return nil
}

// phaseViolation is a PhaseAgreesWithConditions violation of the rule
// named kind.
func phaseViolation(kind, format string, args ...any) *Violation {
	v := violation(InvPhase, format, args...)
	v.Kind = kind
	return v
}

func conditionString(c *v1alpha1.RolloutCondition) string {
	if c == nil {
		return "absent"
	}
	return fmt.Sprintf("%s/%s %q", c.Status, c.Reason, c.Message)
}
