package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

// Bodies in the Prometheus HTTP API wire format.
const (
	vectorOne   = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"web"},"value":[1767268800.123,"0.97"]}]}}`
	vectorTwo   = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1767268800,"0.5"]},{"metric":{"pod":"b"},"value":[1767268800,"0.99"]}]}}`
	vectorEmpty = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	vectorNaN   = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1767268800,"NaN"]}]}}`
	scalar      = `{"status":"success","data":{"resultType":"scalar","result":[1767268800,"3"]}}`
	stringRes   = `{"status":"success","data":{"resultType":"string","result":[1767268800,"ok"]}}`
	matrix      = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a"},"values":[[1767268740,"1"],[1767268800,"2"]]},{"metric":{"pod":"b"},"values":[[1767268800,"1e-05"]]}]}}`
	withWarning = `{"status":"success","warnings":["PromQL info: metric might not be a counter","partial response"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1767268800,"1"]}]}}`
	badData     = `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected <EOF>"}`
	timeoutBody = `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`
)

func metric(address, success, failure string) v1alpha1.Metric {
	return v1alpha1.Metric{
		Name:             "success-rate",
		SuccessCondition: success,
		FailureCondition: failure,
		Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{
			Address: address,
			Query:   `sum(rate(http_requests_total{code!~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`,
		}},
	}
}

func run(t *testing.T, p *Provider, m v1alpha1.Metric) v1alpha1.Measurement {
	t.Helper()
	if p.Clock == nil {
		p.Clock = providertest.Clock
	}
	return p.Run(context.Background(), &v1alpha1.AnalysisRun{}, m)
}

func TestRun(t *testing.T) {
	cases := []struct {
		name             string
		status           int
		body             string
		success, failure string
		wantPhase        v1alpha1.AnalysisPhase
		wantValue        string
		wantMessage      string
		wantWarnings     string
	}{
		{"seed 06 vector passes", 200, vectorOne, "result[0] >= 0.95", "", v1alpha1.AnalysisPhaseSuccessful, "[0.97]", "", ""},
		{"seed 06 vector fails", 200, vectorOne, "result[0] >= 0.99", "", v1alpha1.AnalysisPhaseFailed, "[0.97]", "", ""},
		{"seed 06 failure condition", 200, vectorOne, "", "result[0] >= 10", v1alpha1.AnalysisPhaseSuccessful, "[0.97]", "", ""},
		{"seed 06 band: inconclusive", 200, vectorOne, "result[0] >= 0.98", "result[0] < 0.50", v1alpha1.AnalysisPhaseInconclusive, "[0.97]", "", ""},
		{"seed 01 two series", 200, vectorTwo, "result[0] > 0.90", "", v1alpha1.AnalysisPhaseFailed, "[0.5,0.99]", "", ""},
		{"every series", 200, vectorTwo, "all(result, {# > 0.4})", "", v1alpha1.AnalysisPhaseSuccessful, "[0.5,0.99]", "", ""},
		{"no conditions", 200, vectorOne, "", "", v1alpha1.AnalysisPhaseSuccessful, "[0.97]", "", ""},
		{"scalar is a number", 200, scalar, "result == 3", "", v1alpha1.AnalysisPhaseSuccessful, "3", "", ""},
		// As in Argo Rollouts (whose client is the same), a string result is not a measurement.
		{"string", 200, stringRes, "result == 'ok'", "", v1alpha1.AnalysisPhaseError, "", `: decode response data: unexpected value type "string"`, ""},
		{"matrix flattens every sample", 200, matrix, "len(result) == 3 && result[1] == 2 && result[2] < 0.001", "", v1alpha1.AnalysisPhaseSuccessful, "[1,2,0.00001]", "", ""},
		{"NaN", 200, vectorNaN, "isNaN(result[0])", "", v1alpha1.AnalysisPhaseSuccessful, "[NaN]", "", ""},
		{"empty vector is no data", 200, vectorEmpty, "result[0] >= 0.95", "", v1alpha1.AnalysisPhaseError, "[]",
			`could not evaluate successCondition "result[0] >= 0.95": metric result is nil or empty: no data returned from the metric provider`, ""},
		{"empty vector guarded", 200, vectorEmpty, "len(result) == 0 || result[0] >= 0.95", "", v1alpha1.AnalysisPhaseSuccessful, "[]", "", ""},
		{"warnings", 200, withWarning, "result[0] == 1", "", v1alpha1.AnalysisPhaseSuccessful, "[1]", "",
			`"PromQL info: metric might not be a counter", "partial response"`},
		{"query error", 400, badData, "result[0] > 0", "", v1alpha1.AnalysisPhaseError, "",
			`: bad_data: invalid parameter "query": 1:5: parse error: unexpected <EOF>`, ""},
		{"server-side timeout", 503, timeoutBody, "result[0] > 0", "", v1alpha1.AnalysisPhaseError, "", ": timeout: query timed out in expression evaluation", ""},
		{"HTTP 500 from a proxy", 500, "upstream\nconnect error", "result[0] > 0", "", v1alpha1.AnalysisPhaseError, "",
			": received non-2xx response code 500: upstream connect error", ""},
		{"not JSON", 200, "<html>", "result[0] > 0", "", v1alpha1.AnalysisPhaseError, "", ": decode response: expect { or n, but found <", ""},
		{"unknown result type", 200, `{"status":"success","data":{"resultType":"histogram","result":[]}}`, "", "", v1alpha1.AnalysisPhaseError, "",
			`: decode response data: unknown value type "histogram"`, ""},
		{"bad sample", 200, `{"status":"success","data":{"resultType":"scalar","result":[1,"fast"]}}`, "", "", v1alpha1.AnalysisPhaseError, "",
			`: decode response data: error parsing sample value: strconv.ParseFloat: parsing "fast": invalid syntax`, ""},
	}
	for _, c := range cases {
		s := providertest.Serve(t, c.status, c.body, nil)
		got := run(t, New(), metric(s.URL, c.success, c.failure))
		wantMessage := c.wantMessage
		if strings.HasPrefix(wantMessage, ": ") {
			wantMessage = "query prometheus at " + s.URL + wantMessage
		}
		if got.Phase != c.wantPhase || got.Value != c.wantValue || !strings.HasPrefix(got.Message, wantMessage) || (wantMessage == "") != (got.Message == "") {
			t.Errorf("%s: got phase %s value %q message %q; want %s %q %q", c.name, got.Phase, got.Value, got.Message, c.wantPhase, c.wantValue, wantMessage)
		}
		if got.Metadata[WarningsKey] != c.wantWarnings {
			t.Errorf("%s: warnings %q, want %q", c.name, got.Metadata[WarningsKey], c.wantWarnings)
		}
		if !got.StartedAt.Time.Equal(providertest.At) || !got.FinishedAt.Time.Equal(providertest.At) {
			t.Errorf("%s: started %v finished %v, want both %v", c.name, got.StartedAt, got.FinishedAt, providertest.At)
		}
	}
}

