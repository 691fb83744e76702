package providers

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
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
