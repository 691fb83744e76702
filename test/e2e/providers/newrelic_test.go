package providers

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// TestNewRelic runs the newRelic provider against a stand-in of NerdGraph
// answering an NRQL query, with the account in the default profile Secret.
func TestNewRelic(t *testing.T) {
	const (
		apiKey  = "NRAK-E2E7Q2M4X9TESTKEY0000001"
		account = 4242424
		nrql    = "SELECT percentage(count(*), WHERE error IS true) AS errorRate FROM Transaction WHERE appName = 'web' SINCE 1 minute ago"
	)
	answer := func(rate string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Query     string `json:"query"`
				Variables struct {
					AccountID int    `json:"accountId"`
					Query     string `json:"query"`
					Timeout   int    `json:"timeout"`
				} `json:"variables"`
			}
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			if r.Header.Get("API-Key") != apiKey {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"errors": [{"extensions": {"error_code": "BAD_API_KEY"}, "message": "Bad API Key or no API Key provided"}]}`)
				return
			}
			err := json.Unmarshal(b, &body)
			if v := body.Variables; err != nil || r.Method != http.MethodPost || r.URL.Path != "/graphql" ||
				v.AccountID != account || v.Query != nrql || v.Timeout != 5 {
				io.WriteString(w, `{"data": {"actor": {"account": {"nrql": null}}}, "errors": [{"extensions": {"errorClass": "INVALID_INPUT"}, "message": "unexpected request"}]}`)
				return
			}
			io.WriteString(w, `{"data": {"actor": {"account": {"nrql": {"results": [{"errorRate": `+rate+`}]}}}}}`)
		}
	}
	checkProvider(t, providerCase{
		Provider: func(string) string {
			return "newRelic:\n  query: \"" + nrql + "\"\n"
		},
		SuccessCondition: "result.errorRate < 5",
		Good:             answer("0.4"),
		Bad:              answer("12.5"),
		Setup: secretSetup("newrelic", func(url string) map[string]string {
			return map[string]string{"personal-api-key": apiKey, "account-id": "4242424", "region": "us", "base-url-nerdgraph": url + "/graphql"}
		}),
		Secrets: []string{apiKey},
	})
}
