package providers

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/test/providertest"
	cw "github.com/aviary-rollouts/aviary/test/providertest/cloudwatchtest"
)

// Static credentials the controller signs with; stand-ins verify the
// signatures with them.
var awsCreds = providertest.SigV4{
	AccessKeyID:     "AKIAE2ETESTEXAMPLE01",
	SecretAccessKey: "e2eSecretKey/4b1f9c0d7e2a6f3b8c5d1e9fEXAMPLE",
	Region:          "eu-central-1",
}

// awsEnv is the controller's environment for the AWS SDK's default chain:
// the static credentials and region, nothing from the machine, and extra.
func awsEnv(t *testing.T, extra ...string) []string {
	none := filepath.Join(t.TempDir(), "none")
	return append([]string{
		"AWS_ACCESS_KEY_ID=" + awsCreds.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + awsCreds.SecretAccessKey,
		"AWS_REGION=" + awsCreds.Region, "AWS_PROFILE=", "AWS_SESSION_TOKEN=",
		"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_EC2_METADATA_DISABLED=true",
	}, extra...)
}

// TestCloudWatch runs the cloudWatch provider against a stand-in of
// GetMetricData speaking the SDK's protocol, found through
// AWS_ENDPOINT_URL_CLOUDWATCH.
func TestCloudWatch(t *testing.T) {
	answer := func(rate float64) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			req, err := cw.ReadRequest(r, awsCreds)
			if err != nil {
				t.Logf("stand-in refused a request: %v", err)
				cw.BadSignature.Write(w)
				return
			}
			q := req.MetricDataQueries
			if len(q) != 3 || q[0].Id != "rate" || q[0].Expression != "errors / requests" || q[1].MetricStat == nil ||
				q[1].MetricStat.Metric.MetricName != "HTTPCode_Target_5XX_Count" || q[1].MetricStat.Period != 60 ||
				q[2].MetricStat == nil || q[2].MetricStat.Metric.MetricName != "RequestCount" ||
				req.EndTime.Sub(req.StartTime) != 5*time.Minute {
				cw.InvalidParam.Write(w)
				return
			}
			now := time.Now().Truncate(time.Minute)
			cw.WriteOutput(w, cw.Output{MetricDataResults: []cw.Result{{
				Id: "rate", Label: "rate", StatusCode: "Complete",
				Timestamps: []time.Time{now, now.Add(-time.Minute)}, Values: []float64{rate, rate / 2},
			}}})
		}
	}
	checkProvider(t, providerCase{
		Provider: func(string) string {
			return `cloudWatch:
  metricDataQueries:
  - id: rate
    expression: errors / requests
  - id: errors
    returnData: false
    metricStat:
      metric:
        namespace: AWS/ApplicationELB
        metricName: HTTPCode_Target_5XX_Count
        dimensions: [{name: LoadBalancer, value: app/web/50dc6c495c0c9188}]
      period: 60
      stat: Sum
  - id: requests
    returnData: false
    metricStat:
      metric:
        namespace: AWS/ApplicationELB
        metricName: RequestCount
        dimensions: [{name: LoadBalancer, value: app/web/50dc6c495c0c9188}]
      period: 60
      stat: Sum
`
		},
		SuccessCondition: "all(result[0].Values, {# <= 0.01})",
		Good:             answer(0.004),
		Bad:              answer(0.2),
		Setup: func(t *testing.T, _, url string) []string {
			return awsEnv(t, "AWS_ENDPOINT_URL_CLOUDWATCH="+url)
		},
		Secrets: []string{awsCreds.SecretAccessKey},
	})
}
