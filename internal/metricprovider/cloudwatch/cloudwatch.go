// Package cloudwatch measures metrics with Amazon CloudWatch's
// GetMetricData, through the AWS SDK for Go v2.
//
// Credentials and region come from the SDK's default chain, as in Argo
// Rollouts: environment (AWS_ACCESS_KEY_ID, AWS_REGION…), shared config and
// credentials files, web identity (IRSA), container and instance roles.
// AWS_ENDPOINT_URL_CLOUDWATCH (or AWS_ENDPOINT_URL) points the provider at
// another endpoint, as the SDK's loader reads it.
//
// Conditions see the results as Argo Rollouts hands them over: the SDK's
// []types.MetricDataResult, so `result[0].Values[0]` and
// `all(result[0].Values, {# < 0.01})` read as before. The measurement value
// is each result's values, printed as Argo prints them (`[[0.1 0.2]]`).
package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/evaluate"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/awsconfig"
)

const (
	// ProviderType is the provider's name in metrics and logs (as in Argo Rollouts).
	ProviderType = "CloudWatch"
	// MessagesKey names the measurement metadata entry holding the messages
	// CloudWatch attached to its answer (as in Argo Rollouts).
	MessagesKey = "messages"
	// DefaultInterval is the look-back window when the metric sets none.
	DefaultInterval = 5 * time.Minute
	// DefaultTimeout bounds one measurement, every page and retry included.
	// Argo Rollouts sets none; a measurement that never ends would hold the
	// run forever.
	DefaultTimeout = 30 * time.Second
	// maxPages stops a server that keeps handing out NextTokens.
	maxPages = 100
)

// Provider runs GetMetricData queries. Every measurement completes in Run.
type Provider struct {
	metricprovider.Synchronous
	// Clock stamps measurements and ends the look-back window; nil is the
	// real clock.
	Clock metricprovider.Clock
	// Timeout bounds a measurement; zero is DefaultTimeout.
	Timeout time.Duration

	mu sync.Mutex
	// client is made on first use and kept, so credentials the chain
	// fetched (an assumed role's) are reused until they expire.
	client *cloudwatch.Client
	// clientOptions adjust the client (tests shorten retry back-off).
	clientOptions []func(*cloudwatch.Options)
}

// New returns a Provider using the real clock.
func New() *Provider {
	return &Provider{}
}

// Type is "CloudWatch".
func (p *Provider) Type() string {
	return ProviderType
}

// Metadata records nothing, as in Argo Rollouts.
func (p *Provider) Metadata(v1alpha1.Metric) map[string]string {
	return nil
}

// Run fetches every page of the metric's queries over the look-back window
// and judges the results with the metric's conditions.
func (p *Provider) Run(ctx context.Context, _ *v1alpha1.AnalysisRun, metric v1alpha1.Metric) v1alpha1.Measurement {
	m := p.Clock.Start()
	res, err := p.query(ctx, metric.Provider.CloudWatch)
	if err != nil {
		return p.Clock.Finish(m, "", "", fmt.Errorf("query cloudwatch: %w", err))
	}
	if len(res.messages) > 0 {
		m.Metadata = map[string]string{MessagesKey: formatMessages(res.messages)}
	}
	value := formatValues(res.results)
	if err := res.check(); err != nil {
		return p.Clock.Finish(m, value, "", fmt.Errorf("query cloudwatch: %w", err))
	}
	phase, err := evaluate.Measurement(metric, res.results)
	return p.Clock.Finish(m, value, phase, err)
}

// answer is every page of one GetMetricData call, merged.
type answer struct {
	results    []types.MetricDataResult
	messages   []types.MessageData
	start, end time.Time
}

func (p *Provider) query(ctx context.Context, cfg *v1alpha1.CloudWatchMetric) (answer, error) {
	if cfg == nil {
		return answer{}, errors.New("metric has no cloudWatch provider")
	}
	interval := DefaultInterval
	if cfg.Interval != "" {
		d, err := cfg.Interval.Duration()
		if err != nil || d <= 0 {
			return answer{}, fmt.Errorf("interval %q is not a positive duration such as 5m", cfg.Interval)
		}
		interval = d
	}
	queries, err := convert(cfg.MetricDataQueries)
	if err != nil {
		return answer{}, err
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := p.cloudWatch(ctx)
	if err != nil {
		return answer{}, err
	}
	end := p.Clock.Now()
	res := answer{start: end.Add(-interval), end: end}
	err = res.fetch(ctx, client, &cloudwatch.GetMetricDataInput{StartTime: &res.start, EndTime: &res.end, MetricDataQueries: queries})
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return answer{}, fmt.Errorf("no complete answer within the %s timeout", timeout)
	}
	return res, err
}

// cloudWatch returns the client, loading the default configuration the
// first time. A failure is not kept: the next measurement tries again.
func (p *Provider) cloudWatch(ctx context.Context) (*cloudwatch.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		return p.client, nil
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION in the controller's environment, or a region in its AWS profile")
	}
	p.client = cloudwatch.NewFromConfig(cfg, p.clientOptions...)
	return p.client, nil
}

