package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestRecordCounters(t *testing.T) {
	const S, F, I, E = successful, failed, inconclusive, errored
	// counters: count successful failed inconclusive error consecutiveError consecutiveSuccess
	cases := []struct {
		phases []v1alpha1.AnalysisPhase
		want   [7]int32
	}{
		{[]v1alpha1.AnalysisPhase{S}, [7]int32{1, 1, 0, 0, 0, 0, 1}},
		{[]v1alpha1.AnalysisPhase{F}, [7]int32{1, 0, 1, 0, 0, 0, 0}},
		{[]v1alpha1.AnalysisPhase{I}, [7]int32{1, 0, 0, 1, 0, 0, 0}},
		{[]v1alpha1.AnalysisPhase{E}, [7]int32{0, 0, 0, 0, 1, 1, 0}},
		{[]v1alpha1.AnalysisPhase{S, S, E, E}, [7]int32{2, 2, 0, 0, 2, 2, 0}},
		{[]v1alpha1.AnalysisPhase{E, E, S, S}, [7]int32{2, 2, 0, 0, 2, 0, 2}},
		{[]v1alpha1.AnalysisPhase{S, S, F, S}, [7]int32{4, 3, 1, 0, 0, 0, 1}},
		{[]v1alpha1.AnalysisPhase{E, I, E}, [7]int32{1, 0, 0, 1, 2, 1, 0}},
		{[]v1alpha1.AnalysisPhase{running}, [7]int32{}},
	}
	for _, c := range cases {
		r := replay(Metric{Name: "m"}, c.phases...)
		got := [7]int32{r.Count, r.Successful, r.Failed, r.Inconclusive, r.Error, r.ConsecutiveError, r.ConsecutiveSuccess}
		if got != c.want {
			t.Errorf("%v: counters %v, want %v", c.phases, got, c.want)
		}
	}
}

func TestRecordPlacement(t *testing.T) {
	m := Metric{Name: "job", DryRun: true}
	status := statusOf()
	Record(status, m, Measure, v1alpha1.Measurement{Phase: running, ResumeAt: ts(30e9)}, t0)
	r := Result(status, "job")
	if r == nil || r.Phase != running || !r.DryRun || r.Count != 0 || r.Measurements[0].StartedAt == nil || r.Measurements[0].FinishedAt != nil {
		t.Fatalf("first in-flight measurement: %+v", r)
	}
	Record(status, m, Resume, v1alpha1.Measurement{Phase: running, StartedAt: ts(0)}, t0.Add(30e9))
	Record(status, m, Resume, v1alpha1.Measurement{Phase: successful, StartedAt: ts(0)}, t0.Add(60e9))
	r = Result(status, "job")
	if len(r.Measurements) != 1 || r.Count != 1 || r.Successful != 1 || !r.Measurements[0].FinishedAt.Time.Equal(t0.Add(60e9)) {
		t.Fatalf("resume must replace the in-flight measurement and count once: %+v", r)
	}
	Record(status, m, Measure, v1alpha1.Measurement{Phase: failed, FinishedAt: ts(90e9)}, t0.Add(95e9))
	if r = Result(status, "job"); len(r.Measurements) != 2 || !r.Measurements[1].FinishedAt.Time.Equal(t0.Add(90e9)) {
		t.Errorf("measure appends and keeps the provider's finishedAt: %+v", r)
	}
}

func TestRecordRetention(t *testing.T) {
	cases := []struct {
		retention int
		taken     int
		wantKept  int
		wantFirst string
	}{
		{0, 12, 10, "v2"},
		{3, 5, 3, "v2"},
		{3, 3, 3, "v0"},
		{1, 4, 1, "v3"},
	}
	for _, c := range cases {
		m := Metric{Name: "m", Interval: 1e9, Retention: c.retention}
		status := statusOf()
		dropped := 0
		for i := range c.taken {
			dropped += Record(status, m, Measure, v1alpha1.Measurement{Phase: successful, Value: fmt.Sprintf("v%d", i)}, t0)
		}
		r := Result(status, "m")
		if len(r.Measurements) != c.wantKept || r.Measurements[0].Value != c.wantFirst || dropped != c.taken-c.wantKept || r.Count != int32(c.taken) {
			t.Errorf("retention %d after %d: kept %d from %s, dropped %d, count %d", c.retention, c.taken, len(r.Measurements), r.Measurements[0].Value, dropped, r.Count)
		}
	}
}

func TestApplyRules(t *testing.T) {
	names := func() []Metric {
		return []Metric{{Name: "success-rate"}, {Name: "error-rate"}, {Name: "latency"}}
	}
	cases := []struct {
		name          string
		dryRun        []string
		retention     []v1alpha1.MeasurementRetention
		wantDryRun    []bool
		wantRetention []int
		wantErr       string
	}{
		{name: "no rules", wantDryRun: []bool{false, false, false}, wantRetention: []int{0, 0, 0}},
		{name: ".* selects all", dryRun: []string{".*"}, wantDryRun: []bool{true, true, true}, wantRetention: []int{0, 0, 0}},
		{name: "unanchored", dryRun: []string{"rate"}, wantDryRun: []bool{true, true, false}, wantRetention: []int{0, 0, 0}},
		{name: "anchored on request", dryRun: []string{"^error"}, wantDryRun: []bool{false, true, false}, wantRetention: []int{0, 0, 0}},
		{
			name:       "later retention rule wins",
			retention:  []v1alpha1.MeasurementRetention{{MetricName: "rate", Limit: 20}, {MetricName: "^error", Limit: 5}},
			wantDryRun: []bool{false, false, false}, wantRetention: []int{20, 5, 0},
		},
		{name: "dry-run rule matching nothing", dryRun: []string{"lat", "cpu"}, wantErr: `dryRun[1]: metricName "cpu" matches no metric`},
		{name: "retention rule matching nothing", retention: []v1alpha1.MeasurementRetention{{MetricName: "cpu", Limit: 1}}, wantErr: `measurementRetention[0]: metricName "cpu" matches no metric`},
		{name: "not a regular expression", dryRun: []string{"("}, wantErr: `dryRun[0]: metricName "(" is not a regular expression`},
	}
	for _, c := range cases {
		metrics := names()
		var rules []v1alpha1.DryRun
		for _, d := range c.dryRun {
			rules = append(rules, v1alpha1.DryRun{MetricName: d})
		}
		err := ApplyRules(metrics, rules, c.retention)
		if c.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for i, m := range metrics {
			if m.DryRun != c.wantDryRun[i] || m.Retention != c.wantRetention[i] {
				t.Errorf("%s: %s dryRun %v retention %d", c.name, m.Name, m.DryRun, m.Retention)
			}
		}
	}
}
