package influxdb

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

const (
	home  = "aviary-system"
	token = "s3cr3t-influx-token=="
	org   = "payments"
	flux  = `from(bucket: "app")
  |> range(start: -5m)
  |> filter(fn: (r) => r._measurement == "http" and r._field == "success_ratio")
  |> mean()`
)

// Answers in InfluxDB 2's annotated CSV, with the annotations the client
// asks for (datatype, group, default); tables are separated by a blank line.
const (
	header = "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,double,string,string\r\n" +
		"#group,false,false,true,true,false,true,true\r\n" +
		"#default,_result,,,,,,\r\n" +
		",result,table,_start,_stop,_value,_field,_measurement\r\n"
	twoTables = header +
		",,0,2026-03-01T12:02:42Z,2026-03-01T12:07:42Z,0.97,success_ratio,http\r\n" +
		"\r\n" + header +
		",,1,2026-03-01T12:02:42Z,2026-03-01T12:07:42Z,0.99,success_ratio,http\r\n\r\n"
	lowRatio = header + ",,0,2026-03-01T12:02:42Z,2026-03-01T12:07:42Z,0.42,success_ratio,http\r\n\r\n"
	nullOnly = header + ",,0,2026-03-01T12:02:42Z,2026-03-01T12:07:42Z,,success_ratio,http\r\n\r\n"
	nan      = header + ",,0,2026-03-01T12:02:42Z,2026-03-01T12:07:42Z,NaN,success_ratio,http\r\n\r\n"
	counts   = "#datatype,string,long,long\r\n#group,false,false,false\r\n#default,_result,,\r\n,result,table,_value\r\n,,0,3\r\n,,0,5\r\n\r\n"
	// An error after the response started is an error table in a 200.
	errorTable = "#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n,error,reference\r\n" +
		",\"runtime error @4:6-4:12: mean: schema collision\",897\r\n\r\n"
)

type queryBody struct {
	Query   string `json:"query"`
	Type    string `json:"type"`
	Dialect struct {
		Annotations []string `json:"annotations"`
		Header      bool     `json:"header"`
	} `json:"dialect"`
}

