package metrics

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func metric(t *testing.T, spec string) v1alpha1.Metric {
	t.Helper()
	var m v1alpha1.Metric
	if err := json.Unmarshal([]byte(spec), &m); err != nil {
		t.Fatalf("%s: %v", spec, err)
	}
	return m
}

// TestAnalysisCollector: a running run with a dry-run metric, a run not
// yet started, a namespaced and a cluster template — every family with
// Argo Rollouts' labels and values.
func TestAnalysisCollector(t *testing.T) {
	run := &v1alpha1.AnalysisRun{}
	run.Namespace, run.Name = "shop", "web-6d4f-2"
	run.Spec.Metrics = []v1alpha1.Metric{
		metric(t, `{"name":"success-rate","provider":{"prometheus":{"query":"up"}}}`),
		metric(t, `{"name":"latency","provider":{"web":{"url":"http://x"}}}`),
	}
	run.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "lat.*"}}
	run.Status.Phase = v1alpha1.AnalysisPhaseRunning
	run.Status.MetricResults = []v1alpha1.MetricResult{{Name: "success-rate", Phase: v1alpha1.AnalysisPhaseSuccessful}}
	fresh := &v1alpha1.AnalysisRun{}
	fresh.Namespace, fresh.Name = "shop", "smoke"
	fresh.Spec.Metrics = []v1alpha1.Metric{metric(t, `{"name":"job","provider":{"job":{"spec":{"template":{"spec":{}}}}}}`)}
	tmpl := &v1alpha1.AnalysisTemplate{}
	tmpl.Namespace, tmpl.Name = "shop", "success-rate"
	tmpl.Spec.Metrics = []v1alpha1.Metric{metric(t, `{"name":"success-rate","provider":{"prometheus":{"query":"up"}}}`)}
	cluster := &v1alpha1.ClusterAnalysisTemplate{}
	cluster.Name = "apdex"
	cluster.Spec.Metrics = []v1alpha1.Metric{
		metric(t, `{"name":"apdex","provider":{"skywalking":{"query":"q"}}}`),
		metric(t, `{"name":"custom","provider":{"plugin":{"acme/metric":{"q":1}}}}`),
	}
	reader := cacheOf(t, run, fresh, tmpl, cluster)

	want := `
# HELP analysis_run_info Information about analysis run.
# TYPE analysis_run_info gauge
analysis_run_info{name="smoke",namespace="shop",phase=""} 1
analysis_run_info{name="web-6d4f-2",namespace="shop",phase="Running"} 1
# HELP analysis_run_metric_phase Information on the duration of a specific metric in the Analysis Run
# TYPE analysis_run_metric_phase gauge
analysis_run_metric_phase{dry_run="false",metric="job",name="smoke",namespace="shop",phase="Error",type="Job"} 0
analysis_run_metric_phase{dry_run="false",metric="job",name="smoke",namespace="shop",phase="Failed",type="Job"} 0
analysis_run_metric_phase{dry_run="false",metric="job",name="smoke",namespace="shop",phase="Inconclusive",type="Job"} 0
analysis_run_metric_phase{dry_run="false",metric="job",name="smoke",namespace="shop",phase="Pending",type="Job"} 1
analysis_run_metric_phase{dry_run="false",metric="job",name="smoke",namespace="shop",phase="Running",type="Job"} 0
analysis_run_metric_phase{dry_run="false",metric="job",name="smoke",namespace="shop",phase="Successful",type="Job"} 0
analysis_run_metric_phase{dry_run="false",metric="success-rate",name="web-6d4f-2",namespace="shop",phase="Error",type="Prometheus"} 0
analysis_run_metric_phase{dry_run="false",metric="success-rate",name="web-6d4f-2",namespace="shop",phase="Failed",type="Prometheus"} 0
analysis_run_metric_phase{dry_run="false",metric="success-rate",name="web-6d4f-2",namespace="shop",phase="Inconclusive",type="Prometheus"} 0
analysis_run_metric_phase{dry_run="false",metric="success-rate",name="web-6d4f-2",namespace="shop",phase="Pending",type="Prometheus"} 0
analysis_run_metric_phase{dry_run="false",metric="success-rate",name="web-6d4f-2",namespace="shop",phase="Running",type="Prometheus"} 0
analysis_run_metric_phase{dry_run="false",metric="success-rate",name="web-6d4f-2",namespace="shop",phase="Successful",type="Prometheus"} 1
analysis_run_metric_phase{dry_run="true",metric="latency",name="web-6d4f-2",namespace="shop",phase="Error",type="Web"} 0
analysis_run_metric_phase{dry_run="true",metric="latency",name="web-6d4f-2",namespace="shop",phase="Failed",type="Web"} 0
analysis_run_metric_phase{dry_run="true",metric="latency",name="web-6d4f-2",namespace="shop",phase="Inconclusive",type="Web"} 0
analysis_run_metric_phase{dry_run="true",metric="latency",name="web-6d4f-2",namespace="shop",phase="Pending",type="Web"} 1
analysis_run_metric_phase{dry_run="true",metric="latency",name="web-6d4f-2",namespace="shop",phase="Running",type="Web"} 0
analysis_run_metric_phase{dry_run="true",metric="latency",name="web-6d4f-2",namespace="shop",phase="Successful",type="Web"} 0
# HELP analysis_run_metric_type Information on the type of a specific metric in the Analysis Runs
# TYPE analysis_run_metric_type gauge
analysis_run_metric_type{metric="job",name="smoke",namespace="shop",type="Job"} 1
analysis_run_metric_type{metric="latency",name="web-6d4f-2",namespace="shop",type="Web"} 1
analysis_run_metric_type{metric="success-rate",name="web-6d4f-2",namespace="shop",type="Prometheus"} 1
# HELP analysis_run_phase Information on the state of the Analysis Run (DEPRECATED - use analysis_run_info)
# TYPE analysis_run_phase gauge
analysis_run_phase{name="smoke",namespace="shop",phase="Error"} 0
analysis_run_phase{name="smoke",namespace="shop",phase="Failed"} 0
analysis_run_phase{name="smoke",namespace="shop",phase="Inconclusive"} 0
analysis_run_phase{name="smoke",namespace="shop",phase="Pending"} 1
analysis_run_phase{name="smoke",namespace="shop",phase="Running"} 0
analysis_run_phase{name="smoke",namespace="shop",phase="Successful"} 0
analysis_run_phase{name="web-6d4f-2",namespace="shop",phase="Error"} 0
analysis_run_phase{name="web-6d4f-2",namespace="shop",phase="Failed"} 0
analysis_run_phase{name="web-6d4f-2",namespace="shop",phase="Inconclusive"} 0
analysis_run_phase{name="web-6d4f-2",namespace="shop",phase="Pending"} 0
analysis_run_phase{name="web-6d4f-2",namespace="shop",phase="Running"} 1
analysis_run_phase{name="web-6d4f-2",namespace="shop",phase="Successful"} 0
# HELP analysis_template_info Information about analysis templates.
# TYPE analysis_template_info gauge
analysis_template_info{name="apdex",namespace=""} 1
analysis_template_info{name="success-rate",namespace="shop"} 1
# HELP analysis_template_metric_info Information on metrics in analysis templates.
# TYPE analysis_template_metric_info gauge
analysis_template_metric_info{metric="apdex",name="apdex",namespace="",type="skywalking"} 1
analysis_template_metric_info{metric="custom",name="apdex",namespace="",type="RPCPlugin"} 1
analysis_template_metric_info{metric="success-rate",name="success-rate",namespace="shop",type="Prometheus"} 1
`
	if err := testutil.CollectAndCompare(&AnalysisCollector{Reader: reader, ClusterTemplates: true}, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	// A controller limited to a namespace does not list cluster templates.
	if err := testutil.CollectAndCompare(&AnalysisCollector{Reader: reader}, strings.NewReader(`
# HELP analysis_template_info Information about analysis templates.
# TYPE analysis_template_info gauge
analysis_template_info{name="success-rate",namespace="shop"} 1
`), "analysis_template_info"); err != nil {
		t.Fatal(err)
	}
}

