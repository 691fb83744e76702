package metrics

import (
	"regexp"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var (
	// AnalysisRunReconcile is analysis_run_reconcile: how long each
	// reconcile of an AnalysisRun took, in seconds (Argo Rollouts' name
	// and buckets).
	AnalysisRunReconcile = NewHistogramVec("analysis_run_reconcile", "Analysis Run reconciliation performance.",
		[]float64{0.01, 0.15, .25, .5, 1}, rolloutLabels)
	// AnalysisRunReconcileError is analysis_run_reconcile_error:
	// reconciles of an AnalysisRun that returned an error.
	AnalysisRunReconcileError = NewCounterVec("analysis_run_reconcile_error", "Error occurring during the analysis run", rolloutLabels)

	runInfoDesc = prometheus.NewDesc("analysis_run_info", "Information about analysis run.",
		[]string{"namespace", "name", "phase"}, nil)
	runPhaseDesc = prometheus.NewDesc("analysis_run_phase",
		"Information on the state of the Analysis Run (DEPRECATED - use analysis_run_info)", []string{"namespace", "name", "phase"}, nil)
	runMetricTypeDesc = prometheus.NewDesc("analysis_run_metric_type",
		"Information on the type of a specific metric in the Analysis Runs", []string{"namespace", "name", "metric", "type"}, nil)
	runMetricPhaseDesc = prometheus.NewDesc("analysis_run_metric_phase",
		"Information on the duration of a specific metric in the Analysis Run", []string{"namespace", "name", "metric", "type", "dry_run", "phase"}, nil)
	templateInfoDesc = prometheus.NewDesc("analysis_template_info", "Information about analysis templates.", rolloutLabels, nil)
	// analysis_template_metric_info's labels come type before metric, as
	// in Argo Rollouts (analysis_run_metric_type has them the other way).
	templateMetricInfoDesc = prometheus.NewDesc("analysis_template_metric_info", "Information on metrics in analysis templates.",
		[]string{"namespace", "name", "type", "metric"}, nil)
)

// runPhases are the phases analysis_run_phase and analysis_run_metric_phase
// have a series for; a run or metric without a phase yet counts as Pending.
var runPhases = []v1alpha1.AnalysisPhase{
	v1alpha1.AnalysisPhasePending, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseFailed,
	v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseRunning, v1alpha1.AnalysisPhaseInconclusive,
}

// ForgetAnalysisRun drops a deleted AnalysisRun's reconcile series, after
// a scrape interval (see forget).
func ForgetAnalysisRun(namespace, name string) {
	forget(namespace, name, AnalysisRunReconcile, AnalysisRunReconcileError)
}

// AnalysisCollector reports every AnalysisRun, AnalysisTemplate and, with
// ClusterTemplates, ClusterAnalysisTemplate the reader (the manager's
// cache) holds.
type AnalysisCollector struct {
	Reader client.Reader
	// ClusterTemplates lists ClusterAnalysisTemplates too (a controller
	// not limited to one namespace caches them).
	ClusterTemplates bool
}

// Describe implements prometheus.Collector.
func (c *AnalysisCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{runInfoDesc, runPhaseDesc, runMetricTypeDesc, runMetricPhaseDesc, templateInfoDesc, templateMetricInfoDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A kind that cannot be listed
// is reported as an invalid metric; the others are still collected.
func (c *AnalysisCollector) Collect(ch chan<- prometheus.Metric) {
	var runs v1alpha1.AnalysisRunList
	if listed(ch, c.Reader, &runs, runInfoDesc) {
		patterns := map[string]*regexp.Regexp{}
		for i := range runs.Items {
			collectRun(ch, &runs.Items[i], patterns)
		}
	}
	var templates v1alpha1.AnalysisTemplateList
	if listed(ch, c.Reader, &templates, templateInfoDesc) {
		for i := range templates.Items {
			t := &templates.Items[i]
			collectTemplate(ch, t.Namespace, t.Name, &t.Spec)
		}
	}
	var cluster v1alpha1.ClusterAnalysisTemplateList
	if c.ClusterTemplates && listed(ch, c.Reader, &cluster, templateInfoDesc) {
		for i := range cluster.Items {
			t := &cluster.Items[i]
			collectTemplate(ch, "", t.Name, &t.Spec)
		}
	}
}

func collectRun(ch chan<- prometheus.Metric, run *v1alpha1.AnalysisRun, patterns map[string]*regexp.Regexp) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{run.Namespace, run.Name}, labels...)...)
	}
	phase := run.Status.Phase
	gauge(runInfoDesc, 1, string(phase))
	for _, p := range runPhases {
		gauge(runPhaseDesc, boolValue(phaseIs(phase, p)), string(p))
	}
	dryRun := dryRunMetrics(run, patterns)
	for _, m := range run.Spec.Metrics {
		typ := ProviderType(m)
		gauge(runMetricTypeDesc, 1, m.Name, typ)
		var mp v1alpha1.AnalysisPhase
		for i := range run.Status.MetricResults {
			if run.Status.MetricResults[i].Name == m.Name {
				mp = run.Status.MetricResults[i].Phase
				break
			}
		}
		dr := strconv.FormatBool(dryRun[m.Name])
		for _, p := range runPhases {
			gauge(runMetricPhaseDesc, boolValue(phaseIs(mp, p)), m.Name, typ, dr, string(p))
		}
	}
}

