package providers

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// TestDatadog runs the datadog provider against a stand-in of Datadog's
// v2 scalar query API (two queries combined by a formula), with the keys
// and the address in the default Secret.
func TestDatadog(t *testing.T) {
	const (
		apiKey = "e2e-dd-api-5d1c0e8b"
		appKey = "e2e-dd-app-92af47c3e1"
		errs   = "sum:trace.http.request.errors{service:web}.as_count()"
		hits   = "sum:trace.http.request.hits{service:web}.as_count()"
	)
	answer := func(ratio string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Data struct {
					Type       string `json:"type"`
					Attributes struct {
						From, To int64
						Queries  []map[string]string `json:"queries"`
						Formulas []map[string]string `json:"formulas"`
					} `json:"attributes"`
				} `json:"data"`
			}
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			if r.Header.Get("DD-API-KEY") != apiKey || r.Header.Get("DD-APPLICATION-KEY") != appKey {
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `{"errors": ["Forbidden"]}`)
				return
			}
			a := &body.Data.Attributes
			if r.Method != http.MethodPost || r.URL.Path != "/api/v2/query/scalar" || json.Unmarshal(b, &body) != nil ||
				body.Data.Type != "scalar_request" || a.To-a.From != 60_000 || len(a.Queries) != 2 ||
				a.Queries[0]["name"] != "a" || a.Queries[0]["query"] != errs || a.Queries[0]["aggregator"] != "sum" ||
				a.Queries[1]["name"] != "b" || a.Queries[1]["query"] != hits || a.Queries[1]["data_source"] != "metrics" ||
				len(a.Formulas) != 1 || a.Formulas[0]["formula"] != "a / b" {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"errors": ["unexpected request"]}`)
				return
			}
			io.WriteString(w, `{"data": {"type": "scalar_response", "attributes": {"columns": [
			  {"name": "a / b", "type": "number", "values": [`+ratio+`], "meta": {"unit": [null, null]}}]}}}`)
		}
	}
	checkProvider(t, providerCase{
		Provider: func(string) string {
			return "datadog:\n  apiVersion: v2\n  interval: 1m\n  aggregator: sum\n  formula: a / b\n" +
				"  queries:\n    a: '" + errs + "'\n    b: '" + hits + "'\n"
		},
		SuccessCondition: "result <= 0.01",
		Good:             answer("0.002"),
		Bad:              answer("0.2"),
		Setup: secretSetup("datadog", func(url string) map[string]string {
			return map[string]string{"address": url, "api-key": apiKey, "app-key": appKey}
		}),
		Secrets: []string{apiKey, appKey},
	})
}
