package model

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Each invariant is shown to catch a state that breaks it (and to accept
// the nearest state that does not), so none of them holds vacuously.

func canaryRollout(steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: Namespace}}
	ro.Spec.Replicas = ptr(int32(4))
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: steps}
	return ro
}

func atStep(ro *v1alpha1.Rollout, hash string, idx int32, mutate func(*v1alpha1.RolloutStatus)) *v1alpha1.Rollout {
	out := ro.DeepCopy()
	out.Status.StableRS, out.Status.CurrentPodHash, out.Status.CurrentStepHash = "old", hash, "steps"
	out.Status.CurrentStepIndex = ptr(idx)
	if mutate != nil {
		mutate(&out.Status)
	}
	return out
}

func wantViolation(t *testing.T, v *Violation, invariant, kind string) {
	t.Helper()
	if v == nil || v.Invariant != invariant || v.Kind != kind {
		t.Fatalf("got %v, want a %s (%s) violation", v, invariant, kind)
	}
}

func wantNone(t *testing.T, v *Violation) {
	t.Helper()
	if v != nil {
		t.Fatalf("unexpected violation: %v", v)
	}
}

func TestPauseGateHolds(t *testing.T) {
	gate := v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}}
	weight := v1alpha1.CanaryStep{SetWeight: ptr(int32(20))}
	timed := v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: ptr(intstr.FromInt32(30))}}
	ro := canaryRollout(weight, gate, weight, timed)
	// The skipped-gate bug: pause conditions gone, controllerPause left
	// over, and the controller moves on from the gate with no promote.
	stale := atStep(ro, "new", 1, func(st *v1alpha1.RolloutStatus) { st.ControllerPause = true })
	passed := atStep(ro, "new", 2, nil)
	wantViolation(t, PauseGateHolds(stale, passed, newOpened()), InvPauseGate, "at-entry")
	// Reaching the gate and going through it in one pass.
	wantViolation(t, PauseGateHolds(atStep(ro, "new", 0, nil), passed, newOpened()), InvPauseGate, "in-passing")
	// Going on while another pause condition holds the rollout is told
	// apart.
	held := atStep(ro, "new", 0, func(st *v1alpha1.RolloutStatus) {
		st.ControllerPause = true
		st.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonInconclusiveAnalysis}}
	})
	wantViolation(t, PauseGateHolds(held, passed, newOpened()), InvPauseGate, "while paused")
	// A promote at the gate opens it; promote --full opens them all.
	opened := newOpened()
	opened.gates[gateKey{"new", 1}] = true
	wantNone(t, PauseGateHolds(stale, passed, opened))
	full := newOpened()
	full.full["new"] = true
	wantNone(t, PauseGateHolds(atStep(ro, "new", 0, nil), atStep(ro, "new", 4, nil), full))
	// A promote at another step does not.
	other := newOpened()
	other.gates[gateKey{"new", 0}] = true
	wantViolation(t, PauseGateHolds(stale, passed, other), InvPauseGate, "at-entry")
	// A timed pause passes by itself; a new revision starts over; an
	// abort sends the index back.
	wantNone(t, PauseGateHolds(atStep(ro, "new", 3, nil), atStep(ro, "new", 4, nil), newOpened()))
	wantNone(t, PauseGateHolds(atStep(ro, "older", 0, nil), atStep(ro, "new", 4, nil), newOpened()))
	wantNone(t, PauseGateHolds(stale, atStep(ro, "new", 0, func(st *v1alpha1.RolloutStatus) { st.Abort = true }), newOpened()))

	bg := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: Name}}
	bg.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "a", AutoPromotionEnabled: ptr(false)}
	before := bg.DeepCopy()
	before.Status.StableRS, before.Status.CurrentPodHash, before.Status.BlueGreen.ActiveSelector = "old", "new", "old"
	after := before.DeepCopy()
	after.Status.BlueGreen.ActiveSelector = "new"
	wantViolation(t, PauseGateHolds(before, after, newOpened()), InvPauseGate, "blue-green")
	promoted := newOpened()
	promoted.gates[gateKey{"new", bgGate}] = true
	wantNone(t, PauseGateHolds(before, after, promoted))
}

