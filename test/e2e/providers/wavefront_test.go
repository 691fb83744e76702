package providers

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestWavefront runs the wavefront provider against a stand-in of
// Wavefront's chart API, with the token in Secret wavefront-api-tokens
// under the address's host.
func TestWavefront(t *testing.T) {
	const (
		token = "e2e-wavefront-token-51be0d"
		query = `sum(rate(ts(http.errors, app="web"))) / sum(rate(ts(http.requests, app="web")))`
	)
	answer := func(errorRate float64) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if r.Method != http.MethodGet || r.URL.Path != "/api/v2/chart/api" || r.Header.Get("Authorization") != "Bearer "+token ||
				q.Get("q") != query || q.Get("s") == "" || q.Get("s") != q.Get("e") || q.Get("p") != "1" || q.Get("i") != "true" {
				http.Error(w, `{"status":{"result":"ERROR","message":"401 Unauthorized","code":401}}`, http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"name": %q, "query": %q, "granularity": 1, "timeseries": [{"label": "http.errors", "host": "web-1", "tags": {"app": "web"}, "data": [[%d, %v]]}], "stats": {"keys": 2, "points": 1}}`,
				query, query, time.Now().Unix()-2, errorRate)
		}
	}
	checkProvider(t, providerCase{
		Provider: func(url string) string {
			return "wavefront:\n  address: " + url + "\n  query: '" + query + "'\n"
		},
		SuccessCondition: "result < 0.05",
		Good:             answer(0.01),
		Bad:              answer(0.3),
		// The token is keyed by the address's host: a Secret key cannot
		// hold the scheme's ':' or '/'.
		Setup: secretSetup("wavefront-api-tokens", func(address string) map[string]string {
			host := address
			if u, err := url.Parse(address); err == nil {
				host = u.Hostname()
			}
			return map[string]string{host: token}
		}),
		Secrets: []string{token},
	})
}
