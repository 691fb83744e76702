package metrics

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/aviary-rollouts/aviary/internal/demo"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// dashboardQueries are the PromQL queries of Argo Rollouts' published
// Grafana dashboard (examples/dashboard.json in argoproj/argo-rollouts,
// the same in v1.9 and v1.10), by panel title, with its template
// variables $rollout_namespace and $rollout_name left in. Every one must
// answer with a series, from Aviary's controller scraped as job
// argo-rollouts-metrics.
var dashboardQueries = []struct{ panel, query string }{
	{"Uptime (controller)", `time() - max(process_start_time_seconds{job="argo-rollouts-metrics"})`},
	{"Total Rollouts", `sum(rollout_info{job="argo-rollouts-metrics"})`},
	{"Rollouts", `sum(rollout_info{job="argo-rollouts-metrics"}) by (strategy)`},
	{"Stable", `sum(rollout_info{phase="Completed",job="argo-rollouts-metrics"} == 1)`},
	{"Progressing", `sum(rollout_info{phase="Progressing",job="argo-rollouts-metrics"})`},
	{"Paused", `sum(rollout_info{phase="Paused",job="argo-rollouts-metrics"})`},
	{"Error", `sum(rollout_info{job="argo-rollouts-metrics",phase="Error"} == 1)`},
	{"Invalid Spec", `sum(rollout_info{job="argo-rollouts-metrics",phase="InvalidSpec"} == 1)`},
	{"Timeout", `sum(rollout_info{job="argo-rollouts-metrics",phase="Timeout"} == 1)`},
	{"Aborted", `sum(rollout_info{job="argo-rollouts-metrics",phase="Abort"} == 1)`},
	{"Reconcile Activity", `sum(increase(rollout_reconcile_count{job="argo-rollouts-metrics"}[10m]))`},
	{"Reconciliation Performance", `sum(increase(rollout_reconcile_bucket[10m])) by (le)`},
	{"Memory Used", `go_memstats_heap_alloc_bytes{job="argo-rollouts-metrics"}`},
	{"Phase", `rollout_info{job="argo-rollouts-metrics",namespace="$rollout_namespace",name="$rollout_name"}`},
	{"Replicas (desired)", `rollout_info_replicas_desired{job="argo-rollouts-metrics",namespace="$rollout_namespace",name="$rollout_name"}`},
	{"Replica (available)", `rollout_info_replicas_available{job="argo-rollouts-metrics",namespace="$rollout_namespace",name="$rollout_name"}`},
	{"Replica (unavailable)", `rollout_info_replicas_unavailable{job="argo-rollouts-metrics",namespace="$rollout_namespace",name="$rollout_name"}`},
}

// dashboardVariables are the dashboard's template variables:
// label_values(metric, label), which Grafana asks Prometheus's label
// values API for.
var dashboardVariables = []struct{ name, match, label string }{
	{"rollout_namespace", `rollout_info`, "namespace"},
	{"rollout_name", `rollout_info{namespace="$rollout_namespace"}`, "name"},
}

// phases are Rollouts in the states seed 01 never reaches, beside it in
// its namespace, so every phase of rollout_info is shown (and every
// dashboard panel has something to count): the API server refuses
// refused's ReplicaSet (a container name that is not a DNS label: Error);
// never-ready, blue-green, has pods that never become ready and a 5 s
// progress deadline (Timeout); invalid has a step weight over 100
// (InvalidSpec). An Experiment runs for the experiment_* families.
const phases = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: refused}
spec:
  replicas: 1
  selector: {matchLabels: {app: refused}}
  template:
    metadata: {labels: {app: refused}}
    spec: {containers: [{name: Not_A_Label, image: "argoproj/rollouts-demo:blue"}]}
  strategy: {canary: {steps: [{setWeight: 50}]}}
---
apiVersion: v1
kind: Service
metadata: {name: never-ready}
spec: {ports: [{port: 80}], selector: {app: never-ready}}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: never-ready}
spec:
  replicas: 1
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: never-ready}}
  template:
    metadata:
      labels: {app: never-ready}
      annotations: {test.aviary.dev/state: unready}
    spec: {containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]}
  strategy: {blueGreen: {activeService: never-ready}}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: invalid}
spec:
  replicas: 1
  selector: {matchLabels: {app: invalid}}
  template:
    metadata: {labels: {app: invalid}}
    spec: {containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]}
  strategy: {canary: {steps: [{setWeight: 200}]}}
---
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {name: compare}
spec:
  duration: 1h
  templates:
  - name: baseline
    replicas: 1
    selector: {matchLabels: {app: compare}}
    template:
      metadata: {labels: {app: compare}}
      spec: {containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]}
