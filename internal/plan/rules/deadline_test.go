package rules

import (
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestProgressDeadline(t *testing.T) {
	in := DeadlineInput{NewRSName: "web-abc", Deadline: 10 * time.Minute}
	st := v1alpha1.RolloutStatus{StableRS: "old", CurrentPodHash: "new"}

	in.Progressed = true
	if _, due := TrackProgress(&st, in, t0); due != 10*time.Minute {
		t.Fatalf("progress starts the clock: due %s", due)
	}
	in.Progressed = false
	if ev, due := TrackProgress(&st, in, t0.Add(4*time.Minute)); len(ev) != 0 || due != 6*time.Minute {
		t.Fatalf("no progress for 4m: events %v due %s", ev, due)
	}
	in.Progressed = true
	TrackProgress(&st, in, t0.Add(5*time.Minute))
	in.Progressed = false
	if _, due := TrackProgress(&st, in, t0.Add(9*time.Minute)); due != 6*time.Minute {
		t.Fatalf("progress at 5m moves the deadline to 15m: due %s", due)
	}
	ev, _ := TrackProgress(&st, in, t0.Add(15*time.Minute))
	c := FindCondition(st.Conditions, v1alpha1.RolloutProgressing)
	if len(ev) != 1 || c.Reason != v1alpha1.TimedOutReason || c.Message != `ReplicaSet "web-abc" has timed out progressing.` || st.Abort {
		t.Fatalf("timeout: %+v events %v", c, ev)
	}
	if ev, _ := TrackProgress(&st, in, t0.Add(20*time.Minute)); len(ev) != 0 {
		t.Fatalf("the timeout is reported once, got %v", ev)
	}
}

func TestProgressDeadlineAbort(t *testing.T) {
	in := DeadlineInput{NewRSName: "web-abc", Deadline: time.Minute, AbortOnTimeout: true, Progressed: true}
	st := v1alpha1.RolloutStatus{StableRS: "old", CurrentPodHash: "new"}
	TrackProgress(&st, in, t0)
	in.Progressed = false
	TrackProgress(&st, in, t0.Add(time.Minute))
	if !st.Abort {
		t.Fatal("progressDeadlineAbort must abort the update")
	}
}

func TestPausesAndCompletionStopTheClock(t *testing.T) {
	in := DeadlineInput{NewRSName: "web-abc", Deadline: time.Minute}
	st := v1alpha1.RolloutStatus{StableRS: "old", CurrentPodHash: "new",
		PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}}
	if ev, due := TrackProgress(&st, in, t0.Add(time.Hour)); len(ev) != 0 || due != 0 {
		t.Fatalf("paused: events %v due %s", ev, due)
	}
	st.PauseConditions = nil
	if ev, due := TrackProgress(&st, in, t0.Add(2*time.Hour)); len(ev) != 0 || due != time.Minute {
		t.Fatalf("after a pause the clock restarts: events %v due %s", ev, due)
	}
	st.StableRS = "new"
	TrackProgress(&st, in, t0.Add(3*time.Hour))
	if c := FindCondition(st.Conditions, v1alpha1.RolloutProgressing); c.Reason != v1alpha1.NewRSAvailableReason {
		t.Fatalf("completed: %+v", c)
	}
}

// progressDeadlineAbort set on a rollout already past its deadline aborts
// it on the next reconcile.
func TestProgressDeadlineAbortTurnedOnLate(t *testing.T) {
	in := DeadlineInput{NewRSName: "web-abc", Deadline: time.Minute, Progressed: true}
	st := v1alpha1.RolloutStatus{StableRS: "old", CurrentPodHash: "new"}
	TrackProgress(&st, in, t0)
	in.Progressed = false
	TrackProgress(&st, in, t0.Add(2*time.Minute))
	if st.Abort || FindCondition(st.Conditions, v1alpha1.RolloutProgressing).Reason != v1alpha1.TimedOutReason {
		t.Fatalf("timed out without abort: %+v", st)
	}
	in.AbortOnTimeout = true
	if ev, _ := TrackProgress(&st, in, t0.Add(3*time.Minute)); !st.Abort || len(ev) != 0 {
		t.Fatalf("want an abort once progressDeadlineAbort is set; abort %v events %v", st.Abort, ev)
	}
}

// A first revision is stable at once but not done until its pods are
// available: one that never comes up still times out.
func TestUnavailableFirstRevisionTimesOut(t *testing.T) {
	in := DeadlineInput{NewRSName: "web-abc", Deadline: time.Minute, Progressed: true, Replicas: 2}
	st := v1alpha1.RolloutStatus{StableRS: "new", CurrentPodHash: "new", UpdatedReplicas: 2}
	TrackProgress(&st, in, t0)
	in.Progressed = false
	ev, _ := TrackProgress(&st, in, t0.Add(2*time.Minute))
	if len(ev) != 1 || FindCondition(st.Conditions, v1alpha1.RolloutProgressing).Reason != v1alpha1.TimedOutReason {
		t.Fatalf("want ProgressDeadlineExceeded; events %v conditions %+v", ev, st.Conditions)
	}
	st.AvailableReplicas = 2
	TrackProgress(&st, in, t0.Add(3*time.Minute))
	if c := FindCondition(st.Conditions, v1alpha1.RolloutProgressing); c.Reason != v1alpha1.NewRSAvailableReason {
		t.Fatalf("once available: %+v", c)
	}
}

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// At an analysis or experiment step the deadline does not run out, as in
// Argo Rollouts; leaving the step (a step move is progress) restarts it.
func TestIndefiniteStepsStopTheClock(t *testing.T) {
	in := DeadlineInput{NewRSName: "web-abc", Deadline: time.Minute, Progressed: true}
	st := v1alpha1.RolloutStatus{StableRS: "old", CurrentPodHash: "new"}
	TrackProgress(&st, in, t0)
	in.Progressed, in.Indefinite = false, true
	if ev, due := TrackProgress(&st, in, t0.Add(time.Hour)); len(ev) != 0 || due != 0 {
		t.Fatalf("at an experiment step: events %v due %s", ev, due)
	}
	if c := FindCondition(st.Conditions, v1alpha1.RolloutProgressing); c.Reason == v1alpha1.TimedOutReason {
		t.Fatalf("timed out at an experiment step: %+v", c)
	}
	in.Indefinite = false
	if ev, _ := TrackProgress(&st, in, t0.Add(time.Hour)); len(ev) != 1 {
		t.Fatalf("past the step without progress the deadline applies again: events %v", ev)
	}
}
