package datadog

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

const (
	apiKey = "dd-api-0123456789abcdef"
	appKey = "dd-app-0123456789abcdef0123"
	home   = "aviary-system"
	runNS  = "shop"
)

// The window Datadog is asked for: the 5 minutes to providertest.At.
var (
	to   = providertest.At.Unix()
	from = to - 300
)

// v1Body is GET /api/v1/query's answer with one series whose points are
// given as JSON ("[1, 0.5], [2, null]").
func v1Body(points string) string {
	return `{"status": "ok", "res_type": "time_series", "resp_version": 1,
	  "query": "avg:errors{service:web}", "message": "", "group_by": [],
	  "from_date": 1772366562000, "to_date": 1772366862000,
	  "series": [{"metric": "errors", "display_name": "errors", "aggr": "avg", "scope": "service:web",
	    "expression": "avg:errors{service:web}", "unit": null, "interval": 20, "length": 2,
	    "start": 1772366580000, "end": 1772366860000, "query_index": 0, "tag_set": [], "attributes": {},
	    "pointlist": [` + points + `]}],
	  "values": [], "times": []}`
}

// v2Body is POST /api/v2/query/scalar's answer with the given columns.
func v2Body(columns string) string {
	return `{"data": {"type": "scalar_response", "attributes": {"columns": [` + columns + `]}}}`
}

func numberColumn(values string) string {
	return `{"name": "query", "type": "number", "values": ` + values + `,
	  "meta": {"unit": [{"family": "percentage", "id": 17, "name": "percent", "plural": "percent", "scale_factor": 1, "short_name": "%"}, null]}}`
}

