package engine

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// MsgMetricTerminated is the message of an in-flight measurement that a
// terminating run stopped successfully.
const MsgMetricTerminated = "Metric Terminated"

// Record stores measurement m, the outcome of action for metric, in the
// metric's result (created on first use), updates the counters and trims
// the history to the metric's retention. It returns how many old
// measurements were dropped, so the controller can let the provider clean
// up after them.
//
// Measure appends; Resume and Terminate replace the in-flight measurement
// they answer. A completed measurement without finishedAt gets now.
// Counters move only when a measurement completes:
//   - Successful, Failed, Inconclusive: count and their own counter go up
//     and consecutiveError resets; consecutiveSuccess goes up on Successful
//     and resets otherwise.
//   - Error: error and consecutiveError go up, consecutiveSuccess resets,
//     count does not move.
//
// A Successful outcome of Terminate is kept (message "Metric Terminated")
// but not counted: a measurement cut short proves nothing, and counting it
// would let a terminated run pass without evidence.
func Record(status *v1alpha1.AnalysisRunStatus, metric Metric, action Action, m v1alpha1.Measurement, now time.Time) (dropped int) {
	r := Result(status, metric.Name)
	if r == nil {
		status.MetricResults = append(status.MetricResults, v1alpha1.MetricResult{
			Name:   metric.Name,
			Phase:  v1alpha1.AnalysisPhaseRunning,
			DryRun: metric.DryRun,
		})
		r = &status.MetricResults[len(status.MetricResults)-1]
	}
	stamp := metav1.NewTime(now)
	if m.StartedAt == nil {
		m.StartedAt = &stamp
	}
	if m.Phase.Completed() && m.FinishedAt == nil {
		m.FinishedAt = &stamp
	}
	terminated := action == Terminate && m.Phase == v1alpha1.AnalysisPhaseSuccessful
	if terminated {
		m.Message = MsgMetricTerminated
	} else {
		count(r, m.Phase)
	}
	if last := lastMeasurement(r); action != Measure && last != nil && !last.Phase.Completed() {
		*last = m
	} else {
		r.Measurements = append(r.Measurements, m)
	}
	return Trim(r, metric.retention())
}

func count(r *v1alpha1.MetricResult, phase v1alpha1.AnalysisPhase) {
	switch phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		r.Successful++
		r.ConsecutiveSuccess++
	case v1alpha1.AnalysisPhaseFailed:
		r.Failed++
	case v1alpha1.AnalysisPhaseInconclusive:
		r.Inconclusive++
	case v1alpha1.AnalysisPhaseError:
		r.Error++
		r.ConsecutiveError++
		r.ConsecutiveSuccess = 0
		return
	default:
		return
	}
	r.Count++
	r.ConsecutiveError = 0
	if phase != v1alpha1.AnalysisPhaseSuccessful {
		r.ConsecutiveSuccess = 0
	}
}

// Trim keeps the last limit measurements of r (at least one) and returns
// how many it dropped. Counters are untouched: they cover the whole run.
func Trim(r *v1alpha1.MetricResult, limit int) (dropped int) {
	limit = max(limit, 1)
	dropped = max(len(r.Measurements)-limit, 0)
	if dropped > 0 {
		r.Measurements = append([]v1alpha1.Measurement(nil), r.Measurements[dropped:]...)
	}
	return dropped
}
