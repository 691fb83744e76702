package metrics

import (
	"context"
	"fmt"
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

	runInfoFamily       = newGauge("analysis_run_info", "Information about analysis run.", "namespace", "name", "phase")
	runPhaseFamily      = newGauge("analysis_run_phase", "Information on the state of the Analysis Run (DEPRECATED - use analysis_run_info)", "namespace", "name", "phase")
	runMetricTypeFamily = newGauge("analysis_run_metric_type", "Information on the type of a specific metric in the Analysis Runs",
		"namespace", "name", "metric", "type")
	runMetricPhaseFamily = newGauge("analysis_run_metric_phase", "Information on the duration of a specific metric in the Analysis Run",
		"namespace", "name", "metric", "type", "dry_run", "phase")
	templateInfoFamily = newGauge("analysis_template_info", "Information about analysis templates.", rolloutLabels...)
	// analysis_template_metric_info's labels come type before metric, as
	// in Argo Rollouts (analysis_run_metric_type has them the other way).
	templateMetricInfoFamily = newGauge("analysis_template_metric_info", "Information on metrics in analysis templates.",
		"namespace", "name", "type", "metric")
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
	for _, f := range []*gaugeFamily{runInfoFamily, runPhaseFamily, runMetricTypeFamily, runMetricPhaseFamily, templateInfoFamily, templateMetricInfoFamily} {
		ch <- f.desc
	}
}

// Collect implements prometheus.Collector. A kind that cannot be listed
// is reported as an invalid metric; the others are still collected.
func (c *AnalysisCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	rows := c.rows(ctx, func(f *gaugeFamily, err error) { ch <- prometheus.NewInvalidMetric(f.desc, err) })
	emitAnalysis(rows, &emitter{ch: ch})
}

func (c *AnalysisCollector) snapshot(ctx context.Context) (func(*textWriter), error) {
	var failed error
	rows := c.rows(ctx, func(f *gaugeFamily, err error) {
		if failed == nil {
			failed = fmt.Errorf("read %s's objects: %w", f.name, err)
		}
	})
	if failed != nil {
		return nil, failed
	}
	return func(t *textWriter) { emitAnalysis(rows, &emitter{t: t}) }, nil
}

// analysisRows is what the families show of the cached AnalysisRuns and
// templates.
type analysisRows struct {
	runs      []runRow
	templates []templateRow
}

type runRow struct {
	run    *v1alpha1.AnalysisRun
	dryRun map[string]bool
}

type templateRow struct {
	namespace, name string
	spec            *v1alpha1.AnalysisTemplateSpec
}

// rows reads the cache; a kind that cannot be read is passed to failed
// with the family it would have shown in.
func (c *AnalysisCollector) rows(ctx context.Context, failed func(*gaugeFamily, error)) analysisRows {
	var rows analysisRows
	patterns := map[string]*regexp.Regexp{}
	if err := eachCached(ctx, c.Reader, &v1alpha1.AnalysisRunList{}, func(run *v1alpha1.AnalysisRun) {
		rows.runs = append(rows.runs, runRow{run: run, dryRun: dryRunMetrics(run, patterns)})
	}); err != nil {
		failed(runInfoFamily, err)
	}
	if err := eachCached(ctx, c.Reader, &v1alpha1.AnalysisTemplateList{}, func(t *v1alpha1.AnalysisTemplate) {
		rows.templates = append(rows.templates, templateRow{t.Namespace, t.Name, &t.Spec})
	}); err != nil {
		failed(templateInfoFamily, err)
	}
	if c.ClusterTemplates {
		if err := eachCached(ctx, c.Reader, &v1alpha1.ClusterAnalysisTemplateList{}, func(t *v1alpha1.ClusterAnalysisTemplate) {
			rows.templates = append(rows.templates, templateRow{"", t.Name, &t.Spec})
		}); err != nil {
			failed(templateInfoFamily, err)
		}
	}
	return rows
}

func emitAnalysis(rows analysisRows, e *emitter) {
	for _, r := range rows.runs {
		e.gauge(runInfoFamily, 1, r.run.Namespace, r.run.Name, string(r.run.Status.Phase))
	}
	for _, r := range rows.runs {
		for _, p := range runPhases {
			e.gauge(runPhaseFamily, boolValue(phaseIs(r.run.Status.Phase, p)), r.run.Namespace, r.run.Name, string(p))
		}
	}
	for _, r := range rows.runs {
		for _, m := range r.run.Spec.Metrics {
			e.gauge(runMetricTypeFamily, 1, r.run.Namespace, r.run.Name, m.Name, ProviderType(m))
		}
	}
	for _, r := range rows.runs {
		run := r.run
		for _, m := range run.Spec.Metrics {
			var mp v1alpha1.AnalysisPhase
			for i := range run.Status.MetricResults {
				if run.Status.MetricResults[i].Name == m.Name {
					mp = run.Status.MetricResults[i].Phase
					break
				}
			}
			typ, dr := ProviderType(m), strconv.FormatBool(r.dryRun[m.Name])
			for _, p := range runPhases {
				e.gauge(runMetricPhaseFamily, boolValue(phaseIs(mp, p)), run.Namespace, run.Name, m.Name, typ, dr, string(p))
			}
		}
	}
	for _, t := range rows.templates {
		e.gauge(templateInfoFamily, 1, t.namespace, t.name)
	}
	for _, t := range rows.templates {
		for _, m := range t.spec.Metrics {
			e.gauge(templateMetricInfoFamily, 1, t.namespace, t.name, ProviderType(m), m.Name)
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
