package kayenta

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

const (
	configID    = "bf9795c0-170f-403e-bb7f-fef3f9a44d42"
	executionID = "01DS50WVHAWSTAQACJKB1VKDQB"
)

// Kayenta's answers, as its REST API returns them.
const (
	configList = `[
  {"id": "0b7f2a10-aaaa-4f3e-9c55-000000000000", "name": "other-test", "updatedTimestamp": 1553625287000, "updatedTimestampIso": "2019-03-26T18:34:47Z", "applications": ["guestbook"]},
  {"id": "` + configID + `", "name": "my-test", "updatedTimestamp": 1553625287000, "updatedTimestampIso": "2019-03-26T18:34:47Z", "applications": ["guestbook"]}
]`
	started  = `{"canaryExecutionId": "` + executionID + `"}`
	running  = `{"application": "guestbook", "pipelineId": "` + executionID + `", "stageStatus": {"fetchControl0": "succeeded", "fetchExperiment0": "running"}, "complete": false, "status": "running"}`
	terminal = `{"application": "guestbook", "pipelineId": "` + executionID + `", "complete": true, "status": "terminal", "executionStatus": "TERMINAL",
  "exception": {"exceptionType": "IllegalArgumentException", "shouldRetry": false, "details": {"error": "Unable to resolve account wavefront-prod.", "errors": ["Unable to resolve account wavefront-prod."]}}}`
)

// scored is a completed execution with score.
func scored(score float64) string {
	return fmt.Sprintf(`{"application": "guestbook", "pipelineId": %q, "complete": true, "status": "succeeded", "executionStatus": "SUCCEEDED",
  "result": {"judgeResult": {"judgeName": "NetflixACAJudge-v1.0", "results": [], "groupScores": [{"name": "requests", "score": %v}],
    "score": {"score": %v, "classification": "Pass", "classificationReason": ""}}, "canaryDuration": "PT5M"},
  "canaryConfigId": %q, "storageAccountName": "intuit-kayenta"}`, executionID, score, score, configID)
}

func metric(address string, scopes ...v1alpha1.KayentaScope) v1alpha1.Metric {
	return v1alpha1.Metric{
		Name:     "mann-whitney",
		Interval: "5m",
		Provider: v1alpha1.MetricProvider{Kayenta: &v1alpha1.KayentaMetric{
			Address:                  address,
			Application:              "guestbook",
			CanaryConfigName:         "my-test",
			MetricsAccountName:       "wavefront-prod",
			ConfigurationAccountName: "intuit-kayenta",
			StorageAccountName:       "intuit-store",
			Threshold:                v1alpha1.KayentaThreshold{Pass: 90, Marginal: 75},
			Scopes:                   scopes,
		}},
	}
}

func pair(name, start, end string) v1alpha1.KayentaScope {
	return v1alpha1.KayentaScope{
		Name:            name,
		ControlScope:    v1alpha1.ScopeDetail{Scope: "app=guestbook and rollouts-pod-template-hash=xxxx", Region: "us-west-2", Step: 60, Start: start, End: end},
		ExperimentScope: v1alpha1.ScopeDetail{Scope: "app=guestbook and rollouts-pod-template-hash=yyyy", Region: "us-west-2", Step: 60, Start: start, End: end},
	}
}

// body is the POST body Kayenta must receive for one scope "default".
func body(start, end string) string {
	return `{"scopes":{"default":{` +
		`"controlScope":{"scope":"app=guestbook and rollouts-pod-template-hash=xxxx","location":"us-west-2","step":60,"start":"` + start + `","end":"` + end + `"},` +
		`"experimentScope":{"scope":"app=guestbook and rollouts-pod-template-hash=yyyy","location":"us-west-2","step":60,"start":"` + start + `","end":"` + end + `"}}},` +
		`"thresholds":{"pass":90,"marginal":75}}`
}

// kayenta is a stand-in for Kayenta's canary API. Each route answers with
// its status and body; it checks each request's method, path, query and
// (for the POST) body.
type kayenta struct {
	t        *testing.T
	wantBody string
	mu       sync.Mutex
	routes   map[string]answer // "GET /canaryConfig" …
	seen     []string
}

type answer struct {
	status int
	body   string
}

