package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

func measure(t *testing.T, web *v1alpha1.WebMetric, success, failure string) v1alpha1.Measurement {
	t.Helper()
	metric := v1alpha1.Metric{Name: "webmetric", SuccessCondition: success, FailureCondition: failure, Provider: v1alpha1.MetricProvider{Web: web}}
	return (&Provider{Clock: providertest.Clock}).Run(context.Background(), &v1alpha1.AnalysisRun{}, metric)
}

// Seed 06's args-example metric after substitution: the API token is a
// header, the service a query parameter, and the answer a string "true".
func TestSeedArgsExample(t *testing.T) {
	s := providertest.Serve(t, 200, `{"results": {"ok": "true", "latency": 12}}`, func(r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Query().Get("service") != "guestbook-svc.default.svc.cluster.local" {
			t.Errorf("%s %s", r.Method, r.URL)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer not-a-real-token" {
			t.Errorf("Authorization header %q", got)
		}
	})
	web := &v1alpha1.WebMetric{
		URL:      s.URL + "/measure?service=guestbook-svc.default.svc.cluster.local",
		Headers:  []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer not-a-real-token"}},
		JSONPath: "{$.results.ok}",
	}
	got := measure(t, web, "result == 'true'", "")
	if got.Phase != v1alpha1.AnalysisPhaseSuccessful || got.Value != `"true"` {
		t.Errorf("got %s %q %q", got.Phase, got.Value, got.Message)
	}
	if !got.StartedAt.Time.Equal(providertest.At) || !got.FinishedAt.Time.Equal(providertest.At) {
		t.Errorf("providertest.At %v finished %v", got.StartedAt, got.FinishedAt)
	}
}

func TestRun(t *testing.T) {
	const data = `{"data": {"ok": true, "successPercent": 0.93, "items": [{"v": 1}, {"v": 2}]}}`
	cases := []struct {
		name             string
		status           int
		body             string
		jsonPath         string
		success, failure string
		wantPhase        v1alpha1.AnalysisPhase
		wantValue        string
		wantMessage      string
	}{
		{"seed 06 metric-forms object", 200, data, "{$.data}", "result.ok && result.successPercent >= 0.90", "",
			v1alpha1.AnalysisPhaseSuccessful, `{"items":[{"v":1},{"v":2}],"ok":true,"successPercent":0.93}`, ""},
		{"seed 06 metric-forms object too low", 200, data, "{$.data}", "result.ok && result.successPercent >= 0.95", "",
			v1alpha1.AnalysisPhaseFailed, `{"items":[{"v":1},{"v":2}],"ok":true,"successPercent":0.93}`, ""},
		// A JSON boolean is not the string 'true' (as in Argo Rollouts).
		{"seed 06 boolean against a string", 200, `{"results": {"ok": true}}`, "{$.results.ok}", "result == 'true'", "", v1alpha1.AnalysisPhaseFailed, "true", ""},
		{"number", 200, data, "{$.data.successPercent}", "result >= 0.9", "result < 0.5", v1alpha1.AnalysisPhaseSuccessful, "0.93", ""},
		{"inconclusive", 200, data, "{$.data.successPercent}", "result >= 0.95", "result < 0.5", v1alpha1.AnalysisPhaseInconclusive, "0.93", ""},
		{"default path is the whole body", 200, `[1, 2]`, "", "len(result) == 2", "", v1alpha1.AnalysisPhaseSuccessful, "[1,2]", ""},
		{"first of many results", 200, data, "{$.data.items[*].v}", "result == 1", "", v1alpha1.AnalysisPhaseSuccessful, "1", ""},
		{"not JSON is a string", 200, "OK\n", "{$.data}", "trim(result) == 'OK'", "", v1alpha1.AnalysisPhaseSuccessful, "OK\n", ""},
		{"no conditions", 200, data, "{$.data.ok}", "", "", v1alpha1.AnalysisPhaseSuccessful, "true", ""},
		{"missing path is no data", 200, data, "{$.data.missing}", "result > 1", "", v1alpha1.AnalysisPhaseError, "",
			`could not evaluate successCondition "result > 1": metric result is nil or empty: no data returned from the metric provider`},
		{"missing path with default", 200, data, "{$.data.missing}", "default(result, 0) == 0", "", v1alpha1.AnalysisPhaseSuccessful, "", ""},
		{"empty body is no data", 200, "", "", "asInt(result) > 0", "", v1alpha1.AnalysisPhaseError, "",
			`could not evaluate successCondition "asInt(result) > 0": metric result is nil or empty: no data returned from the metric provider`},
		{"non-2xx", 503, `{"error": "warming up"}`, "", "true", "", v1alpha1.AnalysisPhaseError, "",
			`: received non-2xx response code 503: {"error": "warming up"}`},
		{"redirect target 404", 404, "", "", "true", "", v1alpha1.AnalysisPhaseError, "", ": received non-2xx response code 404"},
		{"bad jsonPath", 200, data, "{$.data[", "true", "", v1alpha1.AnalysisPhaseError, "", `: parse jsonPath "{$.data[": unterminated array`},
	}
	for _, c := range cases {
		s := providertest.Serve(t, c.status, c.body, nil)
		got := measure(t, &v1alpha1.WebMetric{URL: s.URL + "/m?token=secret", JSONPath: c.jsonPath}, c.success, c.failure)
		wantMessage := c.wantMessage
		if strings.HasPrefix(wantMessage, ": ") {
			wantMessage = "call web metric at " + s.URL + "/m" + wantMessage
		}
		if got.Phase != c.wantPhase || got.Value != c.wantValue || got.Message != wantMessage {
			t.Errorf("%s: got %s %q %q; want %s %q %q", c.name, got.Phase, got.Value, got.Message, c.wantPhase, c.wantValue, wantMessage)
		}
	}
}

