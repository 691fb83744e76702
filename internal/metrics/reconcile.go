package metrics

import "github.com/prometheus/client_golang/prometheus"

var rolloutLabels = []string{"namespace", "name"}

var (
	// RolloutReconcile is rollout_reconcile: how long each reconcile of a
	// Rollout took, in seconds (Argo Rollouts' name and buckets).
	RolloutReconcile = NewHistogramVec("rollout_reconcile", "Rollout reconciliation performance.",
		[]float64{0.01, 0.15, .25, .5, 1}, rolloutLabels)
	// RolloutReconcileError is rollout_reconcile_error: reconciles of a
	// Rollout that returned an error.
	RolloutReconcileError = NewCounterVec("rollout_reconcile_error", "Error occurring during the rollout", rolloutLabels)
	// RolloutEvents is rollout_events_total: events recorded for a Rollout
	// by type and reason.
	RolloutEvents = NewCounterVec("rollout_events_total", "Count of rollout events", append(rolloutLabels, "type", "reason"))
)

// Register adds the reconcile, event and duration metrics to reg.
func Register(reg prometheus.Registerer) {
	reg.MustRegister(RolloutReconcile, RolloutReconcileError, RolloutEvents,
		RolloutDuration, RolloutProgressionDuration, RolloutManualPauseDuration,
		NotificationSendSuccess, NotificationSendError, NotificationSend)
}

// ForgetRollout drops a deleted Rollout's series, so label sets stay bounded
// by the Rollouts that exist.
func ForgetRollout(namespace, name string) {
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	RolloutReconcile.DeletePartialMatch(labels)
	RolloutReconcileError.DeletePartialMatch(labels)
	RolloutEvents.DeletePartialMatch(labels)
	NotificationSendSuccess.DeletePartialMatch(labels)
	NotificationSendError.DeletePartialMatch(labels)
	NotificationSend.DeletePartialMatch(labels)
}
