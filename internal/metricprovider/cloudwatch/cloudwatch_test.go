package cloudwatch

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/providertest"
	cw "github.com/aviary-rollouts/aviary/test/providertest/cloudwatchtest"
)

const (
	keyID  = "AKIAIOSFODNN7EXAMPLE"
	secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	region = "eu-west-1"
)

var creds = providertest.SigV4{AccessKeyID: keyID, SecretAccessKey: secret, Region: region}

// env gives the SDK static test credentials and the stand-in's endpoint.
func env(t *testing.T, endpoint string) {
	t.Helper()
	providertest.AWSEnv(t, creds)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", endpoint)
}

// replies is the stand-in's reply to its nth request (from 0).
type replies func(n int, req cw.Request) any

// standIn serves GetMetricData, checking every request, and records them.
type standIn struct {
	*httptest.Server
	mu       sync.Mutex
	requests []cw.Request
}

func serve(t *testing.T, reply replies) *standIn {
	t.Helper()
	s := &standIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := cw.ReadRequest(r, creds)
		if err != nil {
			if strings.HasPrefix(err.Error(), "signature") {
				cw.BadSignature.Write(w)
				return
			}
			t.Errorf("request: %v", err)
			cw.InvalidParam.Write(w)
			return
		}
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		switch a := reply(n, req).(type) {
		case cw.Output:
			cw.WriteOutput(w, a)
		case cw.Error:
			a.Write(w)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *standIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func always(out any) replies {
	return func(int, cw.Request) any { return out }
}

// newProvider keeps the SDK's retry policy (three attempts) but not its
// seconds-long back-off.
func newProvider() *Provider {
	return &Provider{Clock: providertest.Clock, clientOptions: []func(*cloudwatch.Options){func(o *cloudwatch.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, 10*time.Millisecond)
	}}}
}

func metric(success, failure string) v1alpha1.Metric {
	ns := "AWS/ApplicationELB"
	return v1alpha1.Metric{
		Name:             "error-rate",
		SuccessCondition: success,
		FailureCondition: failure,
		Provider: v1alpha1.MetricProvider{CloudWatch: &v1alpha1.CloudWatchMetric{
			MetricDataQueries: []v1alpha1.CloudWatchMetricDataQuery{{
				Id: "errors",
				MetricStat: &v1alpha1.CloudWatchMetricStat{
					Metric: v1alpha1.CloudWatchMetricStatMetric{
						Namespace:  &ns,
						MetricName: "HTTPCode_Target_5XX_Count",
						Dimensions: []v1alpha1.CloudWatchMetricStatMetricDimension{{Name: "LoadBalancer", Value: "app/web/50dc6c495c0c9188"}},
					},
					Period: intstr.FromInt32(60),
					Stat:   "Sum",
					Unit:   "Count",
				},
			}},
		}},
	}
}

func result(id string, values ...float64) cw.Result {
	r := cw.Result{Id: id, Label: id, StatusCode: "Complete", Values: values, Timestamps: []time.Time{}}
	for i := range values {
		r.Timestamps = append(r.Timestamps, providertest.At.Add(-time.Duration(i)*time.Minute).Truncate(time.Minute))
	}
	return r
}

func output(results ...cw.Result) cw.Output {
	return cw.Output{MetricDataResults: results}
}

func TestRun(t *testing.T) {
	partial := result("errors", 3)
	partial.StatusCode = "PartialData"
	partial.Messages = []cw.Message{{Code: "MaxQueryTimeRangeExceed", Value: "The query time range exceeds the limit."}}
	internal := result("errors")
	internal.StatusCode = "InternalError"
	forbidden := result("errors", 1)
	forbidden.StatusCode = "Forbidden"
	withMessages := output(result("errors", 0.5))
	withMessages.Messages = []cw.Message{{Code: "Warning", Value: "Some metrics were not found"}, {Code: "Info", Value: "second"}}
	cases := []struct {
		name             string
		reply            replies
		success, failure string
		wantPhase        v1alpha1.AnalysisPhase
		wantValue        string
		wantMessage      string // prefix; the whole message must be empty when this is
		wantMetadata     map[string]string
		wantRequests     int
	}{
		{"success as Argo's test", always(output(result("errors", 0.1, 0.2, 0.3))), "result[0].Values[0] == 0.1", "result[0].Values[0] != 0.1",
			v1alpha1.AnalysisPhaseSuccessful, "[[0.1 0.2 0.3]]", "", nil, 1},
		{"failure", always(output(result("errors", 0.01, 7))), "all(result[0].Values, {# < 5})", "",
			v1alpha1.AnalysisPhaseFailed, "[[0.01 7]]", "", nil, 1},
		{"failure condition holds", always(output(result("errors", 12))), "", "result[0].Values[0] > 10",
			v1alpha1.AnalysisPhaseFailed, "[[12]]", "", nil, 1},
		{"inconclusive band", always(output(result("errors", 3))), "result[0].Values[0] < 1", "result[0].Values[0] > 10",
			v1alpha1.AnalysisPhaseInconclusive, "[[3]]", "", nil, 1},
		{"several results", always(output(result("errors", 1, 2), result("requests", 100))), "result[1].Values[0] > 50 && len(result) == 2", "",
			v1alpha1.AnalysisPhaseSuccessful, "[[1 2] [100]]", "", nil, 1},
		{"no conditions", always(output(result("errors", 1))), "", "", v1alpha1.AnalysisPhaseSuccessful, "[[1]]", "", nil, 1},
		{"messages go to metadata", always(withMessages), "result[0].Values[0] < 1", "",
			v1alpha1.AnalysisPhaseSuccessful, "[[0.5]]", "", map[string]string{MessagesKey: "Warning: Some metrics were not found; Info: second"}, 1},
		{"no datapoints never passes", always(output(result("errors"))), "all(result[0].Values, {# < 5})", "",
			v1alpha1.AnalysisPhaseError, "[[]]", `query cloudwatch: query "errors" returned no datapoints between 2026-03-01T12:02:42Z and 2026-03-01T12:07:42Z: widen interval`, nil, 1},
		{"no results", always(output()), "true", "", v1alpha1.AnalysisPhaseError, "[]",
			"query cloudwatch: CloudWatch returned no results: set returnData on at least one query", nil, 1},
		{"partial data", always(output(partial)), "result[0].Values[0] < 5", "", v1alpha1.AnalysisPhaseError, "[[3]]",
			`query cloudwatch: query "errors" is not complete: CloudWatch reported status PartialData: MaxQueryTimeRangeExceed: The query time range exceeds the limit.`, nil, 1},
		{"internal error in a result", always(output(internal)), "true", "", v1alpha1.AnalysisPhaseError, "[[]]",
			`query cloudwatch: query "errors" is not complete: CloudWatch reported status InternalError`, nil, 1},
		{"forbidden metric", always(output(forbidden)), "true", "", v1alpha1.AnalysisPhaseError, "[[1]]",
			`query cloudwatch: query "errors" is not complete: CloudWatch reported status Forbidden`, nil, 1},
		{"pages are merged", func(n int, req cw.Request) any {
			if n == 0 {
				first := result("errors", 3, 2)
				first.StatusCode = "PartialData"
				return cw.Output{MetricDataResults: []cw.Result{first, result("requests", 10)}, NextToken: "page-2"}
			}
			if req.NextToken != "page-2" {
				t.Errorf("second page asked with NextToken %q", req.NextToken)
			}
			return output(result("errors", 1), result("requests"))
		}, "len(result[0].Values) == 3 && result[0].Values[2] == 1", "",
			v1alpha1.AnalysisPhaseSuccessful, "[[3 2 1] [10]]", "", nil, 2},
		{"partial data on the last page", func(n int, _ cw.Request) any {
			if n == 0 {
				return cw.Output{MetricDataResults: []cw.Result{result("errors", 3)}, NextToken: "page-2"}
			}
			return output(partial)
		}, "true", "", v1alpha1.AnalysisPhaseError, "[[3 3]]", `query cloudwatch: query "errors" is not complete: CloudWatch reported status PartialData`, nil, 2},
		{"a token repeated forever", always(cw.Output{MetricDataResults: []cw.Result{result("errors", 1)}, NextToken: "same"}), "true", "",
			v1alpha1.AnalysisPhaseSuccessful, "[[1 1]]", "", nil, 2},
		{"invalid parameter is not retried", always(cw.InvalidParam), "true", "", v1alpha1.AnalysisPhaseError, "",
			"query cloudwatch: operation error CloudWatch: GetMetricData, https response error StatusCode: 400, RequestID: c0ffee00-0000-4000-8000-000000000002, InvalidParameterValue: The value 5m for parameter", nil, 1},
		{"throttled once, then answered", func(n int, _ cw.Request) any {
			if n == 0 {
				return cw.Throttling
			}
			return output(result("errors", 0))
		}, "result[0].Values[0] == 0", "", v1alpha1.AnalysisPhaseSuccessful, "[[0]]", "", nil, 2},
		{"throttled throughout", always(cw.Throttling), "true", "", v1alpha1.AnalysisPhaseError, "",
			"query cloudwatch: operation error CloudWatch: GetMetricData, exceeded maximum number of attempts, 3, https response error StatusCode: 400, RequestID: c0ffee00-0000-4000-8000-000000000002, api error Throttling: Rate exceeded", nil, 3},
		{"server fault is retried", always(cw.InternalFault), "true", "", v1alpha1.AnalysisPhaseError, "",
			"query cloudwatch: operation error CloudWatch: GetMetricData, exceeded maximum number of attempts, 3, https response error StatusCode: 500", nil, 3},
		{"access denied", always(cw.AccessDenied), "true", "", v1alpha1.AnalysisPhaseError, "",
			"query cloudwatch: operation error CloudWatch: GetMetricData, https response error StatusCode: 403, RequestID: c0ffee00-0000-4000-8000-000000000002, api error AccessDenied: User: arn:aws:iam::123456789012:user/rollouts is not authorized", nil, 1},
		{"bad pagination token", func(n int, _ cw.Request) any {
			if n == 0 {
				return cw.Output{MetricDataResults: []cw.Result{result("errors", 3)}, NextToken: "stale"}
			}
			return cw.InvalidToken
		}, "true", "", v1alpha1.AnalysisPhaseError, "", "query cloudwatch: operation error CloudWatch: GetMetricData, https response error StatusCode: 400", nil, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := serve(t, c.reply)
			env(t, s.URL)
			got := newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, metric(c.success, c.failure))
			if got.Phase != c.wantPhase || got.Value != c.wantValue || !strings.HasPrefix(got.Message, c.wantMessage) || (c.wantMessage == "") != (got.Message == "") {
				t.Errorf("got phase %s value %q message %q; want %s %q %q", got.Phase, got.Value, got.Message, c.wantPhase, c.wantValue, c.wantMessage)
			}
			if !reflect.DeepEqual(got.Metadata, c.wantMetadata) {
				t.Errorf("metadata %v, want %v", got.Metadata, c.wantMetadata)
			}
			if n := s.count(); n != c.wantRequests {
				t.Errorf("%d requests, want %d", n, c.wantRequests)
			}
			if !got.StartedAt.Time.Equal(providertest.At) || !got.FinishedAt.Time.Equal(providertest.At) {
				t.Errorf("started %v finished %v, want both %v", got.StartedAt, got.FinishedAt, providertest.At)
			}
			if strings.Contains(got.Message, secret) {
				t.Errorf("message carries the secret key: %q", got.Message)
			}
		})
	}
}

