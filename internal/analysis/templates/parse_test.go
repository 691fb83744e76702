package templates

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
)

func TestParse(t *testing.T) {
	num := func(n int) *intstr.IntOrString { v := intstr.FromInt(n); return &v }
	text := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	with := func(f func(*v1alpha1.Metric)) v1alpha1.Metric {
		m := metric("m")
		f(&m)
		return m
	}
	cases := []struct {
		name    string
		m       v1alpha1.Metric
		check   func(got engine.Metric) bool
		wantErr string
	}{
		{name: "defaults", m: metric("m"), check: func(g engine.Metric) bool {
			return g.Count == nil && g.FailureLimit == 0 && g.InconclusiveLimit == 0 && *g.ConsecutiveErrorLimit == 4 && g.ConsecutiveSuccessLimit == 0 && g.Interval == 0
		}},
		{name: "durations", m: with(func(m *v1alpha1.Metric) { m.Interval = "30s"; m.InitialDelay = "2m" }), check: func(g engine.Metric) bool {
			return g.Interval == 30*time.Second && g.InitialDelay == 2*time.Minute
		}},
		{name: "integers and substituted strings", m: with(func(m *v1alpha1.Metric) {
			m.Interval, m.Count, m.FailureLimit, m.InconclusiveLimit, m.ConsecutiveErrorLimit, m.ConsecutiveSuccessLimit = "1m", text("10"), num(3), text("2"), num(0), text("4")
		}), check: func(g engine.Metric) bool {
			return *g.Count == 10 && g.FailureLimit == 3 && g.InconclusiveLimit == 2 && *g.ConsecutiveErrorLimit == 0 && g.ConsecutiveSuccessLimit == 4
		}},
		{name: "failureLimit -1 with a success limit", m: with(func(m *v1alpha1.Metric) {
			m.Interval, m.FailureLimit, m.ConsecutiveSuccessLimit = "1m", num(-1), num(2)
		}), check: func(g engine.Metric) bool { return g.FailureLimit == -1 }},
		{name: "conditions kept for messages", m: with(func(m *v1alpha1.Metric) { m.SuccessCondition, m.FailureCondition = "a", "b" }), check: func(g engine.Metric) bool {
			return g.SuccessCondition == "a" && g.FailureCondition == "b"
		}},
		{name: "count not an integer", m: with(func(m *v1alpha1.Metric) { m.Count = text("five") }), wantErr: `metric "m": count "five" is not an integer`},
		{name: "a percentage is not a count", m: with(func(m *v1alpha1.Metric) { m.FailureLimit = text("5%") }), wantErr: `metric "m": failureLimit "5%" is not an integer`},
		{name: "bad interval", m: with(func(m *v1alpha1.Metric) { m.Interval = "soon" }), wantErr: `metric "m": interval: time: invalid duration "soon"`},
		{name: "zero interval", m: with(func(m *v1alpha1.Metric) { m.Interval = "0s" }), wantErr: `metric "m": interval "0s" must be positive`},
		{name: "bad initialDelay", m: with(func(m *v1alpha1.Metric) { m.InitialDelay = "5" }), wantErr: `metric "m": initialDelay: time: missing unit`},
		{name: "negative count", m: with(func(m *v1alpha1.Metric) { m.Count = num(-1) }), wantErr: `metric "m": count must be >= 0 (got -1)`},
		{name: "failureLimit below -1", m: with(func(m *v1alpha1.Metric) { m.FailureLimit = num(-2) }), wantErr: `metric "m": failureLimit must be >= 0, or -1 to disable it (got -2)`},
		{name: "negative inconclusiveLimit", m: with(func(m *v1alpha1.Metric) { m.InconclusiveLimit = num(-1) }), wantErr: `metric "m": inconclusiveLimit must be >= 0`},
		{name: "negative consecutiveErrorLimit", m: with(func(m *v1alpha1.Metric) { m.ConsecutiveErrorLimit = num(-1) }), wantErr: `metric "m": consecutiveErrorLimit must be >= 0`},
		{name: "negative consecutiveSuccessLimit", m: with(func(m *v1alpha1.Metric) { m.ConsecutiveSuccessLimit = num(-1) }), wantErr: `metric "m": consecutiveSuccessLimit must be >= 0`},
		{name: "both limits disabled", m: with(func(m *v1alpha1.Metric) { m.FailureLimit = num(-1) }), wantErr: `metric "m": failureLimit -1 disables failures`},
		{name: "count > 1 without interval", m: with(func(m *v1alpha1.Metric) { m.Count = num(3) }), wantErr: `metric "m": count 3 needs an interval`},
		{name: "count below failureLimit + consecutiveSuccessLimit", m: with(func(m *v1alpha1.Metric) {
			m.Interval, m.Count, m.FailureLimit, m.ConsecutiveSuccessLimit = "1m", num(4), num(3), num(2)
		}), wantErr: `metric "m": count 4 must be >= failureLimit + consecutiveSuccessLimit (5)`},
		{name: "count below consecutiveSuccessLimit with failureLimit -1", m: with(func(m *v1alpha1.Metric) {
			m.Interval, m.Count, m.FailureLimit, m.ConsecutiveSuccessLimit = "1m", num(2), num(-1), num(3)
		}), wantErr: `metric "m": count 2 must be >= failureLimit + consecutiveSuccessLimit (3)`},
		{name: "count below inconclusiveLimit", m: with(func(m *v1alpha1.Metric) {
			m.Interval, m.Count, m.InconclusiveLimit = "1m", num(2), num(3)
		}), wantErr: `metric "m": count 2 must be >= inconclusiveLimit 3`},
	}
	for _, c := range cases {
		got, err := Parse(c.m)
		if c.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || got.Name != "m" || !c.check(got) {
			t.Errorf("%s: %+v %v", c.name, got, err)
		}
	}
}

func TestRunMetrics(t *testing.T) {
	withQuery := func(name, q string) v1alpha1.Metric {
		m := metric(name)
		m.Provider.Prometheus.Query = q
		return m
	}
	count := intstr.FromString("{{args.n}}")
	counted := withQuery("counted", "up")
	counted.Count, counted.Interval = &count, "1m"
	cases := []struct {
		name    string
		spec    v1alpha1.AnalysisRunSpec
		wantErr string
	}{
		{"no metrics", v1alpha1.AnalysisRunSpec{}, "no metrics specified"},
		{"duplicate names", v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{metric("a"), metric("a")}}, `metrics[1]: metric name "a" is used twice`},
		{"unresolved tag", v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{withQuery("a", "{{args.x}}")}}, `metrics[0] "a": failed to resolve {{args.x}}`},
		{"count from an arg that is not a number", v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{counted}, Args: []v1alpha1.Argument{{Name: "n", Value: str("many")}}}, `metric "counted": count "many" is not an integer`},
		{"count from an arg", v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{counted}, Args: []v1alpha1.Argument{{Name: "n", Value: str("3")}}, DryRun: []v1alpha1.DryRun{{MetricName: ".*"}}}, ""},
	}
	for _, c := range cases {
		got, err := RunMetrics(c.spec)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || *got[0].Count != 3 || !got[0].DryRun {
			t.Errorf("%s: %+v %v", c.name, got, err)
		}
	}
}
