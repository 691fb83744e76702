// Package prometheus measures metrics with PromQL queries against the
// Prometheus HTTP API (/api/v1/query and /api/v1/query_range), spoken
// directly over net/http.
//
// Results reach conditions as Argo Rollouts shapes them: a scalar is a
// float64, a vector or matrix is a []float64 of every sample (so conditions
// read result[0]), and a string is a string. An empty vector is an empty
// list, which conditions report as "no data".
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

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
// Authentication: headers, basicAuth and OAuth2 client credentials are
// supported. SigV4 (Amazon Managed Prometheus) is not supported in this
// build: such a metric fails with an error rather than sending unsigned
// requests.
type Provider struct {
	metricprovider.Synchronous
	// Clock stamps measurements; nil is the real clock.
	Clock metricprovider.Clock
	// Getenv reads AddressEnv; nil is os.Getenv.
	Getenv func(string) string
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
	address, err := p.address(cfg.Address)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query prometheus: %w", err))
	}
	res, err := query(ctx, address, cfg)
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
// be an absolute URL.
func (p *Provider) address(address string) (string, error) {
	if address == "" {
		getenv := p.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		address = getenv(AddressEnv)
	}
	if err := metricprovider.CheckAddress("prometheus", address); err != nil {
		if address == "" {
			return "", fmt.Errorf("%w: set provider.prometheus.address or %s", err, AddressEnv)
		}
		return "", err
	}
	return address, nil
}

// query sends the instant or range query within the metric's timeout.
func query(ctx context.Context, address string, cfg *v1alpha1.PrometheusMetric) (queryResult, error) {
	timeout := cfg.TimeoutOrDefault()
	if timeout < 0 {
		return queryResult{}, errors.New("prometheus timeout should not be negative")
	}
	if strings.Contains(address, "aps-workspaces") && cfg.Authentication.Sigv4 != (v1alpha1.Sigv4Config{}) {
		return queryResult{}, errors.New("sigv4 authentication is not supported in this build")
	}
	path, params, err := queryParams(cfg)
	if err != nil {
		return queryResult{}, err
	}
	endpoint, err := url.JoinPath(address, path)
	if err != nil {
		return queryResult{}, errors.New("cannot build the API URL")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := metricprovider.HTTPClient(ctx, cfg.Insecure, cfg.Authentication)
	if err != nil {
		return queryResult{}, err
	}
	send := func(method string) (int, []byte, error) {
		req, err := newRequest(ctx, method, endpoint, params, cfg)
		if err != nil {
			return 0, nil, err
		}
		return metricprovider.Send(client, req, timeout)
	}
	// POST keeps long queries out of URL length limits; like Prometheus'
	// own client, fall back to GET where a proxy refuses POST.
	status, body, err := send(http.MethodPost)
	if err == nil && (status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented) {
		status, body, err = send(http.MethodGet)
	}
	if err != nil {
		return queryResult{}, err
	}
	return decode(status, body)
}

// queryParams chooses the endpoint and its parameters. An instant query
// carries no time, so Prometheus evaluates it at its own "now" and a
// skewed controller clock cannot shift the window.
func queryParams(cfg *v1alpha1.PrometheusMetric) (string, url.Values, error) {
	params := url.Values{"query": {cfg.Query}}
	r := cfg.RangeQuery
	if r == nil {
		return "api/v1/query", params, nil
	}
	start, err := evaluate.Time(r.Start)
	if err != nil {
		return "", nil, fmt.Errorf("evaluate rangeQuery.start %q: %w", r.Start, err)
	}
	end, err := evaluate.Time(r.End)
	if err != nil {
		return "", nil, fmt.Errorf("evaluate rangeQuery.end %q: %w", r.End, err)
	}
	step, err := r.Step.Duration()
	if err != nil || step <= 0 {
		return "", nil, fmt.Errorf("rangeQuery.step %q is not a positive duration", r.Step)
	}
	params.Set("start", start.Format(time.RFC3339Nano))
	params.Set("end", end.Format(time.RFC3339Nano))
	params.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
	return "api/v1/query_range", params, nil
}

func newRequest(ctx context.Context, method, endpoint string, params url.Values, cfg *v1alpha1.PrometheusMetric) (*http.Request, error) {
	if method == http.MethodGet {
		return metricprovider.NewRequest(ctx, method, endpoint+"?"+params.Encode(), nil, cfg.Headers, cfg.Authentication.BasicAuth)
	}
	req, err := metricprovider.NewRequest(ctx, method, endpoint, strings.NewReader(params.Encode()), cfg.Headers, cfg.Authentication.BasicAuth)
	if err == nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req, err
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