// The request carries every field of the spec's queries, under the names
// and types of the protocol, and the look-back window.
func TestRequest(t *testing.T) {
	s := serve(t, always(output(result("rate", 0.01))))
	env(t, s.URL)
	m := metric("result[0].Values[0] < 0.05", "")
	expression, label, no := "errors / requests", "error rate", false
	period := intstr.FromString("300")
	queries := &m.Provider.CloudWatch.MetricDataQueries
	(*queries)[0].ReturnData = &no
	*queries = append(*queries, v1alpha1.CloudWatchMetricDataQuery{Id: "rate", Expression: &expression, Label: &label, Period: &period})
	m.Provider.CloudWatch.Interval = "15m"
	if got := newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, m); got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("got %s %q", got.Phase, got.Message)
	}
	ns := "AWS/ApplicationELB"
	want := cw.Request{
		StartTime: providertest.At.Add(-15 * time.Minute),
		EndTime:   providertest.At,
		MetricDataQueries: []cw.Query{
			{Id: "errors", ReturnData: &no, MetricStat: &cw.MetricStat{
				Metric: cw.Metric{Namespace: ns, MetricName: "HTTPCode_Target_5XX_Count", Dimensions: []cw.Dimension{{Name: "LoadBalancer", Value: "app/web/50dc6c495c0c9188"}}},
				Period: 60, Stat: "Sum", Unit: "Count",
			}},
			{Id: "rate", Expression: expression, Label: label, Period: 300},
		},
	}
	got := s.requests[0]
	if !got.StartTime.Equal(want.StartTime) || !got.EndTime.Equal(want.EndTime) {
		t.Errorf("window %v..%v, want %v..%v", got.StartTime, got.EndTime, want.StartTime, want.EndTime)
	}
	got.StartTime, got.EndTime = want.StartTime, want.EndTime
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request\n%+v\nwant\n%+v", got, want)
	}
}

