package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// promTemplate is a success-rate template in the documented shape; ADDRESS
// is the stand-in's.
const promTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  args:
  - name: service
  metrics:
  - name: success-rate
    count: 2
    interval: 20ms
    failureLimit: 1
    consecutiveErrorLimit: 0
    successCondition: result[0] >= 0.95
    provider:
      prometheus:
        address: ADDRESS
        query: sum(rate(requests{service="{{args.service}}",code!~"5.."}[1m])) / sum(rate(requests{service="{{args.service}}"}[1m]))
`

const wantQuery = `sum(rate(requests{service="checkout",code!~"5.."}[1m])) / sum(rate(requests{service="checkout"}[1m]))`

// Prometheus HTTP API answers (/api/v1/query), as the server sends them.
const (
	promHealthy = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1767268800.123,"0.998"]}]}}`
	promFailing = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1767268800.123,"0.5"]}]}}`
	promBadData = `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected <EOF>"}`
)

// prometheus stands in for a Prometheus server: it checks the instant query
// is the template's with the argument substituted, and answers status/body.
func prometheus(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var queries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/query" {
			t.Errorf("request %s %s, want POST /api/v1/query", r.Method, r.URL.Path)
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("query") != wantQuery {
			t.Errorf("query %q (%v), want %q", r.PostForm.Get("query"), err, wantQuery)
		}
		queries.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &queries
}

