package bluegreen

import (
	"slices"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestManualPromotion: with autoPromotionEnabled: false the rollout waits
// at the BlueGreenPause (phase Paused, the preview up, the active Service
// on the old version) until `kubectl argo rollouts promote` clears the
// pause conditions; then the active Service switches and the new version
// becomes stable, the old ReplicaSet scaled to 0 after its delay.
func TestManualPromotion(t *testing.T) {
	f := newFixture(t, "web", 2)
	blue := f.deploy(manifest("autoPromotionEnabled: false"))
	stays := f.activeStays(blue, "paused until promoted")
	f.update()
	s := f.until(90*time.Second, "paused at BlueGreenPause with the preview up", f.pausedForPromotion)
	if s.ro.Status.Message != string(v1alpha1.PauseReasonBlueGreenPause) {
		t.Errorf("phase message %q, want %q (the pause reason, as Argo Rollouts reports it)", s.ro.Status.Message, v1alpha1.PauseReasonBlueGreenPause)
	}
	// No timeout ends this pause.
	f.holds(5*time.Second, "the BlueGreenPause", f.pausedForPromotion)
	f.release(stays)

	var old scaledDown
	scale := f.watchScaleDown(blue, true, &old)
	f.patchStatus(promotePatch)
	f.until(90*time.Second, "promoted: the new version active, stable and Healthy", f.promoted)
	f.until(60*time.Second, "the old ReplicaSet scaled to 0 after its delay", func(s snapshot) bool { return s.rs[blue].spec == 0 && f.promoted(s) })
	f.release(scale)
}

// TestAutoPromotionSeconds: with autoPromotionSeconds: 5 the rollout
// pauses at the BlueGreenPause once the preview is up and promotes itself
// 5 s after the pause began, with no client patch.
func TestAutoPromotionSeconds(t *testing.T) {
	const seconds = 5
	f := newFixture(t, "web", 2)
	blue := f.deploy(manifest("autoPromotionSeconds: 5"))
	var switchedAt time.Time
	var pausedBeforeSwitch bool
	var start time.Time
	g := f.guard("the BlueGreenPause before the switch", func(s snapshot) string {
		if p := pauseStart(s.ro); !p.IsZero() && s.active == blue {
			pausedBeforeSwitch, start = true, p
		}
		if s.active != blue && switchedAt.IsZero() {
			switchedAt = s.at
			if !pausedBeforeSwitch {
				return "the active Service switched without a BlueGreenPause seen first"
			}
		}
		return ""
	})
	f.update()
	f.until(90*time.Second, "paused at BlueGreenPause with the preview up", f.pausedForPromotion)
	f.until(90*time.Second, "promoted by itself", f.promoted)
	f.release(g)
	// The pause's startTime has second resolution: the pause began in the
	// second after it, and the switch may come autoPromotionSeconds later.
	if got := switchedAt.Sub(start); got < seconds*time.Second {
		t.Errorf("the active Service switched %s after the pause began (%s), autoPromotionSeconds is %d", got, start.Format(time.RFC3339), seconds)
	}
	t.Logf("pause began %s, switch seen %s", start.Format(time.RFC3339), switchedAt.Format(time.RFC3339Nano))
}

// TestAbortAtPauseRetryAndPromoteFull aborts at the BlueGreenPause
// (`kubectl argo rollouts abort`): the rollout is Degraded, the active
// Service stays on the old version and the preview ReplicaSet is scaled
// down after abortScaleDownDelaySeconds. Retry brings the preview back and
// pauses again; `promote --full` then completes the update.
func TestAbortAtPauseRetryAndPromoteFull(t *testing.T) {
	f := newFixture(t, "web", 2)
	blue := f.deploy(manifest("autoPromotionEnabled: false"))
	stays := f.activeStays(blue, "aborted, then retried and paused")
	green := f.update()
	f.until(90*time.Second, "paused at BlueGreenPause with the preview up", f.pausedForPromotion)

	var preview scaledDown
	scale := f.watchScaleDown(green, false, &preview)
	f.patchStatus(abortPatch)
	s := f.until(60*time.Second, "Degraded by the abort, the preview scaled to 0", func(s snapshot) bool {
		st := s.ro.Status
		return st.Phase == v1alpha1.RolloutPhaseDegraded && st.Abort && st.Message == abortedMessage &&
			s.rs[green].spec == 0 && s.rs[blue].spec == 2 && s.rs[blue].available == 2 && st.StableRS == blue && st.BlueGreen.ActiveSelector == blue
	})
	f.release(scale)
	f.checkAbortScaleDown(s, preview)

	f.patchStatus(retryPatch)
	f.until(90*time.Second, "retried: the preview up again and paused at BlueGreenPause", f.pausedForPromotion)
	f.release(stays)

	var old scaledDown
	oldScale := f.watchScaleDown(blue, true, &old)
	f.patchStatus(promoteFullPatch)
	f.until(90*time.Second, "fully promoted: the new version active, stable and Healthy, promoteFull reset", f.promoted)
	f.until(60*time.Second, "the old ReplicaSet scaled to 0 after its delay", func(s snapshot) bool { return s.rs[blue].spec == 0 && f.promoted(s) })
	f.release(oldScale)
}

// TestFastRollback: after green is promoted, going back to the blue
// template while blue's ReplicaSet still waits out its scale-down delay
// promotes blue at once — no BlueGreenPause although autoPromotionEnabled
// is false, no analysis — as `kubectl argo rollouts undo` users expect.
func TestFastRollback(t *testing.T) {
	f := newFixture(t, "web", 2)
	blue := f.deploy(manifest("autoPromotionEnabled: false", "scaleDownDelaySeconds: 120"))
	f.update()
	f.until(90*time.Second, "paused at BlueGreenPause with the preview up", f.pausedForPromotion)
	f.patchStatus(promotePatch)
	f.until(90*time.Second, "green promoted", f.promoted)
	if s := f.snap(); s.rs[blue].spec != f.replicas {
		t.Fatalf("blue must still be up inside its scale-down delay: %s", s)
	}
	noPause := f.guard("no BlueGreenPause on the fast rollback", func(s snapshot) string {
		if slices.Contains(pauseReasons(s.ro), string(v1alpha1.PauseReasonBlueGreenPause)) {
			return "paused"
		}
		return ""
	})
	framework.SetRolloutImage(t, f.ns, f.name, "argoproj/rollouts-demo:blue")
	f.until(60*time.Second, "blue active and stable again", func(s snapshot) bool {
		st := s.ro.Status
		return s.current() && st.CurrentPodHash == blue && st.StableRS == blue && s.active == blue &&
			st.Phase == v1alpha1.RolloutPhaseHealthy && !st.PromoteFull
	})
	f.release(noPause)
	if msgs := eventMessages(t, f.ns, "SkipSteps"); len(msgs) != 1 {
		t.Errorf("SkipSteps events %q, want one for the fast rollback", msgs)
	}
}