func replicaSet(name, hash, revision string, spec, available int32) appsv1.ReplicaSet {
	return appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name),
			Labels:      map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: revision}},
		Spec:   appsv1.ReplicaSetSpec{Replicas: ptr(spec)},
		Status: appsv1.ReplicaSetStatus{Replicas: spec, ReadyReplicas: available, AvailableReplicas: available},
	}
}

func TestNoPromotionWithoutEvidence(t *testing.T) {
	weight := v1alpha1.CanaryStep{SetWeight: ptr(int32(20))}
	short := v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: ptr(intstr.FromInt32(1))}}
	ro := canaryRollout(weight, short)
	ro.Spec.Strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{}
	before, after := atStep(ro, "new", 1, nil), atStep(ro, "new", 2, nil)
	run := func(phase v1alpha1.AnalysisPhase, successful int32) []v1alpha1.AnalysisRun {
		r := v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "web-new-2", Labels: map[string]string{"rollout-type": "Background", v1alpha1.DefaultRolloutUniqueLabelKey: "new"}}}
		r.Spec.Metrics = []v1alpha1.Metric{{Name: "rate"}}
		r.Status.Phase = phase
		r.Status.MetricResults = []v1alpha1.MetricResult{{Name: "rate", Phase: phase, Successful: successful}}
		return []v1alpha1.AnalysisRun{r}
	}
	opened := newOpened()
	// The short pause ends and the canary is promoted, nothing measured.
	wantViolation(t, NoPromotionWithoutEvidence(before, after, run(v1alpha1.AnalysisPhaseRunning, 0), opened), InvEvidence, "unmeasured")
	wantViolation(t, NoPromotionWithoutEvidence(before, after, nil, opened), InvEvidence, "no run")
	// Measured successfully: promoted.
	wantNone(t, NoPromotionWithoutEvidence(before, after, run(v1alpha1.AnalysisPhaseSuccessful, 1), opened))
	// Ended inconclusive (a user promoted past its pause): it measures no more.
	wantNone(t, NoPromotionWithoutEvidence(before, after, run(v1alpha1.AnalysisPhaseInconclusive, 0), opened))
	// Staying at the last step, or a step before the last, is no promotion.
	wantNone(t, NoPromotionWithoutEvidence(atStep(ro, "new", 0, nil), before, nil, opened))
	// promote --full, the opt-out, no background analysis: not judged.
	opened.full["new"] = true
	wantNone(t, NoPromotionWithoutEvidence(before, after, nil, opened))
	opened = newOpened()
	out := ro.DeepCopy()
	out.Annotations = map[string]string{"rollouts.aviary.dev/promotion-evidence": "0"}
	wantNone(t, NoPromotionWithoutEvidence(before, atStep(out, "new", 2, nil), nil, opened))
	plain := canaryRollout(weight, short)
	wantNone(t, NoPromotionWithoutEvidence(atStep(plain, "new", 1, nil), atStep(plain, "new", 2, nil), nil, opened))
}

