package bluegreen

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// abortedMessage starts the status message of a rollout aborted during the
// update to revision 2 (Argo Rollouts' "RolloutAborted: Rollout aborted
// update to revision N[: cause]").
const abortedMessage = "RolloutAborted: Rollout aborted update to revision 2"

// checkAbortScaleDown checks that the preview ReplicaSet, seen scaled to 0
// at rec.at, waited abortScaleDownDelaySeconds from the abort.
func (f *fixture) checkAbortScaleDown(s snapshot, rec scaledDown) {
	f.t.Helper()
	if rec.at.IsZero() {
		f.t.Fatalf("never saw the preview ReplicaSet up and then at 0: %s", s)
	}
	if s.ro.Status.AbortedAt == nil {
		f.t.Errorf("status.abortedAt is not set on an aborted rollout: %s", s)
		return
	}
	// abortedAt has second resolution, so the abort happened in the second
	// after it; the preview may go one delay after that.
	aborted := s.ro.Status.AbortedAt.Time
	if got := rec.at.Sub(aborted); got < f.abortScaleDelay-time.Second {
		f.t.Errorf("the preview ReplicaSet was scaled to 0 %s after abortedAt %s, abortScaleDownDelaySeconds is %s",
			got, aborted.Format(time.RFC3339), f.abortScaleDelay)
	}
	f.t.Logf("abortedAt %s, preview scaled to 0 seen at %s (deadline annotation %q)", aborted.Format(time.RFC3339), rec.at.Format(time.RFC3339Nano), rec.deadline)
}

// TestPrePromotionFailureAborts: the pre-promotion Job fails, so the
// rollout aborts (Degraded, with the run's message) without the active
// Service ever leaving the old version, and the preview ReplicaSet is scaled
// down after abortScaleDownDelaySeconds.
func TestPrePromotionFailureAborts(t *testing.T) {
	f := newFixture(t, "web", 2)
	blue := f.deploy(manifest("prePromotionAnalysis:\n  templates: [{templateName: smoke-fail}]"))
	stays := f.activeStays(blue, "the pre-promotion run fails")
	green := f.update()
	var preview scaledDown
	scale := f.watchScaleDown(green, false, &preview)

	s := f.until(90*time.Second, "aborted by the failed pre-promotion run", func(s snapshot) bool {
		st := s.ro.Status
		r := st.BlueGreen.PrePromotionAnalysisRunStatus
		return s.current() && st.Phase == v1alpha1.RolloutPhaseDegraded && st.Abort &&
			strings.HasPrefix(st.Message, abortedMessage) && strings.Contains(st.Message, "smoke") &&
			r != nil && r.Status == v1alpha1.AnalysisPhaseFailed
	})
	if pre := s.runsOf(v1alpha1.RolloutTypePrePromotionLabel); len(pre) != 1 || pre[0].phase != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("want exactly one Failed pre-promotion run: %s", s)
	}
	s = f.until(60*time.Second, "the preview ReplicaSet scaled to 0, the old version whole and stable", func(s snapshot) bool {
		st := s.ro.Status
		return s.rs[green].spec == 0 && s.rs[blue].spec == 2 && s.rs[blue].available == 2 && st.StableRS == blue &&
			st.BlueGreen.ActiveSelector == blue && st.Phase == v1alpha1.RolloutPhaseDegraded && st.Abort
	})
	// Keep watching a little: nothing moves while aborted.
	f.holds(3*time.Second, "the aborted state", func(s snapshot) bool {
		return s.ro.Status.Abort && s.ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && s.rs[green].spec == 0 && s.rs[blue].spec == 2
	})
	f.release(scale)
	f.release(stays)
	f.checkAbortScaleDown(s, preview)
	if len(s.runsOf(v1alpha1.RolloutTypePostPromotionLabel)) != 0 {
		t.Errorf("a post-promotion run was created although the active Service never switched: %s", s)
	}
}

// TestPostPromotionFailureSwitchesBack: the active Service switches to the
// new version (no pre-promotion analysis, no pause); the post-promotion Job
// fails, so the rollout aborts and switches the active Service back to the
// old version, Degraded with the run's message; the new version never
// becomes stable, and its ReplicaSet goes after abortScaleDownDelaySeconds.
func TestPostPromotionFailureSwitchesBack(t *testing.T) {
	f := newFixture(t, "web", 2)
	blue := f.deploy(manifest("postPromotionAnalysis:\n  templates: [{templateName: smoke-fail}]"))
	var history []string // the active Service's selector, each change once
	g := f.guard("the new version never stable; active-svc history", func(s snapshot) string {
		if len(history) == 0 || history[len(history)-1] != s.active {
			history = append(history, s.active)
		}
		if s.ro.Status.StableRS != blue {
			return fmt.Sprintf("stableRS is %q although post-promotion analysis fails", s.ro.Status.StableRS)
		}
		return ""
	})
	green := f.update()

	s := f.until(90*time.Second, "aborted by the failed post-promotion run, active-svc back on the old hash", func(s snapshot) bool {
		st := s.ro.Status
		r := st.BlueGreen.PostPromotionAnalysisRunStatus
		return s.current() && st.Phase == v1alpha1.RolloutPhaseDegraded && st.Abort &&
			strings.HasPrefix(st.Message, abortedMessage) && strings.Contains(st.Message, "smoke") &&
			r != nil && r.Status == v1alpha1.AnalysisPhaseFailed &&
			s.active == blue && st.BlueGreen.ActiveSelector == blue && st.StableRS == blue
	})
	f.holds(2*time.Second, "active-svc on the old hash after the switch back", func(s snapshot) bool {
		return s.active == blue && s.ro.Status.Abort
	})
	f.release(g)
	// As after any abort, the new ReplicaSet goes after
	// abortScaleDownDelaySeconds; the old one stays whole.
	f.until(60*time.Second, "the new ReplicaSet scaled to 0 after the abort, the old one whole", func(s snapshot) bool {
		return s.rs[green].spec == 0 && s.rs[blue].spec == 2 && s.rs[blue].available == 2 && s.active == blue && s.ro.Status.Abort
	})
	if post := s.runsOf(v1alpha1.RolloutTypePostPromotionLabel); len(post) != 1 || post[0].phase != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("want exactly one Failed post-promotion run: %s", s)
	}
	// The switch to green may last less than a poll; the SwitchService
	// events (Argo Rollouts' wording) then show it.
	want := []string{blue, green, blue}
	if !slices.Equal(history, want) {
		msgs := eventMessages(t, f.ns, "SwitchService")
		to := fmt.Sprintf("Switched selector for service 'active-svc' from '%s' to '%s'", blue, green)
		back := fmt.Sprintf("Switched selector for service 'active-svc' from '%s' to '%s'", green, blue)
		if !slices.Equal(history, []string{blue}) || !slices.Contains(msgs, to) || !slices.Contains(msgs, back) {
			t.Errorf("active-svc selectors seen %v, want %v (SwitchService events %q)", history, want, msgs)
		}
	}
}
