package providers

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/aviary-rollouts/aviary/test/providertest"
)

// ampWorkspace is a workspace's path on the stand-in: Argo Rollouts (and
// Aviary) sign only addresses containing "aps-workspaces".
const ampWorkspace = "/aps-workspaces/workspaces/ws-e2e0a1b2"

// TestPrometheusSigV4 runs the prometheus provider against a stand-in of
// Amazon Managed Prometheus that answers only requests signed with the
// controller's credentials for the service "aps" in the metric's region.
func TestPrometheusSigV4(t *testing.T) {
	const query = `sum(rate(http_requests_total{code!~"5.."}[1m])) / sum(rate(http_requests_total[1m]))`
	want := awsCreds
	want.Region = "ap-southeast-2" // the metric's, not the environment's
	want.Service = "aps"
	want.MustSign = []string{"content-type"}
	answer := func(ratio string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			err := providertest.CheckSigV4(r, body, want)
			if err == nil && (r.Method != http.MethodPost || r.URL.Path != ampWorkspace+"/api/v1/query" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded") {
				err = fmt.Errorf("%s %s", r.Method, r.URL.Path)
			}
			if err == nil && string(body) != (url.Values{"query": {query}}).Encode() {
				err = fmt.Errorf("body %q", body)
			}
			w.Header().Set("Content-Type", "application/json")
			if err != nil {
				t.Logf("stand-in refused a request: %v", err)
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `{"message":"The request signature we calculated does not match the signature you provided."}`)
				return
			}
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1767268800,%q]}]}}`, ratio)
		}
	}
	checkProvider(t, providerCase{
		Provider: func(url string) string {
			return fmt.Sprintf("prometheus:\n  address: %s\n  query: '%s'\n  authentication:\n    sigv4:\n      region: %s\n", url+ampWorkspace, query, want.Region)
		},
		SuccessCondition: "result[0] >= 0.95",
		Good:             answer("0.99"),
		Bad:              answer("0.42"),
		Setup: func(t *testing.T, _, _ string) []string {
			return awsEnv(t)
		},
		Secrets: []string{awsCreds.SecretAccessKey},
	})
}
