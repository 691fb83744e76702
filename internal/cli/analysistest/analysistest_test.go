package analysistest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysisrun"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/builtin"
)

func web(name string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: name, Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://example/" + name}}}
}

func job(name string) v1alpha1.Metric {
	return v1alpha1.Metric{Name: name, Provider: v1alpha1.MetricProvider{Job: &v1alpha1.JobMetric{}}}
}

func limits(m v1alpha1.Metric, interval string, failure, inconclusive, streak int32) v1alpha1.Metric {
	m.Interval = v1alpha1.DurationString(interval)
	f, i, s := intstr.FromInt32(failure), intstr.FromInt32(inconclusive), intstr.FromInt32(streak)
	m.FailureLimit, m.InconclusiveLimit, m.ConsecutiveSuccessLimit = &f, &i, &s
	return m
}

func count(m v1alpha1.Metric) string {
	if m.Count == nil {
		return "-"
	}
	return m.Count.String()
}

func TestPrepare(t *testing.T) {
	for _, c := range []struct {
		name        string
		spec        v1alpha1.AnalysisRunSpec
		o           Overrides
		wantMetrics string // name=count, in order
		wantSkipped []string
		wantErr     string
	}{
		{name: "a Job metric leaves with its dryRun rule",
			spec:        v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{web("rate"), job("smoke")}, DryRun: []v1alpha1.DryRun{{MetricName: "smo.*"}}},
			wantMetrics: "rate=-", wantSkipped: []string{"smoke"}},
		{name: "a rule that selected nothing to begin with is still refused",
			spec:    v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{web("rate"), job("smoke")}, DryRun: []v1alpha1.DryRun{{MetricName: "typo"}}},
			wantErr: `dryRun[0]: metricName "typo" matches no metric`},
		{name: "nothing left to measure",
			spec:    v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{job("smoke")}},
			wantErr: `no metric can be measured from here: metric "smoke": Job metrics create Jobs`},
		{name: "measuring until the run ends: the fewest its limits allow",
			spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{
				limits(web("plain"), "1m", 0, 0, 0), limits(web("failures"), "1m", 2, 0, 1), limits(web("inconclusive"), "1m", 0, 4, 0),
				limits(web("unlimited"), "1m", -1, 0, 3),
			}},
			wantMetrics: "plain=1 failures=3 inconclusive=4 unlimited=3"},
		{name: "overrides set every metric's count and interval",
			spec:        v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{web("once"), limits(web("often"), "1m", 1, 0, 0)}},
			o:           Overrides{Count: 2, Interval: 5 * time.Second},
			wantMetrics: "once=2 often=2"},
		{name: "an override the limits forbid is refused, saying where it came from",
			spec:    v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{limits(web("often"), "1m", 3, 0, 0)}},
			o:       Overrides{Count: 2},
			wantErr: `metric "often": count 2 must be >= failureLimit + consecutiveSuccessLimit (3) (--count and --interval set every metric's)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := &v1alpha1.AnalysisRun{Spec: c.spec}
			skipped, err := Prepare(run, c.o)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range run.Spec.Metrics {
				got = append(got, m.Name+"="+count(m))
				if c.o.Interval > 0 && m.Interval != v1alpha1.DurationString(c.o.Interval.String()) {
					t.Errorf("metric %s interval %q, want %s", m.Name, m.Interval, c.o.Interval)
				}
			}
			if strings.Join(got, " ") != c.wantMetrics {
				t.Errorf("metrics %v, want %s", got, c.wantMetrics)
			}
			if len(skipped) != len(c.wantSkipped) {
				t.Errorf("skipped %v, want %v", skipped, c.wantSkipped)
			}
			for _, name := range c.wantSkipped {
				if skipped[name] == "" {
					t.Errorf("skipped %v, want %s with a reason", skipped, name)
				}
			}
			if len(run.Spec.DryRun) != 0 {
				t.Errorf("dryRun %v left for a skipped metric", run.Spec.DryRun)
			}
		})
	}
}

// TestInterruptedTestHasNoVerdict: a test stopped between measurements
// says so and exits 2, whatever was measured.
func TestInterruptedTestHasNoVerdict(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true}`))
	}))
	t.Cleanup(srv.Close)
	m := limits(web("health"), "1h", 0, 0, 0)
	m.Provider.Web.URL = srv.URL
	m.SuccessCondition = "result.ok == true"
	n := intstr.FromInt32(3)
	m.Count = &n
	run := &v1alpha1.AnalysisRun{Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{m}}}
	run.Namespace = "shop"
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	test := &Test{Run: run, Out: &out, Template: `AnalysisTemplate "health"`,
		Measurer: &analysisrun.Measurer{Providers: builtin.Providers(builtin.Options{}), Now: time.Now},
		// Ctrl-C while waiting an hour for the second measurement.
		Sleep: func(context.Context, time.Duration) error { cancel(); return context.Canceled }}
	code, err := test.Do(ctx)
	if err != nil || code != ExitUndecided || !strings.Contains(out.String(), "Interrupted: no verdict (1 of the run's measurements taken)") ||
		!strings.Contains(out.String(), `health  Successful    {"ok":true} satisfies result.ok == true`) {
		t.Fatalf("exit %d, %v:\n%s", code, err, out.String())
	}
}
