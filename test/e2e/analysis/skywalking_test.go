package analysis

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// apdexRun is seed 08's SkyWalking apdex metric as a run.
const apdexRun = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: NAME
spec:
  args:
  - name: service-name
    value: reviews
  metrics:
  - name: apdex
    successCondition: "all(result.service_apdex.values.values, {asFloat(.value) >= 9900})"
    failureLimit: 0
    provider:
      skywalking:
        interval: 3m
        address: URL
        query: |
          query queryData($duration: Duration!) {
            service_apdex: readMetricsValues(
              condition: { name: "service_apdex", entity: { scope: Service, serviceName: "{{ args.service-name }}", normal: true } },
              duration: $duration) {
                label values { values { value } }
              }
          }
`

// TestSkyWalkingSeed08 answers seed 08's GraphQL query with SkyWalking's
// response shape: all values above 9900 pass, one below fails.
func TestSkyWalkingSeed08(t *testing.T) {
	ns, _ := scoped(t)
	answer := func(values ...int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				Query     string         `json:"query"`
				Variables map[string]any `json:"variables"`
			}
			body, _ := io.ReadAll(r.Body)
			if r.URL.Path != "/graphql" || json.Unmarshal(body, &req) != nil || !strings.Contains(req.Query, `serviceName: \"reviews\"`) && !strings.Contains(req.Query, `serviceName: "reviews"`) ||
				req.Variables["duration"] == nil {
				http.Error(w, "unexpected request: "+string(body), http.StatusBadRequest)
				return
			}
			var vals []map[string]any
			for _, v := range values {
				vals = append(vals, map[string]any{"value": v})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
				"service_apdex": map[string]any{"label": nil, "values": map[string]any{"values": vals}},
			}})
		}
	}
	good, bad := serve(t, answer(9950, 9990, 10000)), serve(t, answer(9950, 9200, 10000))
	apply(t, ns, strings.NewReplacer("NAME", "good", "URL", good).Replace(apdexRun))
	apply(t, ns, strings.NewReplacer("NAME", "bad", "URL", bad).Replace(apdexRun))
	waitForPhase(t, ns, "good", v1alpha1.AnalysisPhaseSuccessful, 60*time.Second)
	waitForPhase(t, ns, "bad", v1alpha1.AnalysisPhaseFailed, 60*time.Second)
}
