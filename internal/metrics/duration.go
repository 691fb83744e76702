package metrics

import "github.com/prometheus/client_golang/prometheus"

// The duration histograms of Argo Rollouts v1.10: one observation per
// update that ended, labelled with how it ended (status.duration's
// completionStatus). Labels are bounded by the six outcomes.
var (
	durationLabels = []string{"status"}

	// RolloutDuration is rollout_duration_seconds: an update from its start
	// to its outcome.
	RolloutDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rollout_duration_seconds",
		Help:    "Time from the start of a rollout to its outcome, in seconds.",
		Buckets: []float64{30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800},
	}, durationLabels)
	// RolloutProgressionDuration is rollout_progression_duration_seconds:
	// the same, less the time spent in manual pauses.
	RolloutProgressionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rollout_progression_duration_seconds",
		Help:    "Time a rollout spent progressing (its duration less manual pauses), in seconds.",
		Buckets: []float64{30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800},
	}, durationLabels)
	// RolloutManualPauseDuration is rollout_manual_pause_duration_seconds:
	// the time an update waited on a person.
	RolloutManualPauseDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rollout_manual_pause_duration_seconds",
		Help:    "Time a rollout spent in manual pauses, waiting for a person, in seconds.",
		Buckets: []float64{0, 60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400},
	}, durationLabels)
)

// ObserveRolloutDuration records one ended update.
func ObserveRolloutDuration(status string, total, progression, manualPause float64) {
	RolloutDuration.WithLabelValues(status).Observe(total)
	RolloutProgressionDuration.WithLabelValues(status).Observe(progression)
	RolloutManualPauseDuration.WithLabelValues(status).Observe(manualPause)
}