func TestInstantQueryRequest(t *testing.T) {
	m := metric("", "result[0] > 0", "")
	cfg := m.Provider.Prometheus
	cfg.Headers = []v1alpha1.WebMetricHeader{{Key: "X-Scope-OrgID", Value: "tenant-secret"}}
	cfg.Authentication.BasicAuth = &v1alpha1.BasicAuth{Username: "reader", Password: "hunter2"}
	s := providertest.Serve(t, 200, vectorOne, func(r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/prefix/api/v1/query" {
			t.Errorf("%s %s, want POST /prefix/api/v1/query", r.Method, r.URL.Path)
		}
		if got := r.PostFormValue("query"); got != cfg.Query {
			t.Errorf("query %q, want %q", got, cfg.Query)
		}
		if r.PostForm.Has("time") {
			t.Errorf("instant query sends time %q; Prometheus should use its own clock", r.PostFormValue("time"))
		}
		if got := r.Header.Get("X-Scope-OrgID"); got != "tenant-secret" {
			t.Errorf("header X-Scope-OrgID = %q", got)
		}
		if u, pw, ok := r.BasicAuth(); !ok || u != "reader" || pw != "hunter2" {
			t.Errorf("basic auth %q %q %v", u, pw, ok)
		}
	})
	cfg.Address = s.URL + "/prefix"
	if got := run(t, New(), m); got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("phase %s: %s", got.Phase, got.Message)
	}
}

// Credentials must not leak into messages, which end up in the status.
func TestErrorsHideCredentials(t *testing.T) {
	s := providertest.Serve(t, 502, "bad gateway", nil)
	m := metric(strings.Replace(s.URL, "http://", "http://admin:hunter2@", 1)+"?token=abc", "result[0] > 0", "")
	m.Provider.Prometheus.Headers = []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer sekrit"}}
	got := run(t, New(), m)
	want := "query prometheus at " + s.URL + ": received non-2xx response code 502: bad gateway"
	providertest.ExpectError(t, got, want)
	for _, secret := range []string{"hunter2", "admin", "sekrit", "abc"} {
		if strings.Contains(got.Message, secret) {
			t.Errorf("message %q contains %q", got.Message, secret)
		}
	}
}

