package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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

// Register adds the reconcile, event, duration, notification, analysis and
// build metrics to reg.
func Register(reg prometheus.Registerer) {
	reg.MustRegister(RolloutReconcile, RolloutReconcileError, RolloutEvents,
		RolloutDuration, RolloutProgressionDuration, RolloutManualPauseDuration,
		NotificationSendSuccess, NotificationSendError, NotificationSend,
		AnalysisRunReconcile, AnalysisRunReconcileError)
	RegisterBuild(reg)
}

// ForgetRollout drops a deleted Rollout's series (see forget).
func ForgetRollout(namespace, name string) {
	forget(namespace, name, RolloutReconcile, RolloutReconcileError, RolloutEvents,
		NotificationSendSuccess, NotificationSendError, NotificationSend)
}

// CleanupDelay is how long a deleted object's series stay: long enough for
// Prometheus's default one-minute scrape to see their last values (Argo
// Rollouts waits 65 s too).
var CleanupDelay = 65 * time.Second

// partialDeleter is a family whose series can be dropped by some labels.
type partialDeleter interface {
	DeletePartialMatch(prometheus.Labels) int
}

// forget drops the series of the object namespace/name from families
// after CleanupDelay, so label sets stay bounded by the objects that
// exist.
func forget(namespace, name string, families ...partialDeleter) {
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	time.AfterFunc(CleanupDelay, func() {
		for _, f := range families {
			f.DeletePartialMatch(labels)
		}
	})
}
