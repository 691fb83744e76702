// Package influxdb measures metrics with Flux queries against InfluxDB 2
// (POST <address>/api/v2/query?org=<org>), through InfluxData's official
// client, as Argo Rollouts' influxdb provider does.
//
// The server, organisation and token come from the Secret the metric's
// profile names (default "influxdb") in the controller's namespace, keys
// address, org and authToken; the Secret is read for every measurement, so
// a rotated token is used at once.
//
// Every record's _value, across all tables, reaches conditions as a list
// (result[0]), typed as the CSV annotations say (float64 for double, int64
// for long…), and is recorded as Argo Rollouts records it ("[0.97 0.99]").
// Records whose _value is null (an empty aggregateWindow) are left out. No
// values at all, a NaN, or an error row in the answer is an Error
// measurement, never a pass.
package influxdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/evaluate"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

const (
	// ProviderType is the provider's name in metrics and logs (as in Argo Rollouts).
	ProviderType = "Influxdb"
	// DefaultTimeout bounds a query, as in Argo Rollouts; the metric has no
	// timeout field.
	DefaultTimeout = 30 * time.Second

	// Keys of the profile Secret.
	TokenKey   = "authToken"
	OrgKey     = "org"
	AddressKey = "address"
)

// Provider runs Flux queries. Every measurement completes in Run.
type Provider struct {
	metricprovider.Synchronous
	// Secrets reads the profile Secret; it must read the API server, not a
	// cache.
	Secrets client.Reader
	// Namespace holds the profile Secrets: the controller's own.
	Namespace string
	// Clock stamps measurements; nil is the real clock.
	Clock metricprovider.Clock
	// Timeout bounds a query; zero is DefaultTimeout.
	Timeout time.Duration
}

// New returns a Provider reading profiles from namespace with secrets.
func New(secrets client.Reader, namespace string) *Provider {
	return &Provider{Secrets: secrets, Namespace: namespace}
}

// Type is "Influxdb".
func (p *Provider) Type() string {
	return ProviderType
}

// Metadata is empty, as in Argo Rollouts.
func (p *Provider) Metadata(v1alpha1.Metric) map[string]string {
	return nil
}

// Run queries InfluxDB and judges the values with the metric's conditions.
func (p *Provider) Run(ctx context.Context, _ *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := p.Clock.Start()
	cfg := metric.Provider.Influxdb
	if cfg == nil {
		return p.Clock.Finish(m, "", "", errors.New("metric has no influxdb provider"))
	}
	profile, err := metricprovider.ReadSecret(ctx, p.Secrets, p.Namespace, cfg.ProfileOrDefault(), TokenKey, OrgKey, AddressKey)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query influxdb: profile: %w", err))
	}
	address := strings.TrimSpace(string(profile[AddressKey]))
	if err := metricprovider.CheckAddress("influxdb", address); err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query influxdb: %w (key %s of Secret %s/%s)", err, AddressKey, p.Namespace, cfg.ProfileOrDefault()))
	}
	values, err := p.query(ctx, address, string(profile[OrgKey]), string(profile[TokenKey]), cfg.Query)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query influxdb at %s: %w", metricprovider.RedactURL(address), err))
	}
	phase, err := evaluate.Measurement(metric, values)
	return p.Clock.Finish(m, fmt.Sprint(values), phase, err)
}

func (p *Provider) query(ctx context.Context, address, org, token, flux string) ([]any, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	base, err := metricprovider.HTTPClient(ctx, false, v1alpha1.Authentication{})
	if err != nil {
		return nil, err
	}
	opts := influxdb2.DefaultOptions().
		SetHTTPClient(&http.Client{Transport: limitedTransport{base.Transport}}).
		SetApplicationName("aviary")
	c := influxdb2.NewClientWithOptions(address, token, opts)
	defer c.Close()
	res, err := c.QueryAPI(org).Query(ctx, flux)
	if err != nil {
		return nil, describe(err, timeout)
	}
	defer res.Close()
	var values []any
	for res.Next() {
		v := res.Record().Value()
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			return nil, fmt.Errorf("table %d has a NaN _value", res.Record().Table())
		}
		if v != nil {
			values = append(values, v)
		}
	}
	if err := res.Err(); err != nil {
		return nil, describe(err, timeout)
	}
	if len(values) == 0 {
		return nil, errors.New("no results returned from flux query")
	}
	return values, nil
}

// describe says what went wrong without the request URL the http package
// repeats (callers name the server) and with the server's own reason.
func describe(err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no response within the %s timeout", timeout)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	var httpErr *influxhttp.Error
	if errors.As(err, &httpErr) && httpErr.StatusCode != 0 {
		// Err is set when a JSON error body did not decode: there is no
		// reason to show then, only the code.
		reason := ""
		if httpErr.Err == nil {
			reason = httpErr.Error()
		}
		err := metricprovider.StatusError(httpErr.StatusCode, []byte(reason))
		if httpErr.RetryAfter > 0 {
			err = fmt.Errorf("%w (retry after %d s)", err, httpErr.RetryAfter)
		}
		return err
	}
	return err
}

// limitedTransport caps response bodies at metricprovider.MaxBodyBytes: the
// client streams the CSV, and a misdirected address must not fill memory.
type limitedTransport struct{ base http.RoundTripper }

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		resp.Body = &limitedBody{ReadCloser: resp.Body, left: metricprovider.MaxBodyBytes}
	}
	return resp, err
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("response body is larger than %d bytes", metricprovider.MaxBodyBytes)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
