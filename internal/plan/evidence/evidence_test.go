package evidence

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestMinimum(t *testing.T) {
	for _, c := range []struct {
		value   *string
		want    int
		wantErr bool
	}{
		{value: nil, want: DefaultMinimum},
		{value: new("0"), want: 0},
		{value: new("3"), want: 3},
		{value: new(" 2 "), want: 2},
		{value: new("10"), want: 10},
		{value: new("11"), want: DefaultMinimum, wantErr: true},
		{value: new("-1"), want: DefaultMinimum, wantErr: true},
		{value: new("off"), want: DefaultMinimum, wantErr: true},
		{value: new(""), want: DefaultMinimum, wantErr: true},
	} {
		ro := &v1alpha1.Rollout{}
		name := "absent"
		if c.value != nil {
			ro.Annotations = map[string]string{Annotation: *c.value}
			name = *c.value
		}
		got, err := Minimum(ro)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%q: got %d, %v; want %d, error %v", name, got, err, c.want, c.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "from 0 (no evidence required) to 10") {
			t.Errorf("%q: the error must say what the value may be: %v", name, err)
		}
	}
}

func at(d time.Duration) *metav1.Time {
	t := metav1.NewTime(t0.Add(d))
	return &t
}

func measured(phase v1alpha1.AnalysisPhase, start time.Duration) v1alpha1.Measurement {
	return v1alpha1.Measurement{Phase: phase, StartedAt: at(start), FinishedAt: at(start + 100*time.Millisecond)}
}

func TestOf(t *testing.T) {
	run := &v1alpha1.AnalysisRun{
		Spec: v1alpha1.AnalysisRunSpec{
			Metrics: []v1alpha1.Metric{{Name: "rate"}, {Name: "latency"}, {Name: "shadow"}, {Name: "done"}, {Name: "cut"}},
			DryRun:  []v1alpha1.DryRun{{MetricName: "shad.*"}},
		},
		Status: v1alpha1.AnalysisRunStatus{MetricResults: []v1alpha1.MetricResult{
			{Name: "rate", Phase: v1alpha1.AnalysisPhaseRunning, Count: 14, Error: 1, Successful: 14, Measurements: []v1alpha1.Measurement{
				measured(v1alpha1.AnalysisPhaseSuccessful, time.Second),
				measured(v1alpha1.AnalysisPhaseError, 2*time.Second),
				measured(v1alpha1.AnalysisPhaseSuccessful, 3*time.Second),
				{Phase: v1alpha1.AnalysisPhaseRunning, StartedAt: at(4 * time.Second)},
			}},
			{Name: "shadow", Phase: v1alpha1.AnalysisPhaseRunning, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseFailed, time.Second)}},
			{Name: "done", Phase: v1alpha1.AnalysisPhaseSuccessful, Count: 1, Successful: 1, Measurements: []v1alpha1.Measurement{measured(v1alpha1.AnalysisPhaseSuccessful, 0)}},
			{Name: "cut", Phase: v1alpha1.AnalysisPhaseSuccessful, Measurements: []v1alpha1.Measurement{
				{Phase: v1alpha1.AnalysisPhaseSuccessful, Message: engine.MsgMetricTerminated, StartedAt: at(time.Second), FinishedAt: at(2 * time.Second)},
			}},
		}},
	}
	got := Of(run)
	want := []Metric{
		{Name: "rate", Successes: []time.Time{t0.Add(time.Second), t0.Add(3 * time.Second)}, Retained: 3, Taken: 15},
		{Name: "latency"},
		{Name: "done", Done: true, Successes: []time.Time{t0}, Retained: 1, Taken: 1},
		// Terminated before it measured anything: no success, not done.
		{Name: "cut", Retained: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v (the dry-run metric left out)", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Done != w.Done || g.Retained != w.Retained || g.Taken != w.Taken || len(g.Successes) != len(w.Successes) {
			t.Fatalf("metric %d: got %+v, want %+v", i, g, w)
		}
		for j := range w.Successes {
			if !g.Successes[j].Equal(w.Successes[j]) {
				t.Fatalf("metric %s: successes %v, want %v", w.Name, g.Successes, w.Successes)
			}
		}
	}
	if Of(nil) != nil {
		t.Fatal("no run, no metrics")
	}
}