func TestRangeQuery(t *testing.T) {
	var start, end time.Time
	s := providertest.Serve(t, 200, matrix, func(r *http.Request) {
		if r.URL.Path != "/api/v1/query_range" {
			t.Errorf("path %s, want /api/v1/query_range", r.URL.Path)
		}
		// Unix seconds, as Prometheus' client writes times.
		var err error
		if start, err = unixTime(r.PostFormValue("start")); err != nil {
			t.Error(err)
		}
		if end, err = unixTime(r.PostFormValue("end")); err != nil {
			t.Error(err)
		}
		if got := r.PostFormValue("step"); got != "60" {
			t.Errorf("step %q, want 60", got)
		}
	})
	m := metric(s.URL, "len(result) == 3", "")
	m.Provider.Prometheus.RangeQuery = &v1alpha1.PrometheusRangeQueryArgs{Start: "now() - duration('10m')", End: "now()", Step: "1m"}
	before := time.Now()
	got := run(t, New(), m)
	if got.Phase != v1alpha1.AnalysisPhaseSuccessful || got.Value != "[1,2,0.00001]" {
		t.Errorf("got %s %q %q", got.Phase, got.Value, got.Message)
	}
	if span := end.Sub(start); span < 10*time.Minute-time.Second || span > 10*time.Minute+time.Second {
		t.Errorf("range %v..%v spans %v, want 10m", start, end, span)
	}
	if end.Before(before.Add(-time.Second)) {
		t.Errorf("end %v is before the measurement began (%v)", end, before)
	}
}

func unixTime(s string) (time.Time, error) {
	f, err := strconv.ParseFloat(s, 64)
	return time.Unix(0, int64(f*1e9)), err
}

func TestRangeQueryErrors(t *testing.T) {
	cases := []struct {
		name        string
		rq          v1alpha1.PrometheusRangeQueryArgs
		wantMessage string
	}{
		{"start not a time", v1alpha1.PrometheusRangeQueryArgs{Start: "5", End: "now()", Step: "1m"}, `evaluate rangeQuery.start "5": expected time.Time, but got int`},
		{"end does not parse", v1alpha1.PrometheusRangeQueryArgs{Start: "now()", End: "now() -", Step: "1m"}, `evaluate rangeQuery.end "now() -": unexpected token EOF`},
		{"no step", v1alpha1.PrometheusRangeQueryArgs{Start: "now()", End: "now()"}, `rangeQuery.step "" is not a positive duration`},
		{"zero step", v1alpha1.PrometheusRangeQueryArgs{Start: "now()", End: "now()", Step: "0s"}, `rangeQuery.step "0s" is not a positive duration`},
	}
	s := providertest.Serve(t, 200, matrix, func(*http.Request) { t.Error("no request expected") })
	for _, c := range cases {
		m := metric(s.URL, "true", "")
		m.Provider.Prometheus.RangeQuery = &c.rq
		got := run(t, New(), m)
		want := "query prometheus at " + s.URL + ": " + c.wantMessage
		if got.Phase != v1alpha1.AnalysisPhaseError || !strings.HasPrefix(got.Message, want) {
			t.Errorf("%s: got %s %q, want Error %q", c.name, got.Phase, got.Message, want)
		}
	}
}

func TestTimeout(t *testing.T) {
	s := providertest.Hang(t)
	m := metric(s.URL, "result[0] > 0", "")
	one := int64(1)
	m.Provider.Prometheus.Timeout = &one
	begin := time.Now()
	got := run(t, New(), m)
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("took %v with a 1s timeout", elapsed)
	}
	want := "query prometheus at " + s.URL + ": no response within the 1s timeout"
	providertest.ExpectError(t, got, want)
}