func TestRequestBody(t *testing.T) {
	cases := []struct {
		name            string
		web             v1alpha1.WebMetric
		wantMethod      string
		wantBody        string
		wantContentType string
		wantMessage     string
	}{
		{"GET by default", v1alpha1.WebMetric{}, "GET", "", "", ""},
		{"POST body", v1alpha1.WebMetric{Method: "POST", Body: "a=1", Headers: []v1alpha1.WebMetricHeader{{Key: "Content-Type", Value: "text/plain"}}}, "POST", "a=1", "text/plain", ""},
		{"PUT jsonBody", v1alpha1.WebMetric{Method: "PUT", JSONBody: json.RawMessage(`{"service":"guestbook"}`)}, "PUT", `{"service":"guestbook"}`, "application/json", ""},
		{"body with GET", v1alpha1.WebMetric{Body: "a=1"}, "", "", "", "body and jsonBody can only be sent with POST or PUT"},
		{"jsonBody with GET", v1alpha1.WebMetric{JSONBody: json.RawMessage(`{}`)}, "", "", "", "body and jsonBody can only be sent with POST or PUT"},
		{"both bodies", v1alpha1.WebMetric{Method: "POST", Body: "a", JSONBody: json.RawMessage(`{}`)}, "", "", "", "use either body or jsonBody, not both"},
		{"DELETE", v1alpha1.WebMetric{Method: "DELETE"}, "", "", "", `method "DELETE" is not supported: use GET, POST or PUT`},
	}
	for _, c := range cases {
		var method, body, contentType string
		s := providertest.Serve(t, 200, `{"ok": true}`, func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			method, body, contentType = r.Method, string(b), r.Header.Get("Content-Type")
		})
		c.web.URL = s.URL
		got := measure(t, &c.web, "result.ok", "")
		if c.wantMessage != "" {
			want := "call web metric at " + s.URL + ": " + c.wantMessage
			if got.Phase != v1alpha1.AnalysisPhaseError || got.Message != want || method != "" {
				t.Errorf("%s: got %s %q (sent %q), want Error %q and no request", c.name, got.Phase, got.Message, method, want)
			}
			continue
		}
		if got.Phase != v1alpha1.AnalysisPhaseSuccessful || method != c.wantMethod || body != c.wantBody || contentType != c.wantContentType {
			t.Errorf("%s: got %s %q; sent %s %q %q", c.name, got.Phase, got.Message, method, body, contentType)
		}
	}
}

func TestTimeout(t *testing.T) {
	s := providertest.Hang(t)
	begin := time.Now()
	got := measure(t, &v1alpha1.WebMetric{URL: s.URL, TimeoutSeconds: 1}, "true", "")
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("took %v with a 1s timeout", elapsed)
	}
	want := "call web metric at " + s.URL + ": no response within the 1s timeout"
	providertest.ExpectError(t, got, want)
}

func TestInsecure(t *testing.T) {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"ok": true}`)
	}))
	defer s.Close()
	if got := measure(t, &v1alpha1.WebMetric{URL: s.URL}, "result.ok", ""); got.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(got.Message, "certificate") {
		t.Errorf("verified TLS to a self-signed server: %s %q", got.Phase, got.Message)
	}
	if got := measure(t, &v1alpha1.WebMetric{URL: s.URL, Insecure: true}, "result.ok", ""); got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("insecure: %s %q", got.Phase, got.Message)
	}
}

func TestOAuth2(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token": "tok", "token_type": "bearer", "expires_in": 60}`)
	})
	mux.HandleFunc("/m", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer tok" {
			t.Errorf("Authorization %q", got)
		}
		io.WriteString(w, `{"ok": true}`)
	})
	s := httptest.NewServer(mux)
	defer s.Close()
	web := &v1alpha1.WebMetric{URL: s.URL + "/m", Authentication: v1alpha1.Authentication{OAuth2: v1alpha1.OAuth2Config{TokenURL: s.URL + "/token", ClientID: "id", ClientSecret: "secret"}}}
	if got := measure(t, web, "result.ok", ""); got.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("got %s %q", got.Phase, got.Message)
	}
}

func TestProvider(t *testing.T) {
	p := New()
	if p.Type() != "Web" || p.Metadata(v1alpha1.Metric{}) != nil {
		t.Errorf("Type %q Metadata %v", p.Type(), p.Metadata(v1alpha1.Metric{}))
	}
	if got := p.Run(context.Background(), nil, v1alpha1.Metric{Name: "x"}); got.Phase != v1alpha1.AnalysisPhaseError || got.FinishedAt == nil {
		t.Errorf("metric without provider: %+v", got)
	}
	m := v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, Value: "1"}
	if got := p.Resume(context.Background(), nil, v1alpha1.Metric{}, m); got.Value != "1" {
		t.Errorf("Resume changed the measurement: %+v", got)
	}
}
