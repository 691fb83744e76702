package engine

import (
	"slices"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestEffectiveCount(t *testing.T) {
	cases := []struct {
		name        string
		m           Metric
		want        int32
		wantBounded bool
	}{
		{"count and interval omitted: one measurement", Metric{}, 1, true},
		{"count 0 reads as omitted", Metric{Count: i32(0)}, 1, true},
		{"interval only: unbounded", Metric{Interval: 60e9}, 0, false},
		{"count given", Metric{Count: i32(5), Interval: 60e9}, 5, true},
		{"count 1 without interval", Metric{Count: i32(1)}, 1, true},
	}
	for _, c := range cases {
		n, bounded := c.m.EffectiveCount()
		if n != c.want || bounded != c.wantBounded {
			t.Errorf("%s: got %d %v, want %d %v", c.name, n, bounded, c.want, c.wantBounded)
		}
	}
}

// Every row of reference §2.4 and steps 1–6 of §2.5, plus the
// proof-of-success rule that replaces issue #4479's behaviour.
func TestAssessMetric(t *testing.T) {
	const S, F, I, E = successful, failed, inconclusive, errored
	one := Metric{Name: "m"}
	every := Metric{Name: "m", Interval: 60e9}
	count := func(n int32) Metric { return Metric{Name: "m", Interval: 60e9, Count: i32(n)} }
	with := func(m Metric, f func(*Metric)) Metric { f(&m); return m }
	inFlight := func(m Metric, phases ...v1alpha1.AnalysisPhase) v1alpha1.MetricResult {
		r := replay(m, phases...)
		r.Measurements = append(r.Measurements, v1alpha1.Measurement{Phase: running})
		return r
	}
	cases := []struct {
		name        string
		m           Metric
		r           v1alpha1.MetricResult
		terminating bool
		want        v1alpha1.AnalysisPhase
	}{
		// Step 1.
		{"no measurement: Pending", one, replay(one), false, pending},
		{"no measurement, terminating: Successful (as terminated)", one, replay(one), true, successful},
		// Step 2.
		{"last measurement in flight: Running", every, inFlight(every, S), false, running},
		{"in flight stays Running while terminating", every, inFlight(every, S), true, running},
		// Step 3: failureLimit.
		{"failed > failureLimit 0", one, replay(one, F), false, failed},
		{"failed == failureLimit keeps going", with(count(5), func(m *Metric) { m.FailureLimit = 2 }), replay(count(5), F, F, S), false, running},
		{"failed > failureLimit 2", with(count(5), func(m *Metric) { m.FailureLimit = 2 }), replay(count(5), F, F, F), false, failed},
		{"failureLimit -1 ignores failures", with(count(5), func(m *Metric) { m.FailureLimit = -1; m.ConsecutiveSuccessLimit = 2 }), replay(count(5), F, F, F, S), false, running},
		// Step 3: inconclusiveLimit.
		{"inconclusive > inconclusiveLimit 0", one, replay(one, I), false, inconclusive},
		{"inconclusive == inconclusiveLimit keeps going", with(count(3), func(m *Metric) { m.InconclusiveLimit = 1 }), replay(count(3), I, S), false, running},
		// Step 3: consecutiveErrorLimit (default 4).
		{"4 consecutive errors are tolerated", one, replay(one, E, E, E, E), false, running},
		{"5 consecutive errors: Error", one, replay(one, E, E, E, E, E), false, errored},
		{"errors reset by a non-error", count(3), replay(count(3), E, E, E, E, S, E, E, E, E), false, running},
		{"consecutiveErrorLimit 0: first error is Error", with(one, func(m *Metric) { m.ConsecutiveErrorLimit = i32(0) }), replay(one, E), false, errored},
		// Step 3: the last matching check wins.
		{"failed and inconclusive over limit: Inconclusive", count(3), replay(count(3), F, I), false, inconclusive},
		{"failed over limit and errors over limit: Error", with(count(9), func(m *Metric) { m.ConsecutiveErrorLimit = i32(1) }), replay(count(9), F, E, E), false, errored},
		// Step 4.
		{"consecutiveSuccessLimit reached before count", with(count(10), func(m *Metric) { m.ConsecutiveSuccessLimit = 2; m.FailureLimit = 3 }), replay(count(10), F, S, S), false, successful},
		{"consecutiveSuccessLimit not yet reached", with(count(10), func(m *Metric) { m.ConsecutiveSuccessLimit = 3; m.FailureLimit = 3 }), replay(count(10), S, S, F, S), false, running},
		// Step 5.
		{"count reached: Successful", count(3), replay(count(3), S, S, S), false, successful},
		{"count reached with tolerated failures: Successful", with(count(3), func(m *Metric) { m.FailureLimit = 1 }), replay(count(3), S, F, S), false, successful},
		{"errors do not count toward count", count(2), replay(count(2), S, E), false, running},
		{"count reached without the streak, failureLimit applies: Inconclusive", with(count(4), func(m *Metric) { m.ConsecutiveSuccessLimit = 2; m.FailureLimit = 2 }), replay(count(4), S, F, S, F), false, inconclusive},
		{"count reached without the streak, failureLimit -1: Failed", with(count(4), func(m *Metric) { m.ConsecutiveSuccessLimit = 2; m.FailureLimit = -1 }), replay(count(4), S, F, S, F), false, failed},
		// Step 6.
		{"unbounded: Running", every, replay(every, S, S), false, running},
		{"unbounded, terminating with successes: Successful", every, replay(every, S, S), true, successful},
		// Proof of success (#4479).
		{"#4479 count reached on tolerated failures only: Failed", with(count(3), func(m *Metric) { m.FailureLimit = 3 }), replay(count(3), F, F, F), false, failed},
		{"#4479 failures between tolerated error runs: Failed", with(count(2), func(m *Metric) { m.FailureLimit = 2 }), replay(count(2), E, E, E, E, F, E, E, E, E, F), false, failed},
		{"#4479 count reached on tolerated inconclusives only: Inconclusive", with(count(2), func(m *Metric) { m.InconclusiveLimit = 2 }), replay(count(2), I, I), false, inconclusive},
		{"#4479 terminated with only errors: Error", every, replay(every, E, E), true, errored},
		{"#4479 terminated with only tolerated failures: Failed", with(every, func(m *Metric) { m.FailureLimit = 3 }), replay(every, F, E, F), true, failed},
		{"terminated after errors that follow a success: Successful", every, replay(every, S, E, E), true, successful},
		// Completed phases are final.
		{"a completed phase is kept", every, v1alpha1.MetricResult{Phase: failed, Measurements: replay(every, S).Measurements, Successful: 1, Count: 1}, false, failed},
	}
	for _, c := range cases {
		if got := AssessMetric(c.m, c.r, c.terminating); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestAssessMetricTerminatedMeasurementIsNoEvidence(t *testing.T) {
	m := Metric{Name: "job", Interval: 60e9}
	status := statusOf()
	Record(status, m, Measure, v1alpha1.Measurement{Phase: running}, t0)
	Record(status, m, Terminate, v1alpha1.Measurement{Phase: successful}, t0)
	r := *Result(status, "job")
	if r.Successful != 0 || r.Count != 0 || r.Measurements[0].Message != MsgMetricTerminated {
		t.Fatalf("a terminated measurement must be kept but not counted: %+v", r)
	}
	if got := AssessMetric(m, r, true); got != successful {
		t.Errorf("nothing was judged, so it is Successful as terminated; got %s", got)
	}
	r.Phase = successful
	if got := MetricMessage(m, r); got != "job: run terminated before any measurement completed" {
		t.Errorf("message %q", got)
	}
}

func TestSeverityOrder(t *testing.T) {
	order := []v1alpha1.AnalysisPhase{successful, running, pending, inconclusive, errored, failed}
	for i := 1; i < len(order); i++ {
		if severity(order[i]) <= severity(order[i-1]) {
			t.Errorf("%s is not worse than %s", order[i], order[i-1])
		}
	}
}

func TestTerminating(t *testing.T) {
	cases := []struct {
		name      string
		terminate bool
		results   []v1alpha1.MetricResult
		want      bool
	}{
		{"nothing failing", false, []v1alpha1.MetricResult{{Phase: running}, {Phase: successful}}, false},
		{"spec.terminate", true, nil, true},
		{"a Failed metric", false, []v1alpha1.MetricResult{{Phase: failed}}, true},
		{"an Error metric", false, []v1alpha1.MetricResult{{Phase: errored}}, true},
		{"an Inconclusive metric", false, []v1alpha1.MetricResult{{Phase: inconclusive}}, true},
		{"a failing dry-run metric does not", false, []v1alpha1.MetricResult{{Phase: failed, DryRun: true}}, false},
	}
	for _, c := range cases {
		if got := Terminating(c.terminate, statusOf(c.results...)); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

func TestAssessRun(t *testing.T) {
	const S, F, E = successful, failed, errored
	a := Metric{Name: "a", SuccessCondition: "result > 0.9"}
	b := Metric{Name: "b", Interval: 60e9}
	c := Metric{Name: "c", SuccessCondition: "result > 0.9"}
	dry := Metric{Name: "dry", Count: i32(2), Interval: 60e9, DryRun: true}
	cases := []struct {
		name        string
		metrics     []Metric
		terminate   bool
		results     []v1alpha1.MetricResult
		want        v1alpha1.AnalysisPhase
		wantMessage string
		wantPhases  []v1alpha1.AnalysisPhase // per metric result, in status order
		wantRun     v1alpha1.RunSummary
		wantDry     v1alpha1.RunSummary
		wantPassed  bool
	}{
		{
			name: "all metrics successful", metrics: []Metric{a, c},
			results: []v1alpha1.MetricResult{replay(a, S), replay(c, S)},
			want:    successful, wantPhases: []v1alpha1.AnalysisPhase{S, S},
			wantRun: v1alpha1.RunSummary{Count: 2, Successful: 2}, wantPassed: true,
		},
		{
			name: "a metric not measured yet keeps the run Running", metrics: []Metric{a, c},
			results: []v1alpha1.MetricResult{replay(a, S)},
			want:    running, wantPhases: []v1alpha1.AnalysisPhase{S},
			wantRun: v1alpha1.RunSummary{Count: 2, Successful: 1},
		},
		{
			name: "fail-fast: a failure ends the unbounded metric in the same pass", metrics: []Metric{b, a},
			results: []v1alpha1.MetricResult{replay(b, S), replay(a, F)},
			want:    failed, wantMessage: "a: 0.62 does not satisfy result > 0.9 (1 failed > failureLimit 0)",
			wantPhases: []v1alpha1.AnalysisPhase{S, F},
			wantRun:    v1alpha1.RunSummary{Count: 2, Successful: 1, Failed: 1},
		},
		{
			name: "the worst phase wins and the first metric with it explains", metrics: []Metric{a, b, c},
			results: []v1alpha1.MetricResult{replay(a, E, E, E, E, E), replay(b, F), replay(c, F)},
			want:    failed, wantMessage: "b: measurement Failed with 0.62 (1 failed > failureLimit 0)",
			wantPhases: []v1alpha1.AnalysisPhase{E, F, F},
			wantRun:    v1alpha1.RunSummary{Count: 3, Failed: 2, Error: 1},
		},
		{
			name: "all measurements errored: Error naming the last error", metrics: []Metric{a},
			results: []v1alpha1.MetricResult{replay(a, E, E, E, E, E)},
			want:    errored, wantMessage: "a: 5 consecutive errors > consecutiveErrorLimit 4; last error: query timed out",
			wantPhases: []v1alpha1.AnalysisPhase{E},
			wantRun:    v1alpha1.RunSummary{Count: 1, Error: 1},
		},
		{
			name: "spec.terminate before any measurement: Successful, not passed", metrics: []Metric{a, b}, terminate: true,
			want: successful, wantMessage: MsgRunTerminated,
			wantRun: v1alpha1.RunSummary{Count: 2, Successful: 2},
		},
		{
			name: "spec.terminate with successes: passed", metrics: []Metric{b}, terminate: true,
			results: []v1alpha1.MetricResult{replay(b, S, S)},
			want:    successful, wantMessage: MsgRunTerminated, wantPhases: []v1alpha1.AnalysisPhase{S},
			wantRun: v1alpha1.RunSummary{Count: 1, Successful: 1}, wantPassed: true,
		},
		{
			name: "spec.terminate with only errors: Error (#4479)", metrics: []Metric{b}, terminate: true,
			results: []v1alpha1.MetricResult{replay(b, E, E)},
			want:    errored, wantMessage: "b: no successful measurement (2 errored); last error: query timed out",
			wantPhases: []v1alpha1.AnalysisPhase{E},
			wantRun:    v1alpha1.RunSummary{Count: 1, Error: 1},
		},
		{
			name: "a failed dry-run metric neither fails nor stops the run", metrics: []Metric{b, dry},
			results: []v1alpha1.MetricResult{replay(b, S), replay(dry, F)},
			want:    running, wantPhases: []v1alpha1.AnalysisPhase{running, F},
			wantRun: v1alpha1.RunSummary{Count: 1}, wantDry: v1alpha1.RunSummary{Count: 1, Failed: 1},
		},
		{
			name: "dry-run metrics are measured in full before the run completes", metrics: []Metric{a, dry},
			results: []v1alpha1.MetricResult{replay(a, S), replay(dry, S)},
			want:    running, wantPhases: []v1alpha1.AnalysisPhase{S, running},
			wantRun: v1alpha1.RunSummary{Count: 1, Successful: 1}, wantDry: v1alpha1.RunSummary{Count: 1},
		},
		{
			name: "a run of only dry-run metrics is Successful", metrics: []Metric{dry},
			results: []v1alpha1.MetricResult{replay(dry, F)},
			want:    successful, wantPhases: []v1alpha1.AnalysisPhase{F},
			wantDry: v1alpha1.RunSummary{Count: 1, Failed: 1}, wantPassed: true,
		},
	}
	for _, tc := range cases {
		status := statusOf(tc.results...)
		Assess(tc.metrics, tc.terminate, status, t0)
		var phases []v1alpha1.AnalysisPhase
		for _, r := range status.MetricResults {
			phases = append(phases, r.Phase)
		}
		switch {
		case status.Phase != tc.want || status.Message != tc.wantMessage:
			t.Errorf("%s: run %s %q, want %s %q", tc.name, status.Phase, status.Message, tc.want, tc.wantMessage)
		case !slices.Equal(phases, tc.wantPhases):
			t.Errorf("%s: metric phases %v, want %v", tc.name, phases, tc.wantPhases)
		case status.RunSummary != tc.wantRun || *status.DryRunSummary != tc.wantDry:
			t.Errorf("%s: summaries %+v %+v, want %+v %+v", tc.name, status.RunSummary, *status.DryRunSummary, tc.wantRun, tc.wantDry)
		case (status.CompletedAt != nil) != status.Phase.Completed():
			t.Errorf("%s: completedAt %v with phase %s", tc.name, status.CompletedAt, status.Phase)
		case Passed(*status) != tc.wantPassed:
			t.Errorf("%s: Passed %v", tc.name, !tc.wantPassed)
		}
	}
}

func TestAssessRunWaitsForInFlightMeasurementsToTerminate(t *testing.T) {
	a := Metric{Name: "a"}
	job := Metric{Name: "job", Interval: 60e9}
	status := statusOf()
	Record(status, job, Measure, v1alpha1.Measurement{Phase: running}, t0)
	Record(status, a, Measure, v1alpha1.Measurement{Phase: failed}, t0)
	changed := Assess([]Metric{a, job}, false, status, t0)
	if status.Phase != running {
		t.Fatalf("an in-flight measurement keeps the run Running; got %s", status.Phase)
	}
	if want := []Transition{{Metric: "a", From: running, To: failed}}; !slices.Equal(changed, want) {
		t.Errorf("transitions %v, want %v", changed, want)
	}
	if got := Due([]Metric{a, job}, false, status, t0); !slices.Equal(got, []Task{{Metric: "job", Action: Terminate}}) {
		t.Fatalf("fail-fast must terminate the in-flight measurement; due %v", got)
	}
	Record(status, job, Terminate, v1alpha1.Measurement{Phase: successful}, t0)
	Assess([]Metric{a, job}, false, status, t0)
	if status.Phase != failed || Result(status, "job").Phase != successful {
		t.Errorf("run %s, job %s", status.Phase, Result(status, "job").Phase)
	}
}

func TestAssessStartsTheRunAndReportsRunningMessages(t *testing.T) {
	m := Metric{Name: "m", Interval: 60e9}
	var status v1alpha1.AnalysisRunStatus
	Record(&status, m, Measure, sample[errored], t0)
	status.StartedAt = nil
	Assess([]Metric{m}, false, &status, t0)
	if status.StartedAt == nil || !status.StartedAt.Time.Equal(t0) || status.Phase != running {
		t.Errorf("startedAt %v phase %s", status.StartedAt, status.Phase)
	}
	if got := Result(&status, "m").Message; got != "query timed out" {
		t.Errorf("a running metric shows its latest measurement's message; got %q", got)
	}
}

func TestAssessLeavesCompletedRunsAlone(t *testing.T) {
	status := statusOf(replay(Metric{Name: "a"}, successful))
	status.Phase, status.Message = failed, "set by someone"
	if changed := Assess([]Metric{{Name: "a"}}, false, status, t0); changed != nil || status.Phase != failed || status.Message != "set by someone" {
		t.Errorf("completed run changed: %+v", status)
	}
}

func TestPassed(t *testing.T) {
	ok := v1alpha1.MetricResult{Name: "a", Successful: 1}
	cases := []struct {
		name   string
		status v1alpha1.AnalysisRunStatus
		want   bool
	}{
		{"successful with evidence", v1alpha1.AnalysisRunStatus{Phase: successful, RunSummary: v1alpha1.RunSummary{Count: 1}, MetricResults: []v1alpha1.MetricResult{ok}}, true},
		{"not successful", v1alpha1.AnalysisRunStatus{Phase: failed, RunSummary: v1alpha1.RunSummary{Count: 1}, MetricResults: []v1alpha1.MetricResult{ok}}, false},
		{"a metric never measured", v1alpha1.AnalysisRunStatus{Phase: successful, RunSummary: v1alpha1.RunSummary{Count: 2}, MetricResults: []v1alpha1.MetricResult{ok}}, false},
		{"only a dry-run metric succeeded", v1alpha1.AnalysisRunStatus{Phase: successful, RunSummary: v1alpha1.RunSummary{Count: 1}, MetricResults: []v1alpha1.MetricResult{{Name: "a", Successful: 1, DryRun: true}}}, false},
	}
	for _, c := range cases {
		if got := Passed(c.status); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}
