package judge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	stats "github.com/aviary-rollouts/aviary/internal/analysis/judge"
)

// PluginKey is the provider.plugin entry that selects the judge. It sits in
// the free-form plugin map so templates stay valid argoproj.io/v1alpha1;
// Aviary runs it built in, with no plugin binary or ConfigMap entry.
// (Defined with the value's types, which readers of runs use alone.)
const PluginKey = stats.PluginKey

// VersionPlaceholder stands in a metric's query for the label value that
// selects one side: baseline's, then canary's. It is not an {{args.*}} tag,
// which the controller resolves (and refuses when unknown) before the
// provider sees the metric.
const VersionPlaceholder = "${version}"

// Defaults of the configuration's optional fields.
const (
	DefaultWindow = 5 * time.Minute
	DefaultStep   = 15 * time.Second
)

// maxPoints is the most points per series Prometheus answers a range query
// with (its query_range limit); more is refused by the server.
const maxPoints = 11000

// field is the path users read in messages about the configuration.
const field = "provider.plugin." + PluginKey

// Config is the plugin entry's configuration, in the JSON the template's
// YAML becomes.
type Config struct {
	// Prometheus is the server the samples come from: address (or the
	// controller's default), timeout, insecure, headers, authentication,
	// as in a prometheus metric. Its query and rangeQuery are not used.
	Prometheus *v1alpha1.PrometheusMetric `json:"prometheus"`
	// Baseline and Canary are the label values (usually pod-template
	// hashes passed as args) that replace VersionPlaceholder.
	Baseline string `json:"baseline"`
	Canary   string `json:"canary"`
	// Window is how far back the samples reach, ending at the
	// measurement; Step is the range query's resolution.
	Window v1alpha1.DurationString `json:"window,omitempty"`
	Step   v1alpha1.DurationString `json:"step,omitempty"`
	// Thresholds are the scores to pass and to be marginal.
	Thresholds *Thresholds    `json:"thresholds,omitempty"`
	Metrics    []MetricConfig `json:"metrics"`
}

// MetricConfig is one compared metric.
type MetricConfig struct {
	Name  string `json:"name"`
	Query string `json:"query"`
	// Direction is the change that is bad: increase, decrease or either.
	Direction stats.Direction `json:"direction,omitempty"`
	// Tolerance is the relative change of the median tolerated; unset is
	// the judge's default, 0 tolerates nothing.
	Tolerance  *float64 `json:"tolerance,omitempty"`
	Critical   bool     `json:"critical,omitempty"`
	MinSamples int      `json:"minSamples,omitempty"`
	Weight     float64  `json:"weight,omitempty"`
}

// Thresholds are the judgement's score thresholds (0–100); unset ones take
// the judge's defaults.
type Thresholds struct {
	Pass     *float64 `json:"pass,omitempty"`
	Marginal *float64 `json:"marginal,omitempty"`
}

// settings is a checked configuration with its defaults applied.
type settings struct {
	Config
	window, step time.Duration
	thresholds   stats.Thresholds
}

// criteria are the judge's criteria for m.
func (m MetricConfig) criteria() stats.Criteria {
	c := stats.Criteria{Direction: m.Direction, Critical: m.Critical, MinSamples: m.MinSamples, Weight: m.Weight}
	if m.Tolerance != nil {
		c.Tolerance = *m.Tolerance
		if c.Tolerance == 0 {
			// The judge reads 0 as "default" and a negative value as
			// none tolerated; an explicit 0 means the latter.
			c.Tolerance = -1
		}
	}
	return c
}

// query is m's query for one side.
func (m MetricConfig) query(version string) string {
	return strings.ReplaceAll(m.Query, VersionPlaceholder, version)
}