func TestMissing(t *testing.T) {
	since := t0.Add(10*time.Second + 600*time.Millisecond)
	times := func(ds ...time.Duration) []time.Time {
		var out []time.Time
		for _, d := range ds {
			out = append(out, t0.Add(d))
		}
		return out
	}
	for _, c := range []struct {
		name    string
		metrics []Metric
		since   *time.Time
		min     int
		want    string // a part of the message; "" when nothing is missing
	}{
		{name: "a success after the weight was set", min: 1, since: &since,
			metrics: []Metric{{Name: "rate", Successes: times(5*time.Second, 12*time.Second), Retained: 2, Taken: 2}}},
		{name: "successes only before the weight was set", min: 1, since: &since,
			metrics: []Metric{{Name: "rate", Successes: times(5*time.Second, 9*time.Second), Retained: 2, Taken: 2}},
			want:    `background metric "rate" has 0 of 1 successful measurements since the canary reached its current weight at 2026-01-01T12:00:10Z`},
		{name: "a success in the same second as the weight does not count", min: 1, since: &since,
			metrics: []Metric{{Name: "rate", Successes: times(10*time.Second + 900*time.Millisecond), Retained: 1, Taken: 1}},
			want:    `"rate" has 0 of 1`},
		{name: "not measured yet", min: 1, since: &since, metrics: []Metric{{Name: "rate"}}, want: `"rate" has 0 of 1`},
		{name: "every metric must have evidence: the first that lacks it is named", min: 1, since: &since,
			metrics: []Metric{{Name: "rate", Successes: times(11 * time.Second), Retained: 1, Taken: 1}, {Name: "latency"}, {Name: "errors"}},
			want:    `"latency" has 0 of 1`},
		{name: "two asked for, one taken", min: 2, since: &since,
			metrics: []Metric{{Name: "rate", Successes: times(11 * time.Second), Retained: 1, Taken: 1}}, want: `"rate" has 1 of 2`},
		{name: "two asked for, two taken", min: 2, since: &since,
			metrics: []Metric{{Name: "rate", Successes: times(11*time.Second, 13*time.Second), Retained: 2, Taken: 2}}},
		{name: "a completed metric's verdict stands", min: 1, since: &since,
			metrics: []Metric{{Name: "once", Done: true, Successes: times(time.Second), Retained: 1, Taken: 1}}},
		{name: "retention full of evidence counts as proven", min: 3, since: &since,
			metrics: []Metric{{Name: "rate", Successes: times(11*time.Second, 12*time.Second), Retained: 2, Taken: 9}}},
		{name: "retention not full: still waiting", min: 3, since: &since,
			metrics: []Metric{{Name: "rate", Successes: times(11*time.Second, 12*time.Second), Retained: 2, Taken: 2}}, want: `"rate" has 2 of 3`},
		{name: "a trimmed history with a failure in it is no proof", min: 3, since: &since,
			metrics: []Metric{{Name: "rate", Successes: times(12 * time.Second), Retained: 2, Taken: 9}}, want: `"rate" has 1 of 3`},
		{name: "unknown weight time: every retained success counts", min: 1,
			metrics: []Metric{{Name: "rate", Successes: times(time.Second), Retained: 1, Taken: 1}}},
		{name: "unknown weight time, nothing measured", min: 1, metrics: []Metric{{Name: "rate"}}, want: `"rate" has 0 of 1 successful measurements in this analysis`},
		{name: "the rule turned off", min: 0, since: &since, metrics: []Metric{{Name: "rate"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Missing(c.metrics, c.since, c.min)
			if (got == "") != (c.want == "") || !strings.Contains(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
