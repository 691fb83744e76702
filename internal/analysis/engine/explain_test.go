package engine

import (
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestExplain(t *testing.T) {
	success := Metric{Name: "rate", SuccessCondition: "result[0] >= 0.95"}
	both := Metric{Name: "rate", SuccessCondition: "result[0] >= 0.95", FailureCondition: "result[0] < 0.5"}
	judged := Metric{Name: "smoke"}
	for _, c := range []struct {
		m    Metric
		meas v1alpha1.Measurement
		want string
	}{
		{success, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, Value: "[0.99]"}, "[0.99] satisfies result[0] >= 0.95"},
		{success, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseFailed, Value: "[0.9]"}, "[0.9] does not satisfy result[0] >= 0.95"},
		{both, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseFailed, Value: "[0.4]"}, "[0.4] meets failureCondition result[0] < 0.5"},
		{both, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseInconclusive, Value: "[0.7]"},
			"[0.7] satisfies neither result[0] >= 0.95 nor failureCondition result[0] < 0.5"},
		{success, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseError, Message: `bad_data: parse error at char 5`}, "error: bad_data: parse error at char 5"},
		{success, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseError}, "error (no message)"},
		{judged, v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseSuccessful, Value: "0"}, "measurement Successful with 0"},
	} {
		if got := Explain(c.m, c.meas); got != c.want {
			t.Errorf("%s %q: got %q, want %q", c.meas.Phase, c.meas.Value, got, c.want)
		}
	}
}