// Parse reads and checks the judge's configuration from a metric. Each
// error names the field and says what to write instead.
func Parse(metric v1alpha1.Metric) (settings, error) {
	raw, ok := metric.Provider.Plugin[PluginKey]
	if !ok || len(metric.Provider.Plugin) != 1 {
		return settings{}, fmt.Errorf("metric %q: provider.plugin must hold only the %s entry", metric.Name, PluginKey)
	}
	if metric.SuccessCondition != "" || metric.FailureCondition != "" {
		return settings{}, fmt.Errorf("metric %q: successCondition and failureCondition are not used with %s (the judgement decides the measurement): remove them", metric.Name, PluginKey)
	}
	s, err := parse(raw)
	if err != nil {
		return settings{}, fmt.Errorf("metric %q: %w", metric.Name, err)
	}
	return s, nil
}

// Check is Parse for a template that has not run yet (lint). {{…}} tags
// are text until a run supplies the arguments, which is all most fields
// need; the fields whose text is checked (window, step, a metric's
// direction) are left to their defaults while they hold a tag.
func Check(metric v1alpha1.Metric) error {
	var cfg map[string]any
	if json.Unmarshal(metric.Provider.Plugin[PluginKey], &cfg) == nil && cfg != nil {
		dropTagged(cfg, "window", "step")
		if metrics, ok := cfg["metrics"].([]any); ok {
			for _, m := range metrics {
				if m, ok := m.(map[string]any); ok {
					dropTagged(m, "direction")
				}
			}
		}
		raw, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		metric.Provider.Plugin = maps.Clone(metric.Provider.Plugin)
		metric.Provider.Plugin[PluginKey] = raw
	}
	_, err := Parse(metric)
	return err
}

// dropTagged deletes the keys of m whose string values hold a {{…}} tag.
func dropTagged(m map[string]any, keys ...string) {
	for _, k := range keys {
		if v, ok := m[k].(string); ok && strings.Contains(v, "{{") {
			delete(m, k)
		}
	}
}

func parse(raw json.RawMessage) (settings, error) {
	var s settings
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s.Config); err != nil {
		return settings{}, fmt.Errorf("%s: %s", field, decodeError(err))
	}
	if dec.More() {
		return settings{}, fmt.Errorf("%s: one object expected", field)
	}
	c := &s.Config
	var errs []error
	bad := func(f, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", field, f, fmt.Sprintf(format, a...)))
	}
	switch {
	case c.Prometheus == nil:
		bad("prometheus", "missing: give the server the samples come from, e.g. {address: http://prometheus:9090}")
	case c.Prometheus.Query != "" || c.Prometheus.RangeQuery != nil:
		bad("prometheus", "query and rangeQuery are not used here: each metric's query goes in metrics[].query, the range in window and step")
	}
	checkVersion := func(f, v string) {
		switch {
		case v == "":
			bad(f, `missing: give the label value that selects the %s's pods, usually an arg such as "{{args.%s-hash}}"`, f, f)
		case strings.ContainsAny(v, "\"'`\\\n"):
			bad(f, "%q cannot go inside a PromQL string: use a plain label value such as a pod-template hash", v)
		}
	}
	checkVersion("baseline", c.Baseline)
	checkVersion("canary", c.Canary)
	if c.Baseline != "" && c.Baseline == c.Canary {
		bad("canary", "%q is also the baseline: the two sides must select different pods (pass each template's own hash)", c.Canary)
	}
	s.window = durationOr("window", c.Window, DefaultWindow, bad)
	s.step = durationOr("step", c.Step, DefaultStep, bad)
	if s.window > 0 && s.step > 0 {
		if s.step > s.window {
			bad("step", "%s is longer than window %s: give a step that fits several times into the window", s.step, s.window)
		} else if n := s.window / s.step; n > maxPoints {
			bad("step", "window %s / step %s is %d points per series; Prometheus answers at most %d: lengthen the step", s.window, s.step, n, maxPoints)
		}
	}
	s.thresholds = thresholds(c.Thresholds, bad)
	if len(c.Metrics) == 0 {
		bad("metrics", "missing: list at least one metric to compare, each with a name and a query using %s", VersionPlaceholder)
	}
	seen := map[string]bool{}
	for i, m := range c.Metrics {
		checkMetric(fmt.Sprintf("metrics[%d]", i), m, seen, bad)
	}
	if len(errs) == 0 {
		return s, nil
	}
	// One line: the list reaches a measurement's message and lint's output.
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return s, errors.New(strings.Join(msgs, "; "))
}

