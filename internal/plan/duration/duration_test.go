package duration

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var now = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func ago(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(-d)); return &t }

func secs(n int64) *int64 { return &n }

// status is a status with current and stable hashes and a phase.
func status(current, stable string, phase v1alpha1.RolloutPhase) *v1alpha1.RolloutStatus {
	return &v1alpha1.RolloutStatus{CurrentPodHash: current, StableRS: stable, Phase: phase}
}

func with(st *v1alpha1.RolloutStatus, change func(*v1alpha1.RolloutStatus)) *v1alpha1.RolloutStatus {
	change(st)
	return st
}

func withDuration(st *v1alpha1.RolloutStatus, d v1alpha1.RolloutDuration) *v1alpha1.RolloutStatus {
	st.Duration = &d
	return st
}

const (
	healthy     = v1alpha1.RolloutPhaseHealthy
	progressing = v1alpha1.RolloutPhaseProgressing
	paused      = v1alpha1.RolloutPhasePaused
	degraded    = v1alpha1.RolloutPhaseDegraded
)

// started is a record of an update that began ten minutes ago.
func started() v1alpha1.RolloutDuration {
	return v1alpha1.RolloutDuration{RolloutStartedAt: ago(10 * time.Minute)}
}

func fresh() *v1alpha1.RolloutDuration { return &v1alpha1.RolloutDuration{RolloutStartedAt: ago(0)} }

