package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestKayenta runs the kayenta provider against a stand-in of Kayenta's
// canary API: each measurement finds the config, starts an execution and
// polls it until it is complete with a score.
func TestKayenta(t *testing.T) {
	const (
		configID    = "bf9795c0-170f-403e-bb7f-fef3f9a44d42"
		executionID = "01DS50WVHAWSTAQACJKB1VKDQB"
	)
	answer := func(score int) http.HandlerFunc {
		var mu sync.Mutex
		polls := 0
		return func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			w.Header().Set("Content-Type", "application/json")
			switch {
			case r.Method == http.MethodGet && r.URL.Path == "/canaryConfig" && q.Get("application") == "web" && q.Get("configurationAccountName") == "configs":
				fmt.Fprintf(w, `[{"id": %q, "name": "web-canary", "updatedTimestamp": 1553625287000, "applications": ["web"]}]`, configID)
			case r.Method == http.MethodPost && r.URL.Path == "/canary/"+configID && q.Get("application") == "web" && q.Get("metricsAccountName") == "metrics" &&
				q.Get("configurationAccountName") == "configs" && q.Get("storageAccountName") == "store" && validCanaryBody(r.Body):
				fmt.Fprintf(w, `{"canaryExecutionId": %q}`, executionID)
			case r.Method == http.MethodGet && r.URL.Path == "/canary/"+executionID:
				// Every other poll finds the execution still running.
				mu.Lock()
				polls++
				running := polls%2 == 1
				mu.Unlock()
				if running {
					io.WriteString(w, `{"complete": false, "status": "running"}`)
					return
				}
				fmt.Fprintf(w, `{"complete": true, "status": "succeeded", "result": {"judgeResult": {"score": {"score": %d, "classification": "Pass"}}}}`, score)
			default:
				http.Error(w, `{"error": "Bad Request", "status": 400}`, http.StatusBadRequest)
			}
		}
	}
	checkProvider(t, providerCase{
		Provider: func(url string) string {
			return `kayenta:
  address: ` + url + `
  application: web
  canaryConfigName: web-canary
  metricsAccountName: metrics
  configurationAccountName: configs
  storageAccountName: store
  threshold: {pass: 90, marginal: 75}
  scopes:
  - name: default
    controlScope: {scope: "app=web,role=stable", region: local, step: 10}
    experimentScope: {scope: "app=web,role=canary", region: local, step: 10}
`
		},
		Good: answer(95),
		Bad:  answer(40),
		Setup: func(*testing.T, string, string) []string {
			return []string{"AVIARY_KAYENTA_POLL_INTERVAL=1s"}
		},
	})
}

// validCanaryBody reports whether body is the canary execution request for
// the template's scope, with a window ending after it starts.
func validCanaryBody(body io.Reader) bool {
	var req struct {
		Scopes map[string]struct {
			ControlScope, ExperimentScope struct {
				Scope, Location, Start, End string
				Step                        int
			}
		}
		Thresholds struct{ Pass, Marginal int }
	}
	if err := json.NewDecoder(body).Decode(&req); err != nil || len(req.Scopes) != 1 || req.Thresholds.Pass != 90 || req.Thresholds.Marginal != 75 {
		return false
	}
	s, ok := req.Scopes["default"]
	return ok && s.ControlScope.Scope == "app=web,role=stable" && s.ExperimentScope.Scope == "app=web,role=canary" &&
		s.ControlScope.Location == "local" && s.ControlScope.Step == 10 && s.ControlScope.Start != "" && s.ControlScope.Start < s.ControlScope.End &&
		s.ExperimentScope.Start == s.ControlScope.Start && s.ExperimentScope.End == s.ControlScope.End
}