func TestAbortSettlesOnStable(t *testing.T) {
	now := epoch.Add(time.Hour)
	aborted := canaryRollout(v1alpha1.CanaryStep{SetWeight: ptr(int32(50))})
	aborted.Status.StableRS, aborted.Status.CurrentPodHash, aborted.Status.Abort = "s", "c", true
	aborted.Status.AbortedAt = &metav1.Time{Time: now.Add(-time.Minute)}
	settled := []appsv1.ReplicaSet{replicaSet("web-s", "s", "1", 4, 4), replicaSet("web-c", "c", "2", 0, 0)}
	wantNone(t, AbortSettlesOnStable(aborted, settled, nil, now))
	wantViolation(t, AbortSettlesOnStable(aborted, []appsv1.ReplicaSet{replicaSet("web-s", "s", "1", 4, 4), replicaSet("web-c", "c", "2", 1, 1)}, nil, now), InvAbortSettles, "")
	wantViolation(t, AbortSettlesOnStable(aborted, []appsv1.ReplicaSet{replicaSet("web-s", "s", "1", 3, 3), replicaSet("web-c", "c", "2", 0, 0)}, nil, now), InvAbortSettles, "")
	wantViolation(t, AbortSettlesOnStable(aborted, append(settled, replicaSet("web-o", "o", "0", 1, 1)), nil, now), InvAbortSettles, "")

	// Routed: the weight must be 0, in status and on the canary Ingress;
	// the canary waits out its abort scale-down deadline.
	routed := aborted.DeepCopy()
	routed.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "web"}}
	routed.Status.Canary.Weights = &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: 0}}
	held := replicaSet("web-c", "c", "2", 2, 2)
	held.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = now.Add(time.Minute).Format(time.RFC3339)
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"nginx.ingress.kubernetes.io/canary-weight": "0"}}}
	wantNone(t, AbortSettlesOnStable(routed, []appsv1.ReplicaSet{settled[0], held}, ing, now))
	wantViolation(t, AbortSettlesOnStable(routed, []appsv1.ReplicaSet{settled[0], held}, ing, now.Add(2*time.Minute)), InvAbortSettles, "")
	ing.Annotations["nginx.ingress.kubernetes.io/canary-weight"] = "20"
	wantViolation(t, AbortSettlesOnStable(routed, settled, ing, now), InvAbortSettles, "")
	routed.Status.Canary.Weights.Canary.Weight = 20
	wantViolation(t, AbortSettlesOnStable(routed, settled, nil, now), InvAbortSettles, "")
}

func TestFenceposts(t *testing.T) {
	for _, tc := range []struct {
		replicas                 int32
		surge, unavailable       *intstr.IntOrString
		wantSurge, wantUnavailab int32
	}{
		{10, nil, nil, 3, 2}, // "25": surge rounds up, unavailable down
		{1, nil, nil, 1, 0},  // 0.25 → 1 and 0
		{3, ptr(intstr.FromInt32(0)), ptr(intstr.FromInt32(0)), 0, 1}, // both 0: one may be unavailable
		{10, ptr(intstr.FromString("3")), nil, 1, 2},                  // a string is a percentage, "%" or not
		{2, nil, ptr(intstr.FromInt32(5)), 1, 2},                      // never more than replicas
	} {
		s, u := Fenceposts(tc.replicas, tc.surge, tc.unavailable)
		if s != tc.wantSurge || u != tc.wantUnavailab {
			t.Errorf("Fenceposts(%d, %v, %v) = %d, %d; want %d, %d", tc.replicas, tc.surge, tc.unavailable, s, u, tc.wantSurge, tc.wantUnavailab)
		}
	}
}

