package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestObserveRolloutDuration(t *testing.T) {
	ObserveRolloutDuration("Promoted", 300, 240, 60)
	want := `
# HELP rollout_manual_pause_duration_seconds Time a rollout spent in manual pauses, waiting for a person, in seconds.
# TYPE rollout_manual_pause_duration_seconds histogram
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="0"} 0
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="60"} 1
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="300"} 1
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="600"} 1
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="1800"} 1
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="3600"} 1
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="7200"} 1
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="14400"} 1
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="28800"} 1
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="86400"} 1
rollout_manual_pause_duration_seconds_bucket{status="Promoted",le="+Inf"} 1
rollout_manual_pause_duration_seconds_sum{status="Promoted"} 60
rollout_manual_pause_duration_seconds_count{status="Promoted"} 1
`
	if err := testutil.CollectAndCompare(RolloutManualPauseDuration, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	ObserveRolloutDuration("Aborted", 45, 45, 0)
	if n := testutil.CollectAndCount(RolloutDuration); n != 2 {
		t.Errorf("rollout_duration_seconds: %d series, want one per status (2)", n)
	}
	if n := testutil.CollectAndCount(RolloutProgressionDuration); n != 2 {
		t.Errorf("rollout_progression_duration_seconds: %d series, want 2", n)
	}
}