func TestDefaultInterval(t *testing.T) {
	s := serve(t, always(output(result("errors", 1))))
	env(t, s.URL)
	newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, metric("true", ""))
	if got := s.requests[0]; !got.StartTime.Equal(providertest.At.Add(-5*time.Minute)) || !got.EndTime.Equal(providertest.At) {
		t.Errorf("window %v..%v, want the 5 minutes before %v", got.StartTime, got.EndTime, providertest.At)
	}
}

// AWS_ENDPOINT_URL, for every service, also reaches the stand-in.
func TestGeneralEndpoint(t *testing.T) {
	s := serve(t, always(output(result("errors", 1))))
	env(t, "")
	t.Setenv("AWS_ENDPOINT_URL", s.URL)
	if got := newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, metric("true", "")); got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("got %s %q", got.Phase, got.Message)
	}
}

// A wrong secret is refused by the service; the error names the failure
// and never the key.
func TestWrongSecret(t *testing.T) {
	s := serve(t, always(output(result("errors", 1))))
	env(t, s.URL)
	wrong := "not-" + secret
	t.Setenv("AWS_SECRET_ACCESS_KEY", wrong)
	got := newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, metric("true", ""))
	want := "query cloudwatch: operation error CloudWatch: GetMetricData, https response error StatusCode: 403, RequestID: c0ffee00-0000-4000-8000-000000000002, api error SignatureDoesNotMatch: The request signature we calculated does not match"
	if got.Phase != v1alpha1.AnalysisPhaseError || !strings.HasPrefix(got.Message, want) {
		t.Errorf("got %s %q, want Error %q", got.Phase, got.Message, want)
	}
	if strings.Contains(got.Message, wrong) || strings.Contains(got.Message, "EXAMPLEKEY") {
		t.Errorf("message carries the secret key: %q", got.Message)
	}
}

