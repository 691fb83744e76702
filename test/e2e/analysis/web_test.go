package analysis

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// serve runs handler on a free loopback port for the test and returns its
// base URL.
func serve(t *testing.T, handler http.HandlerFunc) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

// argsExampleRun is seed 06's args-example template as a run: the token
// comes from a Secret at measurement time.
const argsExampleRun = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: args-example
spec:
  args:
  - name: service-name
    value: guestbook-svc.default.svc.cluster.local
  - name: api-url
    value: URL/measure
  - name: api-token
    valueFrom:
      secretKeyRef:
        name: token-secret
        key: apiToken
  metrics:
  - name: webmetric
    successCondition: result == 'true'
    provider:
      web:
        url: "{{ args.api-url }}?service={{ args.service-name }}"
        headers:
        - key: Authorization
          value: "Bearer {{ args.api-token }}"
        jsonPath: "{$.results.ok}"
`

// metricFormsRun is seed 06's metric-forms web metric.
const metricFormsRun = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: NAME
spec:
  metrics:
  - name: webmetric
    successCondition: "result.ok && result.successPercent >= 0.90"
    provider:
      web:
        url: "URL/api/v1/measurement?service=guestbook"
        timeoutSeconds: 20
        jsonPath: "{$.data}"
`

// TestWebMetricSeed06 plays seed 06's web metrics against a local server:
// the Secret-backed token reaches the Authorization header and nothing
// else (not the run, not events, not the controller log); both success
// conditions pass and fail as written; a 500 is an Error.
func TestWebMetricSeed06(t *testing.T) {
	const token = "not-a-real-token-3f9a"
	e := framework.Get(t)
	ctx := context.Background()
	ns, ctl := scoped(t)
	var sawAuth atomic.Value
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/measure":
			sawAuth.Store(r.Header.Get("Authorization") + " service=" + r.URL.Query().Get("service"))
			_, _ = w.Write([]byte(`{"results":{"ok":"true"}}`))
		case "/good/api/v1/measurement":
			_, _ = w.Write([]byte(`{"data":{"ok":true,"successPercent":0.97}}`))
		case "/bad/api/v1/measurement":
			_, _ = w.Write([]byte(`{"data":{"ok":true,"successPercent":0.42}}`))
		default:
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	})
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token-secret", Namespace: ns}, StringData: map[string]string{"apiToken": token}}
	if err := e.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	apply(t, ns, strings.ReplaceAll(argsExampleRun, "URL", url))
	for name, base := range map[string]string{"good": url + "/good", "bad": url + "/bad", "broken": url + "/broken"} {
		apply(t, ns, strings.NewReplacer("NAME", name, "URL", base).Replace(metricFormsRun))
	}

	run := waitForPhase(t, ns, "args-example", v1alpha1.AnalysisPhaseSuccessful, 60*time.Second)
	if got := sawAuth.Load(); got != "Bearer "+token+" service=guestbook-svc.default.svc.cluster.local" {
		t.Errorf("the server saw %v", got)
	}
	waitForPhase(t, ns, "good", v1alpha1.AnalysisPhaseSuccessful, 60*time.Second)
	waitForPhase(t, ns, "bad", v1alpha1.AnalysisPhaseFailed, 60*time.Second)
	broken := waitForPhase(t, ns, "broken", v1alpha1.AnalysisPhaseError, 90*time.Second)
	if !strings.Contains(broken.Status.MetricResults[0].Measurements[0].Message, "500") {
		t.Errorf("a 500 must be an Error naming the status: %s", describeRun(broken))
	}

	stored, _ := json.Marshal(run)
	events, err := e.Clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evText, _ := json.Marshal(events)
	for where, text := range map[string]string{"the AnalysisRun": string(stored), "events": string(evText), "the controller log": ctl.Output()} {
		if strings.Contains(text, token) {
			t.Errorf("the Secret's token appears in %s", where)
		}
	}
}
