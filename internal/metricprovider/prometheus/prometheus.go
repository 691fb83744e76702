// Package prometheus measures metrics with PromQL queries against the
// Prometheus HTTP API (/api/v1/query and /api/v1/query_range) through
// Prometheus' official Go client, as Argo Rollouts does.
//
// Results reach conditions as Argo Rollouts shapes them: a scalar is a
// float64 and a vector or matrix is a []float64 of every sample (so
// conditions read result[0]). An empty vector is an empty list, which
// conditions report as "no data".
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/evaluate"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

const (
	// ProviderType is the provider's name in metrics and logs (as in Argo Rollouts).
	ProviderType = "Prometheus"
	// ResolvedQueryKey names the metric-result metadata entry holding the
	// query after argument substitution.
	ResolvedQueryKey = "ResolvedPrometheusQuery"
	// AddressEnv is the controller's default server address, used by metrics
	// that leave address empty.
	AddressEnv = "ARGO_ROLLOUTS_PROMETHEUS_ADDRESS"
	// WarningsKey names the measurement metadata entry listing the warnings
	// Prometheus returned with a result.
	WarningsKey = "warnings"
)

// Provider runs Prometheus queries. Every measurement completes in Run.
//
// Authentication: headers, basicAuth, OAuth2 client credentials, and SigV4
// for Amazon Managed Prometheus (an address containing "aps-workspaces",
// as Argo Rollouts decides).
type Provider struct {
	metricprovider.Synchronous
	// Clock stamps measurements; nil is the real clock.
	Clock metricprovider.Clock
	// Getenv reads AddressEnv; nil is os.Getenv.
	Getenv func(string) string

	mu sync.Mutex
	// signers are kept per sigv4 block so that credentials (an assumed
	// role's) are reused until they expire.
	signers map[v1alpha1.Sigv4Config]*signer
}

// New returns a Provider using the real clock and environment.
func New() *Provider {
	return &Provider{}
}

// Type is "Prometheus".
func (p *Provider) Type() string {
	return ProviderType
}

// Metadata records the query as sent, so users can see what their
// arguments turned it into.
func (p *Provider) Metadata(metric v1alpha1.Metric) map[string]string {
	if metric.Provider.Prometheus == nil || metric.Provider.Prometheus.Query == "" {
		return nil
	}
	return map[string]string{ResolvedQueryKey: metric.Provider.Prometheus.Query}
}

// Run queries Prometheus and judges the result with the metric's conditions.
func (p *Provider) Run(ctx context.Context, _ *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := p.Clock.Start()
	cfg := metric.Provider.Prometheus
	if cfg == nil {
		return p.Clock.Finish(m, "", "", errors.New("metric has no prometheus provider"))
	}
	address, err := p.address(cfg.Address, "provider.prometheus.address")
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query prometheus: %w", err))
	}
	res, err := p.query(ctx, address, cfg)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query prometheus at %s: %w", metricprovider.RedactURL(address), err))
	}
	if len(res.warnings) > 0 {
		m.Metadata = map[string]string{WarningsKey: formatWarnings(res.warnings)}
	}
	phase, err := evaluate.Measurement(metric, res.result)
	return p.Clock.Finish(m, res.value, phase, err)
}

// address is the metric's address, or the controller default, checked to
// be an absolute URL; field names where the metric sets it.
func (p *Provider) address(address, field string) (string, error) {
	if address == "" {
		getenv := p.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		address = getenv(AddressEnv)
	}
	if err := metricprovider.CheckAddress("prometheus", address); err != nil {
		if address == "" {
			return "", fmt.Errorf("%w: set %s or %s", err, field, AddressEnv)
		}
		return "", err
	}
	return address, nil
}

// queryResult is a decoded answer: the condition input, its display form
// for the measurement's value, and any warnings.
type queryResult struct {
	result   any
	value    string
	warnings []string
}

// query sends the metric's instant or range query and decodes the answer.
func (p *Provider) query(ctx context.Context, address string, cfg *v1alpha1.PrometheusMetric) (queryResult, error) {
	var rng *promv1.Range
	if cfg.RangeQuery != nil {
		r, err := queryRange(cfg.RangeQuery)
		if err != nil {
			return queryResult{}, err
		}
		rng = &r
	}
	value, warnings, err := p.send(ctx, address, cfg, cfg.Query, rng)
	if err != nil {
		return queryResult{}, err
	}
	res, err := decode(value)
	res.warnings = warnings
	return res, err
}

// QueryRange runs query over r on the Prometheus server cfg describes: its
// address (else the controller default), headers, authentication, TLS
// setting and timeout; cfg's own query and rangeQuery are not used. It is
// for providers built on Prometheus series, such as the canary judge.
// Errors name the server's address, redacted.
func (p *Provider) QueryRange(ctx context.Context, cfg *v1alpha1.PrometheusMetric, field, query string, r promv1.Range) (model.Matrix, promv1.Warnings, error) {
	address, err := p.address(cfg.Address, field)
	if err != nil {
		return nil, nil, fmt.Errorf("query prometheus: %w", err)
	}
	value, warnings, err := p.send(ctx, address, cfg, query, &r)
	if err != nil {
		return nil, nil, fmt.Errorf("query prometheus at %s: %w", metricprovider.RedactURL(address), err)
	}
	matrix, ok := value.(model.Matrix)
	if !ok {
		what := "nothing"
		if value != nil {
			what = "a " + value.Type().String()
		}
		return nil, nil, fmt.Errorf("query prometheus at %s: a range query answered %s, not a matrix", metricprovider.RedactURL(address), what)
	}
	return matrix, warnings, nil
}

