package providers

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestGraphite runs the graphite provider against a stand-in of Graphite's
// render API.
func TestGraphite(t *testing.T) {
	answer := func(errorRate float64) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if r.Method != http.MethodGet || r.URL.Path != "/render" || q.Get("format") != "json" ||
				q.Get("target") != "sumSeries(app.web.errors.*)" || q.Get("from") != "-1min" {
				http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
				return
			}
			now := time.Now().Unix()
			w.Header().Set("Content-Type", "application/json")
			// The last bucket is still filling: Graphite answers null.
			fmt.Fprintf(w, `[{"target": "sumSeries(app.web.errors.*)", "tags": {"name": "sumSeries(app.web.errors.*)"}, "datapoints": [[%v, %d], [null, %d]]}]`,
				errorRate, now-60, now)
		}
	}
	checkProvider(t, providerCase{
		Provider: func(url string) string {
			return "graphite:\n  address: " + url + "\n  query: |\n    target=sumSeries(app.web.errors.*)\n    &from=-1min\n"
		},
		SuccessCondition: "result[0] < 5",
		Good:             answer(1.5),
		Bad:              answer(12),
	})
}
