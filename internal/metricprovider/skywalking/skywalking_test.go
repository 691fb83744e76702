package skywalking

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

// seedQuery is seed 08's query after argument substitution.
const seedQuery = `query queryData($duration: Duration!) {
  service_apdex: readMetricsValues(
    condition: { name: "service_apdex", entity: { scope: Service, serviceName: "istio-rollout", normal: true } },
    duration: $duration) {
      label values { values { value } }
    }
}`

const seedCondition = "all(result.service_apdex.values.values, {asFloat(.value) >= 9900})"

// apdex is SkyWalking's answer to seed 08's query.
func apdex(values ...int) string {
	points := make([]map[string]any, len(values))
	for i, v := range values {
		points[i] = map[string]any{"value": v}
	}
	b, _ := json.Marshal(map[string]any{"data": map[string]any{"service_apdex": map[string]any{"label": nil, "values": map[string]any{"values": points}}}})
	return string(b)
}

type graphqlRequest struct {
	Query     string `json:"query"`
	Variables struct {
		Duration duration `json:"duration"`
	} `json:"variables"`
}

// serve is a GraphQL endpoint answering every query with status and body;
// it hands the decoded request to seen.
func serve(t *testing.T, status int, body string, seen func(graphqlRequest)) *httptest.Server {
	t.Helper()
	return providertest.Serve(t, status, body, func(r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/graphql" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s %s, want a JSON POST to /graphql", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var req graphqlRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("decode request: %v", err)
		}
		if seen != nil {
			seen(req)
		}
	})
}

func measure(t *testing.T, cfg *v1alpha1.SkyWalkingMetric, success string) v1alpha1.Measurement {
	t.Helper()
	metric := v1alpha1.Metric{Name: "apdex", SuccessCondition: success, Provider: v1alpha1.MetricProvider{SkyWalking: cfg}}
	p := &Provider{Clock: providertest.Clock, Timeout: 500 * time.Millisecond}
	return p.Run(context.Background(), &v1alpha1.AnalysisRun{}, metric)
}

func TestSeedQuery(t *testing.T) {
	var got graphqlRequest
	s := serve(t, 200, apdex(10000, 9950), func(r graphqlRequest) { got = r })
	m := measure(t, &v1alpha1.SkyWalkingMetric{Address: s.URL, Query: seedQuery, Interval: "3m"}, seedCondition)
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("got %s %q", m.Phase, m.Message)
	}
	if want := `{"service_apdex":{"label":null,"values":{"values":[{"value":10000},{"value":9950}]}}}`; m.Value != want {
		t.Errorf("value %s, want %s", m.Value, want)
	}
	want := duration{Start: "2026-03-01 1204", End: "2026-03-01 1207", Step: "MINUTE"}
	if got.Query != seedQuery || got.Variables.Duration != want {
		t.Errorf("sent %q with %+v, want the seed query with %+v", got.Query, got.Variables.Duration, want)
	}
}