// standIn answers like Datadog after checking the request is the one
// Argo Rollouts sends for cfg with the test keys.
func standIn(t *testing.T, cfg v1alpha1.DatadogMetric, status int, body string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, cfg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func checkRequest(t *testing.T, r *http.Request, cfg v1alpha1.DatadogMetric) {
	t.Helper()
	if r.Header.Get("DD-API-KEY") != apiKey || r.Header.Get("DD-APPLICATION-KEY") != appKey {
		t.Errorf("keys DD-API-KEY %q DD-APPLICATION-KEY %q", r.Header.Get("DD-API-KEY"), r.Header.Get("DD-APPLICATION-KEY"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cfg.ApiVersion != "v2" {
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/query" || len(q) != 3 || q.Get("query") != cfg.Query ||
			q.Get("from") != itoa(from) || q.Get("to") != itoa(to) {
			t.Errorf("v1 request %s %s", r.Method, r.URL)
		}
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/query/scalar" || r.URL.RawQuery != "" {
		t.Errorf("v2 request %s %s", r.Method, r.URL)
	}
	var got map[string]any
	if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
		t.Fatalf("v2 body: %v", err)
	}
	queries := cfg.Queries
	if cfg.Query != "" {
		queries = map[string]string{"query": cfg.Query}
	}
	aggregator := cfg.Aggregator
	if aggregator == "" {
		aggregator = "last"
	}
	var wantQueries []any
	for _, name := range []string{"a", "b", "query"} {
		if q, ok := queries[name]; ok {
			wantQueries = append(wantQueries, map[string]any{"aggregator": aggregator, "data_source": "metrics", "name": name, "query": q})
		}
	}
	wantFormulas := []any{}
	if cfg.Formula != "" {
		wantFormulas = append(wantFormulas, map[string]any{"formula": cfg.Formula})
	}
	want := map[string]any{"data": map[string]any{
		"type": "scalar_request",
		"attributes": map[string]any{
			"from": float64(from * 1000), "to": float64(to * 1000),
			"queries": wantQueries, "formulas": wantFormulas,
		},
	}}
	if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
		t.Errorf("v2 body\n got %s\nwant %s", g, w)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func secret(namespace, name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func provider(env map[string]string, objs ...client.Object) *Provider {
	return &Provider{
		Secrets: fake.NewClientBuilder().WithObjects(objs...).Build(),
		Home:    home,
		Clock:   providertest.Clock,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
	}
}

func measure(p *Provider, cfg v1alpha1.DatadogMetric, success, failure string) v1alpha1.Measurement {
	metric := v1alpha1.Metric{Name: "errors", SuccessCondition: success, FailureCondition: failure,
		Provider: v1alpha1.MetricProvider{Datadog: &cfg}}
	return p.Run(context.Background(), &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: runNS, Name: "run"}}, metric)
}

func TestWire(t *testing.T) {
	v1 := v1alpha1.DatadogMetric{ApiVersion: "v1", Interval: "5m", Query: "avg:errors{service:web}"}
	v2 := v1alpha1.DatadogMetric{ApiVersion: "v2", Interval: "5m", Query: "avg:errors{service:web}"}
	formula := v1alpha1.DatadogMetric{ApiVersion: "v2", Interval: "5m", Aggregator: "sum", Formula: "a/b",
		Queries: map[string]string{"a": "sum:errors{service:web}.as_count()", "b": "sum:requests{service:web}.as_count()"}}
	const noData = "no data returned from the metric provider"
	const keysToCheck = "check that the keys api-key and app-key of Secret aviary-system/datadog hold a valid API key and an application key allowed to query metrics"
	cases := []struct {
		name             string
		cfg              v1alpha1.DatadogMetric
		status           int
		body             string
		success, failure string
		phase            v1alpha1.AnalysisPhase
		value, message   string // message: a part of it
	}{
		{"v1 last point passes", v1, 200, v1Body(`[1772366580000.0, 0.4], [1772366860000.0, 0.002]`), "result < 0.01", "",
			v1alpha1.AnalysisPhaseSuccessful, "0.002", ""},
		{"v1 last point fails", v1, 200, v1Body(`[1772366580000.0, 0.001], [1772366860000.0, 0.25]`), "result < 0.01", "result >= 0.01",
			v1alpha1.AnalysisPhaseFailed, "0.25", ""},
		{"v1 null last point is skipped", v1, 200, v1Body(`[1772366580000.0, 0.003], [1772366860000.0, null]`), "result < 0.01", "",
			v1alpha1.AnalysisPhaseSuccessful, "0.003", ""},
		{"v1 no series is no data", v1, 200, `{"status": "ok", "res_type": "time_series", "series": [], "query": "q"}`, "result < 0.01", "",
			v1alpha1.AnalysisPhaseError, "[]", noData},
		{"v1 no series with a default", v1, 200, `{"status": "ok", "res_type": "time_series", "series": [], "query": "q"}`, "default(result, 0) < 0.01", "",
			v1alpha1.AnalysisPhaseSuccessful, "[]", ""},
		{"v1 no series with a failing default", v1, 200, `{"status": "ok", "series": []}`, "default(result, 1) < 0.01", "",
			v1alpha1.AnalysisPhaseFailed, "[]", ""},
		{"v1 no points is no data", v1, 200, v1Body(``), "result < 0.01", "",
			v1alpha1.AnalysisPhaseError, `[{"pointlist":[]}]`, noData},
		{"v1 only null points is no data", v1, 200, v1Body(`[1772366860000.0, null]`), "result < 0.01", "",
			v1alpha1.AnalysisPhaseError, `[{"pointlist":[[1772366860000,null]]}]`, noData},
		{"v1 malformed point", v1, 200, v1Body(`[0.5]`), "result < 0.01", "",
			v1alpha1.AnalysisPhaseError, "", "a point of the series has 1 values, not [time, value]"},
		{"v1 query error", v1, 400, `{"status": "error", "error": "Error parsing query: unable to parse avg:errors{: Rule 'scope_expr' didn't match"}`, "result < 0.01", "",
			v1alpha1.AnalysisPhaseError, "", "query rejected (HTTP 400: Error parsing query: unable to parse avg:errors{: Rule 'scope_expr' didn't match)"},
		{"v1 authentication failure", v1, 403, `{"errors": ["Forbidden"]}`, "result < 0.01", "",
			v1alpha1.AnalysisPhaseError, "", "credentials refused (HTTP 403: Forbidden): " + keysToCheck},
		{"v1 rate limited", v1, 429, `{"errors": ["Rate limit of 300 requests in 3600 seconds reached. Please try again later."]}`, "result < 0.01", "",
			v1alpha1.AnalysisPhaseError, "", "rate limited (HTTP 429: Rate limit of 300 requests in 3600 seconds reached. Please try again later.): measure less often"},
		{"v1 server error", v1, 503, `<html><body>503 Service Unavailable</body></html>`, "result < 0.01", "",
			v1alpha1.AnalysisPhaseError, "", "server error (HTTP 503: <html><body>503 Service Unavailable</body></html>)"},
		{"v1 not JSON", v1, 200, `OK`, "result < 0.01", "",
			v1alpha1.AnalysisPhaseError, "", "decode the v1 response: invalid character"},

		{"v2 value passes", v2, 200, v2Body(numberColumn(`[0.0006332881882246533]`)), "result < 0.001", "result >= 0.001",
			v1alpha1.AnalysisPhaseSuccessful, "0.0006332881882246533", ""},
		{"v2 value fails", v2, 200, v2Body(numberColumn(`[0.006121374442186943]`)), "result < 0.001", "result >= 0.001",
			v1alpha1.AnalysisPhaseFailed, "0.006121374442186943", ""},
		{"v2 formula over two queries", formula, 200, v2Body(numberColumn(`[0.02]`)), "result <= 0.05", "",
			v1alpha1.AnalysisPhaseSuccessful, "0.02", ""},
		{"v2 group column comes first", v2, 200,
			v2Body(`{"name": "service", "type": "group", "values": [["web"], ["api"]]}, ` + numberColumn(`[0.004, 0.2]`)), "result < 0.01", "",
			v1alpha1.AnalysisPhaseSuccessful, "0.004", ""},
		{"v2 no values is no data", v2, 200, v2Body(numberColumn(`[]`)), "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "[]", noData},
		{"v2 no values with a default", v2, 200, v2Body(numberColumn(`[]`)), "default(result, 0) < 0.05", "",
			v1alpha1.AnalysisPhaseSuccessful, "[]", ""},
		{"v2 null value is no data", v2, 200, v2Body(numberColumn(`[null]`)), "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "[null]", noData},
		{"v2 no columns is no data", v2, 200, v2Body(``), "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "[]", noData},
		{"v2 errors with values", v2, 200, `{"data": {"type": "scalar_response", "attributes": {"columns": [` + numberColumn(`[0.001]`) + `]}},
		  "errors": "Error parsing query: metric sum:requests not found"}`, "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "", "errors in the answer: Error parsing query: metric sum:requests not found"},
		{"v2 errors where Argo Rollouts reads them", v2, 200, `{"data": {"attributes": {"columns": []}, "errors": "unknown metric"}}`, "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "", "errors in the answer: unknown metric"},
		{"v2 values not numbers", v2, 200, v2Body(`{"name": "query", "type": "number", "values": "invalid"}`), "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "", `decode the values of column "query"`},
		{"v2 bad request", v2, 400, `{"errors": ["Invalid query: aggregator 'median' is not supported"]}`, "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "", "query rejected (HTTP 400: Invalid query: aggregator 'median' is not supported)"},
		{"v2 authentication failure", v2, 401, `{"errors": ["Unauthorized"]}`, "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "", "credentials refused (HTTP 401: Unauthorized): " + keysToCheck},
		{"v2 rate limited", v2, 429, `{"errors": ["Too many requests"]}`, "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "", "rate limited (HTTP 429: Too many requests)"},
		{"v2 server error", v2, 500, `{"errors": ["Internal Server Error"]}`, "result < 0.05", "",
			v1alpha1.AnalysisPhaseError, "", "server error (HTTP 500: Internal Server Error)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := standIn(t, c.cfg, c.status, c.body)
			p := provider(nil, secret(home, "datadog", map[string]string{"api-key": apiKey, "app-key": appKey, "address": s.URL}))
			m := measure(p, c.cfg, c.success, c.failure)
			if m.Phase != c.phase || m.Value != c.value || !strings.Contains(m.Message, c.message) || (c.message == "") != (m.Message == "") {
				t.Errorf("got %s value %q message %q\nwant %s value %q message containing %q", m.Phase, m.Value, m.Message, c.phase, c.value, c.message)
			}
			if c.phase == v1alpha1.AnalysisPhaseError && !strings.HasPrefix(m.Message, "query datadog at "+s.URL+": ") && c.message != noData {
				t.Errorf("message %q does not say which server", m.Message)
			}
			if strings.Contains(m.Message+m.Value, apiKey) || strings.Contains(m.Message+m.Value, appKey) {
				t.Errorf("a key leaked: %q %q", m.Message, m.Value)
			}
			if m.StartedAt == nil || m.FinishedAt == nil {
				t.Errorf("not stamped: %+v", m)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	s := providertest.Hang(t)
	cfg := v1alpha1.DatadogMetric{ApiVersion: "v2", Interval: "5m", Query: "avg:errors{*}", RequestTimeout: "200ms"}
	p := provider(map[string]string{"DD_API_KEY": apiKey, "DD_APP_KEY": appKey, "DD_ADDRESS": s.URL})
	providertest.ExpectError(t, measure(p, cfg, "result < 1", ""), "query datadog at "+s.URL+": no response within the 200ms timeout")
}

func TestDeadServer(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	p := provider(map[string]string{"DD_API_KEY": apiKey, "DD_APP_KEY": appKey, "DD_ADDRESS": s.URL})
	m := measure(p, v1alpha1.DatadogMetric{Query: "avg:errors{*}"}, "result < 1", "")
	if m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "connection refused") {
		t.Errorf("got %s %q", m.Phase, m.Message)
	}
}

// TestCredentials follows Argo Rollouts' search: a named Secret alone, or
// the environment (all three variables) before Secret datadog in home.
func TestCredentials(t *testing.T) {
	cfg := v1alpha1.DatadogMetric{Interval: "5m", Query: "avg:errors{service:web}"}
	named := func(name string, namespaced bool) v1alpha1.DatadogMetric {
		c := cfg
		c.SecretRef = v1alpha1.SecretRef{Name: name, Namespaced: namespaced}
		return c
	}
	keys := func(address string) map[string]string {
		return map[string]string{"api-key": apiKey, "app-key": appKey, "address": address}
	}
	wrongKeys := map[string]string{"api-key": "wrong", "app-key": "wrong", "address": "http://127.0.0.1:1"}
	cases := []struct {
		name    string
		cfg     v1alpha1.DatadogMetric
		env     func(url string) map[string]string
		secrets func(url string) []client.Object
		message string // empty: the query reaches the stand-in
	}{
		{"default Secret", cfg, nil,
			func(u string) []client.Object { return []client.Object{secret(home, "datadog", keys(u))} }, ""},
		{"environment before the default Secret", cfg,
			func(u string) map[string]string {
				return map[string]string{"DD_API_KEY": apiKey, "DD_APP_KEY": appKey, "DD_ADDRESS": u}
			},
			func(string) []client.Object { return []client.Object{secret(home, "datadog", wrongKeys)} }, ""},
		{"environment without DD_ADDRESS is not used", cfg,
			func(string) map[string]string { return map[string]string{"DD_API_KEY": "wrong", "DD_APP_KEY": "wrong"} },
			func(u string) []client.Object { return []client.Object{secret(home, "datadog", keys(u))} }, ""},
		{"named Secret in home, not the environment", named("dd-team", false),
			func(string) map[string]string {
				return map[string]string{"DD_API_KEY": "wrong", "DD_APP_KEY": "wrong", "DD_ADDRESS": ""}
			},
			func(u string) []client.Object {
				return []client.Object{secret(home, "dd-team", keys(u)), secret(runNS, "dd-team", wrongKeys)}
			}, ""},
		{"namespaced Secret in the run's namespace", named("dd-team", true), nil,
			func(u string) []client.Object {
				return []client.Object{secret(runNS, "dd-team", keys(u)), secret(home, "dd-team", wrongKeys)}
			}, ""},
		{"namespaced needs a name", named("", true), nil, nil,
			"query datadog: secretRef.namespaced needs secretRef.name: name the Secret in the AnalysisRun's namespace"},
		{"named Secret missing", named("dd-team", true), nil,
			func(u string) []client.Object { return []client.Object{secret(home, "dd-team", keys(u))} },
			"query datadog: no Secret shop/dd-team with keys api-key and app-key"},
		{"nothing anywhere", cfg, nil, nil,
			"query datadog: the controller's environment does not set all of DD_API_KEY, DD_APP_KEY and DD_ADDRESS; and no Secret aviary-system/datadog with keys api-key and app-key"},
		{"Secret without an application key", cfg, nil,
			func(u string) []client.Object {
				return []client.Object{secret(home, "datadog", map[string]string{"api-key": apiKey, "address": u})}
			},
			"query datadog: the controller's environment does not set all of DD_API_KEY, DD_APP_KEY and DD_ADDRESS; and keys api-key and app-key must both be set in Secret aviary-system/datadog"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := standIn(t, c.cfg, 200, v1Body(`[1772366860000.0, 0.001]`))
			var env map[string]string
			if c.env != nil {
				env = c.env(s.URL)
			}
			var objs []client.Object
			if c.secrets != nil {
				objs = c.secrets(s.URL)
			}
			m := measure(provider(env, objs...), c.cfg, "result < 0.01", "")
			if c.message == "" && (m.Phase != v1alpha1.AnalysisPhaseSuccessful || m.Value != "0.001") {
				t.Errorf("got %s %q %q", m.Phase, m.Value, m.Message)
			}
			if c.message != "" {
				providertest.ExpectError(t, m, c.message)
			}
		})
	}
}

// An authentication failure with keys from the environment says to check
// the environment.
func TestAuthFailureFromEnvironment(t *testing.T) {
	cfg := v1alpha1.DatadogMetric{Query: "avg:errors{*}"}
	s := standIn(t, cfg, 403, `{"errors": ["Forbidden"]}`)
	m := measure(provider(map[string]string{"DD_API_KEY": apiKey, "DD_APP_KEY": appKey, "DD_ADDRESS": s.URL}), cfg, "result < 1", "")
	providertest.ExpectError(t, m, "query datadog at "+s.URL+": credentials refused (HTTP 403: Forbidden): "+
		"check that the environment variables DD_API_KEY and DD_APP_KEY hold a valid API key and an application key allowed to query metrics")
}

// A key echoed by a server never reaches the measurement.
func TestEchoedKeyIsRedacted(t *testing.T) {
	cfg := v1alpha1.DatadogMetric{Query: "avg:errors{*}"}
	s := standIn(t, cfg, 400, `{"errors": ["bad key `+apiKey+`"]}`)
	m := measure(provider(map[string]string{"DD_API_KEY": apiKey, "DD_APP_KEY": appKey, "DD_ADDRESS": s.URL}), cfg, "result < 1", "")
	providertest.ExpectError(t, m, "query datadog at "+s.URL+": query rejected (HTTP 400: bad key [redacted])")
}

// TestInvalidMetric checks the rules Argo Rollouts applies before it
// queries; nothing is sent.
func TestInvalidMetric(t *testing.T) {
	cases := []struct {
		cfg     v1alpha1.DatadogMetric
		message string
	}{
		{v1alpha1.DatadogMetric{}, "set query (or queries with apiVersion v2)"},
		{v1alpha1.DatadogMetric{ApiVersion: "v2", Query: "q", Queries: map[string]string{"a": "q"}}, "set either query or queries, not both"},
		{v1alpha1.DatadogMetric{ApiVersion: "v1", Queries: map[string]string{"a": "q"}, Formula: "a"}, "apiVersion v1 takes query only: set apiVersion v2 to use queries"},
		{v1alpha1.DatadogMetric{ApiVersion: "v2", Query: "q", Formula: "a"}, "formula combines queries: name them in queries"},
		{v1alpha1.DatadogMetric{ApiVersion: "v2", Queries: map[string]string{"a": "q", "b": "r"}}, "several queries need a formula that combines them into one value"},
		{v1alpha1.DatadogMetric{ApiVersion: "v1", Query: "q", Aggregator: "sum"}, "aggregator applies to apiVersion v2 only: remove it or set apiVersion v2"},
		{v1alpha1.DatadogMetric{ApiVersion: "v3", Query: "q"}, `apiVersion "v3" is not v1 or v2`},
		{v1alpha1.DatadogMetric{Query: "q", Interval: "5 minutes"}, `interval "5 minutes" is not a positive duration such as 5m`},
		{v1alpha1.DatadogMetric{Query: "q", RequestTimeout: "0s"}, `requestTimeout "0s" is not a positive duration such as 30s`},
		{v1alpha1.DatadogMetric{Query: "q", RequestTimeout: "soon"}, `requestTimeout "soon" is not a positive duration such as 30s`},
	}
	for _, c := range cases {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("%+v was sent", c.cfg)
		}))
		p := provider(map[string]string{"DD_API_KEY": apiKey, "DD_APP_KEY": appKey, "DD_ADDRESS": s.URL})
		providertest.ExpectError(t, measure(p, c.cfg, "result < 1", ""), "datadog metric: "+c.message)
		s.Close()
	}
}

func TestDefaultAddress(t *testing.T) {
	q, err := newQuery(&v1alpha1.DatadogMetric{ApiVersion: "v2", Query: "q"}, providertest.At)
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.endpoint(credentials{}.baseURL())
	if err != nil || got != "https://api.datadoghq.com/api/v2/query/scalar" {
		t.Errorf("got %q %v", got, err)
	}
	got, _ = q.endpoint("https://api.datadoghq.eu/")
	if got != "https://api.datadoghq.eu/api/v2/query/scalar" {
		t.Errorf("trailing slash: %q", got)
	}
}