// TestDryRunMetrics: rules are unanchored regular expressions applied in
// order; the first that selects nothing (or does not compile) ends the
// selection, as Argo Rollouts labels dry_run.
func TestDryRunMetrics(t *testing.T) {
	metrics := []v1alpha1.Metric{{Name: "success-rate"}, {Name: "latency-p99"}, {Name: "errors"}}
	for _, c := range []struct {
		rules []string
		want  string
	}{
		{nil, ""},
		{[]string{".*"}, "errors,latency-p99,success-rate"},
		{[]string{"latency"}, "latency-p99"},
		{[]string{"^rate"}, ""},
		{[]string{"latency", "nothing", "errors"}, "latency-p99"},
		{[]string{"(", "errors"}, ""},
		{[]string{"rate", "err"}, "errors,success-rate"},
	} {
		run := &v1alpha1.AnalysisRun{}
		run.Spec.Metrics = metrics
		for _, r := range c.rules {
			run.Spec.DryRun = append(run.Spec.DryRun, v1alpha1.DryRun{MetricName: r})
		}
		var got []string
		selected := dryRunMetrics(run, map[string]*regexp.Regexp{})
		for _, m := range metrics {
			if selected[m.Name] {
				got = append(got, m.Name)
			}
		}
		slices.Sort(got)
		if strings.Join(got, ",") != c.want {
			t.Errorf("rules %q select %v, want %s", c.rules, got, c.want)
		}
	}
}

func TestProviderType(t *testing.T) {
	for spec, want := range map[string]string{
		`{"prometheus":{}}`: "Prometheus", `{"job":{"spec":{"template":{"spec":{}}}}}`: "Job", `{"kayenta":{}}`: "Kayenta",
		`{"web":{}}`: "Web", `{"datadog":{}}`: "Datadog", `{"wavefront":{}}`: "Wavefront", `{"newRelic":{}}`: "NewRelic",
		`{"cloudWatch":{}}`: "CloudWatch", `{"graphite":{}}`: "Graphite", `{"influxdb":{}}`: "Influxdb",
		`{"skywalking":{}}`: "skywalking", `{"plugin":{"acme/x":{}}}`: "RPCPlugin", `{}`: "Unknown Provider",
	} {
		if got := ProviderType(metric(t, `{"name":"m","provider":`+spec+`}`)); got != want {
			t.Errorf("%s: type %q, want %q", spec, got, want)
		}
	}
}