// send sends an instant query, or a range query when rng is set, within
// the metric's timeout.
func (p *Provider) send(ctx context.Context, address string, cfg *v1alpha1.PrometheusMetric, query string, rng *promv1.Range) (model.Value, promv1.Warnings, error) {
	timeout := cfg.TimeoutOrDefault()
	if timeout < 0 {
		return nil, nil, errors.New("prometheus timeout should not be negative")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sign, err := p.signer(ctx, address, cfg.Authentication)
	if err != nil {
		return nil, nil, err
	}
	client, err := metricprovider.HTTPClient(ctx, cfg.Insecure, cfg.Authentication)
	if err != nil {
		return nil, nil, err
	}
	t := &transport{next: client.Transport, headers: cfg.Headers, basic: cfg.Authentication.BasicAuth, sign: sign}
	client.Transport = t
	c, err := api.NewClient(api.Config{Address: address, Client: client})
	if err != nil {
		return nil, nil, errors.New("cannot build the API URL")
	}
	// The client posts the form and falls back to GET where a proxy
	// refuses POST. An instant query carries no time, so Prometheus
	// evaluates it at its own "now" and a skewed controller clock cannot
	// shift the window.
	var value model.Value
	var warnings promv1.Warnings
	if rng != nil {
		value, warnings, err = promv1.NewAPI(c).QueryRange(ctx, query, *rng)
	} else {
		value, warnings, err = promv1.NewAPI(c).Query(ctx, query, time.Time{})
	}
	if err != nil {
		return nil, nil, explain(err, t.lastStatus(), timeout)
	}
	return value, warnings, nil
}

// queryRange evaluates the rangeQuery's time expressions.
func queryRange(r *v1alpha1.PrometheusRangeQueryArgs) (promv1.Range, error) {
	start, err := evaluate.Time(r.Start)
	if err != nil {
		return promv1.Range{}, fmt.Errorf("evaluate rangeQuery.start %q: %w", r.Start, err)
	}
	end, err := evaluate.Time(r.End)
	if err != nil {
		return promv1.Range{}, fmt.Errorf("evaluate rangeQuery.end %q: %w", r.End, err)
	}
	step, err := r.Step.Duration()
	if err != nil || step <= 0 {
		return promv1.Range{}, fmt.Errorf("rangeQuery.step %q is not a positive duration", r.Step)
	}
	return promv1.Range{Start: start, End: end, Step: step}, nil
}

// decode flattens the client's value into what conditions see. A sample
// without a float value (a native histogram) has no number to offer and is
// left out. No samples give an empty list, not nil, as in Argo Rollouts:
// `len(result) == 0` guards keep working, and indexing reports no data.
func decode(v model.Value) (queryResult, error) {
	var samples []model.SampleValue
	switch v := v.(type) {
	case *model.Scalar:
		return queryResult{result: float64(v.Value), value: v.Value.String()}, nil
	case model.Vector:
		for _, s := range v {
			if s != nil && s.Histogram == nil {
				samples = append(samples, s.Value)
			}
		}
	case model.Matrix:
		for _, s := range v {
			if s == nil {
				continue
			}
			for _, p := range s.Values {
				samples = append(samples, p.Value)
			}
		}
	default:
		return queryResult{}, fmt.Errorf("%s results are not supported: use a query giving a scalar, vector or matrix", v.Type())
	}
	values := make([]float64, 0, len(samples))
	shown := make([]string, 0, len(samples))
	for _, s := range samples {
		values = append(values, float64(s))
		shown = append(shown, s.String())
	}
	return queryResult{result: values, value: "[" + strings.Join(shown, ",") + "]"}, nil
}

// explain turns the client's error into a status message. The client
// decodes Prometheus' error body only for 400 and 422; for other codes it
// keeps the class ("server error: 503") and the body, so the body is read
// here: Prometheus answers timeouts with 503 and internal errors with 500,
// each saying why.
func explain(err error, status int, timeout time.Duration) error {
	var apiErr *promv1.Error
	var urlErr *url.Error
	switch {
	case errors.Is(err, errBodyTooLarge):
		return errBodyTooLarge
	case errors.As(err, &urlErr), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return metricprovider.TransportError(err, timeout)
	case !errors.As(err, &apiErr):
		// The exchange succeeded; the data did not decode.
		return fmt.Errorf("decode response data: %s", plainJSONError(err.Error()))
	}
	switch apiErr.Type {
	case promv1.ErrClient, promv1.ErrServer:
		if e, ok := errorBody(apiErr.Detail); ok {
			return e
		}
		return metricprovider.StatusError(status, []byte(apiErr.Detail))
	case promv1.ErrBadResponse:
		if status/100 == 2 {
			return fmt.Errorf("decode response: %s", plainJSONError(apiErr.Msg))
		}
		return metricprovider.StatusError(status, []byte(apiErr.Detail))
	}
	return apiErr
}

// plainJSONError keeps the gist of a json-iterator error (the client's
// decoder), for a one-line status message: without the decoder's own frame
// names ("unmarshalerDecoder: ") and the excerpts of the body it appends.
func plainJSONError(msg string) string {
	msg, _, _ = strings.Cut(msg, ", error found in #")
	for {
		frame, rest, ok := strings.Cut(msg, ": ")
		if !ok || !isIdentifier(frame) {
			return msg
		}
		msg = rest
	}
}

func isIdentifier(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

// formatWarnings lists warnings as Argo Rollouts records them: quoted and
// comma-separated.
func formatWarnings(warnings []string) string {
	quoted := make([]string, len(warnings))
	for i, w := range warnings {
		quoted[i] = `"` + w + `"`
	}
	return strings.Join(quoted, ", ")
}
