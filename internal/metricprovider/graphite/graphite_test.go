package graphite

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

// query is written over several lines, as templates often do; the spaces
// must not reach Graphite.
const query = `target=summarize(
    asPercent(app.http.5xx.count, app.http.all.count),
    '5min', 'avg')
  &from=-5min`

// sentTarget is query's target as Graphite must receive it.
const sentTarget = "summarize(asPercent(app.http.5xx.count,app.http.all.count),'5min','avg')"

// render answers are Graphite's render API JSON: a list of targets, each
// with [value, timestamp] datapoints, null where a bucket has no data.
const (
	twoPoints = `[{"target": "summarize(asPercent(...))", "tags": {"name": "app"}, "datapoints": [[1.5, 1772366400], [null, 1772366700], [0.25, 1772367000]]}]`
	highError = `[{"target": "errors", "datapoints": [[7, 1772366400]]}, {"target": "second", "datapoints": [[0, 1772366400]]}]`
	noSeries  = `[]`
	noPoints  = `[{"target": "errors", "datapoints": []}]`
	allNull   = `[{"target": "errors", "datapoints": [[null, 1772366400], [null, 1772366700]]}]`
	numStrs   = `[{"target": "errors", "datapoints": [["2.5", "1772366400"]]}]`
	nanString = `[{"target": "errors", "datapoints": [["NaN", 1772366400]]}]`
	badPair   = `[{"target": "errors", "datapoints": [[1]]}]`
)

// serve is a render endpoint answering status and body after checking the
// request is the GET Argo Rollouts sends.
func serve(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	return providertest.Serve(t, status, body, func(r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != "/graphite/render" {
			t.Errorf("%s %s, want GET /graphite/render", r.Method, r.URL.Path)
		}
		if q.Get("format") != "json" || q.Get("target") != sentTarget || q.Get("from") != "-5min" || len(q) != 3 {
			t.Errorf("query %v, want format=json, the target without spaces and from=-5min", q)
		}
		if r.Header.Get("Authorization") != "" {
			t.Error("an Authorization header was sent; the graphite provider has no credentials")
		}
	})
}

func measure(address, q, success, failure string) v1alpha1.Measurement {
	metric := v1alpha1.Metric{
		Name: "errors", SuccessCondition: success, FailureCondition: failure,
		Provider: v1alpha1.MetricProvider{Graphite: &v1alpha1.GraphiteMetric{Address: address, Query: q}},
	}
	p := &Provider{Clock: providertest.Clock, Timeout: 300 * time.Millisecond}
	return p.Run(context.Background(), &v1alpha1.AnalysisRun{}, metric)
}

func TestRun(t *testing.T) {
	cases := []struct {
		name               string
		status             int
		body               string
		success, failure   string
		wantPhase          v1alpha1.AnalysisPhase
		wantValue, wantMsg string
	}{
		{"success", 200, twoPoints, "all(result, {# < 2})", "", v1alpha1.AnalysisPhaseSuccessful, "[1.500000,0.250000]", ""},
		{"failure on the first target only", 200, highError, "result[0] < 5", "", v1alpha1.AnalysisPhaseFailed, "[7.000000]", ""},
		{"failure condition holds", 200, highError, "", "result[0] >= 5", v1alpha1.AnalysisPhaseFailed, "[7.000000]", ""},
		{"numeric strings", 200, numStrs, "result[0] == 2.5", "", v1alpha1.AnalysisPhaseSuccessful, "[2.500000]", ""},
		{"no series", 200, noSeries, "len(result) == 0", "", v1alpha1.AnalysisPhaseError, "", ": no values found: the query matched no series"},
		{"no datapoints", 200, noPoints, "all(result, {# < 2})", "", v1alpha1.AnalysisPhaseError, "",
			": no values found: target errors has no non-null datapoints in the queried window"},
		{"only nulls", 200, allNull, "all(result, {# < 2})", "", v1alpha1.AnalysisPhaseError, "",
			": no values found: target errors has no non-null datapoints in the queried window"},
		{"NaN", 200, nanString, "", "result[0] > 5", v1alpha1.AnalysisPhaseError, "", ": target errors: datapoint value is NaN"},
		{"malformed datapoint", 200, badPair, "", "", v1alpha1.AnalysisPhaseError, "", ": target errors: datapoint [1] is not a [value, timestamp] pair"},
		{"server error", 500, "<h1>Internal Server Error</h1>\n<p>ValueError</p>", "result[0] < 5", "", v1alpha1.AnalysisPhaseError, "",
			": received non-2xx response code 500: <h1>Internal Server Error</h1> <p>ValueError</p>"},
		{"bad target", 400, "Invalid target: unknown function nosuch", "result[0] < 5", "", v1alpha1.AnalysisPhaseError, "",
			": received non-2xx response code 400: Invalid target: unknown function nosuch"},
		{"auth failure at a proxy", 401, "Unauthorized", "result[0] < 5", "", v1alpha1.AnalysisPhaseError, "",
			": received non-2xx response code 401: Unauthorized"},
		{"not JSON", 200, "<html>", "result[0] < 5", "", v1alpha1.AnalysisPhaseError, "",
			": decode response: invalid character '<' looking for beginning of value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := serve(t, c.status, c.body)
			got := measure(s.URL+"/graphite", query, c.success, c.failure)
			wantMsg := c.wantMsg
			if wantMsg != "" {
				wantMsg = "query graphite at " + s.URL + "/graphite" + wantMsg
			}
			if got.Phase != c.wantPhase || got.Value != c.wantValue || got.Message != wantMsg {
				t.Errorf("got %s %q %q, want %s %q %q", got.Phase, got.Value, got.Message, c.wantPhase, c.wantValue, wantMsg)
			}
			if !got.StartedAt.Time.Equal(providertest.At) || !got.FinishedAt.Time.Equal(providertest.At) {
				t.Errorf("started %v finished %v", got.StartedAt, got.FinishedAt)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	slow := providertest.Hang(t)
	cases := []struct{ address, query, want string }{
		{"", query, "query graphite: graphite address is not configured"},
		{"graphite:8080", query, "query graphite: graphite address graphite:8080 is not a URL"},
		{"http://graphite", "from=-5min", `query graphite at http://graphite: query "from=-5min" has no target parameter`},
		{"http://graphite", "target=a.b;env=prod", `query graphite at http://graphite: query "target=a.b;env=prod" is not a render query string (target=…&from=…): invalid semicolon separator in query`},
		{slow.URL, query, "query graphite at " + slow.URL + ": no response within the 300ms timeout"},
	}
	for _, c := range cases {
		providertest.ExpectError(t, measure(c.address, c.query, "result[0] < 5", ""), c.want)
	}
}

func TestDeadServer(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	got := measure(s.URL, query, "result[0] < 5", "")
	if got.Phase != v1alpha1.AnalysisPhaseError || !strings.HasSuffix(got.Message, "connect: connection refused") {
		t.Errorf("got %s %q, want an Error saying the connection was refused", got.Phase, got.Message)
	}
}

func TestProvider(t *testing.T) {
	p := New()
	if p.Type() != "Graphite" || p.Metadata(v1alpha1.Metric{}) != nil {
		t.Errorf("Type %q", p.Type())
	}
	providertest.ExpectError(t, p.Run(context.Background(), nil, v1alpha1.Metric{Name: "x"}), "metric has no graphite provider")
}
