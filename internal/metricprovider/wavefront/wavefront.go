// Package wavefront measures metrics with Wavefront (VMware Aria Operations
// for Applications) chart queries: GET <address>/api/v2/chart/api with the
// query, as Argo Rollouts' wavefront provider sends it.
//
// The address is a host name, as in Argo Rollouts ("example.wavefront.com",
// reached over HTTPS); Aviary also takes a URL with a scheme and port
// ("http://wavefront-proxy:8080"). The API token is the value under the
// address's host name in Secret wavefront-api-tokens, in the controller's
// namespace, read for every measurement.
//
// Like Argo Rollouts, Aviary asks for the point nearest to now of each
// series. One series reaches conditions as a number (result), several as a
// list (result[0]); the value is recorded with two decimals ("0.98" or
// "[0.98,0.97]"), and the measurement's metadata records each point's time
// ("timestamps") and distance from now in seconds ("drift"). No series, or
// a series without points, is an Error measurement: Argo Rollouts would
// read the latter as 0.
package wavefront

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/evaluate"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

const (
	// ProviderType is the provider's name in metrics and logs (as in Argo Rollouts).
	ProviderType = "Wavefront"
	// DefaultTimeout bounds a query; the metric has no timeout field.
	DefaultTimeout = 30 * time.Second

	// Measurement metadata keys, as in Argo Rollouts.
	WarningsKey   = "warnings"
	TimestampsKey = "timestamps"
	DriftKey      = "drift"

	chartPath = "api/v2/chart/api"
)

// Provider runs Wavefront chart queries. Every measurement completes in Run.
//
// The API is called over net/http rather than through
// github.com/spaceapegames/go-wavefront (Argo Rollouts' choice): that
// client is archived, always dials https://<address>, so it cannot reach a
// proxy or a test server on plain HTTP, and has its own transport without
// a timeout; the call is one GET.
type Provider struct {
	metricprovider.Synchronous
	// Secrets reads the token Secret; it must read the API server, not a
	// cache.
	Secrets client.Reader
	// Namespace holds the token Secret: the controller's own.
	Namespace string
	// Clock stamps measurements and is the time queried; nil is the real
	// clock.
	Clock metricprovider.Clock
	// Timeout bounds a query; zero is DefaultTimeout.
	Timeout time.Duration
}

// New returns a Provider reading the token Secret in namespace with secrets.
func New(secrets client.Reader, namespace string) *Provider {
	return &Provider{Secrets: secrets, Namespace: namespace}
}

// Type is "Wavefront".
func (p *Provider) Type() string {
	return ProviderType
}

// Metadata is empty, as in Argo Rollouts.
func (p *Provider) Metadata(v1alpha1.Metric) map[string]string {
	return nil
}

// Run queries Wavefront and judges the nearest points with the metric's
// conditions.
func (p *Provider) Run(ctx context.Context, _ *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := p.Clock.Start()
	cfg := metric.Provider.Wavefront
	if cfg == nil {
		return p.Clock.Finish(m, "", "", errors.New("metric has no wavefront provider"))
	}
	base, key, err := server(cfg.Address)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query wavefront: %w", err))
	}
	tokens, err := metricprovider.ReadSecret(ctx, p.Secrets, p.Namespace, v1alpha1.DefaultWavefrontSecretName, key)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query wavefront: API token: %w", err))
	}
	res, err := p.query(ctx, base, string(tokens[key]), cfg.Query, m.StartedAt.Time)
	if res.Warnings != "" {
		m.Metadata = map[string]string{WarningsKey: res.Warnings}
	}
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query wavefront at %s: %w", metricprovider.RedactURL(base), err))
	}
	nearest, err := res.nearest(m.StartedAt.Time)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query wavefront at %s: %w", metricprovider.RedactURL(base), err))
	}
	if m.Metadata == nil {
		m.Metadata = map[string]string{}
	}
	result, value := nearest.shapes(m.Metadata)
	phase, err := evaluate.Measurement(metric, result)
	return p.Clock.Finish(m, value, phase, err)
}

// server is the API's base URL and the token's key for address: a bare
// host name is Argo Rollouts' form, reached over HTTPS; the key is the
// host name without port, the only part a Secret key can hold.
func server(address string) (base, key string, err error) {
	address = strings.TrimSpace(address)
	if address == "" {
		return "", "", errors.New("wavefront address is not configured")
	}
	base = address
	if !strings.Contains(address, "://") {
		base = "https://" + address
	}
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", "", fmt.Errorf("wavefront address %s is neither a host name nor an http(s) URL", metricprovider.RedactURL(address))
	}
	return base, u.Hostname(), nil
}

