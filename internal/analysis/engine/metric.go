// Package engine is the AnalysisRun decision engine: which measurements to
// take and when, how a measurement changes its metric's counters, and which
// phase each metric and the run are in. It works on the run's spec and
// status and the current time only; the controller does the I/O (providers,
// secrets, API writes) and feeds the results back in.
//
// The controller's loop is: Due (measure, resume or terminate), Record each
// measurement, Assess, then requeue at Next. Metrics reach the engine parsed
// (see the templates package), so nothing here substitutes arguments or
// reads IntOrString values.
package engine

import (
	"fmt"
	"regexp"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Metric is a run's metric with its arguments substituted and its numbers
// parsed: what the engine decides from.
type Metric struct {
	Name string
	// Interval between measurements; 0 means none was given.
	Interval time.Duration
	// InitialDelay is the wait after status.startedAt before the first
	// measurement.
	InitialDelay time.Duration
	// Count is the number of measurements asked for; nil or 0 means none
	// was given (see EffectiveCount).
	Count *int32
	// FailureLimit is how many failed measurements are tolerated; -1
	// disables the check.
	FailureLimit int32
	// InconclusiveLimit is how many inconclusive measurements are tolerated.
	InconclusiveLimit int32
	// ConsecutiveErrorLimit is how many errors in a row are tolerated; nil
	// means the default, 4.
	ConsecutiveErrorLimit *int32
	// ConsecutiveSuccessLimit ends the metric successfully after this many
	// successes in a row; 0 disables it.
	ConsecutiveSuccessLimit int32
	// SuccessCondition and FailureCondition are only quoted in messages;
	// measurements arrive already judged.
	SuccessCondition string
	FailureCondition string
	// DryRun metrics are measured but never decide the run's phase.
	DryRun bool
	// Retention is how many measurements are kept; 0 means the default, 10.
	Retention int
}

// EffectiveCount is how many non-error measurements finish the metric:
// Count when given, else 1 without an interval; bounded is false when the
// metric measures until the run ends (an interval and no count).
func (m Metric) EffectiveCount() (n int32, bounded bool) {
	switch {
	case m.Count != nil && *m.Count != 0:
		return *m.Count, true
	case m.Interval == 0:
		return 1, true
	}
	return 0, false
}

func (m Metric) errorLimit() int32 {
	if m.ConsecutiveErrorLimit == nil {
		return v1alpha1.DefaultConsecutiveErrorLimit
	}
	return *m.ConsecutiveErrorLimit
}

func (m Metric) retention() int {
	if m.Retention <= 0 {
		return v1alpha1.DefaultMeasurementHistoryLimit
	}
	return m.Retention
}

func (m Metric) countReached(r *v1alpha1.MetricResult) bool {
	n, bounded := m.EffectiveCount()
	return bounded && r.Count >= n
}

// ApplyRules marks the metrics selected by the run's dryRun rules and sets
// the retention of those selected by its measurementRetention rules (a
// later rule overrides an earlier one; a limit below 1 means the default).
// Rule names are unanchored regular expressions, so ".*" selects every
// metric. A rule that selects no metric, or does not compile, is an error:
// it is almost certainly a typo that would silently change the run.
func ApplyRules(metrics []Metric, dryRun []v1alpha1.DryRun, retention []v1alpha1.MeasurementRetention) error {
	for i, rule := range dryRun {
		matched, err := selectMetrics(metrics, "dryRun", i, rule.MetricName)
		if err != nil {
			return err
		}
		for _, j := range matched {
			metrics[j].DryRun = true
		}
	}
	for i, rule := range retention {
		matched, err := selectMetrics(metrics, "measurementRetention", i, rule.MetricName)
		if err != nil {
			return err
		}
		for _, j := range matched {
			metrics[j].Retention = int(rule.Limit)
		}
	}
	return nil
}

func selectMetrics(metrics []Metric, field string, i int, pattern string) ([]int, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s[%d]: metricName %q is not a regular expression: %v", field, i, pattern, err)
	}
	var matched []int
	for j, m := range metrics {
		if re.MatchString(m.Name) {
			matched = append(matched, j)
		}
	}
	if len(matched) == 0 {
		return nil, fmt.Errorf("%s[%d]: metricName %q matches no metric", field, i, pattern)
	}
	return matched, nil
}

// Result is the named metric's result in status, or nil before its first
// measurement. The pointer aims into status, so changes stick.
func Result(status *v1alpha1.AnalysisRunStatus, name string) *v1alpha1.MetricResult {
	for i := range status.MetricResults {
		if status.MetricResults[i].Name == name {
			return &status.MetricResults[i]
		}
	}
	return nil
}

func lastMeasurement(r *v1alpha1.MetricResult) *v1alpha1.Measurement {
	if r == nil || len(r.Measurements) == 0 {
		return nil
	}
	return &r.Measurements[len(r.Measurements)-1]
}
