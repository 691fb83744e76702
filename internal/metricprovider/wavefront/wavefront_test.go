package wavefront

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

const (
	home  = "aviary-system"
	token = "wf-0d1e2f3a-token"
	query = `sum(rate(ts(http.requests.errors, app="checkout"))) / sum(rate(ts(http.requests, app="checkout")))`
)

// now is the measurement's time in epoch seconds.
var now = providertest.At.Unix()

// chart is a chart API answer with one series per list of [time, value]
// points, times relative to now.
func chart(warnings string, series ...[][2]float64) string {
	var parts []string
	for i, points := range series {
		var data []string
		for _, p := range points {
			data = append(data, fmt.Sprintf("[%d,%v]", now+int64(p[0]), p[1]))
		}
		parts = append(parts, fmt.Sprintf(`{"label":"http.requests.errors","host":"web-%d","tags":{"app":"checkout"},"data":[%s]}`, i, strings.Join(data, ",")))
	}
	return fmt.Sprintf(`{"name":%q,"query":%q,"granularity":1,"timeseries":[%s],"stats":{"keys":4,"points":2,"summaries":2,"buffer_keys":2,"compacted_keys":0,"latency":12,"cpu_ns":2104},"warnings":%q}`,
		query, query, strings.Join(parts, ","), warnings)
}

// serve is the chart API answering status and body after checking the
// request is the one Argo Rollouts sends.
func serve(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	ms := strconv.FormatInt(now*1000, 10)
	want := url.Values{
		"q": {query}, "s": {ms}, "e": {ms}, "g": {"s"}, "p": {"1"}, "i": {"true"},
		"autoEvents": {"false"}, "listmode": {"false"}, "strict": {"false"}, "includeObsoleteMetrics": {"false"},
	}
	return providertest.Serve(t, status, body, func(r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v2/chart/api" {
			t.Errorf("%s %s, want GET /api/v2/chart/api", r.Method, r.URL.Path)
		}
		if got := r.URL.Query().Encode(); got != want.Encode() {
			t.Errorf("query %s, want %s", got, want.Encode())
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			t.Errorf("Authorization %q, want the address's token", got)
		}
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept %q", got)
		}
	})
}

func tokens(data map[string]string) client.Object {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "wavefront-api-tokens", Namespace: home}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func measure(t *testing.T, secrets []client.Object, address, success, failure string) v1alpha1.Measurement {
	t.Helper()
	p := &Provider{
		Secrets:   fake.NewClientBuilder().WithObjects(secrets...).Build(),
		Namespace: home,
		Clock:     providertest.Clock,
		Timeout:   300 * time.Millisecond,
	}
	metric := v1alpha1.Metric{
		Name: "error-rate", SuccessCondition: success, FailureCondition: failure,
		Provider: v1alpha1.MetricProvider{Wavefront: &v1alpha1.WavefrontMetric{Address: address, Query: query}},
	}
	m := p.Run(context.Background(), &v1alpha1.AnalysisRun{}, metric)
	if strings.Contains(fmt.Sprint(m), token) {
		t.Errorf("the token leaked into %+v", m)
	}
	return m
}