func TestBasicCanaryReplicaBounds(t *testing.T) {
	ro := canaryRollout(v1alpha1.CanaryStep{SetWeight: ptr(int32(50))})
	ro.Spec.Strategy.Canary.MaxSurge, ro.Spec.Strategy.Canary.MaxUnavailable = ptr(intstr.FromInt32(1)), ptr(intstr.FromInt32(0))
	before := []appsv1.ReplicaSet{replicaSet("web-s", "s", "1", 4, 4), replicaSet("web-c", "c", "2", 0, 0)}
	// Growing the canary by one is within replicas 4 + maxSurge 1 …
	wantNone(t, BasicCanaryReplicaBounds(ro, before, []appsv1.ReplicaSet{before[0], replicaSet("web-c", "c", "2", 1, 0)}))
	// … by two is not.
	wantViolation(t, BasicCanaryReplicaBounds(ro, before, []appsv1.ReplicaSet{before[0], replicaSet("web-c", "c", "2", 2, 0)}), InvReplicaBounds, "surge")
	// A new ReplicaSet created at a size counts as growing.
	wantViolation(t, BasicCanaryReplicaBounds(ro, before[:1], []appsv1.ReplicaSet{before[0], replicaSet("web-c", "c", "2", 2, 0)}), InvReplicaBounds, "surge")
	// Shrinking the stable while the canary's pod is not available yet
	// takes availability below replicas − maxUnavailable = 4.
	mid := []appsv1.ReplicaSet{replicaSet("web-s", "s", "1", 4, 4), replicaSet("web-c", "c", "2", 1, 0)}
	wantViolation(t, BasicCanaryReplicaBounds(ro, mid, []appsv1.ReplicaSet{replicaSet("web-s", "s", "1", 3, 4), mid[1]}), InvReplicaBounds, "availability")
	// Once it is, the stable may give up a pod.
	ready := []appsv1.ReplicaSet{replicaSet("web-s", "s", "1", 4, 4), replicaSet("web-c", "c", "2", 1, 1)}
	wantNone(t, BasicCanaryReplicaBounds(ro, ready, []appsv1.ReplicaSet{replicaSet("web-s", "s", "1", 3, 4), ready[1]}))
	// Dropping unavailable pods never counts against the floor.
	wantNone(t, BasicCanaryReplicaBounds(ro, mid, []appsv1.ReplicaSet{mid[0], replicaSet("web-c", "c", "2", 0, 0)}))
	// A ReplicaSet already scaled to 0 whose pod is still reported
	// available counts, as in Argo's arithmetic: giving up another pod
	// keeps the reported floor of 3 …
	three := canaryRollout(v1alpha1.CanaryStep{SetWeight: ptr(int32(75))})
	three.Spec.Replicas = ptr(int32(3))
	three.Spec.Strategy.Canary.MaxUnavailable = ptr(intstr.FromInt32(0))
	lingering := []appsv1.ReplicaSet{replicaSet("web-a", "a", "3", 0, 1), replicaSet("web-s", "s", "1", 1, 1),
		replicaSet("web-b", "b", "2", 1, 1), replicaSet("web-n", "n", "4", 1, 1)}
	wantNone(t, BasicCanaryReplicaBounds(three, lingering, []appsv1.ReplicaSet{lingering[0], lingering[1], replicaSet("web-b", "b", "2", 0, 1), replicaSet("web-n", "n", "4", 2, 1)}))
	// … giving up two does not.
	wantViolation(t, BasicCanaryReplicaBounds(three, lingering, []appsv1.ReplicaSet{lingering[0], replicaSet("web-s", "s", "1", 0, 1), replicaSet("web-b", "b", "2", 0, 1), replicaSet("web-n", "n", "4", 2, 1)}), InvReplicaBounds, "availability")
	// A traffic-routed canary is not judged here.
	routed := ro.DeepCopy()
	routed.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "web"}}
	wantNone(t, BasicCanaryReplicaBounds(routed, before, []appsv1.ReplicaSet{before[0], replicaSet("web-c", "c", "2", 4, 0)}))
}

func TestOneReplicaSetPerRevision(t *testing.T) {
	wantNone(t, OneReplicaSetPerRevision([]appsv1.ReplicaSet{replicaSet("a", "h1", "1", 1, 1), replicaSet("b", "h2", "2", 1, 1)}))
	wantViolation(t, OneReplicaSetPerRevision([]appsv1.ReplicaSet{replicaSet("a", "h1", "1", 1, 1), replicaSet("b", "h1", "2", 1, 1)}), InvOneRSPerRev, "")
	wantViolation(t, OneReplicaSetPerRevision([]appsv1.ReplicaSet{replicaSet("a", "h1", "2", 1, 1), replicaSet("b", "h2", "2", 1, 1)}), InvOneRSPerRev, "")
}