func TestCancelledContext(t *testing.T) {
	s := providertest.Serve(t, 200, vectorOne, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := New().Run(ctx, &v1alpha1.AnalysisRun{}, metric(s.URL, "true", ""))
	if got.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(got.Message, "context canceled") {
		t.Errorf("got %s %q", got.Phase, got.Message)
	}
}

func TestAddress(t *testing.T) {
	s := providertest.Serve(t, 200, vectorOne, nil)
	env := func(v string) func(string) string {
		return func(key string) string {
			if key != AddressEnv {
				t.Errorf("read %s", key)
			}
			return v
		}
	}
	cases := []struct {
		name, address, env string
		wantMessage        string
	}{
		{"from the metric", s.URL, "http://ignored:1", ""},
		{"from the environment", "", s.URL, ""},
		{"nowhere", "", "", "query prometheus: prometheus address is not configured: set provider.prometheus.address or ARGO_ROLLOUTS_PROMETHEUS_ADDRESS"},
		{"not a URL", "prometheus:9090/x", "", "query prometheus: prometheus address prometheus:9090/x is not a URL"},
		{"relative", "/api", "", "query prometheus: prometheus address /api is not a URL"},
	}
	for _, c := range cases {
		got := run(t, &Provider{Getenv: env(c.env)}, metric(c.address, "result[0] > 0.9", ""))
		if got.Message != c.wantMessage || (c.wantMessage == "") != (got.Phase == v1alpha1.AnalysisPhaseSuccessful) {
			t.Errorf("%s: got %s %q, want %q", c.name, got.Phase, got.Message, c.wantMessage)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	s := providertest.Serve(t, 200, vectorOne, func(*http.Request) { t.Error("no request expected") })
	negative := int64(-1)
	cases := []struct {
		name   string
		modify func(*v1alpha1.PrometheusMetric)
		want   string
	}{
		{"negative timeout", func(p *v1alpha1.PrometheusMetric) { p.Timeout = &negative }, "prometheus timeout should not be negative"},
		{"sigv4 and basic auth", func(p *v1alpha1.PrometheusMetric) {
			p.Address = s.URL + "/workspaces/aps-workspaces/ws-1"
			p.Authentication.Sigv4 = v1alpha1.Sigv4Config{Region: "eu-west-1"}
			p.Authentication.BasicAuth = &v1alpha1.BasicAuth{Username: "u", Password: "p"}
		}, "set either sigv4 or basicAuth/oauth2 under authentication, not both: each needs the Authorization header"},
		{"sigv4 and oauth2", func(p *v1alpha1.PrometheusMetric) {
			p.Address = s.URL + "/workspaces/aps-workspaces/ws-1"
			p.Authentication.Sigv4 = v1alpha1.Sigv4Config{Region: "eu-west-1"}
			p.Authentication.OAuth2 = v1alpha1.OAuth2Config{TokenURL: s.URL + "/token", ClientID: "id", ClientSecret: "s"}
		}, "set either sigv4 or basicAuth/oauth2 under authentication, not both: each needs the Authorization header"},
		{"oauth2 without a secret", func(p *v1alpha1.PrometheusMetric) {
			p.Authentication.OAuth2 = v1alpha1.OAuth2Config{TokenURL: s.URL + "/token", ClientID: "id"}
		}, "oauth2 needs tokenUrl, clientId and clientSecret"},
	}
	for _, c := range cases {
		m := metric(s.URL, "true", "")
		c.modify(m.Provider.Prometheus)
		got := run(t, New(), m)
		if got.Phase != v1alpha1.AnalysisPhaseError || !strings.HasSuffix(got.Message, ": "+c.want) {
			t.Errorf("%s: got %s %q, want Error ending %q", c.name, got.Phase, got.Message, c.want)
		}
	}
	if got := run(t, New(), v1alpha1.Metric{Name: "x"}); got.Phase != v1alpha1.AnalysisPhaseError {
		t.Errorf("metric without provider: %s", got.Phase)
	}
}

func TestInsecure(t *testing.T) {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, vectorOne)
	}))
	defer s.Close()
	m := metric(s.URL, "result[0] > 0.9", "")
	if got := run(t, New(), m); got.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(got.Message, "certificate") {
		t.Errorf("verified TLS to a self-signed server: %s %q", got.Phase, got.Message)
	}
	m.Provider.Prometheus.Insecure = true
	if got := run(t, New(), m); got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("insecure: %s %q", got.Phase, got.Message)
	}
}

func TestOAuth2(t *testing.T) {
	tokens := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		tokens++
		id, secret, _ := r.BasicAuth()
		if id != "rollouts" || secret != "s3cret" || r.PostFormValue("grant_type") != "client_credentials" || r.PostFormValue("scope") != "read write" {
			t.Errorf("token request: %q %q %v", id, secret, r.PostForm)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-" + strconv.Itoa(tokens), "token_type": "bearer", "expires_in": 3600})
	})
	mux.HandleFunc("/api/v1/query", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer tok-1" {
			t.Errorf("Authorization %q", got)
		}
		io.WriteString(w, vectorOne)
	})
	s := httptest.NewServer(mux)
	defer s.Close()
	m := metric(s.URL, "result[0] > 0.9", "")
	m.Provider.Prometheus.Authentication.OAuth2 = v1alpha1.OAuth2Config{TokenURL: s.URL + "/token", ClientID: "rollouts", ClientSecret: "s3cret", Scopes: []string{"read", "write"}}
	if got := run(t, New(), m); got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("got %s %q", got.Phase, got.Message)
	}
}

