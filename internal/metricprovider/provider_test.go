package metricprovider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestFinish(t *testing.T) {
	clock := Clock(func() time.Time { return at })
	earlier := metav1.NewTime(at.Add(-time.Minute))
	cases := []struct {
		name      string
		m         v1alpha1.Measurement
		value     string
		phase     v1alpha1.AnalysisPhase
		err       error
		want      v1alpha1.Measurement
		wantValue string
	}{
		{"success", clock.Start(), "[0.97]", v1alpha1.AnalysisPhaseSuccessful, nil,
			v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful}, "[0.97]"},
		{"error keeps the value", clock.Start(), "[]", v1alpha1.AnalysisPhaseSuccessful, errors.New("no data"),
			v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseError, Message: "no data"}, "[]"},
		{"finishedAt already set", v1alpha1.Measurement{FinishedAt: &earlier}, "", v1alpha1.AnalysisPhaseFailed, nil,
			v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseFailed}, ""},
		{"long value is cut", clock.Start(), strings.Repeat("é", MaxValueBytes), v1alpha1.AnalysisPhaseSuccessful, nil,
			v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful}, strings.Repeat("é", MaxValueBytes/2) + "…"},
	}
	for _, c := range cases {
		got := clock.Finish(c.m, c.value, c.phase, c.err)
		if got.Phase != c.want.Phase || got.Message != c.want.Message || got.Value != c.wantValue || !utf8.ValidString(got.Value) {
			t.Errorf("%s: got %s %q value %.40q", c.name, got.Phase, got.Message, got.Value)
		}
		if c.m.FinishedAt != nil && !got.FinishedAt.Equal(c.m.FinishedAt) {
			t.Errorf("%s: finishedAt overwritten", c.name)
		}
		if c.m.FinishedAt == nil && !got.FinishedAt.Time.Equal(at) {
			t.Errorf("%s: finishedAt %v, want %v", c.name, got.FinishedAt, at)
		}
	}
	if got := clock.Start(); !got.StartedAt.Time.Equal(at) || got.Phase != "" {
		t.Errorf("Start = %+v", got)
	}
	var real Clock
	if d := time.Since(real.Now()); d < 0 || d > time.Minute {
		t.Errorf("nil clock is %v off", d)
	}
}

func TestSynchronous(t *testing.T) {
	var s Synchronous
	m := v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, Value: "1"}
	ctx := context.Background()
	if got := s.Resume(ctx, nil, v1alpha1.Metric{}, m); got.Value != "1" || got.Phase != m.Phase {
		t.Errorf("Resume = %+v", got)
	}
	if got := s.Terminate(ctx, nil, v1alpha1.Metric{}, m); got.Value != "1" || got.Phase != m.Phase {
		t.Errorf("Terminate = %+v", got)
	}
	if err := s.GarbageCollect(ctx, nil, v1alpha1.Metric{}, 1); err != nil {
		t.Error(err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://prometheus:9090":                         "http://prometheus:9090",
		"https://user:pw@host/api/v1?token=abc#frag":     "https://host/api/v1",
		"http://my-server.com/api/v1/measurement?svc=x?": "http://my-server.com/api/v1/measurement",
		"http://[::1:bad":                                "(unparsable URL)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckAddress(t *testing.T) {
	for address, want := range map[string]string{
		"http://oap:12800":       "",
		"":                       "oap address is not configured",
		"oap:12800":              "oap address oap:12800 is not a URL",
		"/graphql":               "oap address /graphql is not a URL",
		"http://u:secret@[::1:x": "oap address (unparsable URL) is not a URL",
	} {
		got := ""
		if err := CheckAddress("oap", address); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("CheckAddress(%q) = %q, want %q", address, got, want)
		}
	}
}

func TestStatusError(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   string
	}{
		{404, "", "received non-2xx response code 404"},
		{502, "<html>\n  <body>Bad Gateway</body>\n</html>", "received non-2xx response code 502: <html> <body>Bad Gateway</body> </html>"},
		{500, strings.Repeat("x", 300), "received non-2xx response code 500: " + strings.Repeat("x", 200) + "…"},
	}
	for _, c := range cases {
		if got := StatusError(c.status, []byte(c.body)).Error(); got != c.want {
			t.Errorf("StatusError(%d) = %q, want %q", c.status, got, c.want)
		}
	}
}