// serve is /api/v2/query answering status, contentType and body after
// checking the request is the one the official client sends.
func serve(t *testing.T, status int, contentType, body string, header http.Header) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/query" || r.URL.Query().Get("org") != org {
			t.Errorf("%s %s, want POST /api/v2/query?org=%s", r.Method, r.URL, org)
		}
		if got := r.Header.Get("Authorization"); got != "Token "+token {
			t.Errorf("Authorization %q, want the profile's token", got)
		}
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type %q", got)
		}
		var q queryBody
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
			t.Errorf("decode body: %v", err)
		}
		if q.Query != flux || q.Type != "flux" || strings.Join(q.Dialect.Annotations, ",") != "datatype,group,default" || !q.Dialect.Header {
			t.Errorf("body %+v, want the Flux query with datatype, group and default annotations", q)
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func secret(name string, data map[string]string) client.Object {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: home}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func profile(address string) map[string]string {
	return map[string]string{TokenKey: token, OrgKey: org, AddressKey: address}
}

func measure(t *testing.T, secrets []client.Object, profileName, success, failure string) v1alpha1.Measurement {
	t.Helper()
	p := &Provider{
		Secrets:   fake.NewClientBuilder().WithObjects(secrets...).Build(),
		Namespace: home,
		Clock:     providertest.Clock,
		Timeout:   300 * time.Millisecond,
	}
	metric := v1alpha1.Metric{
		Name: "success-ratio", SuccessCondition: success, FailureCondition: failure,
		Provider: v1alpha1.MetricProvider{Influxdb: &v1alpha1.InfluxdbMetric{Profile: profileName, Query: flux}},
	}
	m := p.Run(context.Background(), &v1alpha1.AnalysisRun{}, metric)
	if strings.Contains(m.Message+m.Value, token) {
		t.Errorf("the token leaked into %q %q", m.Message, m.Value)
	}
	return m
}

func TestRun(t *testing.T) {
	const csv = "text/csv; charset=utf-8"
	cases := []struct {
		name, contentType, body string
		status                  int
		header                  http.Header
		success, failure        string
		wantPhase               v1alpha1.AnalysisPhase
		wantValue, wantMsg      string
	}{
		{"success across tables", csv, twoTables, 200, nil, "all(result, {# >= 0.95})", "", v1alpha1.AnalysisPhaseSuccessful, "[0.97 0.99]", ""},
		{"failure", csv, lowRatio, 200, nil, "result[0] >= 0.95", "", v1alpha1.AnalysisPhaseFailed, "[0.42]", ""},
		{"failure condition", csv, lowRatio, 200, nil, "", "result[0] < 0.5", v1alpha1.AnalysisPhaseFailed, "[0.42]", ""},
		{"longs stay integers", csv, counts, 200, nil, "result[1] == 5", "", v1alpha1.AnalysisPhaseSuccessful, "[3 5]", ""},
		{"empty answer", csv, "\r\n", 200, nil, "len(result) == 0", "", v1alpha1.AnalysisPhaseError, "", ": no results returned from flux query"},
		{"only null values", csv, nullOnly, 200, nil, "all(result, {# >= 0.95})", "", v1alpha1.AnalysisPhaseError, "", ": no results returned from flux query"},
		{"NaN", csv, nan, 200, nil, "", "result[0] < 0.5", v1alpha1.AnalysisPhaseError, "", ": table 0 has a NaN _value"},
		{"error table", csv, errorTable, 200, nil, "result[0] >= 0.95", "", v1alpha1.AnalysisPhaseError, "", ": runtime error @4:6-4:12: mean: schema collision,897"},
		{"invalid query", "application/json; charset=utf-8", `{"code":"invalid","message":"compilation failed: error at @1:1-1:5: undefined identifier frm"}`, 400, nil,
			"result[0] >= 0.95", "", v1alpha1.AnalysisPhaseError, "", ": received non-2xx response code 400: invalid: compilation failed: error at @1:1-1:5: undefined identifier frm"},
		{"bad token", "application/json; charset=utf-8", `{"code":"unauthorized","message":"unauthorized access"}`, 401, nil,
			"result[0] >= 0.95", "", v1alpha1.AnalysisPhaseError, "", ": received non-2xx response code 401: unauthorized: unauthorized access"},
		{"rate limited", "application/json; charset=utf-8", `{"code":"too many requests","message":"org payments has exceeded its query limit"}`, 429, http.Header{"Retry-After": {"30"}},
			"result[0] >= 0.95", "", v1alpha1.AnalysisPhaseError, "", ": received non-2xx response code 429: too many requests: org payments has exceeded its query limit (retry after 30 s)"},
		{"proxy error page", "text/html", "<h1>502 Bad Gateway</h1>", 502, nil,
			"result[0] >= 0.95", "", v1alpha1.AnalysisPhaseError, "", ": received non-2xx response code 502: 502 Bad Gateway: <h1>502 Bad Gateway</h1>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := serve(t, c.status, c.contentType, c.body, c.header)
			got := measure(t, []client.Object{secret("influxdb", profile(s.URL))}, "", c.success, c.failure)
			wantMsg := c.wantMsg
			if wantMsg != "" {
				wantMsg = "query influxdb at " + s.URL + wantMsg
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

func TestBodyLimit(t *testing.T) {
	row := ",,0,2026-03-01T12:02:42Z,2026-03-01T12:07:42Z,0.97,success_ratio,http\r\n"
	huge := header + strings.Repeat(row, metricprovider.MaxBodyBytes/len(row)+1)
	s := serve(t, 200, "text/csv", huge, nil)
	// Parsing 10 MiB of CSV on a loaded machine needs more than measure's
	// short timeout.
	p := &Provider{Secrets: fake.NewClientBuilder().WithObjects(secret("influxdb", profile(s.URL))).Build(), Namespace: home, Clock: providertest.Clock, Timeout: time.Minute}
	got := p.Run(context.Background(), &v1alpha1.AnalysisRun{}, v1alpha1.Metric{
		Name: "success-ratio", SuccessCondition: "result[0] >= 0.95",
		Provider: v1alpha1.MetricProvider{Influxdb: &v1alpha1.InfluxdbMetric{Query: flux}},
	})
	providertest.ExpectError(t, got, fmt.Sprintf("query influxdb at %s: response body is larger than %d bytes", s.URL, metricprovider.MaxBodyBytes))
}

func TestProfile(t *testing.T) {
	s := serve(t, 200, "text/csv", lowRatio, nil)
	got := measure(t, []client.Object{secret("influxdb", profile("http://127.0.0.1:1")), secret("influx-eu", profile(s.URL))}, "influx-eu", "result[0] < 0.5", "")
	if got.Phase != v1alpha1.AnalysisPhaseSuccessful || got.Value != "[0.42]" {
		t.Errorf("profile influx-eu: got %s %q %q", got.Phase, got.Value, got.Message)
	}
}

func TestRefused(t *testing.T) {
	slow := providertest.Hang(t)
	cases := []struct {
		name    string
		secrets []client.Object
		want    string
	}{
		{"no Secret", nil, "query influxdb: profile: no Secret aviary-system/influxdb: create it in the controller's namespace"},
		{"Secret in another namespace", []client.Object{&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "influxdb", Namespace: "default"}, Data: map[string][]byte{TokenKey: []byte(token)}}},
			"query influxdb: profile: no Secret aviary-system/influxdb: create it in the controller's namespace"},
		{"keys missing", []client.Object{secret("influxdb", map[string]string{TokenKey: token})},
			"query influxdb: profile: no value for address, org in Secret aviary-system/influxdb"},
		{"address not a URL", []client.Object{secret("influxdb", profile("influx:8086"))},
			"query influxdb: influxdb address influx:8086 is not a URL (key address of Secret aviary-system/influxdb)"},
		{"timeout", []client.Object{secret("influxdb", profile(slow.URL))},
			"query influxdb at " + slow.URL + ": no response within the 300ms timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			providertest.ExpectError(t, measure(t, c.secrets, "", "result[0] >= 0.95", ""), c.want)
		})
	}
}

func TestDeadServer(t *testing.T) {
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()
	got := measure(t, []client.Object{secret("influxdb", profile(s.URL))}, "", "result[0] >= 0.95", "")
	if got.Phase != v1alpha1.AnalysisPhaseError || !strings.HasSuffix(got.Message, "connect: connection refused") {
		t.Errorf("got %s %q, want an Error saying the connection was refused", got.Phase, got.Message)
	}
}

func TestProvider(t *testing.T) {
	p := New(nil, home)
	if p.Type() != "Influxdb" || p.Metadata(v1alpha1.Metric{}) != nil {
		t.Errorf("Type %q", p.Type())
	}
	providertest.ExpectError(t, p.Run(context.Background(), nil, v1alpha1.Metric{Name: "x"}), "metric has no influxdb provider")
}