func TestRun(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		body        string
		condition   string
		wantPhase   v1alpha1.AnalysisPhase
		wantMessage string
	}{
		{"seed 08 apdex low", 200, apdex(10000, 9000), seedCondition, v1alpha1.AnalysisPhaseFailed, ""},
		{"no conditions", 200, apdex(1), "", v1alpha1.AnalysisPhaseSuccessful, ""},
		{"no points: all() holds", 200, apdex(), seedCondition, v1alpha1.AnalysisPhaseSuccessful, ""},
		{"null data is no data", 200, `{"data": null}`, seedCondition, v1alpha1.AnalysisPhaseError,
			`could not evaluate successCondition "` + seedCondition + `": metric result is nil or empty: no data returned from the metric provider`},
		{"graphql errors", 200, `{"data": null, "errors": [{"message": "metric service_apdx not found", "locations": [{"line": 2, "column": 3}]}, {"message": "second"}]}`,
			seedCondition, v1alpha1.AnalysisPhaseError, ": graphql: metric service_apdx not found; second"},
		{"graphql errors on a 400", 400, `{"errors": [{"message": "Validation error of type FieldUndefined"}]}`, seedCondition, v1alpha1.AnalysisPhaseError,
			": graphql: Validation error of type FieldUndefined"},
		{"HTTP 500", 500, "Internal Server Error", seedCondition, v1alpha1.AnalysisPhaseError, ": received non-2xx response code 500: Internal Server Error"},
		{"not JSON", 200, "<html>", seedCondition, v1alpha1.AnalysisPhaseError, ": decode response: invalid character '<' looking for beginning of value"},
	}
	for _, c := range cases {
		s := serve(t, c.status, c.body, nil)
		got := measure(t, &v1alpha1.SkyWalkingMetric{Address: s.URL, Query: seedQuery}, c.condition)
		wantMessage := c.wantMessage
		if strings.HasPrefix(wantMessage, ": ") {
			wantMessage = "query skywalking at " + s.URL + wantMessage
		}
		if got.Phase != c.wantPhase || got.Message != wantMessage {
			t.Errorf("%s: got %s %q, want %s %q", c.name, got.Phase, got.Message, c.wantPhase, wantMessage)
		}
		if !got.StartedAt.Time.Equal(providertest.At) || !got.FinishedAt.Time.Equal(providertest.At) {
			t.Errorf("%s: started %v finished %v", c.name, got.StartedAt, got.FinishedAt)
		}
	}
}

func TestWindow(t *testing.T) {
	cases := []struct {
		interval    v1alpha1.DurationString
		wantStart   string
		wantMessage string
	}{
		{"", "2026-03-01 1202", ""},
		{"1h", "2026-03-01 1107", ""},
		{"soon", "", `interval "soon" is not a positive duration`},
		{"-5m", "", `interval "-5m" is not a positive duration`},
	}
	for _, c := range cases {
		var got graphqlRequest
		s := serve(t, 200, apdex(10000), func(r graphqlRequest) { got = r })
		m := measure(t, &v1alpha1.SkyWalkingMetric{Address: s.URL, Query: seedQuery, Interval: c.interval}, seedCondition)
		if c.wantMessage != "" {
			if want := "query skywalking at " + s.URL + ": " + c.wantMessage; m.Message != want {
				t.Errorf("interval %q: message %q, want %q", c.interval, m.Message, want)
			}
			continue
		}
		if m.Phase != v1alpha1.AnalysisPhaseSuccessful || got.Variables.Duration.Start != c.wantStart || got.Variables.Duration.End != "2026-03-01 1207" {
			t.Errorf("interval %q: %s %q, window %+v, want start %s", c.interval, m.Phase, m.Message, got.Variables.Duration, c.wantStart)
		}
	}
}

func TestAddressAndTimeout(t *testing.T) {
	slow := providertest.Hang(t)
	cases := []struct{ address, want string }{
		{"", "query skywalking: skywalking address is not configured"},
		{"oap:12800", "query skywalking: skywalking address oap:12800 is not a URL"},
		{slow.URL, "query skywalking at " + slow.URL + ": no response within the 500ms timeout"},
	}
	for _, c := range cases {
		got := measure(t, &v1alpha1.SkyWalkingMetric{Address: c.address, Query: seedQuery}, seedCondition)
		if got.Phase != v1alpha1.AnalysisPhaseError || got.Message != c.want {
			t.Errorf("address %q: got %s %q, want %q", c.address, got.Phase, got.Message, c.want)
		}
	}
}

func TestProvider(t *testing.T) {
	p := New()
	if p.Type() != "skywalking" || p.Metadata(v1alpha1.Metric{}) != nil {
		t.Errorf("Type %q", p.Type())
	}
	if got := p.Run(context.Background(), nil, v1alpha1.Metric{Name: "x"}); got.Phase != v1alpha1.AnalysisPhaseError {
		t.Errorf("metric without provider: %+v", got)
	}
	if err := p.GarbageCollect(context.Background(), nil, v1alpha1.Metric{}, 3); err != nil {
		t.Error(err)
	}
}
