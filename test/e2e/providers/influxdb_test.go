package providers

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// TestInfluxdb runs the influxdb provider against a stand-in of InfluxDB
// 2's query API, with its profile in the default Secret.
func TestInfluxdb(t *testing.T) {
	const (
		token = "e2e-influx-token-7f3a9c"
		org   = "aviary-e2e"
		flux  = `from(bucket: "app") |> range(start: -1m) |> filter(fn: (r) => r._field == "success_ratio") |> mean()`
	)
	answer := func(ratio string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Query string `json:"query"`
				Type  string `json:"type"`
			}
			b, _ := io.ReadAll(r.Body)
			if r.Method != http.MethodPost || r.URL.Path != "/api/v2/query" || r.URL.Query().Get("org") != org ||
				r.Header.Get("Authorization") != "Token "+token || json.Unmarshal(b, &body) != nil || body.Query != flux || body.Type != "flux" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"code":"unauthorized","message":"unauthorized access"}`)
				return
			}
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			io.WriteString(w, "#datatype,string,long,double,string\r\n#group,false,false,false,true\r\n#default,_result,,,\r\n"+
				",result,table,_value,_field\r\n,,0,"+ratio+",success_ratio\r\n\r\n")
		}
	}
	checkProvider(t, providerCase{
		Provider: func(string) string {
			return "influxdb:\n  query: '" + flux + "'\n"
		},
		SuccessCondition: "result[0] >= 0.95",
		Good:             answer("0.99"),
		Bad:              answer("0.42"),
		Setup: secretSetup("influxdb", func(url string) map[string]string {
			return map[string]string{"address": url, "org": org, "authToken": token}
		}),
		Secrets: []string{token},
	})
}
