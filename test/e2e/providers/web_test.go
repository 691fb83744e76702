package providers

import (
	"fmt"
	"net/http"
	"testing"
)

// TestWeb checks the harness itself with the web provider, whose wire
// format is the test's own choice: a JSON document at /health.
func TestWeb(t *testing.T) {
	answer := func(ok bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/health" || r.Header.Get("X-Check") != "provider" {
				http.Error(w, "unexpected request", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"status": {"ok": %v}}`, ok)
		}
	}
	checkProvider(t, providerCase{
		Provider: func(url string) string {
			return "web:\n  url: " + url + "/health\n  jsonPath: '{$.status.ok}'\n  headers: [{key: X-Check, value: provider}]\n"
		},
		SuccessCondition: "result == true",
		Good:             answer(true),
		Bad:              answer(false),
	})
}
