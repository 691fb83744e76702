package rules

import (
	"github.com/aviary-rollouts/aviary/api/v1alpha1"

	"slices"
	"strings"
)

// Told is one Kubernetes Event that tells everything one reconcile did to a
// Rollout. Argo Rollouts writes an Event per fact (a step completed, a pause
// began, each ReplicaSet scale), up to four for one step; on a wave of many
// rollouts those writes were half of the controller's API requests. A
// reconcile is one decision, so it is told once: under its most significant
// reason, with every fact's message, and every fact kept (Facts) for the
// tools that read reasons — the Event carries them in an annotation.
type Told struct {
	Warning bool
	// Reason is the most significant fact's reason (see significance).
	Reason string
	// Message is that fact's message, then the others' in the order they
	// happened, joined by "; ".
	Message string
	// Facts are every fact told, in the order they happened.
	Facts []Event
	// Key is what names the Event, with the Rollout's version: the
	// decisions when there are any. A decision is planned again from the
	// same Rollout version after a crash, while the ReplicaSet facts of its
	// first attempt are then already done and absent, so keying on the
	// decisions alone finds the first attempt's Event and tells nothing
	// twice.
	Key string
}

// MaxToldMessage bounds a told message: one Event carries a whole
// reconcile's facts, and the API server keeps Event notes to 1 KiB.
const MaxToldMessage = 1024

// significance ranks reasons for the one an Event is told under: what a
// user follows a rollout by first (its outcome, its steps, its gates), the
// mechanics that carried it out last. Reasons not listed rank after these,
// in the order they happened.
//
// A run's failure or error is a warning, so it outranks every normal fact;
// the abort it causes still leads, its message naming the failure as the
// cause, with the run's own fact kept beside it (Facts). A run's other
// phases follow the decisions they lead to (its success, the step it
// completes; its inconclusive end, the pause it starts) and come before
// the mechanics.
var significance = []string{
	ReasonAborted,
	ReasonDeadlineExceeded,
	ReasonAnalysisRunFailed,
	ReasonAnalysisRunError,
	ReasonCompleted,
	ReasonStepCompleted,
	ReasonPaused,
	ReasonAwaitingEvidence,
	ReasonAnalysisRunInconclusive,
	ReasonUpdated,
	ReasonSkipSteps,
	ReasonResumed,
	ReasonStepPluginTransition,
	ReasonAnalysisRunSuccessful,
	ReasonAnalysisRunRunning,
	ReasonAnalysisRunPending,
	v1alpha1.RolloutNotCompletedReason,
	ReasonNewReplicaSetCreated,
	ReasonScalingReplicaSet,
}

func rank(reason string) int {
	if i := slices.Index(significance, reason); i >= 0 {
		return i
	}
	return len(significance)
}

// Fold tells a reconcile's facts — done, the ReplicaSet writes as they
// happened; decided, the planner's decision events — as one Event. ok is
// false when there is nothing to tell. A warning outranks every normal
// fact and makes the Event a warning.
func Fold(done, decided []Event) (t Told, ok bool) {
	facts := slices.Concat(done, decided)
	if len(facts) == 0 {
		return Told{}, false
	}
	lead := 0
	for i, f := range facts {
		l := facts[lead]
		if f.Warning != l.Warning {
			if f.Warning {
				lead = i
			}
			continue
		}
		if rank(f.Reason) < rank(l.Reason) {
			lead = i
		}
	}
	msgs := make([]string, 0, len(facts))
	msgs = append(msgs, facts[lead].Message)
	for i, f := range facts {
		if i != lead && f.Message != "" {
			msgs = append(msgs, f.Message)
		}
	}
	keyed := decided
	if len(keyed) == 0 {
		keyed = done
	}
	var key strings.Builder
	for _, f := range keyed {
		key.WriteString(f.Reason)
		key.WriteByte(0)
		key.WriteString(f.Message)
		key.WriteByte(0)
	}
	return Told{
		Warning: facts[lead].Warning,
		Reason:  facts[lead].Reason,
		Message: truncate(strings.Join(msgs, "; "), MaxToldMessage),
		Facts:   facts,
		Key:     key.String(),
	}, true
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