// phaseIs says whether phase counts as p, no phase counting as Pending.
func phaseIs(phase, p v1alpha1.AnalysisPhase) bool {
	return phase == p || (phase == "" && p == v1alpha1.AnalysisPhasePending)
}

// dryRunMetrics are the run's metrics its dryRun rules select (unanchored
// regular expressions), as Argo Rollouts labels them: rules apply in
// order, and one that selects nothing (or does not compile) ends the
// selection there. patterns caches compiled rules across one scrape.
func dryRunMetrics(run *v1alpha1.AnalysisRun, patterns map[string]*regexp.Regexp) map[string]bool {
	if len(run.Spec.DryRun) == 0 {
		return nil
	}
	selected := map[string]bool{}
	for _, rule := range run.Spec.DryRun {
		re, seen := patterns[rule.MetricName]
		if !seen {
			re, _ = regexp.Compile(rule.MetricName)
			patterns[rule.MetricName] = re
		}
		matched := false
		for _, m := range run.Spec.Metrics {
			if re != nil && re.MatchString(m.Name) {
				selected[m.Name] = true
				matched = true
			}
		}
		if !matched {
			break
		}
	}
	return selected
}

func collectTemplate(ch chan<- prometheus.Metric, namespace, name string, spec *v1alpha1.AnalysisTemplateSpec) {
	ch <- prometheus.MustNewConstMetric(templateInfoDesc, prometheus.GaugeValue, 1, namespace, name)
	for _, m := range spec.Metrics {
		ch <- prometheus.MustNewConstMetric(templateMetricInfoDesc, prometheus.GaugeValue, 1, namespace, name, ProviderType(m), m.Name)
	}
}

// ProviderType is the type label Argo Rollouts gives a metric's provider
// ("Prometheus", "Web", "Job", …; "RPCPlugin" for plugins). The spellings
// are Argo's, irregular ones included ("Influxdb", "skywalking").
func ProviderType(m v1alpha1.Metric) string {
	p := m.Provider
	switch {
	case p.Prometheus != nil:
		return "Prometheus"
	case p.Job != nil:
		return "Job"
	case p.Kayenta != nil:
		return "Kayenta"
	case p.Web != nil:
		return "Web"
	case p.Datadog != nil:
		return "Datadog"
	case p.Wavefront != nil:
		return "Wavefront"
	case p.NewRelic != nil:
		return "NewRelic"
	case p.CloudWatch != nil:
		return "CloudWatch"
	case p.Graphite != nil:
		return "Graphite"
	case p.Influxdb != nil:
		return "Influxdb"
	case p.SkyWalking != nil:
		return "skywalking"
	case len(p.Plugin) > 0:
		return "RPCPlugin"
	}
	return "Unknown Provider"
}