func newKayenta(t *testing.T, wantBody string, routes map[string]answer) (*kayenta, *httptest.Server) {
	k := &kayenta{t: t, wantBody: wantBody, routes: routes}
	s := httptest.NewServer(k)
	t.Cleanup(s.Close)
	return k, s
}

func (k *kayenta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	k.mu.Lock()
	k.seen = append(k.seen, route)
	a, ok := k.routes[route]
	k.mu.Unlock()
	q := r.URL.Query()
	switch route {
	case "GET /canaryConfig":
		if q.Encode() != "application=guestbook&configurationAccountName=intuit-kayenta" {
			k.t.Errorf("config lookup query %s", q.Encode())
		}
	case "POST /canary/" + configID:
		if q.Encode() != "application=guestbook&configurationAccountName=intuit-kayenta&metricsAccountName=wavefront-prod&storageAccountName=intuit-store" {
			k.t.Errorf("canary job query %s", q.Encode())
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			k.t.Errorf("Content-Type %q", ct)
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != k.wantBody {
			k.t.Errorf("canary job body\n%s\nwant\n%s", b, k.wantBody)
		}
	case "GET /canary/" + executionID:
		if len(q) != 0 {
			k.t.Errorf("execution query %s", q.Encode())
		}
	}
	if !ok {
		http.Error(w, `{"error":"Not Found","status":404}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func provider() *Provider {
	return &Provider{Clock: providertest.Clock, Getenv: func(string) string { return "" }, Timeout: 300 * time.Millisecond}
}

var (
	runStarted = metav1.NewTime(providertest.At.Add(-42 * time.Minute))
	run        = &v1alpha1.AnalysisRun{Status: v1alpha1.AnalysisRunStatus{StartedAt: &runStarted}}
	nowRFC     = providertest.At.Format(time.RFC3339)
)

func TestRunStartsAnExecution(t *testing.T) {
	cases := []struct {
		name     string
		scope    v1alpha1.KayentaScope
		lookback bool
		interval v1alpha1.DurationString
		wantBody string
	}{
		{"start and end given", pair("default", "2019-03-29T01:08:34Z", "2019-03-29T01:38:34Z"), false, "", body("2019-03-29T01:08:34Z", "2019-03-29T01:38:34Z")},
		{"the interval up to now", pair("default", "", ""), false, "5m", body(providertest.At.Add(-5*time.Minute).Format(time.RFC3339), nowRFC)},
		{"lookback: since the run started", pair("default", "", ""), true, "", body(runStarted.Format(time.RFC3339), nowRFC)},
		{"start given, end now", pair("default", "2019-03-29T01:08:34Z", ""), false, "", body("2019-03-29T01:08:34Z", nowRFC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, s := newKayenta(t, c.wantBody, map[string]answer{"GET /canaryConfig": {200, configList}, "POST /canary/" + configID: {200, started}})
			met := metric(s.URL+"/", c.scope)
			met.Interval = c.interval
			met.Provider.Kayenta.Lookback = c.lookback
			m := provider().Run(context.Background(), run, met)
			if m.Phase != v1alpha1.AnalysisPhaseRunning || m.Message != "" || m.Metadata[ExecutionIDKey] != executionID {
				t.Fatalf("got %s %q %v, want Running with the execution id", m.Phase, m.Message, m.Metadata)
			}
			if m.ResumeAt == nil || !m.ResumeAt.Time.Equal(providertest.At.Add(15*time.Second)) || m.FinishedAt != nil {
				t.Errorf("resumeAt %v finishedAt %v, want resume 15s later and not finished", m.ResumeAt, m.FinishedAt)
			}
			if strings.Join(k.seen, ", ") != "GET /canaryConfig, POST /canary/"+configID {
				t.Errorf("requests %v", k.seen)
			}
		})
	}
}

func TestRunFails(t *testing.T) {
	slow := providertest.Hang(t)
	good := pair("default", "2019-03-29T01:08:34Z", "2019-03-29T01:38:34Z")
	wantBody := body("2019-03-29T01:08:34Z", "2019-03-29T01:38:34Z")
	cases := []struct {
		name   string
		routes map[string]answer
		scope  v1alpha1.KayentaScope
		want   string // after "start kayenta canary at <url>"
	}{
		{"unknown config", map[string]answer{"GET /canaryConfig": {200, `[{"id": "x", "name": "other"}]`}}, good,
			`: no canary config named "my-test" for application "guestbook"`},
		{"no configs", map[string]answer{"GET /canaryConfig": {200, `[]`}}, good, `: no canary config named "my-test" for application "guestbook"`},
		{"lookup refused", map[string]answer{"GET /canaryConfig": {401, `{"error":"Unauthorized","status":401}`}}, good,
			`: list canary configs: received non-2xx response code 401: {"error":"Unauthorized","status":401}`},
		{"job refused", map[string]answer{"GET /canaryConfig": {200, configList}, "POST /canary/" + configID: {400, `{"error":"Bad Request","message":"Unable to resolve account wavefront-prod.","status":400}`}}, good,
			`: start canary config ` + configID + `: received non-2xx response code 400: {"error":"Bad Request","message":"Unable to resolve account wavefront-prod.","status":400}`},
		{"server error", map[string]answer{"GET /canaryConfig": {200, configList}, "POST /canary/" + configID: {500, "Internal Server Error"}}, good,
			`: start canary config ` + configID + `: received non-2xx response code 500: Internal Server Error`},
		{"no execution id", map[string]answer{"GET /canaryConfig": {200, configList}, "POST /canary/" + configID: {200, `{}`}}, good,
			`: the answer has no canaryExecutionId`},
		{"not JSON", map[string]answer{"GET /canaryConfig": {200, "<html>"}}, good,
			`: list canary configs: decode response: invalid character '<' looking for beginning of value`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, s := newKayenta(t, wantBody, c.routes)
			providertest.ExpectError(t, provider().Run(context.Background(), run, metric(s.URL, c.scope)), "start kayenta canary at "+s.URL+c.want)
		})
	}
	refused := []struct {
		name    string
		address string
		scope   v1alpha1.KayentaScope
		want    string
	}{
		{"start on one side", "http://kayenta", v1alpha1.KayentaScope{Name: "default", ControlScope: v1alpha1.ScopeDetail{Start: "2019-03-29T01:08:34Z"}},
			"start kayenta canary: scopes[0] (default): controlScope.start and experimentScope.start must both be set or both be empty"},
		{"end on one side", "http://kayenta", v1alpha1.KayentaScope{Name: "default", ExperimentScope: v1alpha1.ScopeDetail{End: "2019-03-29T01:08:34Z"}},
			"start kayenta canary: scopes[0] (default): controlScope.end and experimentScope.end must both be set or both be empty"},
		{"no address", "", good, "start kayenta canary: kayenta address is not configured"},
		{"timeout", slow.URL, good, "start kayenta canary at " + slow.URL + ": list canary configs: no response within the 300ms timeout"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			providertest.ExpectError(t, provider().Run(context.Background(), run, metric(c.address, c.scope)), c.want)
		})
	}
	t.Run("no interval", func(t *testing.T) {
		met := metric("http://kayenta", pair("default", "", ""))
		met.Interval = ""
		providertest.ExpectError(t, provider().Run(context.Background(), run, met),
			`start kayenta canary: scopes[0] (default) has no start: set the metric's interval ("" is not a positive duration), lookback: true, or start and end`)
	})
}

// inFlight is the measurement Run leaves, as stored in the AnalysisRun and
// read back by a controller that may have restarted since.
func inFlight(t *testing.T) v1alpha1.Measurement {
	t.Helper()
	started := metav1.NewTime(providertest.At.Add(-15 * time.Second))
	m := v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseRunning, StartedAt: &started, ResumeAt: &started, Metadata: map[string]string{ExecutionIDKey: executionID}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var stored v1alpha1.Measurement
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	return stored
}

func TestResume(t *testing.T) {
	cases := []struct {
		name      string
		answer    answer
		wantPhase v1alpha1.AnalysisPhase
		wantValue string
		wantMsg   string // after "read kayenta canary <id> at <url>"
	}{
		{"pass", answer{200, scored(95.5)}, v1alpha1.AnalysisPhaseSuccessful, "95", ""},
		{"exactly pass", answer{200, scored(90)}, v1alpha1.AnalysisPhaseSuccessful, "90", ""},
		{"marginal", answer{200, scored(80)}, v1alpha1.AnalysisPhaseInconclusive, "80", ""},
		{"exactly marginal", answer{200, scored(75)}, v1alpha1.AnalysisPhaseInconclusive, "75", ""},
		{"fail", answer{200, scored(42)}, v1alpha1.AnalysisPhaseFailed, "42", ""},
		{"terminal", answer{200, terminal}, v1alpha1.AnalysisPhaseError, "", ": the execution completed terminal without a score: Unable to resolve account wavefront-prod."},
		{"no complete status", answer{200, `{"status": "running"}`}, v1alpha1.AnalysisPhaseError, "", ": the answer has no complete status"},
		{"unknown execution", answer{404, `{"error":"Not Found","message":"Unable to find pipeline","status":404}`}, v1alpha1.AnalysisPhaseError, "",
			`: received non-2xx response code 404: {"error":"Not Found","message":"Unable to find pipeline","status":404}`},
		{"auth failure", answer{403, `{"error":"Forbidden","status":403}`}, v1alpha1.AnalysisPhaseError, "",
			`: received non-2xx response code 403: {"error":"Forbidden","status":403}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, s := newKayenta(t, "", map[string]answer{"GET /canary/" + executionID: c.answer})
			m := provider().Resume(context.Background(), run, metric(s.URL), inFlight(t))
			wantMsg := c.wantMsg
			if wantMsg != "" {
				wantMsg = "read kayenta canary " + executionID + " at " + s.URL + wantMsg
			}
			if m.Phase != c.wantPhase || m.Value != c.wantValue || m.Message != wantMsg {
				t.Errorf("got %s %q %q, want %s %q %q", m.Phase, m.Value, m.Message, c.wantPhase, c.wantValue, wantMsg)
			}
			if m.ResumeAt != nil || m.FinishedAt == nil || !m.FinishedAt.Time.Equal(providertest.At) || m.Metadata[ExecutionIDKey] != executionID {
				t.Errorf("resumeAt %v finishedAt %v metadata %v, want finished now and the execution id kept", m.ResumeAt, m.FinishedAt, m.Metadata)
			}
		})
	}
}

func TestResumeWhileRunning(t *testing.T) {
	_, s := newKayenta(t, "", map[string]answer{"GET /canary/" + executionID: {200, running}})
	p := provider()
	p.Getenv = func(k string) string {
		if k == PollIntervalEnv {
			return "2s"
		}
		return ""
	}
	m := p.Resume(context.Background(), run, metric(s.URL), inFlight(t))
	if m.Phase != v1alpha1.AnalysisPhaseRunning || m.FinishedAt != nil || m.ResumeAt == nil || !m.ResumeAt.Time.Equal(providertest.At.Add(2*time.Second)) {
		t.Errorf("got %s resumeAt %v finishedAt %v, want Running, resumed 2s later", m.Phase, m.ResumeAt, m.FinishedAt)
	}
}

func TestPollIntervalEnv(t *testing.T) {
	p := provider()
	p.Getenv = func(string) string { return "soon" }
	providertest.ExpectError(t, p.Run(context.Background(), run, metric("http://kayenta", pair("default", "", ""))),
		`AVIARY_KAYENTA_POLL_INTERVAL="soon" is not a positive duration (e.g. 15s)`)
}

func TestResumeWithoutExecution(t *testing.T) {
	m := inFlight(t)
	m.Metadata = nil
	providertest.ExpectError(t, provider().Resume(context.Background(), run, metric("http://kayenta"), m), "measurement has no canaryExecutionId to read")
}

func TestTerminate(t *testing.T) {
	m := provider().Terminate(context.Background(), run, metric("http://kayenta"), inFlight(t))
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful || m.ResumeAt != nil || m.FinishedAt == nil {
		t.Errorf("got %+v, want a finished Successful measurement (the engine marks it terminated)", m)
	}
}

func TestProvider(t *testing.T) {
	p := New()
	if p.Type() != "Kayenta" || p.Metadata(v1alpha1.Metric{}) != nil {
		t.Errorf("Type %q", p.Type())
	}
	if err := p.GarbageCollect(context.Background(), run, v1alpha1.Metric{}, 1); err != nil {
		t.Error(err)
	}
	providertest.ExpectError(t, p.Run(context.Background(), nil, v1alpha1.Metric{Name: "x"}), "metric has no kayenta provider")
}