func checkMetric(f string, m MetricConfig, seen map[string]bool, bad func(f, format string, a ...any)) {
	switch {
	case m.Name == "":
		bad(f+".name", "missing: name the metric; the verdict is reported under it")
	case seen[m.Name]:
		bad(f+".name", "%q is used by another metric: give each a name of its own", m.Name)
	}
	seen[m.Name] = true
	if !strings.Contains(m.Query, VersionPlaceholder) {
		bad(f+".query", "must contain %s where the baseline's or canary's label value goes, e.g. rollouts_pod_template_hash=\"%s\"", VersionPlaceholder, VersionPlaceholder)
	}
	switch m.Direction {
	case "", stats.Increase, stats.Decrease, stats.Either:
	default:
		bad(f+".direction", "%q: write increase (higher is worse), decrease (lower is worse) or either", m.Direction)
	}
	if m.Tolerance != nil && !(*m.Tolerance >= 0) {
		bad(f+".tolerance", "%v: give the tolerated relative change of the median, 0 or more (0.1 = 10%%)", *m.Tolerance)
	}
	if m.MinSamples < 0 {
		bad(f+".minSamples", "%d: give the fewest samples per side to judge, 1 or more (0 is the default, %d)", m.MinSamples, stats.DefaultMinSamples)
	}
	if !(m.Weight >= 0) {
		bad(f+".weight", "%v: give the metric's share of the score, more than 0 (0 is the default, 1)", m.Weight)
	}
}

// durationOr parses an optional positive duration.
func durationOr(f string, d v1alpha1.DurationString, def time.Duration, bad func(f, format string, a ...any)) time.Duration {
	if d == "" {
		return def
	}
	v, err := d.Duration()
	if err != nil || v <= 0 {
		bad(f, "%q is not a positive duration: write e.g. 2m or 15s", string(d))
		return 0
	}
	return v
}

// thresholds applies the defaults and checks 0 < marginal <= pass <= 100.
// The judge reads a zero threshold as its default, so 0 is refused rather
// than silently replaced.
func thresholds(t *Thresholds, bad func(f, format string, a ...any)) stats.Thresholds {
	out := stats.Thresholds{Pass: stats.DefaultPass, Marginal: stats.DefaultMarginal}
	if t == nil {
		return out
	}
	if t.Pass != nil {
		out.Pass = *t.Pass
	}
	if t.Marginal != nil {
		out.Marginal = *t.Marginal
	}
	if !(out.Pass > 0 && out.Pass <= 100) {
		bad("thresholds.pass", "%v: give a score above 0 and at most 100 (default %v)", out.Pass, stats.DefaultPass)
	}
	if !(out.Marginal > 0 && out.Marginal <= out.Pass) {
		bad("thresholds.marginal", "%v: give a score above 0 and at most thresholds.pass, %v (default %v)", out.Marginal, out.Pass, stats.DefaultMarginal)
	}
	return out
}

// decodeError turns encoding/json's errors into field-naming sentences.
func decodeError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("%s: a %s cannot be a %s", typeErr.Field, typeErr.Value, typeErr.Type)
	case errors.As(err, &syntaxErr):
		return "not a JSON object: " + err.Error()
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field ") {
		return msg + ": check its spelling; the fields are prometheus, baseline, canary, window, step, thresholds and metrics (name, query, direction, tolerance, critical, minSamples, weight)"
	}
	return msg
}
