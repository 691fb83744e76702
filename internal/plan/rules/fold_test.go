package rules

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFold(t *testing.T) {
	scaleUp := Event{Reason: ReasonScalingReplicaSet, Message: "Scaled up ReplicaSet web-b (revision 2) from 1 to 2"}
	scaleDown := Event{Reason: ReasonScalingReplicaSet, Message: "Scaled down ReplicaSet web-a (revision 1) from 2 to 1"}
	step := Event{Reason: ReasonStepCompleted, Message: "Rollout step 1/4 completed (setWeight: 34)"}
	paused := Event{Reason: ReasonPaused, Message: "Rollout is paused (CanaryPauseStep)"}
	updated := Event{Reason: ReasonUpdated, Message: "Rollout updated to revision 2"}
	created := Event{Reason: ReasonNewReplicaSetCreated, Message: "Created ReplicaSet web-b (revision 2)"}
	notDone := Event{Reason: "RolloutNotCompleted", Message: "Rollout not completed, started update to revision 2 (b)"}
	aborted := Event{Warning: true, Reason: ReasonAborted, Message: "Rollout aborted update to revision 2"}
	custom := Event{Reason: "TrafficWeightUpdated", Message: "Traffic weight updated from 0 to 34"}
	runFailed := Event{Warning: true, Reason: ReasonAnalysisRunFailed, Message: "Step Analysis Run 'r' Status New: 'Failed' Previous: 'Running'"}
	runPassed := Event{Reason: ReasonAnalysisRunSuccessful, Message: "Step Analysis Run 'r' Status New: 'Successful' Previous: 'Running'"}
	runRunning := Event{Reason: ReasonAnalysisRunRunning, Message: "Step Analysis Run 'r' Status New: 'Running' Previous: 'Pending'"}

	cases := []struct {
		name            string
		done, decided   []Event
		reason, message string
		warning         bool
		keyFrom         []Event
	}{
		{name: "a scale alone is told as it is", done: []Event{scaleDown},
			reason: ReasonScalingReplicaSet, message: scaleDown.Message, keyFrom: []Event{scaleDown}},
		{name: "a step outranks the scales that reached it and the pause it starts",
			done: []Event{scaleDown, scaleUp}, decided: []Event{step, paused},
			reason: ReasonStepCompleted, message: step.Message + "; " + scaleDown.Message + "; " + scaleUp.Message + "; " + paused.Message,
			keyFrom: []Event{step, paused}},
		{name: "an update is told under RolloutUpdated, its ReplicaSet and the unfinished state with it",
			done: []Event{updated, created, scaleUp}, decided: []Event{notDone},
			reason: ReasonUpdated, message: updated.Message + "; " + created.Message + "; " + scaleUp.Message + "; " + notDone.Message,
			keyFrom: []Event{notDone}},
		{name: "a warning outranks every normal fact and makes the event a warning",
			done: []Event{scaleDown}, decided: []Event{step, aborted},
			reason: ReasonAborted, warning: true, message: aborted.Message + "; " + scaleDown.Message + "; " + step.Message,
			keyFrom: []Event{step, aborted}},
		{name: "the abort a run's failure causes leads, the failure kept beside it",
			decided: []Event{runFailed, aborted},
			reason:  ReasonAborted, warning: true, message: aborted.Message + "; " + runFailed.Message, keyFrom: []Event{runFailed, aborted}},
		{name: "a run's failure alone is a warning ahead of the scales",
			done: []Event{scaleDown}, decided: []Event{runFailed},
			reason: ReasonAnalysisRunFailed, warning: true, message: runFailed.Message + "; " + scaleDown.Message, keyFrom: []Event{runFailed}},
		{name: "a passed run follows the step it completes",
			decided: []Event{runPassed, step},
			reason:  ReasonStepCompleted, message: step.Message + "; " + runPassed.Message, keyFrom: []Event{runPassed, step}},
		{name: "a run starting leads the scales",
			done: []Event{scaleUp}, decided: []Event{runRunning},
			reason: ReasonAnalysisRunRunning, message: runRunning.Message + "; " + scaleUp.Message, keyFrom: []Event{runRunning}},
		{name: "unknown reasons rank after known ones, first come first",
			decided: []Event{custom, scaleUp},
			reason:  ReasonScalingReplicaSet, message: scaleUp.Message + "; " + custom.Message, keyFrom: []Event{custom, scaleUp}},
		{name: "two unknown reasons: the first leads", decided: []Event{custom, {Reason: "Other", Message: "x"}},
			reason: custom.Reason, message: custom.Message + "; x", keyFrom: []Event{custom, {Reason: "Other", Message: "x"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Fold(c.done, c.decided)
			if !ok {
				t.Fatal("nothing told")
			}
			if got.Reason != c.reason || got.Message != c.message || got.Warning != c.warning {
				t.Errorf("told %v %s %q, want %v %s %q", got.Warning, got.Reason, got.Message, c.warning, c.reason, c.message)
			}
			if n := len(c.done) + len(c.decided); len(got.Facts) != n {
				t.Errorf("%d facts kept, want %d", len(got.Facts), n)
			}
			want, _ := Fold(nil, c.keyFrom)
			if got.Key != want.Key {
				t.Errorf("key %q, want the key of %v", got.Key, c.keyFrom)
			}
		})
	}
}

func TestFoldNothing(t *testing.T) {
	if _, ok := Fold(nil, nil); ok {
		t.Fatal("an empty reconcile told something")
	}
}

// TestFoldKeyIgnoresDoneFacts: the redo of a decision after a crash, its
// ReplicaSet writes already done, names the same Event.
func TestFoldKeyIgnoresDoneFacts(t *testing.T) {
	step := Event{Reason: ReasonStepCompleted, Message: "Rollout step 2/4 completed (pause: 1s)"}
	first, _ := Fold([]Event{{Reason: ReasonScalingReplicaSet, Message: "Scaled down ReplicaSet a (revision 1) from 2 to 1"}}, []Event{step})
	redo, _ := Fold(nil, []Event{step})
	if first.Key != redo.Key {
		t.Fatalf("first attempt key %q, redo %q", first.Key, redo.Key)
	}
	other, _ := Fold(nil, []Event{{Reason: ReasonStepCompleted, Message: "Rollout step 3/4 completed (setWeight: 67)"}})
	if other.Key == first.Key {
		t.Fatal("two decisions share a key")
	}
}

func TestFoldBoundsTheMessage(t *testing.T) {
	var facts []Event
	for range 40 {
		facts = append(facts, Event{Reason: ReasonScalingReplicaSet, Message: "Scaled down ReplicaSet ŵeb-ä (revision 1) from 2 to 1"})
	}
	got, _ := Fold(facts, nil)
	if len(got.Message) > MaxToldMessage || !utf8.ValidString(got.Message) || !strings.HasSuffix(got.Message, "…") {
		t.Fatalf("message of %d bytes, valid UTF-8 %v: %q", len(got.Message), utf8.ValidString(got.Message), got.Message)
	}
	if len(got.Facts) != 40 {
		t.Fatalf("%d facts kept, want 40", len(got.Facts))
	}
}
