// Package web measures metrics by calling an HTTP endpoint and selecting
// the result from its JSON answer with a Kubernetes JSONPath template
// (k8s.io/client-go/util/jsonpath), as Argo Rollouts' web provider does.
//
// The result is the first value the template selects, as decoded from JSON
// (objects are maps, numbers float64). A body that is not JSON is evaluated
// as a string. A path that selects nothing is "no data" to conditions,
// which can test it with isNil(result) or default(result, x).
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/client-go/util/jsonpath"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/evaluate"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

// ProviderType is the provider's name in metrics and logs (as in Argo Rollouts).
const ProviderType = "Web"

// Provider calls web metrics. Every measurement completes in Run.
type Provider struct {
	metricprovider.Synchronous
	// Clock stamps measurements; nil is the real clock.
	Clock metricprovider.Clock
}

// New returns a Provider using the real clock.
func New() *Provider {
	return &Provider{}
}

// Type is "Web".
func (p *Provider) Type() string {
	return ProviderType
}

// Metadata is empty: the URL may carry credentials.
func (p *Provider) Metadata(v1alpha1.Metric) map[string]string {
	return nil
}

// Run calls the endpoint and judges the selected value with the metric's
// conditions.
func (p *Provider) Run(ctx context.Context, _ *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := p.Clock.Start()
	cfg := metric.Provider.Web
	if cfg == nil {
		return p.Clock.Finish(m, "", "", errors.New("metric has no web provider"))
	}
	result, value, err := call(ctx, cfg)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("call web metric at %s: %w", metricprovider.RedactURL(cfg.URL), err))
	}
	phase, err := evaluate.Measurement(metric, result)
	return p.Clock.Finish(m, value, phase, err)
}

// call sends the request within the metric's timeout and selects the
// result from the answer.
func call(ctx context.Context, cfg *v1alpha1.WebMetric) (result any, value string, err error) {
	// Parse first: a broken template should not cost a request.
	path := jsonpath.New("metric").AllowMissingKeys(true)
	if err := path.Parse(cfg.JSONPathOrDefault()); err != nil {
		return nil, "", fmt.Errorf("parse jsonPath %q: %w", cfg.JSONPathOrDefault(), err)
	}
	body, err := requestBody(cfg)
	if err != nil {
		return nil, "", err
	}
	timeout := cfg.TimeoutOrDefault()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := metricprovider.HTTPClient(ctx, cfg.Insecure, cfg.Authentication)
	if err != nil {
		return nil, "", err
	}
	req, err := metricprovider.NewRequest(ctx, string(cfg.MethodOrDefault()), cfg.URL, body, cfg.Headers, cfg.Authentication.BasicAuth)
	if err != nil {
		return nil, "", err
	}
	if len(cfg.JSONBody) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	status, answer, err := metricprovider.Send(client, req, timeout)
	if err != nil {
		return nil, "", err
	}
	if status/100 != 2 {
		return nil, "", metricprovider.StatusError(status, answer)
	}
	return selectResult(path, answer)
}

// requestBody checks the method against body and jsonBody, which are
// mutually exclusive and only sent with POST or PUT.
func requestBody(cfg *v1alpha1.WebMetric) (io.Reader, error) {
	method := cfg.MethodOrDefault()
	switch method {
	case v1alpha1.WebMetricMethodGet, v1alpha1.WebMetricMethodPost, v1alpha1.WebMetricMethodPut:
	default:
		return nil, fmt.Errorf("method %q is not supported: use GET, POST or PUT", method)
	}
	hasBody, hasJSON := cfg.Body != "", len(cfg.JSONBody) > 0
	switch {
	case hasBody && hasJSON:
		return nil, errors.New("use either body or jsonBody, not both")
	case (hasBody || hasJSON) && method == v1alpha1.WebMetricMethodGet:
		return nil, errors.New("body and jsonBody can only be sent with POST or PUT")
	case hasJSON:
		return bytes.NewReader(cfg.JSONBody), nil
	case hasBody:
		return strings.NewReader(cfg.Body), nil
	}
	return nil, nil
}

// selectResult applies the JSONPath to a JSON answer and keeps the first
// value selected; an answer that is not JSON is the result itself.
func selectResult(path *jsonpath.JSONPath, answer []byte) (any, string, error) {
	var data any
	if err := json.Unmarshal(answer, &data); err != nil {
		return string(answer), string(answer), nil
	}
	found, err := path.FindResults(data)
	if err != nil {
		return nil, "", fmt.Errorf("apply jsonPath: %w", err)
	}
	for _, values := range found {
		if len(values) == 0 {
			continue
		}
		result := values[0].Interface()
		shown, err := json.Marshal(result)
		if err != nil {
			return nil, "", fmt.Errorf("encode result: %w", err)
		}
		return result, string(shown), nil
	}
	return nil, "", nil
}