func TestFallsBackToGet(t *testing.T) {
	var methods []string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		methods = append(methods, r.Method)
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Query().Get("query") == "" {
			t.Error("GET without query parameter")
		}
		io.WriteString(w, vectorOne)
	}))
	defer s.Close()
	got := run(t, New(), metric(s.URL, "result[0] > 0.9", ""))
	if got.Phase != v1alpha1.AnalysisPhaseSuccessful || fmt.Sprint(methods) != "[POST GET]" {
		t.Errorf("got %s %q after %v", got.Phase, got.Message, methods)
	}
}

func TestMetadata(t *testing.T) {
	p := New()
	m := metric("http://prometheus:9090", "", "")
	if got := p.Metadata(m); len(got) != 1 || got[ResolvedQueryKey] != m.Provider.Prometheus.Query {
		t.Errorf("Metadata = %v", got)
	}
	m.Provider.Prometheus.Query = ""
	if got := p.Metadata(m); got != nil {
		t.Errorf("Metadata without query = %v", got)
	}
	if p.Type() != "Prometheus" {
		t.Errorf("Type = %q", p.Type())
	}
}

// The client reads an answer whole; a misdirected address must not make
// the controller read gigabytes.
func TestBodyLimit(t *testing.T) {
	huge := `{"status":"success","data":{"resultType":"vector","result":[` + strings.Repeat(`{"metric":{},"value":[1,"1"]},`, 11<<20/30) + `]}}`
	s := providertest.Serve(t, 200, huge, nil)
	got := run(t, New(), metric(s.URL, "true", ""))
	providertest.ExpectError(t, got, "query prometheus at "+s.URL+": response body is larger than 10485760 bytes")
}

// TestQueryRange: the entry point for providers built on series sends a
// range query with the given window and the server's settings, hands back
// the matrix, and names the field to set when no address is configured.
func TestQueryRange(t *testing.T) {
	start := time.Unix(1767268740, 0)
	r := promv1.Range{Start: start, End: start.Add(time.Minute), Step: 15 * time.Second}
	const q = `histogram_quantile(0.95, sum by (le, pod) (rate(http_request_duration_seconds_bucket[30s])))`
	s := providertest.Serve(t, 200, matrix, func(req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/api/v1/query_range" {
			t.Errorf("%s %s, want POST /api/v1/query_range", req.Method, req.URL.Path)
		}
		if req.PostFormValue("query") != q || req.PostFormValue("start") != "1767268740" || req.PostFormValue("end") != "1767268800" || req.PostFormValue("step") != "15" {
			t.Errorf("form %v", req.PostForm)
		}
		if req.Header.Get("X-Scope-OrgID") != "tenant" {
			t.Errorf("header X-Scope-OrgID %q, want the configured one", req.Header.Get("X-Scope-OrgID"))
		}
	})
	cfg := &v1alpha1.PrometheusMetric{Address: s.URL, Headers: []v1alpha1.WebMetricHeader{{Key: "X-Scope-OrgID", Value: "tenant"}}}
	m, _, err := New().QueryRange(context.Background(), cfg, "judge.prometheus.address", q, r)
	if err != nil || len(m) != 2 || len(m[0].Values) != 2 || m[1].Values[0].Value != 1e-05 {
		t.Fatalf("got %v, %v; want the two series of the answer", m, err)
	}

	vector := providertest.Serve(t, 200, vectorOne, nil)
	_, _, err = New().QueryRange(context.Background(), &v1alpha1.PrometheusMetric{Address: vector.URL}, "f", q, r)
	if want := "query prometheus at " + vector.URL + ": a range query answered a vector, not a matrix"; err == nil || err.Error() != want {
		t.Errorf("vector answer: %v, want %q", err, want)
	}
	p := &Provider{Getenv: func(string) string { return "" }}
	_, _, err = p.QueryRange(context.Background(), &v1alpha1.PrometheusMetric{}, "judge.prometheus.address", q, r)
	if want := "query prometheus: prometheus address is not configured: set judge.prometheus.address or " + AddressEnv; err == nil || err.Error() != want {
		t.Errorf("no address: %v, want %q", err, want)
	}
}
