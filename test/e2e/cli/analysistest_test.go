package cli

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// successRateTemplate is seed 01's success-rate metric with its window
// shortened for a 1 s scrape. The ingress name comes from a Secret, so the
// resolved query the command prints carries a secret value it must hide.
const successRateTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
spec:
  args:
  - name: ingress
    valueFrom:
      secretKeyRef: {name: ingress-name, key: name}
  metrics:
  - name: success-rate
    interval: 1s
    count: 2
    failureLimit: 1
    consecutiveErrorLimit: 1
    successCondition: result[0] > 0.90
    provider:
      prometheus:
        address: ADDRESS
        query: QUERY
`

const (
	successRateQuery = `sum(rate(nginx_ingress_controller_requests{ingress="{{args.ingress}}",status!~"[4-5].*"}[10s])) / sum(rate(nginx_ingress_controller_requests{ingress="{{args.ingress}}"}[10s]))`
	// The closing parenthesis of the first sum is missing.
	typoQuery = `sum(rate(nginx_ingress_controller_requests{ingress="{{args.ingress}}",status!~"[4-5].*"}[10s]) / sum(rate(nginx_ingress_controller_requests{ingress="{{args.ingress}}"}[10s]))`
	// ingressName is the Secret's value: it must never be printed.
	ingressName = "rollouts-demo-stable"
)

// TestAnalysisTestAgainstPrometheus runs `analysis test` against a real
// Prometheus scraping ingress counters: a healthy success rate exits 0, a
// failing one 1, a typo in the query 2 with Prometheus' own error; the
// secret argument is read from the namespace and never printed.
func TestAnalysisTestAgainstPrometheus(t *testing.T) {
	e := framework.Get(t)
	ns := framework.Namespace(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ingress-name"}, Data: map[string][]byte{"name": []byte(ingressName)}}
	if err := e.Client.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	traffic := framework.StartIngressTraffic(t, ingressName, 0)
	prom := framework.StartPrometheus(t, traffic.Addr)
	prom.WaitForSuccessRatio(t, "all requests succeeding", func(v float64) bool { return v > 0.99 })
	template := func(query string) string {
		path := filepath.Join(t.TempDir(), "template.yaml")
		body := strings.NewReplacer("ADDRESS", prom.Address, "QUERY", strconv.Quote(query)).Replace(successRateTemplate)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	check := func(name string, out, errOut string, code, wantCode int, want ...string) {
		t.Helper()
		if code != wantCode {
			t.Errorf("%s: exit %d, want %d", name, code, wantCode)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q", name, w)
			}
		}
		if strings.Contains(out+errOut, ingressName) {
			t.Errorf("%s: the Secret's value %q was printed", name, ingressName)
		}
	}

	out, errOut, code := runCLI(t, "analysis", "test", "-f", template(successRateQuery), "-n", ns)
	check("healthy", out, errOut, code, 0,
		`Testing AnalysisTemplate "success-rate" in namespace "`+ns+`"`,
		`ResolvedPrometheusQuery: sum(rate(nginx_ingress_controller_requests{ingress="*****"`,
		"success-rate  Successful", "satisfies result[0] > 0.90", "The run would pass (exit 0)")

	traffic.SetErrorRatio(0.5)
	prom.WaitForSuccessRatio(t, "half the requests failing", func(v float64) bool { return v <= 0.55 })
	out, errOut, code = runCLI(t, "analysis", "test", "-f", template(successRateQuery), "-n", ns)
	check("failing", out, errOut, code, 1,
		"success-rate  Failed", "does not satisfy result[0] > 0.90 (2 failed > failureLimit 1)", "The run would fail (exit 1)")

	out, errOut, code = runCLI(t, "analysis", "test", "-f", template(typoQuery), "-n", ns)
	check("typo", out, errOut, code, 2,
		"success-rate  Error", "bad_data", "parse error", "2 consecutive errors > consecutiveErrorLimit 1",
		"The run would end in Error: a rollout would abort (exit 2)")
}
