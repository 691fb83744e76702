// Package judge is the built-in canary judge: a metric whose provider is the
// plugin entry "aviary-rollouts/judge" compares a canary's samples of one or
// more Prometheus queries with a baseline's over a window, and its
// measurement is the judgement (package internal/analysis/judge): Successful
// when it passes, Inconclusive when marginal, Failed when it fails. The
// value is the judgement as JSON, with a summary of each side's samples; the
// message names every metric that did not pass, with its medians, effect
// and interval.
//
// Samples: each metric's query runs twice as a range query over the window
// ending at the measurement, once with the baseline's label value and once
// with the canary's; every point of every series answered is one sample. A
// query written `by (pod)` therefore gives one sample per pod per step. Per
// step rather than per scrape interval because the step is the range
// query's own unit, which the template sets and the provider knows (the
// scrape interval it does not), and because a PromQL expression such as a
// histogram_quantile of a rate has values only at evaluation steps. Per pod
// rather than summed over pods because replicas are the units that vary
// independently: a bad pod stays visible, and there are more samples
// without a longer wait. Points that are NaN (a quantile or ratio of no
// requests in its range) or infinite are handed to the judge, which leaves
// them out and says how many it left out.
//
// Prometheus being unreachable, a query error, or a metric for which
// neither side answers any series is an Error measurement: never a pass.
package judge

import (
	"context"
	"fmt"
	"slices"
	"strings"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	stats "github.com/aviary-rollouts/aviary/internal/analysis/judge"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/prometheus"
)

// ProviderType is the provider's name in logs.
const ProviderType = "Judge"

// Provider judges canaries against baselines. Every measurement completes
// in Run.
type Provider struct {
	metricprovider.Synchronous
	// Clock stamps measurements and ends the window; nil is the real clock.
	Clock metricprovider.Clock
	// Prometheus sends the range queries, with the prometheus provider's
	// client, authentication and error reporting.
	Prometheus *prometheus.Provider
}

// New returns a Provider using the real clock and environment.
func New() *Provider {
	return &Provider{Prometheus: prometheus.New()}
}

// Type is "Judge".
func (p *Provider) Type() string {
	return ProviderType
}

// Metadata is empty: the measurement's value holds what was judged.
func (p *Provider) Metadata(v1alpha1.Metric) map[string]string {
	return nil
}

// phases maps a judgement's outcome to the measurement's phase.
var phases = map[string]v1alpha1.AnalysisPhase{
	stats.OutcomePass:     v1alpha1.AnalysisPhaseSuccessful,
	stats.OutcomeMarginal: v1alpha1.AnalysisPhaseInconclusive,
	stats.OutcomeFail:     v1alpha1.AnalysisPhaseFailed,
}

// Run collects both sides' samples of every metric, compares them and
// judges the canary.
func (p *Provider) Run(ctx context.Context, _ *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := p.Clock.Start()
	s, err := Parse(metric)
	if err != nil {
		return p.Clock.Finish(m, "", "", err)
	}
	end := p.Clock.Now()
	r := promv1.Range{Start: end.Add(-s.window), End: end, Step: s.step}
	verdicts := make([]stats.Verdict, 0, len(s.Metrics))
	summaries := make([]stats.Summary, 0, len(s.Metrics))
	var warnings []string
	for _, mc := range s.Metrics {
		baseline, canary, warned, err := p.collect(ctx, s, mc, r)
		warnings = append(warnings, warned...)
		if err != nil {
			return p.Clock.Finish(m, "", "", err)
		}
		verdicts = append(verdicts, stats.Compare(mc.Name, baseline, canary, mc.criteria()))
		summaries = append(summaries, stats.Summary{Baseline: stats.Summarize(baseline), Canary: stats.Summarize(canary)})
	}
	if len(warnings) > 0 {
		m.Metadata = map[string]string{prometheus.WarningsKey: strings.Join(slices.Compact(slices.Sorted(slices.Values(warnings))), "; ")}
	}
	j := stats.Judge(verdicts, s.thresholds)
	phase, ok := phases[j.Outcome]
	if !ok {
		return p.Clock.Finish(m, "", "", fmt.Errorf("metric %q: the judge gave outcome %q, which is none of Pass, Marginal, Fail", metric.Name, j.Outcome))
	}
	m.Message = message(j, s.thresholds)
	return p.Clock.Finish(m, encode(j, summaries), phase, nil)
}

// collect runs one metric's query for each side.
func (p *Provider) collect(ctx context.Context, s settings, mc MetricConfig, r promv1.Range) (baseline, canary []float64, warnings []string, err error) {
	side := func(name, version string) ([]float64, int, error) {
		matrix, w, err := p.Prometheus.QueryRange(ctx, s.Prometheus, field+".prometheus.address", mc.query(version), r)
		warnings = append(warnings, w...)
		if err != nil {
			return nil, 0, fmt.Errorf("metric %q, %s query: %w", mc.Name, name, err)
		}
		values, series := samples(matrix)
		return values, series, nil
	}
	baseline, nb, err := side("baseline", s.Baseline)
	if err != nil {
		return nil, nil, warnings, err
	}
	canary, nc, err := side("canary", s.Canary)
	if err != nil {
		return nil, nil, warnings, err
	}
	if nb == 0 && nc == 0 {
		return nil, nil, warnings, fmt.Errorf("metric %q: neither the baseline (%s) nor the canary (%s) query answered any series over the last %s: check the query, the label it selects %s with and the values passed",
			mc.Name, s.Baseline, s.Canary, s.window, VersionPlaceholder)
	}
	return baseline, canary, warnings, nil
}

// samples are the points of every series and the number of series.
func samples(m model.Matrix) ([]float64, int) {
	var out []float64
	n := 0
	for _, series := range m {
		if series == nil {
			continue
		}
		n++
		for _, pt := range series.Values {
			out = append(out, float64(pt.Value))
		}
	}
	return out, n
}
