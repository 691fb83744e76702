package engine

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

const (
	pending      = v1alpha1.AnalysisPhasePending
	running      = v1alpha1.AnalysisPhaseRunning
	successful   = v1alpha1.AnalysisPhaseSuccessful
	failed       = v1alpha1.AnalysisPhaseFailed
	errored      = v1alpha1.AnalysisPhaseError
	inconclusive = v1alpha1.AnalysisPhaseInconclusive
)

func i32(n int32) *int32 { return &n }

func ts(d time.Duration) *metav1.Time {
	t := metav1.NewTime(t0.Add(d))
	return &t
}

// sample is a typical measurement of each phase.
var sample = map[v1alpha1.AnalysisPhase]v1alpha1.Measurement{
	successful:   {Phase: successful, Value: "0.97"},
	failed:       {Phase: failed, Value: "0.62"},
	inconclusive: {Phase: inconclusive, Value: "0.75"},
	errored:      {Phase: errored, Message: "query timed out"},
}

// replay records sample measurements of the given phases, one a second,
// through Record, so the counters are the ones Record keeps.
func replay(m Metric, phases ...v1alpha1.AnalysisPhase) v1alpha1.MetricResult {
	var status v1alpha1.AnalysisRunStatus
	for i, p := range phases {
		at := t0.Add(time.Duration(i) * time.Second)
		Record(&status, m, Measure, sample[p], at)
	}
	if r := Result(&status, m.Name); r != nil {
		return *r
	}
	return v1alpha1.MetricResult{Name: m.Name}
}

// statusOf is a run status holding results for the given metrics.
func statusOf(results ...v1alpha1.MetricResult) *v1alpha1.AnalysisRunStatus {
	return &v1alpha1.AnalysisRunStatus{StartedAt: ts(0), MetricResults: results}
}