// analysisTest runs `analysis test` with args, in namespace ns ("" for
// none given) and with client c (nil: a kubeconfig that does not exist, so
// nothing is read from a cluster). It returns stdout, stderr and the error.
func analysisTest(t *testing.T, ns string, c client.Client, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	flags := genericclioptions.NewConfigFlags(false)
	nowhere := "/nonexistent/kubeconfig"
	flags.KubeConfig = &nowhere
	if ns != "" {
		flags.Namespace = &ns
	}
	o := &Options{Streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Flags: flags}
	if c != nil {
		o.SetClient(c)
	}
	cmd := newAnalysisCommand(o)
	cmd.SetArgs(append([]string{"test"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func exitCode(err error) int {
	var e *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e.Code
	}
	return 1
}

func TestAnalysisTestPrometheus(t *testing.T) {
	for _, c := range []struct {
		name      string
		status    int
		body      string
		wantCode  int
		wantLines []string
	}{
		{name: "a healthy query passes", status: 200, body: promHealthy, wantCode: 0, wantLines: []string{
			`Testing AnalysisTemplate "success-rate" in namespace "default"`,
			"success-rate  prometheus: 2 measurements every 20ms, successCondition result[0] >= 0.95",
			"success-rate  ResolvedPrometheusQuery: " + wantQuery,
			"success-rate  Successful    [0.998] satisfies result[0] >= 0.95",
			"Run Successful",
			"The run would pass (exit 0)",
		}},
		{name: "a failing query fails once over failureLimit", status: 200, body: promFailing, wantCode: 1, wantLines: []string{
			"success-rate  Failed        [0.5] does not satisfy result[0] >= 0.95",
			"Run Failed: success-rate: [0.5] does not satisfy result[0] >= 0.95 (2 failed > failureLimit 1)",
			"The run would fail (exit 1)",
		}},
		{name: "a typo in the query errors with the provider's error", status: 400, body: promBadData, wantCode: 2, wantLines: []string{
			`success-rate  Error         error: `,
			`bad_data: invalid parameter "query": 1:5: parse error: unexpected <EOF>`,
			"Run Error: success-rate: 1 consecutive errors > consecutiveErrorLimit 0",
			"The run would end in Error: a rollout would abort (exit 2)",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, queries := prometheus(t, c.status, c.body)
			file := writeFile(t, strings.ReplaceAll(promTemplate, "ADDRESS", srv.URL))
			out, _, err := analysisTest(t, "", nil, "-f", file, "--arg", "service=checkout")
			if got := exitCode(err); got != c.wantCode {
				t.Fatalf("exit %d (%v), want %d; output:\n%s", got, err, c.wantCode, out)
			}
			for _, want := range c.wantLines {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			// Measured as a run would: until a verdict, no further.
			if want := map[int]int32{0: 2, 1: 2, 2: 1}[c.wantCode]; queries.Load() != want {
				t.Errorf("%d queries, want %d", queries.Load(), want)
			}
		})
	}
}

func TestAnalysisTestOverridesAndUnboundedMetrics(t *testing.T) {
	srv, queries := prometheus(t, 200, promHealthy)
	tmpl := strings.ReplaceAll(promTemplate, "ADDRESS", srv.URL)
	// --count and --interval set every metric's.
	out, _, err := analysisTest(t, "", nil, "-f", writeFile(t, tmpl), "--arg", "service=checkout", "--count", "3", "--interval", "10ms")
	if err != nil || !strings.Contains(out, "3 measurements every 10ms") || queries.Load() != 3 {
		t.Fatalf("exit %v after %d queries:\n%s", err, queries.Load(), out)
	}
	// A metric that measures until its run ends takes the fewest
	// measurements its limits allow: failureLimit 2 needs a count of 2.
	queries.Store(0)
	unbounded := strings.Replace(strings.Replace(tmpl, "    count: 2\n", "", 1), "failureLimit: 1", "failureLimit: 2", 1)
	out, _, err = analysisTest(t, "", nil, "-f", writeFile(t, unbounded), "--arg", "service=checkout")
	if err != nil || !strings.Contains(out, "2 measurements every 20ms") || queries.Load() != 2 {
		t.Fatalf("unbounded: exit %v after %d queries:\n%s", err, queries.Load(), out)
	}
	// A count the limits forbid is refused before measuring, naming it.
	queries.Store(0)
	limited := strings.Replace(tmpl, "failureLimit: 1", "failureLimit: 1\n    inconclusiveLimit: 2", 1)
	_, _, err = analysisTest(t, "", nil, "-f", writeFile(t, limited), "--arg", "service=checkout", "--count", "1")
	if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), `metric "success-rate": count 1 must be >= inconclusiveLimit 2 (--count and --interval set every metric's)`) ||
		queries.Load() != 0 {
		t.Fatalf("count below the limits: %v after %d queries", err, queries.Load())
	}
}

func TestAnalysisTestArguments(t *testing.T) {
	srv, queries := prometheus(t, 200, promHealthy)
	file := writeFile(t, strings.ReplaceAll(promTemplate, "ADDRESS", srv.URL))
	_, _, err := analysisTest(t, "", nil, "-f", file)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `args.service was not resolved (template success-rate: supply it in --arg args)`) {
		t.Fatalf("missing argument: %v", err)
	}
	_, errOut, err := analysisTest(t, "", nil, "-f", file, "--arg", "service=checkout", "--arg", "servce=typo")
	if err != nil || !strings.Contains(errOut, `warning: --arg servce: the template declares no argument "servce"; it is not used`) {
		t.Fatalf("unknown argument: %v, stderr %q", err, errOut)
	}
	if _, _, err := analysisTest(t, "", nil, "-f", file, "--arg", "service"); exitCode(err) != 2 || !strings.Contains(err.Error(), "NAME=VALUE") {
		t.Fatalf("malformed argument: %v", err)
	}
	if _, _, err := analysisTest(t, "", nil); exitCode(err) != 2 || !strings.Contains(err.Error(), "-f/--filename") {
		t.Fatalf("no file: %v", err)
	}
	if queries.Load() != 2 {
		t.Fatalf("%d queries, want the 2 of the one run that could start", queries.Load())
	}
}

// secretTemplate sends a token from a Secret as a header to a web metric
// whose endpoint echoes it back.
const secretTemplate = `apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata:
  name: health
spec:
  args:
  - name: token
    valueFrom:
      secretKeyRef: {name: health-token, key: token}
  metrics:
  - name: health
    successCondition: result.ok == true
    provider:
      web:
        url: URL/health
        headers:
        - key: Authorization
          value: "Bearer {{args.token}}"
`

func TestAnalysisTestSecretsAreReadLiveAndNeverPrinted(t *testing.T) {
	const token = "s3cr3t-t0ken-value"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/health" || r.Header.Get("Authorization") != "Bearer "+token {
			t.Errorf("request %s %s with Authorization %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok": true, "echo": "` + token + `"}`))
	}))
	t.Cleanup(srv.Close)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "health-token"}, Data: map[string][]byte{"token": []byte(token)}}
	file := writeFile(t, strings.ReplaceAll(secretTemplate, "URL", srv.URL))
	out, errOut, err := analysisTest(t, "shop", fakeClient(t, secret), "-f", file)
	if err != nil || !strings.Contains(out, `Testing ClusterAnalysisTemplate "health" in namespace "shop"`) || !strings.Contains(out, "*****") {
		t.Fatalf("exit %v:\n%s%s", err, out, errOut)
	}
	if strings.Contains(out+errOut, token) {
		t.Fatalf("the Secret's value was printed:\n%s%s", out, errOut)
	}
	// A Secret that is not there ends the run Error, naming it.
	_, _, err = analysisTest(t, "shop", fakeClient(t), "-f", file)
	if exitCode(err) != 2 {
		t.Fatalf("missing Secret: exit %d (%v)", exitCode(err), err)
	}
}

func TestAnalysisTestSkipsJobMetrics(t *testing.T) {
	srv, _ := prometheus(t, 200, promHealthy)
	tmpl := strings.ReplaceAll(promTemplate, "ADDRESS", srv.URL) + `  - name: smoke
    provider:
      job:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: smoke, image: busybox, command: [sh, -c, "exit 0"]}]
  dryRun:
  - metricName: smoke
`
	out, _, err := analysisTest(t, "", nil, "-f", writeFile(t, tmpl), "--arg", "service=checkout")
	for _, want := range []string{
		"smoke         not measured: Job metrics create Jobs in the cluster",
		"Run Successful",
		"The measured metrics pass, but 1 metric was not measured: no verdict for the run (exit 2)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if exitCode(err) != 2 {
		t.Fatalf("exit %d (%v), want 2: a pass needs every metric measured", exitCode(err), err)
	}
}
