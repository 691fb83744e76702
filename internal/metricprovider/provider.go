// Package metricprovider defines what the AnalysisRun controller needs from
// a metric provider, and the helpers the providers share: stamping
// measurements and reaching HTTP endpoints.
//
// The controller hands providers a metric whose {{args.*}} placeholders are
// already substituted and whose secrets are already resolved, so providers
// hold credentials in memory. They must never log header values or
// credentials, and put URLs into messages only through RedactURL.
package metricprovider

import (
	"context"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Provider takes measurements for one kind of metric provider.
type Provider interface {
	Type() string
	// Run takes a measurement (or starts an asynchronous one: Phase Running with ResumeAt set).
	Run(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement
	Resume(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement
	Terminate(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement
	GarbageCollect(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, keep int) error
	// Metadata is recorded on the metric result (e.g. ResolvedPrometheusQuery).
	Metadata(metric v1alpha1.Metric) map[string]string
}

// Clock stamps measurements. The nil Clock is the real clock; tests set
// their own.
type Clock func() time.Time

// Now is the clock's current time.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}

func (c Clock) now() *metav1.Time {
	t := metav1.NewTime(c.Now())
	return &t
}

// Start returns a new measurement started now.
func (c Clock) Start() v1alpha1.Measurement {
	return v1alpha1.Measurement{StartedAt: c.now()}
}

// MaxValueBytes caps a measurement's recorded value. The value is for
// people reading the status; a whole web page or a vector of thousands of
// series would only bloat the AnalysisRun (conditions saw the full result).
const MaxValueBytes = 2048

// Finish completes m with the value and phase of a measurement. A non-nil
// err makes it an Error measurement whose message is the error text; the
// value is still recorded, since it often shows why evaluation failed.
// FinishedAt is set unless a provider already set it.
func (c Clock) Finish(m v1alpha1.Measurement, value string, phase v1alpha1.AnalysisPhase, err error) v1alpha1.Measurement {
	m.Value = truncate(value, MaxValueBytes)
	m.Phase = phase
	if err != nil {
		m.Phase = v1alpha1.AnalysisPhaseError
		m.Message = err.Error()
	}
	if m.FinishedAt == nil {
		m.FinishedAt = c.now()
	}
	return m
}

// Synchronous supplies Resume, Terminate and GarbageCollect to providers
// that complete every measurement inside Run. None of them has anything to
// do: there is no measurement in flight and nothing left behind.
type Synchronous struct{}

// Resume returns m unchanged; a synchronous provider never leaves a
// measurement running.
func (Synchronous) Resume(_ context.Context, _ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	return m
}

// Terminate returns m unchanged.
func (Synchronous) Terminate(_ context.Context, _ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) v1alpha1.Measurement {
	return m
}

// GarbageCollect has nothing to delete.
func (Synchronous) GarbageCollect(context.Context, *v1alpha1.AnalysisRun, v1alpha1.Metric, int) error {
	return nil
}

// truncate cuts s to at most limit bytes plus an ellipsis, on a character
// boundary.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
