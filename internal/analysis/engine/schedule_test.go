package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestDueAndNext(t *testing.T) {
	const sec = time.Second
	once := Metric{Name: "m"}
	every := Metric{Name: "m", Interval: time.Minute}
	delayed := Metric{Name: "m", Interval: time.Minute, InitialDelay: 5 * time.Minute}
	three := Metric{Name: "m", Interval: time.Minute, Count: i32(3)}
	done := func(p v1alpha1.AnalysisPhase, finished time.Duration) v1alpha1.Measurement {
		return v1alpha1.Measurement{Phase: p, StartedAt: ts(finished - sec), FinishedAt: ts(finished)}
	}
	result := func(r v1alpha1.MetricResult, ms ...v1alpha1.Measurement) v1alpha1.MetricResult {
		r.Name, r.Phase, r.Measurements = "m", running, ms
		return r
	}
	measure := []Task{{Metric: "m", Action: Measure}}
	resume := []Task{{Metric: "m", Action: Resume}}
	terminate := []Task{{Metric: "m", Action: Terminate}}
	cases := []struct {
		name      string
		m         Metric
		terminate bool
		started   bool // status.startedAt = t0
		results   []v1alpha1.MetricResult
		now       time.Duration
		wantDue   []Task
		wantNext  time.Duration
		wantTimed bool
	}{
		{"first measurement at once", once, false, true, nil, 0, measure, 0, true},
		{"initialDelay: not before startedAt+delay", delayed, false, true, nil, 4 * time.Minute, nil, 5 * time.Minute, true},
		{"initialDelay: due exactly at startedAt+delay", delayed, false, true, nil, 5 * time.Minute, measure, 5 * time.Minute, true},
		{"initialDelay counts from now before the run has started", delayed, false, false, nil, time.Minute, nil, 6 * time.Minute, true},
		{"interval after the last finish", every, false, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{Count: 1}, done(successful, 10*sec))}, 30 * sec, nil, 70 * sec, true},
		{"interval elapsed", every, false, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{Count: 1}, done(failed, 10*sec))}, 70 * sec, measure, 70 * sec, true},
		{"error retries after 10s whatever the interval", delayed, false, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{Error: 1, ConsecutiveError: 1}, done(errored, 6*time.Minute))}, 6 * time.Minute, nil, 6*time.Minute + 10*sec, true},
		{"error retry for a single measurement", once, false, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{Error: 1, ConsecutiveError: 1}, done(errored, 10*sec))}, 20 * sec, measure, 20 * sec, true},
		{"count reached: nothing more", three, false, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{Count: 3}, done(successful, 10*sec))}, time.Hour, nil, 0, false},
		{"completed metric: nothing more", every, false, true, []v1alpha1.MetricResult{{Name: "m", Phase: failed, Measurements: []v1alpha1.Measurement{done(failed, sec)}}}, time.Hour, nil, 0, false},
		{"async: wait for resumeAt", every, false, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{}, v1alpha1.Measurement{Phase: running, ResumeAt: ts(time.Minute)})}, 30 * sec, nil, time.Minute, true},
		{"async: resume at resumeAt", every, false, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{}, v1alpha1.Measurement{Phase: running, ResumeAt: ts(time.Minute)})}, time.Minute, resume, time.Minute, true},
		{"async without resumeAt: resume on every reconcile, no timer", every, false, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{}, v1alpha1.Measurement{Phase: running})}, time.Minute, resume, 0, false},
		{"terminating: terminate in-flight at once", every, true, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{}, v1alpha1.Measurement{Phase: running, ResumeAt: ts(time.Hour)})}, time.Minute, terminate, time.Minute, true},
		{"terminating: no new measurement", every, true, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{Count: 1}, done(successful, sec))}, time.Hour, nil, 0, false},
		{"terminating: no first measurement", once, true, true, nil, 0, nil, 0, false},
		{"fail-fast counts as terminating", every, false, true, []v1alpha1.MetricResult{result(v1alpha1.MetricResult{Count: 1}, done(successful, sec)), {Name: "other", Phase: failed}}, time.Hour, nil, 0, false},
	}
	for _, c := range cases {
		status := &v1alpha1.AnalysisRunStatus{MetricResults: c.results}
		if c.started {
			status.StartedAt = ts(0)
		}
		now := t0.Add(c.now)
		metrics := []Metric{c.m}
		if due := Due(metrics, c.terminate, status, now); !slices.Equal(due, c.wantDue) {
			t.Errorf("%s: due %v, want %v", c.name, due, c.wantDue)
		}
		next, timed := Next(metrics, c.terminate, status, now)
		if timed != c.wantTimed || (timed && !next.Equal(t0.Add(c.wantNext))) {
			t.Errorf("%s: next %v %v, want +%v %v", c.name, next.Sub(t0), timed, c.wantNext, c.wantTimed)
		}
	}
}

func TestNextIsTheEarliestMetric(t *testing.T) {
	metrics := []Metric{
		{Name: "slow", Interval: 5 * time.Minute},
		{Name: "delayed", InitialDelay: 2 * time.Minute},
		{Name: "async", Interval: time.Minute},
	}
	status := statusOf(
		v1alpha1.MetricResult{Name: "slow", Phase: running, Count: 1, Measurements: []v1alpha1.Measurement{{Phase: successful, FinishedAt: ts(0)}}},
		v1alpha1.MetricResult{Name: "async", Phase: running, Measurements: []v1alpha1.Measurement{{Phase: running, ResumeAt: ts(90 * time.Second)}}},
	)
	next, ok := Next(metrics, false, status, t0.Add(time.Second))
	if !ok || !next.Equal(t0.Add(90*time.Second)) {
		t.Errorf("next %v %v, want +90s", next.Sub(t0), ok)
	}
	status.Phase = successful
	if _, ok := Next(metrics, false, status, t0); ok || Due(metrics, false, status, t0) != nil {
		t.Error("a completed run schedules nothing")
	}
}