// response is the chart API's answer.
type response struct {
	Warnings     string   `json:"warnings"`
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	TimeSeries   []series `json:"timeseries"`
}

type series struct {
	Label string `json:"label"`
	Host  string `json:"host"`
	// Data are [epoch seconds, value] points.
	Data [][]float64 `json:"data"`
}

func (p *Provider) query(ctx context.Context, base, token, query string, at time.Time) (response, error) {
	endpoint, err := url.JoinPath(base, chartPath)
	if err != nil {
		return response{}, errors.New("cannot build the chart API URL")
	}
	ms := strconv.FormatInt(at.Unix()*1000, 10)
	// The window is the instant of the measurement; i=true returns series
	// whose points lie outside it, and p=1 the one point nearest to it.
	params := url.Values{
		"q": {query}, "s": {ms}, "e": {ms}, "g": {"s"}, "p": {"1"}, "i": {"true"},
		"autoEvents": {"false"}, "listmode": {"false"}, "strict": {"false"}, "includeObsoleteMetrics": {"false"},
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	httpClient, err := metricprovider.HTTPClient(ctx, false, v1alpha1.Authentication{})
	if err != nil {
		return response{}, err
	}
	req, err := metricprovider.NewRequest(ctx, http.MethodGet, endpoint+"?"+params.Encode(), nil, nil, nil)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	status, body, err := metricprovider.Send(httpClient, req, timeout)
	if err != nil {
		return response{}, err
	}
	if status/100 != 2 {
		return response{}, metricprovider.StatusError(status, body)
	}
	var res response
	if err := json.Unmarshal(body, &res); err != nil {
		return response{}, fmt.Errorf("decode response: %w", err)
	}
	if res.ErrorType != "" || res.ErrorMessage != "" {
		return res, fmt.Errorf("%s: %s", res.ErrorType, res.ErrorMessage)
	}
	return res, nil
}

// point is the chosen point of one series.
type point struct {
	value float64
	epoch int64 // seconds
	drift int64 // seconds from the measurement's time
}

type points []point

// nearest picks each series' point nearest to at.
func (r response) nearest(at time.Time) (points, error) {
	if len(r.TimeSeries) == 0 {
		return nil, errors.New("no time series found in the response")
	}
	out := make(points, 0, len(r.TimeSeries))
	for i, s := range r.TimeSeries {
		best, found := point{}, false
		for _, d := range s.Data {
			if len(d) != 2 {
				return nil, fmt.Errorf("series %d (%s) has a point of %d numbers, want [time, value]", i, s.Label, len(d))
			}
			drift := int64(d[0]) - at.Unix()
			if !found || abs(drift) < abs(best.drift) {
				best, found = point{value: d[1], epoch: int64(d[0]), drift: drift}, true
			}
		}
		if !found {
			return nil, fmt.Errorf("series %d (%s) has no points", i, s.Label)
		}
		out = append(out, best)
	}
	return out, nil
}

// shapes is the condition input and recorded value, as Argo Rollouts
// shapes them: one series is a number, several a list. It records the
// points' times and drifts in meta.
func (ps points) shapes(meta map[string]string) (any, string) {
	if len(ps) == 1 {
		meta[TimestampsKey] = strconv.FormatInt(ps[0].epoch, 10)
		meta[DriftKey] = strconv.FormatInt(ps[0].drift, 10)
		return ps[0].value, twoDecimals(ps[0].value)
	}
	values := make([]float64, len(ps))
	shown, epochs, drifts := make([]string, len(ps)), make([]string, len(ps)), make([]string, len(ps))
	for i, p := range ps {
		values[i] = p.value
		shown[i] = twoDecimals(p.value)
		epochs[i] = strconv.FormatInt(p.epoch, 10)
		drifts[i] = strconv.FormatInt(p.drift, 10)
	}
	meta[TimestampsKey] = "[" + strings.Join(epochs, ",") + "]"
	meta[DriftKey] = "[" + strings.Join(drifts, ",") + "]"
	return values, "[" + strings.Join(shown, ",") + "]"
}

func twoDecimals(f float64) string {
	return strconv.FormatFloat(f, 'f', 2, 64)
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