`

// TestArgoMetrics plays seed 01 — its success path, then its failure path
// — beside Rollouts in the phases it never reaches, while the test scrapes
// the controller's /metrics every second and a real Prometheus scrapes it
// as job argo-rollouts-metrics. Every family of testdata/families.txt
// (Argo Rollouts' names, types, help and labels) must show, with each
// label value listed there seen at some point; and every query of Argo
// Rollouts' Grafana dashboard must answer with a series at some point of
// the run (a phase's panel while a rollout is in it).
func TestArgoMetrics(t *testing.T) {
	g, err := readGolden("testdata/families.txt")
	if err != nil {
		t.Fatal(err)
	}
	h := framework.StartHeadlineMonitored(t, "30s")
	ns := h.Namespace
	if out, err := h.Env.KubectlStdin(context.Background(), []byte(phases), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	vars := strings.NewReplacer("$rollout_namespace", ns, "$rollout_name", demo.RolloutName)

	client, err := promapi.NewClient(promapi.Config{Address: h.Prometheus.Address})
	if err != nil {
		t.Fatal(err)
	}
	prom := promv1.NewAPI(client)
	scrapes := newSeen()
	answered := &answers{got: map[string]string{}}
	ctx, stop := context.WithCancel(context.Background())
	var watching sync.WaitGroup
	watching.Go(func() {
		for tick := time.NewTicker(time.Second); ; {
			select {
			case <-ctx.Done():
				tick.Stop()
				return
			case <-tick.C:
			}
			if err := scrape(ctx, "http://"+h.Controller.MetricsAddr+"/metrics", scrapes); err != nil && ctx.Err() == nil {
				t.Errorf("scrape the controller: %v", err)
			}
			for _, q := range dashboardQueries {
				if answered.has(q.panel) {
					continue
				}
				v, _, err := prom.Query(ctx, vars.Replace(q.query), time.Now())
				if vec, ok := v.(model.Vector); err == nil && ok && len(vec) > 0 {
					answered.set(q.panel, vec.String())
				}
			}
		}
	})
	defer func() { stop(); watching.Wait() }()

	sc := demo.Scenario{Client: h.Env.Client, Namespace: ns}
	for _, path := range []func(context.Context, time.Duration) (demo.Result, error){sc.Success, sc.Failure} {
		res, err := path(context.Background(), 4*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() {
			t.Fatalf("seed 01's %s path: %v", res.Path, res.Problems)
		}
		if res.Path == "success" {
			// Green stays Completed until the next path starts: hold it
			// there until both this test's scrape and Prometheus (the
			// Stable panel) have seen it — blue's was before the scrapes
			// began, and on a loaded machine Prometheus's 1 s scrape can
			// miss a short window (a CI run failed that way).
			framework.Eventually(t, time.Minute, "a scrape and Prometheus to show the promoted rollout Completed", func() (bool, string) {
				return scrapes.saw("rollout_info", "phase", "Completed") && answered.has("Stable"),
					fmt.Sprintf("scrape saw Completed: %t, Prometheus answered Stable: %t", scrapes.saw("rollout_info", "phase", "Completed"), answered.has("Stable"))
			})
		}
	}
	framework.Eventually(t, time.Minute, "every dashboard query to answer with a series", func() (bool, string) {
		var missing []string
		for _, q := range dashboardQueries {
			if !answered.has(q.panel) {
				missing = append(missing, q.panel+": "+vars.Replace(q.query))
			}
		}
		return len(missing) == 0, "no series yet for:\n" + strings.Join(missing, "\n")
	})
	for _, v := range dashboardVariables {
		values, _, err := prom.LabelValues(context.Background(), v.label, []string{vars.Replace(v.match)}, time.Now().Add(-time.Hour), time.Now())
		want := map[string]string{"namespace": ns, "name": demo.RolloutName}[v.label]
		if err != nil || !slices.Contains(values, model.LabelValue(want)) {
			t.Errorf("dashboard variable %s: label_values(%s, %s) = %v (%v), want it to offer %s", v.name, vars.Replace(v.match), v.label, values, err, want)
		}
	}
	stop()
	watching.Wait()
	if problems := scrapes.compare(g); len(problems) > 0 {
		t.Errorf("over %d scrapes of /metrics, compared with testdata/families.txt:\n%s", scrapes.scrapes, strings.Join(problems, "\n"))
	}
	for _, q := range dashboardQueries {
		t.Logf("%-26s %s", q.panel, answered.get(q.panel))
	}
}

// answers are the dashboard panels that got a series, with the first.
type answers struct {
	mu  sync.Mutex
	got map[string]string
}

func (a *answers) has(panel string) bool { return a.get(panel) != "" }

func (a *answers) get(panel string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.got[panel]
}

func (a *answers) set(panel, series string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got[panel] = series
}

// scrape adds one scrape of url to s.
func scrape(ctx context.Context, url string, s *seen) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return s.add(resp.Body)
}
