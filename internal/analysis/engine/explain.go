package engine

import "github.com/aviary-rollouts/aviary/api/v1alpha1"

// Explain tells one completed measurement against the metric's
// conditions in the words a run's messages use for the deciding one —
// "[0.99] satisfies result[0] >= 0.95", "[0.5] does not satisfy …" — so a
// template's author reads each measurement as the controller judged it.
// An Error measurement is its error message.
func Explain(m Metric, meas v1alpha1.Measurement) string {
	if meas.Phase == v1alpha1.AnalysisPhaseError {
		if meas.Message == "" {
			return "error (no message)"
		}
		return "error: " + meas.Message
	}
	return describe(m, v1alpha1.MetricResult{Measurements: []v1alpha1.Measurement{meas}}, meas.Phase)
}