func TestNext(t *testing.T) {
	promotedYesterday := v1alpha1.RolloutDuration{RolloutStartedAt: ago(25 * time.Hour), FinishedAt: ago(24 * time.Hour), CompletionStatus: v1alpha1.CompletionPromoted}
	aborted := v1alpha1.RolloutDuration{RolloutStartedAt: ago(time.Hour), FinishedAt: ago(time.Minute), CompletionStatus: v1alpha1.CompletionAborted}
	pausedSince := func(d time.Duration, total *int64) v1alpha1.RolloutDuration {
		r := started()
		r.ManualPauseStartedAt, r.TotalManualPauseDurationSeconds = ago(d), total
		return r
	}
	pausedFor := func(total int64) v1alpha1.RolloutDuration {
		r := started()
		r.TotalManualPauseDurationSeconds = secs(total)
		return r
	}
	ended := func(r v1alpha1.RolloutDuration, s v1alpha1.CompletionStatus) v1alpha1.RolloutDuration {
		r.FinishedAt, r.CompletionStatus = ago(0), s
		return r
	}
	pending := func(r v1alpha1.RolloutDuration, s v1alpha1.CompletionStatus) *v1alpha1.RolloutDuration {
		r.CompletionStatus = s
		return &r
	}
	cases := []struct {
		name       string
		prev, next *v1alpha1.RolloutStatus
		facts      Facts
		want       *v1alpha1.RolloutDuration
		wantEnded  []v1alpha1.RolloutDuration
	}{
		// Beginnings.
		{name: "first deployment begins an update", prev: &v1alpha1.RolloutStatus{}, next: status("a", "a", progressing), want: fresh()},
		{name: "first deployment Healthy: Promoted", prev: withDuration(status("a", "a", progressing), started()), next: status("a", "a", healthy),
			want: ptr(ended(started(), v1alpha1.CompletionPromoted)), wantEnded: []v1alpha1.RolloutDuration{ended(started(), v1alpha1.CompletionPromoted)}},
		{name: "a Healthy Rollout without a record gets none", prev: status("a", "a", healthy), next: status("a", "a", healthy)},
		{name: "an aborted Rollout without a record gets none", prev: status("b", "a", degraded), next: with(status("b", "a", degraded), func(s *v1alpha1.RolloutStatus) { s.Abort = true })},
		{name: "a new template after a finished update begins a new one", prev: withDuration(status("a", "a", healthy), promotedYesterday),
			next: status("b", "a", progressing), want: fresh()},
		{name: "a new template with no record begins one", prev: status("a", "a", healthy), next: status("b", "a", progressing), want: fresh()},
		{name: "scaling alone changes nothing", prev: withDuration(status("a", "a", healthy), promotedYesterday), next: status("a", "a", progressing),
			want: &promotedYesterday},

		// Promoted and FastPromoted.
		{name: "on its way: nothing changes", prev: withDuration(status("b", "a", progressing), started()), next: status("b", "a", progressing), want: ptr(started())},
		{name: "stable but not yet Healthy: still open", prev: withDuration(status("b", "a", progressing), started()), next: status("b", "b", progressing), want: ptr(started())},
		{name: "promoted through its steps and Healthy: Promoted", prev: withDuration(status("b", "a", progressing), started()), next: status("b", "b", healthy),
			want: ptr(ended(started(), v1alpha1.CompletionPromoted)), wantEnded: []v1alpha1.RolloutDuration{ended(started(), v1alpha1.CompletionPromoted)}},
		{name: "promote --full marks it FastPromoted ahead", prev: withDuration(with(status("b", "a", paused), func(s *v1alpha1.RolloutStatus) { s.PromoteFull = true }), started()),
			next: with(status("b", "a", progressing), func(s *v1alpha1.RolloutStatus) { s.PromoteFull = true }), want: pending(started(), v1alpha1.CompletionFastPromoted)},
		{name: "a full promotion ends FastPromoted although promoteFull is reset", prev: withDuration(status("b", "b", progressing), *pending(started(), v1alpha1.CompletionFastPromoted)),
			next: status("b", "b", healthy), want: ptr(ended(started(), v1alpha1.CompletionFastPromoted)),
			wantEnded: []v1alpha1.RolloutDuration{ended(started(), v1alpha1.CompletionFastPromoted)}},

		// Aborted, and the retry.
		{name: "abort: Aborted at once, the open pause closed", prev: withDuration(with(status("b", "a", paused), func(s *v1alpha1.RolloutStatus) { s.Abort = true }), pausedSince(time.Minute, nil)),
			next: with(status("b", "a", degraded), func(s *v1alpha1.RolloutStatus) { s.Abort = true }), facts: Facts{ManualPause: true},
			want:      ptr(ended(pausedFor(60), v1alpha1.CompletionAborted)),
			wantEnded: []v1alpha1.RolloutDuration{ended(pausedFor(60), v1alpha1.CompletionAborted)}},
		{name: "still aborted: the record stays", prev: withDuration(with(status("b", "a", degraded), func(s *v1alpha1.RolloutStatus) { s.Abort = true }), aborted),
			next: with(status("b", "a", degraded), func(s *v1alpha1.RolloutStatus) { s.Abort = true }), want: &aborted},
		{name: "retry after an abort begins a new update", prev: withDuration(status("b", "a", degraded), aborted), next: status("b", "a", progressing), want: fresh()},
		{name: "reverted to stable after an abort: the record stays Aborted", prev: withDuration(with(status("b", "a", degraded), func(s *v1alpha1.RolloutStatus) { s.Abort = true }), aborted),
			next: status("a", "a", progressing), want: &aborted},

		// Superseded.
		{name: "a newer template mid-update: Superseded, and a new update begins", prev: withDuration(status("b", "a", paused), pausedSince(2*time.Minute, secs(5))),
			next: status("c", "a", progressing),
			want: fresh(), wantEnded: []v1alpha1.RolloutDuration{ended(pausedFor(125), v1alpha1.CompletionSuperseded)}},
		{name: "a newer template while an abort is pending: Superseded once", prev: withDuration(with(status("b", "a", paused), func(s *v1alpha1.RolloutStatus) { s.Abort = true }), started()),
			next: status("c", "a", progressing),
			want: fresh(), wantEnded: []v1alpha1.RolloutDuration{ended(started(), v1alpha1.CompletionSuperseded)}},

		// FastRolledBack and RolledBack.
		{name: "back to the stable template: FastRolledBack ahead, start kept", prev: withDuration(status("b", "a", paused), started()),
			next: status("a", "a", progressing), want: pending(started(), v1alpha1.CompletionFastRolledBack)},
		{name: "back to the stable template and Healthy at once", prev: withDuration(status("b", "a", paused), started()), next: status("a", "a", healthy),
			want: ptr(ended(started(), v1alpha1.CompletionFastRolledBack)), wantEnded: []v1alpha1.RolloutDuration{ended(started(), v1alpha1.CompletionFastRolledBack)}},
		{name: "a fast rollback ends once Healthy", prev: withDuration(status("a", "a", progressing), *pending(started(), v1alpha1.CompletionFastRolledBack)),
			next: status("a", "a", healthy), want: ptr(ended(started(), v1alpha1.CompletionFastRolledBack)),
			wantEnded: []v1alpha1.RolloutDuration{ended(started(), v1alpha1.CompletionFastRolledBack)}},
		{name: "back to an older revision mid-update: RolledBack ahead, start kept", prev: withDuration(status("b", "a", paused), started()),
			next: status("z", "a", progressing), facts: Facts{RollbackTarget: true}, want: pending(started(), v1alpha1.CompletionRolledBack)},
		{name: "back to an older revision kept for a fast rollback (promoteFull): FastRolledBack", prev: withDuration(status("b", "a", paused), started()),
			next: with(status("z", "a", progressing), func(s *v1alpha1.RolloutStatus) { s.PromoteFull = true }), facts: Facts{RollbackTarget: true},
			want: pending(started(), v1alpha1.CompletionFastRolledBack)},
		{name: "a rollback promoted --full becomes fast", prev: withDuration(with(status("z", "a", paused), func(s *v1alpha1.RolloutStatus) { s.PromoteFull = true }), *pending(started(), v1alpha1.CompletionRolledBack)),
			next: status("z", "a", progressing), facts: Facts{RollbackTarget: true}, want: pending(started(), v1alpha1.CompletionFastRolledBack)},
		{name: "a rollback through the steps ends RolledBack", prev: withDuration(status("z", "z", progressing), *pending(started(), v1alpha1.CompletionRolledBack)),
			next: status("z", "z", healthy), want: ptr(ended(started(), v1alpha1.CompletionRolledBack)),
			wantEnded: []v1alpha1.RolloutDuration{ended(started(), v1alpha1.CompletionRolledBack)}},
		{name: "a rollback while an abort is pending is not Aborted", prev: withDuration(with(status("b", "a", paused), func(s *v1alpha1.RolloutStatus) { s.Abort = true }), started()),
			next: with(status("z", "a", degraded), func(s *v1alpha1.RolloutStatus) { s.Abort = true }), facts: Facts{RollbackTarget: true},
			want: pending(started(), v1alpha1.CompletionRolledBack)},
		{name: "an older revision after a finished update: a new update, RolledBack ahead", prev: withDuration(status("a", "a", healthy), promotedYesterday),
			next: status("z", "a", progressing), facts: Facts{RollbackTarget: true}, want: pending(*fresh(), v1alpha1.CompletionRolledBack)},

		// Manual pauses.
		{name: "a manual pause begins", prev: withDuration(status("b", "a", progressing), started()), next: status("b", "a", paused), facts: Facts{ManualPause: true},
			want: ptr(pausedSince(0, nil))},
		{name: "a manual pause goes on", prev: withDuration(status("b", "a", paused), pausedSince(time.Minute, nil)), next: status("b", "a", paused), facts: Facts{ManualPause: true},
			want: ptr(pausedSince(time.Minute, nil))},
		{name: "a manual pause ends: added to the total", prev: withDuration(status("b", "a", paused), pausedSince(90*time.Second, secs(30))), next: status("b", "a", progressing),
			want: ptr(pausedFor(120))},
		{name: "a timed pause is not manual", prev: withDuration(status("b", "a", progressing), started()), next: status("b", "a", paused), want: ptr(started())},
		{name: "paused when it ends: the pause is closed", prev: withDuration(status("b", "b", paused), pausedSince(time.Minute, nil)), next: status("b", "b", healthy),
			want: ptr(ended(pausedFor(60), v1alpha1.CompletionPromoted)), wantEnded: []v1alpha1.RolloutDuration{ended(pausedFor(60), v1alpha1.CompletionPromoted)}},
		{name: "no manual pause tracked on a finished record", prev: withDuration(status("a", "a", paused), promotedYesterday), next: status("a", "a", paused),
			facts: Facts{ManualPause: true}, want: &promotedYesterday},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prevCopy := c.prev.DeepCopy()
			got, gotEnded := Next(c.prev, c.next, c.facts, now.Add(300*time.Millisecond))
			if !equality.Semantic.DeepEqual(got, c.want) {
				t.Errorf("duration\n got %s\nwant %s", show(got), show(c.want))
			}
			if len(gotEnded) != len(c.wantEnded) {
				t.Fatalf("ended %d records, want %d: %v", len(gotEnded), len(c.wantEnded), gotEnded)
			}
			for i := range gotEnded {
				if !equality.Semantic.DeepEqual(gotEnded[i], c.wantEnded[i]) {
					t.Errorf("ended[%d]\n got %s\nwant %s", i, show(&gotEnded[i]), show(&c.wantEnded[i]))
				}
			}
			if !equality.Semantic.DeepEqual(prevCopy, c.prev) {
				t.Error("the previous status was modified")
			}
		})
	}
}

