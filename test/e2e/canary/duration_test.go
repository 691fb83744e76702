package canary

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// durationManifest is a small canary paused indefinitely at 50%.
const durationManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 2
  selector:
    matchLabels: {app: duration}
  template:
    metadata:
      labels: {app: duration}
      annotations: {test.aviary.dev/fast: "true"}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {}
`

// durationOf reads the rollout and describes its status.duration.
func durationOf(t *testing.T, ns string) (*v1alpha1.Rollout, *v1alpha1.RolloutDuration, string) {
	t.Helper()
	ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
	d := ro.Status.Duration
	if d == nil {
		return ro, nil, "no duration; " + describe(ro, spec, avail)
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
	return ro, d, fmt.Sprintf("duration started %s, manual pause since %s, manual pauses %ss, finished %s, %q; %s",
		tm(d.RolloutStartedAt), tm(d.ManualPauseStartedAt), total, tm(d.FinishedAt), d.CompletionStatus, describe(ro, spec, avail))
}

// startDurationUpdate applies durationManifest, checks the first
// deployment's record (Promoted, no manual pause), sets a new image and
// waits for the indefinite pause. It returns the namespace, the controller
// and the first deployment's record.
func startDurationUpdate(t *testing.T) (string, *framework.Controller, v1alpha1.RolloutDuration) {
	t.Helper()
	return startDurationUpdateOf(t, durationManifest)
}

// startDurationUpdateOf is startDurationUpdate with another manifest.
func startDurationUpdateOf(t *testing.T, manifest string) (string, *framework.Controller, v1alpha1.RolloutDuration) {
	t.Helper()
	ns, ctl := scopedNamespace(t)
	applyYAML(t, ns, manifest)
	var first v1alpha1.RolloutDuration
	framework.Eventually(t, 60*time.Second, "the first deployment Healthy and its duration Promoted", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && d != nil && d.FinishedAt != nil && d.CompletionStatus == v1alpha1.CompletionPromoted
		if ok {
			first = *d
		}
		return ok, why
	})
	if first.RolloutStartedAt == nil || first.FinishedAt.Before(first.RolloutStartedAt) || first.TotalManualPauseDurationSeconds != nil {
		_, _, why := durationOf(t, ns)
		t.Fatalf("first deployment: want rolloutStartedAt <= finishedAt and no manual pause: %s", why)
	}
	// Second precision: the update's start must be distinguishable.
	time.Sleep(1100 * time.Millisecond)
	setImage(t, ns, "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "paused at 50% with a new duration in a manual pause", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		ok := ro.Status.Phase == v1alpha1.RolloutPhasePaused && d != nil && d.FinishedAt == nil && d.CompletionStatus == "" &&
			d.RolloutStartedAt != nil && d.RolloutStartedAt.After(first.FinishedAt.Time) && d.ManualPauseStartedAt != nil
		return ok, why
	})
	return ns, ctl, first
}

// durationCount reads rollout_duration_seconds_count{status} from the
// controller's metrics.
func durationCount(t *testing.T, ctl *framework.Controller, status v1alpha1.CompletionStatus) string {
	t.Helper()
	body, err := framework.HTTPGet("http://" + ctl.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("rollout_duration_seconds_count{status=%q} ", status)
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return "0"
}

// durationCountReaches waits up to 10 s for the count to be want and
// returns the last count read: the histogram is fed once the status write
// recording the ending has succeeded, so the test can see that status a
// moment before the observation.
func durationCountReaches(t *testing.T, ctl *framework.Controller, status v1alpha1.CompletionStatus, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := durationCount(t, ctl, status)
		if got == want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDurationPromotedThroughSteps: an update promoted through its steps
// ends Promoted, rolloutStartedAt <= finishedAt, the indefinite pause
// counted as manual pause, and one rollout_duration_seconds observation
// per update.
func TestDurationPromotedThroughSteps(t *testing.T) {
	ns, ctl, _ := startDurationUpdate(t)
	time.Sleep(2 * time.Second) // a manual pause of a measurable length
	patchStatus(t, ns, `{"status":{"pauseConditions":null}}`)
	framework.Eventually(t, 60*time.Second, "Healthy on the new version, duration Promoted", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash &&
			d != nil && d.FinishedAt != nil && d.CompletionStatus == v1alpha1.CompletionPromoted
		return ok, why
	})
	_, d, why := durationOf(t, ns)
	if d.FinishedAt.Before(d.RolloutStartedAt) || d.ManualPauseStartedAt != nil ||
		d.TotalManualPauseDurationSeconds == nil || *d.TotalManualPauseDurationSeconds < 1 {
		t.Errorf("want rolloutStartedAt <= finishedAt, no open pause and at least 1s of manual pause: %s", why)
	}
	// The first deployment and this update.
	if got := durationCountReaches(t, ctl, v1alpha1.CompletionPromoted, "2"); got != "2" {
		t.Errorf("rollout_duration_seconds_count{status=\"Promoted\"} = %s, want 2", got)
	}
}

// TestDurationFastPromoted: promote --full ends the update FastPromoted.
func TestDurationFastPromoted(t *testing.T) {
	ns, ctl, _ := startDurationUpdate(t)
	patchStatus(t, ns, `{"status":{"promoteFull":true}}`)
	framework.Eventually(t, 60*time.Second, "Healthy on the new version, duration FastPromoted", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && d != nil && d.FinishedAt != nil &&
			d.CompletionStatus == v1alpha1.CompletionFastPromoted && d.TotalManualPauseDurationSeconds != nil
		return ok, why
	})
	if got := durationCountReaches(t, ctl, v1alpha1.CompletionFastPromoted, "1"); got != "1" {
		t.Errorf("rollout_duration_seconds_count{status=\"FastPromoted\"} = %s, want 1", got)
	}
}

// TestDurationAbortedThenRetried: an abort ends the update Aborted at once
// (Degraded); a retry begins a new one.
func TestDurationAbortedThenRetried(t *testing.T) {
	ns, ctl, _ := startDurationUpdate(t)
	patchStatus(t, ns, `{"status":{"abort":true}}`)
	var aborted v1alpha1.RolloutDuration
	framework.Eventually(t, 60*time.Second, "Degraded, duration Aborted", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && d != nil && d.FinishedAt != nil && d.CompletionStatus == v1alpha1.CompletionAborted &&
			d.ManualPauseStartedAt == nil && d.TotalManualPauseDurationSeconds != nil
		if ok {
			aborted = *d
		}
		return ok, why
	})
	if got := durationCountReaches(t, ctl, v1alpha1.CompletionAborted, "1"); got != "1" {
		t.Errorf("rollout_duration_seconds_count{status=\"Aborted\"} = %s, want 1", got)
	}
	time.Sleep(1100 * time.Millisecond)
	patchStatus(t, ns, `{"status":{"abort":false}}`)
	framework.Eventually(t, 60*time.Second, "paused again, a new duration open", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		ok := ro.Status.Phase == v1alpha1.RolloutPhasePaused && d != nil && d.FinishedAt == nil && d.CompletionStatus == "" &&
			d.RolloutStartedAt.After(aborted.FinishedAt.Time)
		return ok, why
	})
}

// TestDurationSuperseded: a new image mid-update supersedes the update
// under way (counted once as Superseded) and begins a new one, which ends
// Promoted.
func TestDurationSuperseded(t *testing.T) {
	ns, ctl, _ := startDurationUpdate(t)
	_, before, _ := durationOf(t, ns)
	time.Sleep(1100 * time.Millisecond)
	setImage(t, ns, "argoproj/rollouts-demo:yellow")
	// Promote only once yellow is paused: its canary pods take a moment to
	// start, and a promote before the pause would be lost.
	framework.Eventually(t, 60*time.Second, "a new duration for the yellow update, paused in its manual pause", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		return d != nil && d.FinishedAt == nil && d.RolloutStartedAt.After(before.RolloutStartedAt.Time) &&
			ro.Status.Phase == v1alpha1.RolloutPhasePaused && d.ManualPauseStartedAt != nil, why
	})
	if got := durationCountReaches(t, ctl, v1alpha1.CompletionSuperseded, "1"); got != "1" {
		t.Errorf("rollout_duration_seconds_count{status=\"Superseded\"} = %s, want 1", got)
	}
	patchStatus(t, ns, `{"status":{"pauseConditions":null}}`)
	framework.Eventually(t, 60*time.Second, "Healthy on yellow, duration Promoted", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && d != nil && d.CompletionStatus == v1alpha1.CompletionPromoted, why
	})
	if got := durationCountReaches(t, ctl, v1alpha1.CompletionSuperseded, "1"); got != "1" {
		t.Errorf("rollout_duration_seconds_count{status=\"Superseded\"} = %s after the promotion, want still 1", got)
	}
}

// TestDurationFastRolledBack: going back to the stable image mid-update
// ends the same update (its start kept) FastRolledBack once Healthy.
func TestDurationFastRolledBack(t *testing.T) {
	ns, ctl, _ := startDurationUpdate(t)
	_, before, _ := durationOf(t, ns)
	setImage(t, ns, "argoproj/rollouts-demo:blue")
	framework.Eventually(t, 60*time.Second, "Healthy on blue, duration FastRolledBack", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && d != nil && d.FinishedAt != nil &&
			d.CompletionStatus == v1alpha1.CompletionFastRolledBack && d.RolloutStartedAt.Equal(before.RolloutStartedAt)
		return ok, why
	})
	if got := durationCountReaches(t, ctl, v1alpha1.CompletionFastRolledBack, "1"); got != "1" {
		t.Errorf("rollout_duration_seconds_count{status=\"FastRolledBack\"} = %s, want 1", got)
	}
}

// TestDurationRolledBack: going back mid-update to a revision older than
// the stable one (not the stable itself) is the same update, now a
// rollback: it walks the steps and ends RolledBack, its start kept.
func TestDurationRolledBack(t *testing.T) {
	testDurationRollback(t, durationManifest, v1alpha1.CompletionRolledBack)
}

// TestDurationRollbackWithinWindow: the same rollback within
// spec.rollbackWindow skips the steps and ends FastRolledBack.
func TestDurationRollbackWithinWindow(t *testing.T) {
	testDurationRollback(t, strings.Replace(durationManifest, "  replicas: 2\n", "  replicas: 2\n  rollbackWindow: {revisions: 1}\n", 1),
		v1alpha1.CompletionFastRolledBack)
}

func testDurationRollback(t *testing.T, manifest string, want v1alpha1.CompletionStatus) {
	ns, ctl, _ := startDurationUpdateOf(t, manifest)
	patchStatus(t, ns, `{"status":{"pauseConditions":null}}`)
	framework.Eventually(t, 60*time.Second, "green Healthy and stable", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && d != nil && d.CompletionStatus == v1alpha1.CompletionPromoted, why
	})
	time.Sleep(1100 * time.Millisecond)
	setImage(t, ns, "argoproj/rollouts-demo:yellow")
	var yellow v1alpha1.RolloutDuration
	framework.Eventually(t, 60*time.Second, "yellow paused at 50%, a new duration", func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		ok := ro.Status.Phase == v1alpha1.RolloutPhasePaused && d != nil && d.FinishedAt == nil && d.CompletionStatus == ""
		if ok {
			yellow = *d
		}
		return ok, why
	})
	// Blue's ReplicaSet is older than green's, the stable one.
	setImage(t, ns, "argoproj/rollouts-demo:blue")
	if want == v1alpha1.CompletionRolledBack {
		framework.Eventually(t, 60*time.Second, "blue paused at 50%, the same duration now RolledBack ahead", func() (bool, string) {
			ro, d, why := durationOf(t, ns)
			ok := ro.Status.Phase == v1alpha1.RolloutPhasePaused && ro.Status.StableRS != ro.Status.CurrentPodHash && d != nil && d.FinishedAt == nil &&
				d.CompletionStatus == v1alpha1.CompletionRolledBack && d.RolloutStartedAt.Equal(yellow.RolloutStartedAt)
			return ok, why
		})
		patchStatus(t, ns, `{"status":{"pauseConditions":null}}`)
	}
	framework.Eventually(t, 60*time.Second, "blue Healthy and stable, duration "+string(want), func() (bool, string) {
		ro, d, why := durationOf(t, ns)
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash && d != nil && d.FinishedAt != nil &&
			d.CompletionStatus == want && d.RolloutStartedAt.Equal(yellow.RolloutStartedAt)
		return ok, why
	})
	if got := durationCountReaches(t, ctl, want, "1"); got != "1" {
		t.Errorf("rollout_duration_seconds_count{status=%q} = %s, want 1", want, got)
	}
}