func TestTimeout(t *testing.T) {
	s := providertest.Hang(t)
	env(t, s.URL)
	p := newProvider()
	p.Timeout = time.Second
	begin := time.Now()
	got := p.Run(context.Background(), &v1alpha1.AnalysisRun{}, metric("true", ""))
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("took %v with a 1s timeout", elapsed)
	}
	providertest.ExpectError(t, got, "query cloudwatch: no complete answer within the 1s timeout")
}

func TestDeadServer(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	env(t, s.URL)
	got := newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, metric("true", ""))
	if got.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(got.Message, "connection refused") {
		t.Errorf("got %s %q", got.Phase, got.Message)
	}
}

func TestConfigErrors(t *testing.T) {
	s := serve(t, func(int, cw.Request) any {
		t.Error("no request expected")
		return output()
	})
	cases := []struct {
		name   string
		modify func(*v1alpha1.Metric)
		want   string
	}{
		{"no provider", func(m *v1alpha1.Metric) { m.Provider.CloudWatch = nil }, "metric has no cloudWatch provider"},
		{"interval", func(m *v1alpha1.Metric) { m.Provider.CloudWatch.Interval = "five minutes" }, `interval "five minutes" is not a positive duration such as 5m`},
		{"negative interval", func(m *v1alpha1.Metric) { m.Provider.CloudWatch.Interval = "-5m" }, `interval "-5m" is not a positive duration such as 5m`},
		{"no queries", func(m *v1alpha1.Metric) { m.Provider.CloudWatch.MetricDataQueries = nil }, "metricDataQueries is empty: add at least one query"},
		{"stat period", func(m *v1alpha1.Metric) {
			m.Provider.CloudWatch.MetricDataQueries[0].MetricStat.Period = intstr.FromString("5m")
		}, `metricDataQueries[0].metricStat.period "5m" is not a whole number of seconds`},
		{"query period", func(m *v1alpha1.Metric) {
			p := intstr.FromString("1h")
			m.Provider.CloudWatch.MetricDataQueries[0].Period = &p
		}, `metricDataQueries[0].period "1h" is not a whole number of seconds`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env(t, s.URL)
			m := metric("true", "")
			c.modify(&m)
			providertest.ExpectError(t, newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, m), "query cloudwatch: "+c.want)
		})
	}
	t.Run("no region", func(t *testing.T) {
		env(t, s.URL)
		t.Setenv("AWS_REGION", "")
		providertest.ExpectError(t, newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, metric("true", "")),
			"query cloudwatch: no AWS region: set AWS_REGION in the controller's environment, or a region in its AWS profile")
	})
}

func TestTypeAndMetadata(t *testing.T) {
	p := New()
	if p.Type() != "CloudWatch" || p.Metadata(metric("", "")) != nil {
		t.Errorf("Type %q, Metadata %v", p.Type(), p.Metadata(metric("", "")))
	}
}