// TestKayentaResumesAfterKill kills the controller while a canary execution
// is in flight: the next controller polls the same execution (its id is in
// the stored measurement) instead of starting another, and judges it.
func TestKayentaResumesAfterKill(t *testing.T) {
	t.Parallel()
	const configID = "cfg-1"
	var (
		mu       sync.Mutex
		posts    int
		polls    = map[string]int{}
		released bool
	)
	count := func() (int, int, bool) {
		mu.Lock()
		defer mu.Unlock()
		return posts, polls["exec-1"], released
	}
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/canaryConfig":
			fmt.Fprintf(w, `[{"id": %q, "name": "web-canary", "applications": ["web"]}]`, configID)
		case r.Method == http.MethodPost && r.URL.Path == "/canary/"+configID && validCanaryBody(r.Body):
			posts++
			fmt.Fprintf(w, `{"canaryExecutionId": "exec-%d"}`, posts)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/canary/exec-"):
			id := strings.TrimPrefix(r.URL.Path, "/canary/")
			polls[id]++
			if id == "exec-1" && !released {
				io.WriteString(w, `{"complete": false, "status": "running"}`)
				return
			}
			io.WriteString(w, `{"complete": true, "status": "succeeded", "result": {"judgeResult": {"score": {"score": 95}}}}`)
		default:
			http.Error(w, `{"error": "Bad Request", "status": 400}`, http.StatusBadRequest)
		}
	})
	ns := framework.Namespace(t)
	env := []string{"POD_NAMESPACE=" + ns, "AVIARY_KAYENTA_POLL_INTERVAL=1s"}
	args := []string{"--leader-elect=false", "--namespaced", "--namespace", ns}
	ctrl := framework.StartControllerEnv(t, env, args...)
	provider := "kayenta:\n  address: " + url + "\n  application: web\n  canaryConfigName: web-canary\n" +
		"  metricsAccountName: metrics\n  configurationAccountName: configs\n  storageAccountName: store\n  threshold: {pass: 90, marginal: 75}\n" +
		"  scopes:\n  - name: default\n    controlScope: {scope: \"app=web,role=stable\", region: local, step: 10}\n" +
		"    experimentScope: {scope: \"app=web,role=canary\", region: local, step: 10}\n"
	tmpl := strings.NewReplacer("CONDITIONS", "", "PROVIDER", indent(provider, "      ")).Replace(checkTemplate)
	// An indefinite pause: the rollout waits however long the restart takes.
	apply(t, ns, tmpl+"---\n"+strings.Replace(checkRollout, "pause: {duration: 20}", "pause: {}", 1))
	framework.Eventually(t, time.Minute, "the first version Healthy", func() (bool, string) {
		return getRollout(t, ns).Status.Phase == v1alpha1.RolloutPhaseHealthy, describe(t, ns)
	})
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")

	framework.Eventually(t, 2*time.Minute, "execution exec-1 stored Running and polled", func() (bool, string) {
		_, polled, _ := count()
		m := firstMeasurement(t, ns)
		return m != nil && m.Phase == v1alpha1.AnalysisPhaseRunning && m.Metadata["canaryExecutionId"] == "exec-1" && polled > 0, describe(t, ns)
	})
	ctrl.Kill()
	_, before, _ := count()
	framework.StartControllerEnv(t, env, args...)
	framework.Eventually(t, 2*time.Minute, "the new controller polling exec-1", func() (bool, string) {
		_, polled, _ := count()
		return polled >= before+2, describe(t, ns)
	})
	mu.Lock()
	if posts != 1 {
		t.Errorf("%d canary executions started, want the one started before the kill", posts)
	}
	released = true
	mu.Unlock()
	framework.Eventually(t, time.Minute, "exec-1 judged", func() (bool, string) {
		m := firstMeasurement(t, ns)
		return m != nil && m.Phase == v1alpha1.AnalysisPhaseSuccessful, describe(t, ns)
	})
	if m := firstMeasurement(t, ns); m.Value != "95" || m.Metadata["canaryExecutionId"] != "exec-1" {
		t.Errorf("first measurement %+v, want exec-1 scored 95", m)
	}
}

// firstMeasurement is the background run's first measurement, if any.
func firstMeasurement(t *testing.T, ns string) *v1alpha1.Measurement {
	t.Helper()
	var list v1alpha1.AnalysisRunList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || len(list.Items[0].Status.MetricResults) != 1 || len(list.Items[0].Status.MetricResults[0].Measurements) == 0 {
		return nil
	}
	return &list.Items[0].Status.MetricResults[0].Measurements[0]
}