// fetch follows NextToken to the last page. Pages carry further datapoints
// of the same queries, so results are merged by query id, in the order
// CloudWatch lists them (newest datapoint first by default).
func (a *answer) fetch(ctx context.Context, client *cloudwatch.Client, in *cloudwatch.GetMetricDataInput) error {
	pages := cloudwatch.NewGetMetricDataPaginator(client, in, func(o *cloudwatch.GetMetricDataPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	byID := map[string]int{}
	for n := 0; pages.HasMorePages(); n++ {
		if n == maxPages {
			return fmt.Errorf("CloudWatch still had more pages after %d: narrow the queries or the interval", maxPages)
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		a.messages = append(a.messages, page.Messages...)
		for _, r := range page.MetricDataResults {
			id := aws.ToString(r.Id)
			i, seen := byID[id]
			if !seen {
				byID[id] = len(a.results)
				a.results = append(a.results, r)
				continue
			}
			merged := &a.results[i]
			merged.Timestamps = append(merged.Timestamps, r.Timestamps...)
			merged.Values = append(merged.Values, r.Values...)
			merged.Messages = append(merged.Messages, r.Messages...)
			merged.StatusCode = r.StatusCode
		}
	}
	return nil
}

// check refuses an answer conditions must not judge: no results, a result
// CloudWatch did not complete (partial data, an internal error, a
// forbidden metric), or one without datapoints, which conditions such as
// all(result[0].Values, …) would pass without a single measurement.
func (a *answer) check() error {
	if len(a.results) == 0 {
		return errors.New("CloudWatch returned no results: set returnData on at least one query")
	}
	for _, r := range a.results {
		id := aws.ToString(r.Id)
		if r.StatusCode != types.StatusCodeComplete {
			why := ""
			if len(r.Messages) > 0 {
				why = ": " + formatMessages(r.Messages)
			}
			return fmt.Errorf("query %q is not complete: CloudWatch reported status %s%s", id, statusName(r.StatusCode), why)
		}
		if len(r.Values) == 0 {
			return fmt.Errorf("query %q returned no datapoints between %s and %s: widen interval, check the metric's name and dimensions, or fill gaps with FILL() in an expression",
				id, a.start.UTC().Format(time.RFC3339), a.end.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

func statusName(s types.StatusCode) string {
	if s == "" {
		return "(none)"
	}
	return string(s)
}

// formatValues prints each result's values as Argo Rollouts does
// (fmt's %+v of [][]float64).
func formatValues(results []types.MetricDataResult) string {
	values := make([][]float64, 0, len(results))
	for _, r := range results {
		values = append(values, r.Values)
	}
	return fmt.Sprintf("%+v", values)
}

// formatMessages lists messages as "Code: text", separated by "; ".
func formatMessages(messages []types.MessageData) string {
	parts := make([]string, len(messages))
	for i, m := range messages {
		parts[i] = aws.ToString(m.Code) + ": " + aws.ToString(m.Value)
	}
	return strings.Join(parts, "; ")
}

// convert maps the spec's queries onto the SDK's, field for field.
func convert(queries []v1alpha1.CloudWatchMetricDataQuery) ([]types.MetricDataQuery, error) {
	if len(queries) == 0 {
		return nil, errors.New("metricDataQueries is empty: add at least one query")
	}
	out := make([]types.MetricDataQuery, len(queries))
	for i, q := range queries {
		field := fmt.Sprintf("metricDataQueries[%d]", i)
		out[i] = types.MetricDataQuery{Id: aws.String(q.Id), Expression: q.Expression, Label: q.Label, ReturnData: q.ReturnData}
		if q.Period != nil {
			period, err := seconds(field+".period", *q.Period)
			if err != nil {
				return nil, err
			}
			out[i].Period = &period
		}
		s := q.MetricStat
		if s == nil {
			continue
		}
		period, err := seconds(field+".metricStat.period", s.Period)
		if err != nil {
			return nil, err
		}
		metric := &types.Metric{MetricName: aws.String(s.Metric.MetricName), Namespace: s.Metric.Namespace}
		for _, d := range s.Metric.Dimensions {
			metric.Dimensions = append(metric.Dimensions, types.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)})
		}
		out[i].MetricStat = &types.MetricStat{Metric: metric, Period: &period, Stat: aws.String(s.Stat), Unit: types.StandardUnit(s.Unit)}
	}
	return out, nil
}

// seconds reads a period, a number of seconds given as a number or a
// numeric string (after {{args.*}} substitution).
func seconds(field string, v intstr.IntOrString) (int32, error) {
	if v.Type == intstr.Int {
		return v.IntVal, nil
	}
	n, err := strconv.ParseInt(v.StrVal, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a whole number of seconds", field, v.StrVal)
	}
	return int32(n), nil
}