func TestDecisionEventsOnce(t *testing.T) {
	versions := map[string]rolloutVersion{
		"10": {epoch: 3, podHash: "h", stepHash: "s"},
		"12": {epoch: 3, podHash: "h", stepHash: "s"},
		"20": {epoch: 4, podHash: "h", stepHash: "s"},
	}
	step := func(name, rv string) journaled {
		return journaled{name: name, reason: "RolloutStepCompleted", message: "Rollout step 1/3 completed (setWeight: 20)", subjectRV: rv}
	}
	// The journal's own dedupe (same event name) is not a repeat.
	wantNone(t, DecisionEventsOnce([]journaled{step("web.a", "10"), step("web.a", "10")}, versions, map[string]journaled{}))
	// The same decision redone from another version between the same user
	// actions is.
	wantViolation(t, DecisionEventsOnce([]journaled{step("web.a", "10"), step("web.b", "12")}, versions, map[string]journaled{}), InvDecisionOnce, "RolloutStepCompleted")
	// After a user action (a retry, say) the steps may complete again.
	wantNone(t, DecisionEventsOnce([]journaled{step("web.a", "10"), step("web.b", "20")}, versions, map[string]journaled{}))
	// Pauses at two different steps share a message and are distinct.
	paused := func(name, rv string, at int32) journaled {
		return journaled{name: name, reason: "RolloutPaused", message: "Rollout is paused (CanaryPauseStep)", subjectRV: rv, stepAfter: ptr(at)}
	}
	wantNone(t, DecisionEventsOnce([]journaled{paused("web.a", "10", 1), paused("web.b", "12", 3)}, versions, map[string]journaled{}))
	wantViolation(t, DecisionEventsOnce([]journaled{paused("web.a", "10", 1), paused("web.b", "12", 1)}, versions, map[string]journaled{}), InvDecisionOnce, "RolloutPaused")
	// A run's phase is told once.
	runFailed := func(name, rv string) journaled {
		return journaled{name: name, reason: "AnalysisRunFailed", message: "Background Analysis Run 'web-h-2' Status New: 'Failed' Previous: 'Running'", subjectRV: rv}
	}
	wantViolation(t, DecisionEventsOnce([]journaled{runFailed("web.e", "10"), runFailed("web.f", "12")}, versions, map[string]journaled{}), InvDecisionOnce, "AnalysisRunFailed")
	// Scaling repeats legitimately and is not judged.
	scale := journaled{name: "web.c", reason: "ScalingReplicaSet", message: "Scaled down ReplicaSet web-s (revision 1) from 3 to 2", subjectRV: "10"}
	scale2 := scale
	scale2.name, scale2.subjectRV = "web.d", "12"
	wantNone(t, DecisionEventsOnce([]journaled{scale, scale2}, versions, map[string]journaled{}))
}

func condition(t v1alpha1.RolloutConditionType, s corev1.ConditionStatus, reason string) v1alpha1.RolloutCondition {
	return v1alpha1.RolloutCondition{Type: t, Status: s, Reason: reason}
}

func healthyRollout() *v1alpha1.Rollout {
	ro := canaryRollout()
	ro.Status = v1alpha1.RolloutStatus{Phase: v1alpha1.RolloutPhaseHealthy, StableRS: "h", CurrentPodHash: "h",
		Replicas: 4, UpdatedReplicas: 4, AvailableReplicas: 4, ReadyReplicas: 4,
		Conditions: []v1alpha1.RolloutCondition{
			condition(v1alpha1.RolloutProgressing, corev1.ConditionTrue, v1alpha1.NewRSAvailableReason),
			condition(v1alpha1.RolloutAvailable, corev1.ConditionTrue, v1alpha1.AvailableReason),
			condition(v1alpha1.RolloutCompleted, corev1.ConditionTrue, v1alpha1.RolloutCompletedReason),
			condition(v1alpha1.RolloutHealthy, corev1.ConditionTrue, v1alpha1.RolloutHealthyReason),
		}}
	return ro
}

func setCondition(ro *v1alpha1.Rollout, c v1alpha1.RolloutCondition) {
	for i := range ro.Status.Conditions {
		if ro.Status.Conditions[i].Type == c.Type {
			ro.Status.Conditions[i] = c
			return
		}
	}
	ro.Status.Conditions = append(ro.Status.Conditions, c)
}

