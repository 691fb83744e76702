// Package graphite measures metrics with Graphite's render API
// (GET <address>/render?format=json&<query>), as Argo Rollouts' graphite
// provider does.
//
// The metric's query is the render API's own query string, for example
// `target=summarize(app.errors,'5min','sum')&from=-5min`; whitespace is
// removed from it first, so long targets can be written over several
// lines. Only the first target of the answer is read. Its non-null
// datapoints reach conditions as a list of numbers (result[0]) and are
// recorded as Argo Rollouts records them: "[12.000000,13.500000]".
//
// No target, a target without datapoints, or one whose datapoints are all
// null is an Error measurement ("no values found"): Graphite answers an
// unknown or misspelt target that way, and it must never pass.
package graphite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/evaluate"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

const (
	// ProviderType is the provider's name in metrics and logs (as in Argo Rollouts).
	ProviderType = "Graphite"
	// DefaultTimeout bounds a query, as Argo Rollouts' client does; the
	// metric has no timeout field.
	DefaultTimeout = 10 * time.Second
)

// Provider runs Graphite render queries. Every measurement completes in Run.
type Provider struct {
	metricprovider.Synchronous
	// Clock stamps measurements; nil is the real clock.
	Clock metricprovider.Clock
	// Timeout bounds a query; zero is DefaultTimeout.
	Timeout time.Duration
}

// New returns a Provider using the real clock.
func New() *Provider {
	return &Provider{}
}

// Type is "Graphite".
func (p *Provider) Type() string {
	return ProviderType
}

// Metadata is empty, as in Argo Rollouts.
func (p *Provider) Metadata(v1alpha1.Metric) map[string]string {
	return nil
}

// Run queries Graphite and judges the first target's values with the
// metric's conditions.
func (p *Provider) Run(ctx context.Context, _ *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := p.Clock.Start()
	cfg := metric.Provider.Graphite
	if cfg == nil {
		return p.Clock.Finish(m, "", "", errors.New("metric has no graphite provider"))
	}
	if err := metricprovider.CheckAddress("graphite", cfg.Address); err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query graphite: %w", err))
	}
	values, err := p.query(ctx, cfg)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query graphite at %s: %w", metricprovider.RedactURL(cfg.Address), err))
	}
	phase, err := evaluate.Measurement(metric, values)
	return p.Clock.Finish(m, format(values), phase, err)
}

func (p *Provider) query(ctx context.Context, cfg *v1alpha1.GraphiteMetric) ([]float64, error) {
	endpoint, err := renderURL(cfg.Address, cfg.Query)
	if err != nil {
		return nil, err
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := metricprovider.HTTPClient(ctx, false, v1alpha1.Authentication{})
	if err != nil {
		return nil, err
	}
	req, err := metricprovider.NewRequest(ctx, http.MethodGet, endpoint, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	status, body, err := metricprovider.Send(client, req, timeout)
	if err != nil {
		return nil, err
	}
	if status/100 != 2 {
		return nil, metricprovider.StatusError(status, body)
	}
	return decode(body)
}

// renderURL is <address>/render with the query's parameters and
// format=json. A query that does not parse is refused rather than sent
// with parameters dropped (Graphite's tagged series names hold ';', which
// must be written %3B).
func renderURL(address, query string) (string, error) {
	params, err := url.ParseQuery(strings.Map(dropSpace, query))
	if err != nil {
		return "", fmt.Errorf("query %q is not a render query string (target=…&from=…): %w", query, err)
	}
	if len(params["target"]) == 0 {
		return "", fmt.Errorf("query %q has no target parameter", query)
	}
	params.Set("format", "json")
	endpoint, err := url.JoinPath(address, "render")
	if err != nil {
		return "", errors.New("cannot build the render URL")
	}
	return endpoint + "?" + params.Encode(), nil
}

func dropSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return -1
	}
	return r
}

// series is one target of a render answer.
type series struct {
	Target     string      `json:"target"`
	Datapoints []datapoint `json:"datapoints"`
}

// datapoint is a [value, timestamp] pair; value is null where the bucket
// holds no data.
type datapoint []json.RawMessage

// decode returns the first target's non-null values.
func decode(body []byte) ([]float64, error) {
	var targets []series
	if err := json.Unmarshal(body, &targets); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if len(targets) == 0 {
		return nil, errors.New("no values found: the query matched no series")
	}
	first := targets[0]
	values := make([]float64, 0, len(first.Datapoints))
	for _, dp := range first.Datapoints {
		v, ok, err := dp.value()
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", first.Target, err)
		}
		if ok {
			values = append(values, v)
		}
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("no values found: target %s has no non-null datapoints in the queried window", first.Target)
	}
	return values, nil
}

// value reads the datapoint's value: a number, a numeric string (some
// Graphite-compatible servers send those) or null.
func (dp datapoint) value() (float64, bool, error) {
	if len(dp) != 2 {
		return 0, false, fmt.Errorf("datapoint %s is not a [value, timestamp] pair", raw(dp))
	}
	var v any
	if err := json.Unmarshal(dp[0], &v); err != nil {
		return 0, false, fmt.Errorf("datapoint %s: %w", raw(dp), err)
	}
	switch v := v.(type) {
	case nil:
		return 0, false, nil
	case float64:
		return v, true, nil
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, false, fmt.Errorf("datapoint value %q is not a number", v)
		}
		if math.IsNaN(f) {
			return 0, false, fmt.Errorf("datapoint value is NaN")
		}
		return f, true, nil
	}
	return 0, false, fmt.Errorf("datapoint value %s is not a number", dp[0])
}

func raw(dp datapoint) string {
	parts := make([]string, len(dp))
	for i, r := range dp {
		parts[i] = string(r)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// format records values as Argo Rollouts does: six decimals, in brackets.
func format(values []float64) string {
	shown := make([]string, len(values))
	for i, v := range values {
		shown[i] = strconv.FormatFloat(v, 'f', 6, 64)
	}
	return "[" + strings.Join(shown, ",") + "]"
}
