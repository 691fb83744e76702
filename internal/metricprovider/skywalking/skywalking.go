// Package skywalking measures metrics with GraphQL queries against an
// Apache SkyWalking OAP server (<address>/graphql).
//
// The query receives one variable, $duration, spanning the metric's
// interval up to now at minute steps. The result is the answer's whole
// `data` object, decoded generically, so a query that aliases a field as
// service_apdex is read by conditions as result.service_apdex, e.g.
// all(result.service_apdex.values.values, {asFloat(.value) >= 9900}).
package skywalking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/evaluate"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

const (
	// ProviderType is the provider's name in metrics and logs (as in Argo Rollouts).
	ProviderType = "skywalking"
	// DefaultInterval is the queried window when the metric sets none.
	DefaultInterval = 5 * time.Minute
	// DefaultTimeout bounds a query; the metric has no timeout field.
	DefaultTimeout = 30 * time.Second
	// timeLayout is SkyWalking's format for minute-step durations.
	timeLayout = "2006-01-02 1504"
)

// Provider runs SkyWalking GraphQL queries. Every measurement completes in
// Run.
type Provider struct {
	metricprovider.Synchronous
	// Clock stamps measurements and ends the queried window; nil is the
	// real clock. Times are sent in the clock's zone (the controller's local
	// zone, as Argo Rollouts does), which the OAP server reads as its own.
	Clock metricprovider.Clock
	// Timeout bounds a query; zero is DefaultTimeout.
	Timeout time.Duration
}

// New returns a Provider using the real clock.
func New() *Provider {
	return &Provider{}
}

// Type is "skywalking".
func (p *Provider) Type() string {
	return ProviderType
}

// Metadata is empty.
func (p *Provider) Metadata(v1alpha1.Metric) map[string]string {
	return nil
}

// duration is SkyWalking's Duration input type.
type duration struct {
	Start string `json:"start"`
	End   string `json:"end"`
	Step  string `json:"step"`
}

type request struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

type response struct {
	Data   any `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

// Run queries SkyWalking and judges the data with the metric's conditions.
func (p *Provider) Run(ctx context.Context, _ *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := p.Clock.Start()
	cfg := metric.Provider.SkyWalking
	if cfg == nil {
		return p.Clock.Finish(m, "", "", errors.New("metric has no skywalking provider"))
	}
	if err := metricprovider.CheckAddress("skywalking", cfg.Address); err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query skywalking: %w", err))
	}
	data, err := p.query(ctx, cfg)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query skywalking at %s: %w", metricprovider.RedactURL(cfg.Address), err))
	}
	value := ""
	if data != nil {
		shown, _ := json.Marshal(data) // decoded from JSON, so it encodes
		value = string(shown)
	}
	phase, err := evaluate.Measurement(metric, data)
	return p.Clock.Finish(m, value, phase, err)
}

func (p *Provider) query(ctx context.Context, cfg *v1alpha1.SkyWalkingMetric) (any, error) {
	endpoint, err := url.JoinPath(cfg.Address, "graphql")
	if err != nil {
		return nil, errors.New("cannot build the GraphQL URL")
	}
	window, err := p.window(cfg.Interval)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(request{Query: cfg.Query, Variables: map[string]any{"duration": window}})
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
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
	req, err := metricprovider.NewRequest(ctx, http.MethodPost, endpoint, bytes.NewReader(payload), nil, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	status, body, err := metricprovider.Send(client, req, timeout)
	if err != nil {
		return nil, err
	}
	return decode(status, body)
}

// window is the queried duration: the interval (default 5m) up to now.
func (p *Provider) window(interval v1alpha1.DurationString) (duration, error) {
	span := DefaultInterval
	if interval != "" {
		d, err := interval.Duration()
		if err != nil || d <= 0 {
			return duration{}, fmt.Errorf("interval %q is not a positive duration", interval)
		}
		span = d
	}
	now := p.Clock.Now()
	return duration{Start: now.Add(-span).Format(timeLayout), End: now.Format(timeLayout), Step: "MINUTE"}, nil
}

// decode returns the answer's data. GraphQL errors win over the HTTP code:
// servers send them with 200 and with 4xx alike, and they say more.
func decode(status int, body []byte) (any, error) {
	var res response
	jsonErr := json.Unmarshal(body, &res)
	if jsonErr == nil && len(res.Errors) > 0 {
		messages := make([]string, len(res.Errors))
		for i, e := range res.Errors {
			messages[i] = e.Message
		}
		return nil, fmt.Errorf("graphql: %s", strings.Join(messages, "; "))
	}
	if status/100 != 2 {
		return nil, metricprovider.StatusError(status, body)
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("decode response: %w", jsonErr)
	}
	return res.Data, nil
}
