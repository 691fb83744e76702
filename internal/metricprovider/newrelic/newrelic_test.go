package newrelic

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

const (
	apiKey    = "NRAK-0123456789ABCDEFGHIJKLMNOPQ"
	accountID = 3141592
	home      = "aviary-system"
	nrql      = "SELECT count(*) FROM Transaction WHERE appName = 'web' AND error IS true SINCE 5 minutes ago"
)

// rows is NerdGraph's answer carrying the given NRQL results.
func rows(results string) string {
	return `{"data": {"actor": {"account": {"nrql": {"results": ` + results + `}}}}}`
}

// standIn answers like NerdGraph after checking the request is the one
// Argo Rollouts sends: the NRQL document with the account, query and
// timeout as variables, and the key in API-Key.
func standIn(t *testing.T, wantTimeout int, status int, body string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/graphql" || r.URL.RawQuery != "" {
			t.Errorf("request %s %s", r.Method, r.URL)
		}
		if r.Header.Get("API-Key") != apiKey || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("API-Key %q Content-Type %q", r.Header.Get("API-Key"), r.Header.Get("Content-Type"))
		}
		var req struct {
			Query     string         `json:"query"`
			Variables map[string]any `json:"variables"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Fatalf("body: %v", err)
		}
		if !strings.Contains(req.Query, "account(id: $accountId)") || !strings.Contains(req.Query, "nrql(query: $query, timeout: $timeout)") ||
			!strings.Contains(req.Query, "results") {
			t.Errorf("document %q", req.Query)
		}
		want := map[string]any{"accountId": float64(accountID), "query": nrql, "timeout": float64(wantTimeout)}
		if g, w := mustJSON(t, req.Variables), mustJSON(t, want); g != w {
			t.Errorf("variables %s, want %s", g, w)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func profile(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: home, Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func settings(nerdgraph string) map[string]string {
	return map[string]string{"personal-api-key": apiKey, "account-id": "3141592", "region": "us", "base-url-nerdgraph": nerdgraph}
}

func provider(secrets ...*corev1.Secret) *Provider {
	b := fake.NewClientBuilder()
	for _, s := range secrets {
		b = b.WithObjects(s)
	}
	return &Provider{Secrets: b.Build(), Home: home, Clock: providertest.Clock}
}

func measure(p *Provider, cfg v1alpha1.NewRelicMetric, success, failure string) v1alpha1.Measurement {
	metric := v1alpha1.Metric{Name: "errors", SuccessCondition: success, FailureCondition: failure,
		Provider: v1alpha1.MetricProvider{NewRelic: &cfg}}
	return p.Run(context.Background(), &v1alpha1.AnalysisRun{}, metric)
}

func TestWire(t *testing.T) {
	const noRows = "no results returned from NRQL query"
	const keyToCheck = "check personal-api-key in Secret aviary-system/newrelic (a User key with access to the account in account-id)"
	cases := []struct {
		name             string
		status           int
		body             string
		success, failure string
		phase            v1alpha1.AnalysisPhase
		value, message   string // message: a part of it
	}{
		{"one row passes", 200, rows(`[{"count": 10}]`), "result.count == 10", "result.count != 10",
			v1alpha1.AnalysisPhaseSuccessful, `{"count":10}`, ""},
		{"one row fails", 200, rows(`[{"count": 42}]`), "result.count == 10", "result.count != 10",
			v1alpha1.AnalysisPhaseFailed, `{"count":42}`, ""},
		{"several select terms", 200, rows(`[{"count": 10, "average.duration": 12.34}]`),
			"result.count == 10 and result['average.duration'] < 15.0", "", v1alpha1.AnalysisPhaseSuccessful, `{"average.duration":12.34,"count":10}`, ""},
		{"percentiles", 200, rows(`[{"percentile.duration": {"95": 0.31, "99": 0.92}}]`),
			"result['percentile.duration']['95'] < 0.5", "", v1alpha1.AnalysisPhaseSuccessful, `{"percentile.duration":{"95":0.31,"99":0.92}}`, ""},
		{"time series rows are a list", 200,
			rows(`[{"beginTimeSeconds": 1772366562, "endTimeSeconds": 1772366622, "count": 10}, {"beginTimeSeconds": 1772366622, "endTimeSeconds": 1772366682, "count": 20}, {"beginTimeSeconds": 1772366682, "endTimeSeconds": 1772366742, "count": 30}]`),
			"result[0].count == 10", "result[2].count < 20", v1alpha1.AnalysisPhaseSuccessful,
			`[{"beginTimeSeconds":1772366562,"count":10,"endTimeSeconds":1772366622},{"beginTimeSeconds":1772366622,"count":20,"endTimeSeconds":1772366682},{"beginTimeSeconds":1772366682,"count":30,"endTimeSeconds":1772366742}]`, ""},
		{"facets are a list", 200, rows(`[{"facet": "web", "appName": "web", "count": 3}, {"facet": "api", "appName": "api", "count": 9}]`),
			"all(result, {.count < 10})", "", v1alpha1.AnalysisPhaseSuccessful,
			`[{"appName":"web","count":3,"facet":"web"},{"appName":"api","count":9,"facet":"api"}]`, ""},
		{"no rows", 200, rows(`[]`), "result.count == 10", "", v1alpha1.AnalysisPhaseError, "", noRows},
		{"one empty row", 200, rows(`[{}]`), "result.count == 10", "", v1alpha1.AnalysisPhaseError, "", noRows},
		{"no nrql", 200, `{"data": {"actor": {"account": {"nrql": null}}}}`, "result.count == 10", "", v1alpha1.AnalysisPhaseError, "", noRows},
		{"deprecation notice with rows", 200, `{"data": {"actor": {"account": {"nrql": {"results": [{"count": 10}]}}}},
		  "errors": [{"message": "This field is deprecated! Please use ` + "`nrql`" + ` instead."}]}`, "result.count == 10", "",
			v1alpha1.AnalysisPhaseSuccessful, `{"count":10}`, ""},
		{"NRQL syntax error", 200, `{"data": {"actor": {"account": {"nrql": null}}},
		  "errors": [{"extensions": {"errorClass": "INVALID_INPUT"}, "locations": [{"column": 7, "line": 6}],
		    "message": "NRQL Syntax Error: Error at line 1 position 16, unexpected 'FRM'", "path": ["actor", "account", "nrql"]}]}`,
			"result.count == 10", "", v1alpha1.AnalysisPhaseError, "", "query failed (HTTP 200: NRQL Syntax Error: Error at line 1 position 16, unexpected 'FRM')"},
		{"rows with an error are not trusted", 200, `{"data": {"actor": {"account": {"nrql": {"results": [{"count": 10}]}}}},
		  "errors": [{"extensions": {"errorClass": "SERVER_ERROR"}, "message": "Partial results: one shard did not answer"}]}`,
			"result.count == 10", "", v1alpha1.AnalysisPhaseError, "", "query failed (HTTP 200: Partial results: one shard did not answer)"},
		{"NRQL timeout", 200, `{"data": {"actor": {"account": {"nrql": null}}},
		  "errors": [{"extensions": {"errorClass": "TIMEOUT"}, "message": "NRDB query duration exceeded the timeout", "path": ["actor", "account", "nrql"]}]}`,
			"result.count == 10", "", v1alpha1.AnalysisPhaseError, "",
			"the NRQL query did not finish within its 5s timeout (HTTP 200: NRDB query duration exceeded the timeout): raise the metric's timeout or narrow the query"},
		{"bad API key", 401, `{"errors": [{"extensions": {"error_code": "BAD_API_KEY"}, "message": "Bad API Key or no API Key provided"}]}`,
			"result.count == 10", "", v1alpha1.AnalysisPhaseError, "", "API key refused (HTTP 401: Bad API Key or no API Key provided): " + keyToCheck},
		{"bad API key with 200", 200, `{"errors": [{"extensions": {"error_code": "BAD_API_KEY"}, "message": "Bad API Key or no API Key provided"}]}`,
			"result.count == 10", "", v1alpha1.AnalysisPhaseError, "", "API key refused (HTTP 200: Bad API Key or no API Key provided): " + keyToCheck},
		{"rate limited", 429, `{"errors": [{"message": "Too many requests"}]}`,
			"result.count == 10", "", v1alpha1.AnalysisPhaseError, "", "rate limited (HTTP 429: Too many requests): measure less often"},
		{"rate limited with 200", 200, `{"data": null, "errors": [{"extensions": {"errorClass": "TOO_MANY_REQUESTS"}, "message": "Too many concurrent NRQL queries"}]}`,
			"result.count == 10", "", v1alpha1.AnalysisPhaseError, "", "rate limited (HTTP 200: Too many concurrent NRQL queries)"},
		{"server error", 502, `<html><head><title>502 Bad Gateway</title></head></html>`,
			"result.count == 10", "", v1alpha1.AnalysisPhaseError, "", "server error (HTTP 502: <html><head><title>502 Bad Gateway</title></head></html>)"},
		{"not JSON", 200, `OK`, "result.count == 10", "", v1alpha1.AnalysisPhaseError, "", "decode the response: invalid character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := standIn(t, 5, c.status, c.body)
			m := measure(provider(profile("newrelic", settings(s.URL+"/graphql"))), v1alpha1.NewRelicMetric{Query: nrql}, c.success, c.failure)
			if m.Phase != c.phase || m.Value != c.value || !strings.Contains(m.Message, c.message) || (c.message == "") != (m.Message == "") {
				t.Errorf("got %s value %q message %q\nwant %s value %q message containing %q", m.Phase, m.Value, m.Message, c.phase, c.value, c.message)
			}
			if c.phase == v1alpha1.AnalysisPhaseError && c.message != noRows && !strings.HasPrefix(m.Message, "query newrelic at "+s.URL+"/graphql: ") {
				t.Errorf("message %q does not say which server", m.Message)
			}
			if strings.Contains(m.Message+m.Value, apiKey) {
				t.Errorf("the key leaked: %q %q", m.Message, m.Value)
			}
		})
	}
}

func TestTimeoutVariable(t *testing.T) {
	seven, zero := int64(7), int64(0)
	for _, c := range []struct {
		timeout *int64
		want    int
	}{{nil, 5}, {&seven, 7}, {&zero, 0}} {
		s := standIn(t, c.want, 200, rows(`[{"count": 1}]`))
		m := measure(provider(profile("newrelic", settings(s.URL+"/graphql"))), v1alpha1.NewRelicMetric{Query: nrql, Timeout: c.timeout}, "result.count == 1", "")
		if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
			t.Errorf("timeout %v: %s %q", c.timeout, m.Phase, m.Message)
		}
	}
	negative := int64(-1)
	providertest.ExpectError(t, measure(provider(), v1alpha1.NewRelicMetric{Query: nrql, Timeout: &negative}, "true", ""),
		"newRelic metric: timeout -1 is negative: set a number of seconds, or leave it out for 5")
}

func TestNoAnswer(t *testing.T) {
	s := providertest.Hang(t)
	p := provider(profile("newrelic", settings(s.URL+"/graphql")))
	p.HTTPLeeway = 200 * time.Millisecond
	zero := int64(0)
	providertest.ExpectError(t, measure(p, v1alpha1.NewRelicMetric{Query: nrql, Timeout: &zero}, "true", ""),
		"query newrelic at "+s.URL+"/graphql: no response within the 200ms timeout")

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	m := measure(provider(profile("newrelic", settings(dead.URL+"/graphql"))), v1alpha1.NewRelicMetric{Query: nrql}, "true", "")
	if m.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(m.Message, "connection refused") {
		t.Errorf("dead server: %s %q", m.Phase, m.Message)
	}
}

func TestProfile(t *testing.T) {
	s := standIn(t, 5, 200, rows(`[{"count": 1}]`))
	team := profile("nr-team", settings(s.URL+"/graphql"))
	m := measure(provider(team, profile("newrelic", map[string]string{"personal-api-key": "wrong", "account-id": "1", "base-url-nerdgraph": "http://127.0.0.1:1"})),
		v1alpha1.NewRelicMetric{Profile: "nr-team", Query: nrql}, "result.count == 1", "")
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful || m.Value != `{"count":1}` {
		t.Errorf("profile nr-team: %s %q %q", m.Phase, m.Value, m.Message)
	}

	for _, c := range []struct {
		name    string
		secret  *corev1.Secret
		message string
	}{
		{"no Secret", nil, "query newrelic: profile: no Secret aviary-system/newrelic: create it in the controller's namespace"},
		{"no account", profile("newrelic", map[string]string{"personal-api-key": apiKey}),
			"query newrelic: profile: no value for account-id in Secret aviary-system/newrelic"},
		{"account not a number", profile("newrelic", map[string]string{"personal-api-key": apiKey, "account-id": "acme"}),
			"query newrelic: profile: account-id in Secret aviary-system/newrelic is not an account number"},
		{"unknown region", profile("newrelic", map[string]string{"personal-api-key": apiKey, "account-id": "1", "region": "mars"}),
			`query newrelic: profile: region "mars" in Secret aviary-system/newrelic is not one of us, eu, jp, gov: fix it, or set base-url-nerdgraph`},
		{"bad NerdGraph URL", profile("newrelic", map[string]string{"personal-api-key": apiKey, "account-id": "1", "base-url-nerdgraph": "api.newrelic.com"}),
			"query newrelic: profile: base-url-nerdgraph in Secret aviary-system/newrelic: New Relic NerdGraph address api.newrelic.com is not a URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := provider()
			if c.secret != nil {
				p = provider(c.secret)
			}
			providertest.ExpectError(t, measure(p, v1alpha1.NewRelicMetric{Query: nrql}, "true", ""), c.message)
		})
	}
}

// TestRegion checks which NerdGraph a profile without base-url-nerdgraph
// reaches: its region's, US by default.
func TestRegion(t *testing.T) {
	for region, want := range map[string]string{
		"":    "https://api.newrelic.com/graphql",
		"us":  "https://api.newrelic.com/graphql",
		"EU":  "https://api.eu.newrelic.com/graphql",
		"eu":  "https://api.eu.newrelic.com/graphql",
		"jp":  "https://api.jp.newrelic.com/graphql",
		"gov": "https://gov-api.newrelic.com/graphql",
	} {
		data := map[string]string{"personal-api-key": apiKey, "account-id": "1", "base-url-rest": "https://api.eu.newrelic.com/v2"}
		if region != "" {
			data["region"] = region
		}
		a, err := provider(profile("newrelic", data)).account(context.Background(), "newrelic")
		if err != nil || a.url != want || a.id != 1 {
			t.Errorf("region %q: %+v %v, want %s", region, a.url, err, want)
		}
	}
}

func TestMetadata(t *testing.T) {
	metric := v1alpha1.Metric{Provider: v1alpha1.MetricProvider{NewRelic: &v1alpha1.NewRelicMetric{Query: nrql}}}
	if got := New(nil, home).Metadata(metric); got[ResolvedQueryKey] != nrql || len(got) != 1 {
		t.Errorf("metadata %v", got)
	}
}
