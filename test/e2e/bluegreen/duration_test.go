package bluegreen

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// durationString describes status.duration.
func durationString(d *v1alpha1.RolloutDuration) string {
	if d == nil {
		return "no duration"
	}
	tm := func(t *metav1.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	total := "-"
	if d.TotalManualPauseDurationSeconds != nil {
		total = fmt.Sprint(*d.TotalManualPauseDurationSeconds)
	}
	return fmt.Sprintf("started %s, manual pause since %s, manual pauses %ss, finished %s, %q",
		tm(d.RolloutStartedAt), tm(d.ManualPauseStartedAt), total, tm(d.FinishedAt), d.CompletionStatus)
}

// ended reports whether the duration ended with status.
func ended(s snapshot, status v1alpha1.CompletionStatus) bool {
	d := s.ro.Status.Duration
	return d != nil && d.RolloutStartedAt != nil && d.FinishedAt != nil && !d.FinishedAt.Before(d.RolloutStartedAt) &&
		d.ManualPauseStartedAt == nil && d.CompletionStatus == status
}

// untilDuration is f.until with status.duration in the explanation.
func (f *fixture) untilDuration(timeout time.Duration, what string, cond func(s snapshot) bool) snapshot {
	f.t.Helper()
	var last snapshot
	framework.Eventually(f.t, timeout, what, func() (bool, string) {
		last = f.snap()
		return cond(last), durationString(last.ro.Status.Duration) + "; " + last.String()
	})
	return last
}

// TestDurationBlueGreenManualPromotion: the first deployment's duration
// ends Promoted without manual pause; an update waits at the BlueGreenPause
// (no autoPromotionSeconds: a manual pause) and, promoted, ends Promoted
// with that pause counted.
func TestDurationBlueGreenManualPromotion(t *testing.T) {
	f := newFixture(t, "web", 2)
	f.deploy(manifest("autoPromotionEnabled: false"))
	s := f.untilDuration(30*time.Second, "the first deployment's duration Promoted", func(s snapshot) bool { return ended(s, v1alpha1.CompletionPromoted) })
	if s.ro.Status.Duration.TotalManualPauseDurationSeconds != nil {
		t.Errorf("first deployment: %s, want no manual pause", durationString(s.ro.Status.Duration))
	}
	time.Sleep(1100 * time.Millisecond)
	f.update()
	f.untilDuration(90*time.Second, "paused for promotion, a new duration in a manual pause", func(s snapshot) bool {
		d := s.ro.Status.Duration
		return f.pausedForPromotion(s) && d != nil && d.FinishedAt == nil && d.ManualPauseStartedAt != nil
	})
	time.Sleep(2 * time.Second)
	f.patchStatus(promotePatch)
	s = f.untilDuration(90*time.Second, "promoted, duration Promoted", func(s snapshot) bool { return f.promoted(s) && ended(s, v1alpha1.CompletionPromoted) })
	if d := s.ro.Status.Duration; d.TotalManualPauseDurationSeconds == nil || *d.TotalManualPauseDurationSeconds < 1 {
		t.Errorf("%s, want at least 1s of manual pause", durationString(d))
	}
}

// TestDurationBlueGreenAutoPromotion: a pause with autoPromotionSeconds is
// not a manual pause.
func TestDurationBlueGreenAutoPromotion(t *testing.T) {
	f := newFixture(t, "web", 2)
	f.deploy(manifest("autoPromotionSeconds: 2"))
	f.update()
	s := f.untilDuration(90*time.Second, "promoted, duration Promoted", func(s snapshot) bool { return f.promoted(s) && ended(s, v1alpha1.CompletionPromoted) })
	if d := s.ro.Status.Duration; d.TotalManualPauseDurationSeconds != nil {
		t.Errorf("%s, want no manual pause", durationString(d))
	}
}

// TestDurationBlueGreenAbort: an abort at the BlueGreenPause ends the
// update Aborted at once.
func TestDurationBlueGreenAbort(t *testing.T) {
	f := newFixture(t, "web", 2)
	f.deploy(manifest("autoPromotionEnabled: false"))
	f.update()
	f.until(90*time.Second, "paused for promotion", f.pausedForPromotion)
	f.patchStatus(abortPatch)
	f.untilDuration(60*time.Second, "Degraded, duration Aborted", func(s snapshot) bool {
		return s.ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ended(s, v1alpha1.CompletionAborted)
	})
}

// TestDurationBlueGreenFastRollback: going back to the previous version
// while it is inside its scale-down delay (promoted at once, no pause) is an
// update that ends FastRolledBack.
func TestDurationBlueGreenFastRollback(t *testing.T) {
	f := newFixture(t, "web", 2)
	blue := f.deploy(manifest("autoPromotionEnabled: false", "scaleDownDelaySeconds: 120"))
	f.update()
	f.until(90*time.Second, "paused at BlueGreenPause with the preview up", f.pausedForPromotion)
	f.patchStatus(promotePatch)
	f.untilDuration(90*time.Second, "green promoted, duration Promoted", func(s snapshot) bool { return f.promoted(s) && ended(s, v1alpha1.CompletionPromoted) })
	time.Sleep(1100 * time.Millisecond)
	framework.SetRolloutImage(t, f.ns, f.name, "argoproj/rollouts-demo:blue")
	s := f.untilDuration(60*time.Second, "blue active and stable again, duration FastRolledBack", func(s snapshot) bool {
		st := s.ro.Status
		return st.CurrentPodHash == blue && st.StableRS == blue && s.active == blue && st.Phase == v1alpha1.RolloutPhaseHealthy &&
			ended(s, v1alpha1.CompletionFastRolledBack)
	})
	if d := s.ro.Status.Duration; d.TotalManualPauseDurationSeconds != nil {
		t.Errorf("%s, want no manual pause on a fast rollback", durationString(d))
	}
}