func ptr(d v1alpha1.RolloutDuration) *v1alpha1.RolloutDuration { return &d }

func show(d *v1alpha1.RolloutDuration) string {
	if d == nil {
		return "nil"
	}
	tm := func(t *metav1.Time) string {
		if t == nil {
			return "-"
		}
		return now.Sub(t.Time).String() + " ago"
	}
	total := "-"
	if d.TotalManualPauseDurationSeconds != nil {
		total = time.Duration(*d.TotalManualPauseDurationSeconds * int64(time.Second)).String()
	}
	return "started " + tm(d.RolloutStartedAt) + ", paused since " + tm(d.ManualPauseStartedAt) + ", paused in all " + total +
		", finished " + tm(d.FinishedAt) + ", " + string(d.CompletionStatus)
}

func TestManualPause(t *testing.T) {
	steps := []v1alpha1.CanaryStep{{SetWeight: new(int32(20))}, {Pause: &v1alpha1.RolloutPause{}},
		{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromString("30s"))}}}
	canary := func(paused bool) *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		ro.Spec.Paused = paused
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: steps}
		return ro
	}
	blueGreen := func(autoPromotionSeconds int32) *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{}
		ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{AutoPromotionSeconds: autoPromotionSeconds}
		return ro
	}
	at := func(idx int32, reasons ...v1alpha1.PauseReason) *v1alpha1.RolloutStatus {
		st := &v1alpha1.RolloutStatus{CurrentStepIndex: &idx, ControllerPause: len(reasons) > 0}
		for _, r := range reasons {
			st.PauseConditions = append(st.PauseConditions, v1alpha1.PauseCondition{Reason: r, StartTime: *ago(0)})
		}
		return st
	}
	cases := []struct {
		name string
		ro   *v1alpha1.Rollout
		st   *v1alpha1.RolloutStatus
		want bool
	}{
		{"not paused", canary(false), at(0), false},
		{"spec.paused", canary(true), at(0), true},
		{"a pause step without a duration", canary(false), at(1, v1alpha1.PauseReasonCanaryPauseStep), true},
		{"a pause step with a duration", canary(false), at(2, v1alpha1.PauseReasonCanaryPauseStep), false},
		{"resumed: controllerPause left without a condition", canary(false), &v1alpha1.RolloutStatus{CurrentStepIndex: new(int32(1)), ControllerPause: true}, false},
		{"an inconclusive analysis", canary(false), at(0, v1alpha1.PauseReasonInconclusiveAnalysis), true},
		{"an inconclusive experiment", canary(false), at(0, v1alpha1.PauseReasonInconclusiveExperiment), true},
		{"a blue-green pause waiting for promote", blueGreen(0), at(0, v1alpha1.PauseReasonBlueGreenPause), true},
		{"a blue-green pause with autoPromotionSeconds", blueGreen(30), at(0, v1alpha1.PauseReasonBlueGreenPause), false},
	}
	for _, c := range cases {
		if got := ManualPause(c.ro, c.st); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSeconds(t *testing.T) {
	total, progression, pause, ok := Seconds(v1alpha1.RolloutDuration{RolloutStartedAt: ago(5 * time.Minute), FinishedAt: ago(0),
		TotalManualPauseDurationSeconds: secs(60), CompletionStatus: v1alpha1.CompletionPromoted})
	if !ok || total != 300 || progression != 240 || pause != 60 {
		t.Errorf("got %v %v %v %v, want 300 240 60 true", total, progression, pause, ok)
	}
	if _, _, pause, ok := Seconds(v1alpha1.RolloutDuration{RolloutStartedAt: ago(time.Minute), FinishedAt: ago(0), CompletionStatus: v1alpha1.CompletionAborted}); !ok || pause != 0 {
		t.Errorf("no manual pause: got %v %v", pause, ok)
	}
	if _, _, _, ok := Seconds(started()); ok {
		t.Error("an open record has no seconds yet")
	}
}
