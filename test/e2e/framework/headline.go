package framework

import (
	"context"
	"os"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/action"
	"github.com/aviary-rollouts/aviary/internal/demo"
)

// HeadlineRollout is the name of seed 01's Rollout (and of its stable
// Service and Ingress).
const HeadlineRollout = demo.RolloutName

// Headline is seed 01 (the headline scenario) running in its own namespace
// against a real Prometheus that scrapes a traffic simulator, set up by
// the demo's own code (internal/demo): the simulator splits requests by
// the canary Ingress weight the controller writes, and each version fails
// at its pod template's ERROR_RATE.
type Headline struct {
	t          testing.TB
	Env        *Env
	Namespace  string
	Controller *Controller
	Prometheus *Prometheus
}

// MetricsJob is the job label Argo Rollouts' Grafana dashboard selects the
// controller's series by: the name of the metrics Service in Argo's (and
// Aviary's) install, which a ServiceMonitor gives as the job.
const MetricsJob = "argo-rollouts-metrics"

// StartHeadline applies seed 01 in a fresh namespace with its own
// controller, simulator and Prometheus, and returns once blue is Healthy
// with no traffic on a canary. pause is what each two-minute pause
// becomes (demo.PrepareSeed): a duration ("30s") keeps tests short, ""
// makes each pause wait for a promote, so a test can look at a step for
// as long as it needs.
func StartHeadline(t testing.TB, pause string) *Headline {
	t.Helper()
	return startHeadline(t, pause, false)
}

// StartHeadlineMonitored is StartHeadline with its Prometheus also
// scraping the controller's /metrics as job MetricsJob, as a stock
// Prometheus set-up scrapes the installed controller.
func StartHeadlineMonitored(t testing.TB, pause string) *Headline {
	t.Helper()
	return startHeadline(t, pause, true)
}

func startHeadline(t testing.TB, pause string, monitored bool) *Headline {
	t.Helper()
	e := Get(t)
	h := &Headline{t: t, Env: e, Namespace: Namespace(t)}
	sim := StartTrafficSimulator(t, h.Namespace, HeadlineRollout)
	h.Controller = StartController(t, "--leader-elect=false", "--namespaced", "--namespace", h.Namespace)
	var jobs map[string][]string
	if monitored {
		jobs = map[string][]string{MetricsJob: {h.Controller.MetricsAddr}}
	}
	h.Prometheus = StartPrometheusJobs(t, sim.Addr, jobs)
	raw, err := os.ReadFile(Example(t, "01-progressive-nginx.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc := demo.Scenario{Client: e.Client, Namespace: h.Namespace}
	if err := sc.Apply(context.Background(), demo.PrepareSeed(raw, pause, h.Prometheus.Address)); err != nil {
		t.Fatalf("seed 01: %v", err)
	}
	return h
}

// Rollout is the Rollout as the API server has it now (empty if unreadable).
func (h *Headline) Rollout() *v1alpha1.Rollout {
	var ro v1alpha1.Rollout
	_ = h.Env.Client.Get(context.Background(), Key(h.Namespace, HeadlineRollout), &ro)
	return &ro
}

// Runs are the namespace's AnalysisRuns.
func (h *Headline) Runs() []v1alpha1.AnalysisRun {
	var list v1alpha1.AnalysisRunList
	_ = h.Env.Client.List(context.Background(), &list, client.InNamespace(h.Namespace))
	return list.Items
}

// SetImage sends a new version, as `kubectl argo rollouts set image` does.
func (h *Headline) SetImage(image string) {
	h.t.Helper()
	if _, err := action.SetImage(context.Background(), h.Env.Client, h.Namespace, HeadlineRollout, HeadlineRollout, image); err != nil {
		h.t.Fatalf("set image: %v", err)
	}
}
