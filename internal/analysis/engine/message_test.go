package engine

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestMetricMessage(t *testing.T) {
	const S, F, I, E = successful, failed, inconclusive, errored
	rate := Metric{Name: "success-rate", Interval: time.Minute, SuccessCondition: "result[0] > 0.90", FailureLimit: 3}
	band := Metric{Name: "band", SuccessCondition: "result >= 0.9", FailureCondition: "result < 0.5"}
	errs := Metric{Name: "errors", Interval: time.Minute, FailureCondition: "result[0] >= 10"}
	job := Metric{Name: "test"}
	with := func(m Metric, f func(*Metric)) Metric { f(&m); return m }
	judged := func(m Metric, terminating bool, phases ...v1alpha1.AnalysisPhase) v1alpha1.MetricResult {
		r := replay(m, phases...)
		r.Phase = AssessMetric(m, r, terminating)
		return r
	}
	cases := []struct {
		name string
		m    Metric
		r    v1alpha1.MetricResult
		want string
	}{
		{"failure limit, success condition", rate, judged(rate, false, S, F, F, F, F),
			"success-rate: 0.62 does not satisfy result[0] > 0.90 (4 failed > failureLimit 3)"},
		{"failure limit, failure condition", errs, judged(errs, false, F),
			"errors: 0.62 meets failureCondition result[0] >= 10 (1 failed > failureLimit 0)"},
		{"failure limit, no condition (job)", job, v1alpha1.MetricResult{Phase: F, Count: 1, Failed: 1, Measurements: []v1alpha1.Measurement{{Phase: F, Message: "job failed: BackoffLimitExceeded"}}},
			"test: measurement Failed: job failed: BackoffLimitExceeded (1 failed > failureLimit 0)"},
		{"inconclusive limit", band, judged(band, false, I),
			"band: 0.75 satisfies neither result >= 0.9 nor failureCondition result < 0.5 (1 inconclusive > inconclusiveLimit 0)"},
		{"error limit names the last error", rate, judged(rate, false, S, E, E, E, E, E),
			"success-rate: 5 consecutive errors > consecutiveErrorLimit 4; last error: query timed out"},
		{"count reached", with(rate, func(m *Metric) { m.Count = i32(3) }), judged(with(rate, func(m *Metric) { m.Count = i32(3) }), false, S, F, S),
			"success-rate: 0.97 satisfies result[0] > 0.90 (2 successful, 1 failed)"},
		{"consecutive success limit", with(rate, func(m *Metric) { m.ConsecutiveSuccessLimit = 2 }), judged(with(rate, func(m *Metric) { m.ConsecutiveSuccessLimit = 2 }), false, F, S, S),
			"success-rate: 0.97 satisfies result[0] > 0.90 (2 consecutive successful >= consecutiveSuccessLimit 2)"},
		{"count without the streak", with(rate, func(m *Metric) { m.Count = i32(5); m.ConsecutiveSuccessLimit = 2 }), judged(with(rate, func(m *Metric) { m.Count = i32(5); m.ConsecutiveSuccessLimit = 2 }), false, S, F, S, F, S),
			"success-rate: count 5 reached without 2 consecutive successful (consecutiveSuccessLimit; 3 successful, 2 failed)"},
		{"no successful measurement (#4479)", with(rate, func(m *Metric) { m.Count = i32(3) }), judged(with(rate, func(m *Metric) { m.Count = i32(3) }), false, F, E, F, F),
			"success-rate: no successful measurement (3 failed, 1 errored); last: 0.62 does not satisfy result[0] > 0.90"},
		{"terminated on errors only (#4479)", rate, judged(rate, true, E, E),
			"success-rate: no successful measurement (2 errored); last error: query timed out"},
		{"terminated with successes", rate, judged(rate, true, S, S, F),
			"success-rate: run terminated (2 successful, 1 failed)"},
		{"terminated before measuring", rate, judged(rate, true),
			"success-rate: run terminated before any measurement completed"},
		{"still running: no message", rate, judged(rate, false, S), ""},
		{"a phase the rules do not give", rate, v1alpha1.MetricResult{Phase: E}, "success-rate: assessed Error"},
	}
	for _, c := range cases {
		if got := MetricMessage(c.m, c.r); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestDeleteAt(t *testing.T) {
	sec := func(n int32) *int32 { return &n }
	completed := metav1.NewTime(t0)
	all := &v1alpha1.TTLStrategy{SecondsAfterCompletion: sec(100), SecondsAfterSuccess: sec(10), SecondsAfterFailure: sec(20)}
	cases := []struct {
		name        string
		ttl         *v1alpha1.TTLStrategy
		phase       v1alpha1.AnalysisPhase
		completedAt *metav1.Time
		want        time.Duration
		wantOK      bool
	}{
		{"no strategy", nil, successful, &completed, 0, false},
		{"still running", all, running, &completed, 0, false},
		{"no completedAt", all, successful, nil, 0, false},
		{"success takes precedence", all, successful, &completed, 10 * time.Second, true},
		{"failure takes precedence", all, failed, &completed, 20 * time.Second, true},
		{"error falls back to completion", all, errored, &completed, 100 * time.Second, true},
		{"inconclusive falls back to completion", all, inconclusive, &completed, 100 * time.Second, true},
		{"only completion", &v1alpha1.TTLStrategy{SecondsAfterCompletion: sec(0)}, successful, &completed, 0, true},
		{"only success, run failed", &v1alpha1.TTLStrategy{SecondsAfterSuccess: sec(5)}, failed, &completed, 0, false},
	}
	for _, c := range cases {
		at, ok := DeleteAt(c.ttl, c.phase, c.completedAt)
		if ok != c.wantOK || (ok && !at.Equal(t0.Add(c.want))) {
			t.Errorf("%s: %v %v, want +%v %v", c.name, at.Sub(t0), ok, c.want, c.wantOK)
		}
	}
}
