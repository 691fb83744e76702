package canary

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/evidence"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// MsgNoBackgroundRun is the wait's message while the background run the
// last step needs does not exist yet.
const MsgNoBackgroundRun = "waiting for evidence before promotion: the background analysis run has not been created yet"

// evidenceApplies reports whether the promotion-evidence rule holds the
// update in st: the Rollout has a background analysis and does not opt
// out, and the update is neither aborted, promoted in full nor complete.
// (An invalid annotation is reported by validation, which stops the
// rollout before the planner runs; the default would apply.)
func evidenceApplies(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, newHash string) bool {
	n, _ := evidence.Minimum(ro)
	return n > 0 && ro.Spec.Strategy.Canary.Analysis != nil && !st.Abort && !st.PromoteFull &&
		st.StableRS != "" && st.StableRS != newHash
}

// markWeight records now as the moment the canary reached its current
// weight: measurements from then on are evidence at that weight.
func markWeight(st *v1alpha1.RolloutStatus, now time.Time) {
	at := metav1.NewTime(now)
	st.Canary.PromotionEvidence = &v1alpha1.PromotionEvidence{WeightSince: &at}
}

// promotionHeld decides the final step of an update whose last step is
// done: it may be taken unless the background analysis, running at the
// last step, lacks evidence at the current weight. Held, the status says
// why (promotionEvidence.waiting) and the wait is told once, when it
// begins.
func promotionHeld(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, obs Observed) (bool, []rules.Event) {
	last := int32(len(ro.Spec.Strategy.Canary.Steps)) - 1
	// A run that has ended takes no more measurements: its verdict stands
	// (a pass, or an inconclusive end a person promoted past; a failure
	// has aborted the update already).
	ended := obs.BackgroundRun != nil && obs.BackgroundRun.Phase.Completed()
	if !evidenceApplies(ro, st, obs.NewHash) || !backgroundAt(ro, st, obs, last) || ended {
		if rules.AwaitingEvidence(st) {
			st.Canary.PromotionEvidence.Waiting = ""
		}
		return false, nil
	}
	var since *time.Time
	if pe := st.Canary.PromotionEvidence; pe != nil && pe.WeightSince != nil {
		since = &pe.WeightSince.Time
	}
	msg := MsgNoBackgroundRun
	if obs.BackgroundRun != nil {
		minimum, _ := evidence.Minimum(ro)
		msg = evidence.Missing(obs.Evidence, since, minimum)
	}
	if msg == "" {
		if rules.AwaitingEvidence(st) {
			st.Canary.PromotionEvidence.Waiting = ""
		}
		return false, nil
	}
	began := !rules.AwaitingEvidence(st)
	if st.Canary.PromotionEvidence == nil {
		// Not recorded (a status another controller wrote): every
		// retained measurement counts, see evidence.Missing.
		st.Canary.PromotionEvidence = &v1alpha1.PromotionEvidence{}
	}
	st.Canary.PromotionEvidence.Waiting = msg
	if !began {
		return true, nil
	}
	return true, []rules.Event{{Reason: rules.ReasonAwaitingEvidence, Message: msg}}
}

// settleEvidence keeps status.canary.promotionEvidence true to the update
// after a decision: the weight's clock starts with an update, the record
// goes once the rule no longer applies (an abort, whose retry then counts
// every measurement of its new run until a weight step completes), and a
// wait only stands at the last step (a user's promote moves past it).
func settleEvidence(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, newHash string, now time.Time) {
	if !evidenceApplies(ro, st, newHash) {
		st.Canary.PromotionEvidence = nil
		return
	}
	if st.CurrentPodHash != ro.Status.CurrentPodHash || st.CurrentStepHash != ro.Status.CurrentStepHash {
		markWeight(st, now)
	}
	last := int32(len(ro.Spec.Strategy.Canary.Steps)) - 1
	if rules.AwaitingEvidence(st) && (st.CurrentStepIndex == nil || *st.CurrentStepIndex != last) {
		st.Canary.PromotionEvidence.Waiting = ""
	}
}

// changesWeight reports steps whose completion puts the canary at a new
// weight or scale.
func changesWeight(s v1alpha1.CanaryStep) bool {
	return s.SetWeight != nil || s.SetCanaryScale != nil
}
