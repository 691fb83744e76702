package framework

import (
	"encoding/json"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// WaitForSuccessRatio waits until the 10 s success ratio Prometheus
// computes over the ingress counters (StartIngressTraffic) satisfies ok,
// so a measurement taken afterwards sees the error rate a test set; what
// says what is awaited.
func (p *Prometheus) WaitForSuccessRatio(t testing.TB, what string, ok func(float64) bool) {
	t.Helper()
	q := url.QueryEscape(`sum(rate(nginx_ingress_controller_requests{status!~"[4-5].*"}[10s])) / sum(rate(nginx_ingress_controller_requests[10s]))`)
	Eventually(t, 60*time.Second, what, func() (bool, string) {
		body, err := HTTPGet(p.Address + "/api/v1/query?query=" + q)
		if err != nil {
			return false, err.Error()
		}
		var resp struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil || len(resp.Data.Result) == 0 {
			return false, body
		}
		s, _ := resp.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return err == nil && ok(v), body
	})
}