func TestRun(t *testing.T) {
	cases := []struct {
		name               string
		status             int
		body               string
		success, failure   string
		wantPhase          v1alpha1.AnalysisPhase
		wantValue, wantMsg string
		wantMeta           map[string]string
	}{
		{"one series is a number", 200, chart("", [][2]float64{{-65, 0.5}, {-5, 0.012}}), "result < 0.05", "", v1alpha1.AnalysisPhaseSuccessful, "0.01", "",
			map[string]string{"timestamps": strconv.FormatInt(now-5, 10), "drift": "-5"}},
		{"one series fails", 200, chart("", [][2]float64{{-5, 0.3}}), "result < 0.05", "", v1alpha1.AnalysisPhaseFailed, "0.30", "",
			map[string]string{"timestamps": strconv.FormatInt(now-5, 10), "drift": "-5"}},
		{"several series are a list", 200, chart("", [][2]float64{{-5, 0.01}}, [][2]float64{{3, 0.2}}), "", "result[1] > 0.1", v1alpha1.AnalysisPhaseFailed, "[0.01,0.20]", "",
			map[string]string{"timestamps": fmt.Sprintf("[%d,%d]", now-5, now+3), "drift": "[-5,3]"}},
		{"warnings are kept", 200, chart("Query timed out on some shards", [][2]float64{{-1, 0.01}}), "result < 0.05", "", v1alpha1.AnalysisPhaseSuccessful, "0.01", "",
			map[string]string{"timestamps": strconv.FormatInt(now-1, 10), "drift": "-1", "warnings": "Query timed out on some shards"}},
		{"no series", 200, chart(""), "result < 0.05", "", v1alpha1.AnalysisPhaseError, "", ": no time series found in the response", nil},
		{"a series without points", 200, chart("", [][2]float64{{-5, 0.01}}, nil), "all(result, {# < 0.05})", "", v1alpha1.AnalysisPhaseError, "",
			": series 1 (http.requests.errors) has no points", nil},
		{"query error in a 200", 200, `{"query":"sum(ts(","errorType":"Syntax error","errorMessage":"Unexpected end of query at position 7"}`, "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "", ": Syntax error: Unexpected end of query at position 7", nil},
		{"bad token", 401, `{"status":{"result":"ERROR","message":"401 Unauthorized","code":401}}`, "result < 0.05", "", v1alpha1.AnalysisPhaseError, "",
			`: received non-2xx response code 401: {"status":{"result":"ERROR","message":"401 Unauthorized","code":401}}`, nil},
		{"rate limited", 429, `{"status":{"result":"ERROR","message":"Too many requests","code":429}}`, "result < 0.05", "", v1alpha1.AnalysisPhaseError, "",
			`: received non-2xx response code 429: {"status":{"result":"ERROR","message":"Too many requests","code":429}}`, nil},
		{"server error", 500, "Internal Server Error", "result < 0.05", "", v1alpha1.AnalysisPhaseError, "", ": received non-2xx response code 500: Internal Server Error", nil},
		{"not JSON", 200, "<html>", "result < 0.05", "", v1alpha1.AnalysisPhaseError, "", ": decode response: invalid character '<' looking for beginning of value", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := serve(t, c.status, c.body)
			got := measure(t, []client.Object{tokens(map[string]string{"127.0.0.1": token})}, s.URL, c.success, c.failure)
			wantMsg := c.wantMsg
			if wantMsg != "" {
				wantMsg = "query wavefront at " + s.URL + wantMsg
			}
			if got.Phase != c.wantPhase || got.Value != c.wantValue || got.Message != wantMsg {
				t.Errorf("got %s %q %q, want %s %q %q", got.Phase, got.Value, got.Message, c.wantPhase, c.wantValue, wantMsg)
			}
			if fmt.Sprint(got.Metadata) != fmt.Sprint(c.wantMeta) {
				t.Errorf("metadata %v, want %v", got.Metadata, c.wantMeta)
			}
			if !got.StartedAt.Time.Equal(providertest.At) || !got.FinishedAt.Time.Equal(providertest.At) {
				t.Errorf("started %v finished %v", got.StartedAt, got.FinishedAt)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	slow := providertest.Hang(t)
	good := tokens(map[string]string{"127.0.0.1": token, "example.wavefront.com": token})
	cases := []struct {
		name    string
		secrets []client.Object
		address string
		want    string
	}{
		{"no address", []client.Object{good}, "", "query wavefront: wavefront address is not configured"},
		{"not a URL", []client.Object{good}, "ftp://example.wavefront.com", "query wavefront: wavefront address ftp://example.wavefront.com is neither a host name nor an http(s) URL"},
		{"no Secret", nil, "example.wavefront.com",
			"query wavefront: API token: no Secret aviary-system/wavefront-api-tokens: create it in the controller's namespace"},
		{"no token for the address", []client.Object{tokens(map[string]string{"other.wavefront.com": token})}, "example.wavefront.com",
			"query wavefront: API token: no value for example.wavefront.com in Secret aviary-system/wavefront-api-tokens"},
		{"timeout", []client.Object{good}, slow.URL, "query wavefront at " + slow.URL + ": no response within the 300ms timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			providertest.ExpectError(t, measure(t, c.secrets, c.address, "result < 0.05", ""), c.want)
		})
	}
}

func TestServer(t *testing.T) {
	cases := []struct{ address, base, key string }{
		{"example.wavefront.com", "https://example.wavefront.com", "example.wavefront.com"},
		{" example.wavefront.com ", "https://example.wavefront.com", "example.wavefront.com"},
		{"http://wavefront-proxy:8080", "http://wavefront-proxy:8080", "wavefront-proxy"},
		{"https://example.wavefront.com/", "https://example.wavefront.com/", "example.wavefront.com"},
	}
	for _, c := range cases {
		base, key, err := server(c.address)
		if err != nil || base != c.base || key != c.key {
			t.Errorf("server(%q) = %q, %q, %v; want %q, %q", c.address, base, key, err, c.base, c.key)
		}
	}
}

func TestDeadServer(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	got := measure(t, []client.Object{tokens(map[string]string{"127.0.0.1": token})}, s.URL, "result < 0.05", "")
	if got.Phase != v1alpha1.AnalysisPhaseError || !strings.HasSuffix(got.Message, "connect: connection refused") {
		t.Errorf("got %s %q, want an Error saying the connection was refused", got.Phase, got.Message)
	}
}

func TestProvider(t *testing.T) {
	p := New(nil, home)
	if p.Type() != "Wavefront" || p.Metadata(v1alpha1.Metric{}) != nil {
		t.Errorf("Type %q", p.Type())
	}
	providertest.ExpectError(t, p.Run(context.Background(), nil, v1alpha1.Metric{Name: "x"}), "metric has no wavefront provider")
}
