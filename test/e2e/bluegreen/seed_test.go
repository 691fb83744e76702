package bluegreen

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestSeed07 plays seed 07 (blue-green with smoke-test Jobs before and after
// the switch) with the Jobs succeeding: the first version goes live without
// analysis; the new pods come up behind preview-svc; the pre-promotion run
// succeeds before active-svc moves; active-svc switches to the new hash;
// the post-promotion run succeeds and the new version becomes stable; the
// old ReplicaSet stays up with a scale-down-deadline until its delay has
// passed, then scales to 0.
func TestSeed07(t *testing.T) {
	f := newFixture(t, "guestbook-bg", 3)
	raw, err := os.ReadFile(framework.Example(t, "07-bluegreen.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The seed keeps the old version up for 10 minutes after the switch
	// (scaleDownDelaySeconds: 600), a production-like window for a quick
	// switch back. The test must see that window end, so it is shortened to
	// a few seconds — long enough to watch the old ReplicaSet wait with its
	// scale-down-deadline, short enough to see it scaled to 0. Nothing else
	// in the seed changes. (Its smoke Job curls the preview Service; Job
	// pods never really run here, kwok completes them as Succeeded.)
	const delay = 6
	seed := strings.Replace(string(raw), "scaleDownDelaySeconds: 600", fmt.Sprintf("scaleDownDelaySeconds: %d", delay), 1)
	if seed == string(raw) {
		t.Fatal("seed 07 no longer says scaleDownDelaySeconds: 600; update this test")
	}
	blue := f.deploy(seed)
	// Argo Rollouts never analyses the first deploy.
	if s := f.snap(); len(s.runs) != 0 {
		t.Fatalf("the first deploy created AnalysisRuns: %s", s)
	}

	// From now on, at every poll: active-svc moves to a new hash only once
	// the pre-promotion run has succeeded and the new ReplicaSet is fully
	// available, and never back.
	var switchedAt time.Time
	order := f.guard("active-svc switches only after a successful pre-promotion run, once", func(s snapshot) string {
		if s.active == blue {
			if !switchedAt.IsZero() {
				return "active-svc went back to the old hash"
			}
			return ""
		}
		if switchedAt.IsZero() {
			switchedAt = s.at
			pre := s.runsOf(v1alpha1.RolloutTypePrePromotionLabel)
			if len(pre) != 1 || pre[0].phase != v1alpha1.AnalysisPhaseSuccessful {
				return fmt.Sprintf("active-svc switched to %q without exactly one Successful pre-promotion run", s.active)
			}
			if rs := s.rs[s.active]; rs.available != 3 {
				return fmt.Sprintf("active-svc switched to %q with %d of 3 pods available", s.active, rs.available)
			}
		}
		return ""
	})
	var old scaledDown
	scale := f.watchScaleDown(blue, true, &old)

	green := f.update()
	s := f.until(90*time.Second, "the new pods behind preview-svc, active-svc still on the old hash", f.previewUp)
	if s.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy {
		t.Errorf("Healthy before the active Service switched: %s", s)
	}
	f.until(90*time.Second, "the pre-promotion run Successful in status.blueGreen", func(s snapshot) bool {
		r := s.ro.Status.BlueGreen.PrePromotionAnalysisRunStatus
		return r != nil && r.Status == v1alpha1.AnalysisPhaseSuccessful && len(s.runsOf(v1alpha1.RolloutTypePrePromotionLabel)) == 1
	})
	f.until(90*time.Second, "active-svc and status.blueGreen.activeSelector on the new hash", func(s snapshot) bool {
		return s.active == green && s.ro.Status.BlueGreen.ActiveSelector == green && s.preview == green
	})
	s = f.until(90*time.Second, "the post-promotion run Successful and the new version stable and Healthy", func(s snapshot) bool {
		r := s.ro.Status.BlueGreen.PostPromotionAnalysisRunStatus
		return r != nil && r.Status == v1alpha1.AnalysisPhaseSuccessful && len(s.runsOf(v1alpha1.RolloutTypePostPromotionLabel)) == 1 && f.promoted(s)
	})
	for _, kind := range []string{v1alpha1.RolloutTypePrePromotionLabel, v1alpha1.RolloutTypePostPromotionLabel} {
		if runs := s.runsOf(kind); len(runs) != 1 || runs[0].phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Errorf("want one Successful %s run: %s", kind, s)
		}
	}
	// Notifications and `kubectl describe` users read these events (Argo
	// Rollouts' reasons and wording).
	for _, ev := range []struct{ reason, msg string }{
		{"SwitchService", fmt.Sprintf("Switched selector for service 'preview-svc' from '%s' to '%s'", blue, green)},
		{"SwitchService", fmt.Sprintf("Switched selector for service 'active-svc' from '%s' to '%s'", blue, green)},
		{"RolloutCompleted", fmt.Sprintf("Rollout completed update to revision 2 (%s): Completed blue-green update", green)},
	} {
		framework.Eventually(t, 10*time.Second, "event "+ev.reason+": "+ev.msg, func() (bool, string) {
			got := eventMessages(t, f.ns, ev.reason)
			return slices.Contains(got, ev.msg), fmt.Sprint(got)
		})
	}
	f.until(60*time.Second, "the old ReplicaSet scaled to 0 after its delay", func(s snapshot) bool {
		return s.rs[blue].spec == 0 && f.promoted(s)
	})
	f.release(scale)
	f.release(order)
	if old.deadline == "" || old.at.IsZero() {
		t.Fatalf("never saw the old ReplicaSet up with a scale-down-deadline and then at 0: %+v", old)
	}
	// The deadline is about scaleDownDelaySeconds after the switch (it has
	// second resolution, and the controller may set it once post-promotion
	// analysis is done, later).
	d, _ := time.Parse(time.RFC3339, old.deadline)
	if d.Before(switchedAt.Add((delay - 2) * time.Second)) {
		t.Errorf("scale-down-deadline %s is less than %ds after the switch (seen %s)", old.deadline, delay, switchedAt.Format(time.RFC3339Nano))
	}
	if old.at.Sub(switchedAt) < (delay-2)*time.Second {
		t.Errorf("old ReplicaSet scaled to 0 %s after the switch, scaleDownDelaySeconds is %d", old.at.Sub(switchedAt), delay)
	}
	t.Logf("switch seen %s, deadline %s (seen %s), scaled to 0 seen %s",
		switchedAt.Format(time.RFC3339Nano), old.deadline, old.deadlineSeenAt.Format(time.RFC3339Nano), old.at.Format(time.RFC3339Nano))
}
