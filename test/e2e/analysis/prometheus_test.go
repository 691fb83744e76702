package analysis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// successRateRun is seed 01's success-rate metric as an AnalysisRun, with
// the window and interval shortened for a 1 s scrape.
const successRateRun = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: NAME
spec:
  args:
  - name: ingress
    value: rollouts-demo-stable
  metrics:
  - name: success-rate
    interval: 1s
    count: COUNT
    failureLimit: 1
    consecutiveErrorLimit: 1
    successCondition: result[0] > 0.90
    provider:
      prometheus:
        address: ADDRESS
        query: >+
          sum(
            rate(nginx_ingress_controller_requests{ingress="{{args.ingress}}",status!~"[4-5].*"}[10s]))
            /
            sum(rate(nginx_ingress_controller_requests{ingress="{{args.ingress}}"}[10s])
          )
`

func successRate(name, address string, count int) string {
	return strings.NewReplacer("NAME", name, "ADDRESS", address, "COUNT", fmt.Sprint(count)).Replace(successRateRun)
}

// TestPrometheusSuccessRate measures seed 01's query against a real
// Prometheus scraping ingress counters: all requests succeeding passes;
// half of them failing fails after failureLimit+1 failed measurements with
// a message that shows the value, the condition and the counts.
func TestPrometheusSuccessRate(t *testing.T) {
	ns, _ := scoped(t)
	good := framework.StartIngressTraffic(t, "rollouts-demo-stable", 0)
	prom := framework.StartPrometheus(t, good.Addr)
	waitForRate(t, prom)
	apply(t, ns, successRate("healthy", prom.Address, 3))
	run := waitForPhase(t, ns, "healthy", v1alpha1.AnalysisPhaseSuccessful, 60*time.Second)
	if r := run.Status.MetricResults[0]; r.Successful != 3 || r.Metadata["ResolvedPrometheusQuery"] == "" ||
		!strings.Contains(r.Metadata["ResolvedPrometheusQuery"], `ingress="rollouts-demo-stable"`) {
		t.Errorf("healthy run: %s metadata %v", describeRun(run), r.Metadata)
	}

	good.SetErrorRatio(0.5)
	waitForSuccessRatio(t, prom, 0.55)
	apply(t, ns, successRate("unhealthy", prom.Address, 5))
	run = waitForPhase(t, ns, "unhealthy", v1alpha1.AnalysisPhaseFailed, 60*time.Second)
	r := run.Status.MetricResults[0]
	if r.Failed != 2 || !strings.Contains(run.Status.Message, "result[0] > 0.90") || !strings.Contains(run.Status.Message, "0.5") {
		t.Errorf("unhealthy run: %s", describeRun(run))
	}
}

// TestPrometheusUnreachableNeverPasses: with no server at the address every
// measurement errors; the run ends Error after the consecutive-error limit
// and never Successful.
func TestPrometheusUnreachableNeverPasses(t *testing.T) {
	ns, _ := scoped(t)
	apply(t, ns, successRate("nowhere", "http://"+framework.FreeAddr(t), 3))
	run := waitForPhase(t, ns, "nowhere", v1alpha1.AnalysisPhaseError, 60*time.Second)
	if r := run.Status.MetricResults[0]; r.Error != 2 || r.Successful != 0 {
		t.Errorf("unreachable: %s", describeRun(run))
	}
}

// waitForRate waits until Prometheus has enough samples for a 10 s rate.
func waitForRate(t *testing.T, prom *framework.Prometheus) {
	t.Helper()
	framework.Eventually(t, 30*time.Second, "a rate over the ingress counters", func() (bool, string) {
		body, err := framework.HTTPGet(prom.Address + `/api/v1/query?query=sum(rate(nginx_ingress_controller_requests[10s]))`)
		return err == nil && strings.Contains(body, `"result":[{`), body
	})
}

// waitForSuccessRatio waits until the 10 s success ratio Prometheus
// computes over the ingress counters has fallen to at most limit, so a run
// started afterwards measures the new error rate from its first sample.
func waitForSuccessRatio(t *testing.T, prom *framework.Prometheus, limit float64) {
	t.Helper()
	prom.WaitForSuccessRatio(t, fmt.Sprintf("the success ratio at most %.2f", limit), func(v float64) bool { return v <= limit })
}