func TestPhaseAgreesWithConditions(t *testing.T) {
	wantNone(t, PhaseAgreesWithConditions(healthyRollout()))
	for _, tc := range []struct {
		name, kind string
		mutate     func(*v1alpha1.Rollout)
	}{
		{"Healthy but not Available", "healthy", func(ro *v1alpha1.Rollout) {
			setCondition(ro, condition(v1alpha1.RolloutAvailable, corev1.ConditionFalse, v1alpha1.AvailableReason))
		}},
		{"Healthy with exact counts but the Healthy condition False", "healthy", func(ro *v1alpha1.Rollout) {
			setCondition(ro, condition(v1alpha1.RolloutHealthy, corev1.ConditionFalse, v1alpha1.RolloutHealthyReason))
		}},
		{"Completed True but stable is not current", "completed condition", func(ro *v1alpha1.Rollout) {
			ro.Status.CurrentPodHash = "new"
			ro.Status.Phase = v1alpha1.RolloutPhaseProgressing
		}},
		{"aborted but Healthy", "degraded", func(ro *v1alpha1.Rollout) {
			setCondition(ro, condition(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason))
		}},
		{"Degraded without a cause", "degraded", func(ro *v1alpha1.Rollout) { ro.Status.Phase = v1alpha1.RolloutPhaseDegraded }},
		{"abort taken in, Progressing not RolloutAborted", "aborted", func(ro *v1alpha1.Rollout) {
			ro.Status.Abort, ro.Status.AbortedAt = true, &metav1.Time{Time: epoch}
		}},
		{"spec.paused but Healthy", "paused", func(ro *v1alpha1.Rollout) { ro.Spec.Paused = true }},
		{"Paused with nothing holding it", "paused", func(ro *v1alpha1.Rollout) { ro.Status.Phase = v1alpha1.RolloutPhasePaused }},
		{"paused at a step, Paused condition False", "paused condition", func(ro *v1alpha1.Rollout) {
			ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, string(v1alpha1.PauseReasonCanaryPauseStep)
			ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
			setCondition(ro, condition(v1alpha1.RolloutPaused, corev1.ConditionFalse, v1alpha1.RolloutPausedReason))
		}},
		{"paused by the user, the message the step's", "paused message", func(ro *v1alpha1.Rollout) {
			ro.Spec.Paused = true
			ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, string(v1alpha1.PauseReasonCanaryPauseStep)
			ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
			setCondition(ro, condition(v1alpha1.RolloutPaused, corev1.ConditionTrue, v1alpha1.RolloutPausedReason))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := healthyRollout()
			tc.mutate(ro)
			wantViolation(t, PhaseAgreesWithConditions(ro), InvPhase, tc.kind)
		})
	}
	// What Argo Rollouts does too, not a violation: a scale-down's surplus
	// pods still counted (phase Healthy, Healthy condition False) …
	scaling := healthyRollout()
	scaling.Spec.Replicas = ptr(int32(2))
	scaling.Status.AvailableReplicas, scaling.Status.UpdatedReplicas = 4, 4
	setCondition(scaling, condition(v1alpha1.RolloutHealthy, corev1.ConditionFalse, v1alpha1.RolloutHealthyReason))
	wantNone(t, PhaseAgreesWithConditions(scaling))
	// … a blue-green preview Service not back on the current revision
	// (the phase reads the active Service only) …
	bgHealthy := healthyRollout()
	bgHealthy.Spec.Strategy = v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "a", PreviewService: "p"}}
	bgHealthy.Status.BlueGreen.ActiveSelector, bgHealthy.Status.BlueGreen.PreviewSelector = "h", "old"
	setCondition(bgHealthy, condition(v1alpha1.RolloutHealthy, corev1.ConditionFalse, v1alpha1.RolloutHealthyReason))
	wantNone(t, PhaseAgreesWithConditions(bgHealthy))
	bgHealthy.Status.BlueGreen.PreviewSelector = "h"
	wantViolation(t, PhaseAgreesWithConditions(bgHealthy), InvPhase, "healthy")
	// … and a fully promoted rollout aborted: Degraded, Healthy True.
	aborted := healthyRollout()
	aborted.Status.Phase, aborted.Status.Abort, aborted.Status.AbortedAt = v1alpha1.RolloutPhaseDegraded, true, &metav1.Time{Time: epoch}
	setCondition(aborted, condition(v1alpha1.RolloutProgressing, corev1.ConditionFalse, v1alpha1.RolloutAbortedReason))
	wantNone(t, PhaseAgreesWithConditions(aborted))
}

// The pods a scale-down removes first are the ones that serve least: not
// ready, then the most recently ready, then the newest.
func TestDeletionOrder(t *testing.T) {
	pod := func(name string, ready bool, since time.Duration) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.Time{Time: epoch}}}
		s := corev1.ConditionFalse
		if ready {
			s = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: s, LastTransitionTime: metav1.Time{Time: epoch.Add(since)}}}
		return p
	}
	got := deletionOrder([]*corev1.Pod{pod("old-ready", true, 0), pod("unready", false, 0), pod("new-ready", true, time.Minute)})
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "unready,new-ready,old-ready" {
		t.Errorf("deletion order %v", names)
	}
}
