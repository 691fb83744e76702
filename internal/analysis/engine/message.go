package engine

import (
	"fmt"
	"strings"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// MetricMessage explains a completed metric's phase in one line that names
// the deciding measured value, the condition it was held to and the counts
// behind the verdict, for example
//
//	success-rate: [0.62] does not satisfy result[0] >= 0.90 (4 failed > failureLimit 3)
//
// An Error verdict quotes the last error. It is empty while the metric is
// still Pending or Running.
func MetricMessage(m Metric, r v1alpha1.MetricResult) string {
	if !r.Phase.Completed() {
		return ""
	}
	// The verdict is recomputed from the counters; a phase that only a
	// terminating run gives is found by asking again as terminating.
	phase, why := judge(m, r, false)
	if phase != r.Phase {
		phase, why = judge(m, r, true)
	}
	if phase != r.Phase {
		return fmt.Sprintf("%s: assessed %s", m.Name, r.Phase)
	}
	switch why {
	case reasonFailureLimit:
		return fmt.Sprintf("%s: %s (%d failed > failureLimit %d)", m.Name, describe(m, r, v1alpha1.AnalysisPhaseFailed), r.Failed, m.FailureLimit)
	case reasonInconclusiveLimit:
		return fmt.Sprintf("%s: %s (%d inconclusive > inconclusiveLimit %d)", m.Name, describe(m, r, v1alpha1.AnalysisPhaseInconclusive), r.Inconclusive, m.InconclusiveLimit)
	case reasonErrorLimit:
		return fmt.Sprintf("%s: %d consecutive errors > consecutiveErrorLimit %d; last error: %s", m.Name, r.ConsecutiveError, m.errorLimit(), lastError(r))
	case reasonStreak:
		return fmt.Sprintf("%s: %s (%d consecutive successful >= consecutiveSuccessLimit %d)", m.Name, describe(m, r, v1alpha1.AnalysisPhaseSuccessful), r.ConsecutiveSuccess, m.ConsecutiveSuccessLimit)
	case reasonNoStreak:
		return fmt.Sprintf("%s: count %d reached without %d consecutive successful (consecutiveSuccessLimit; %s)", m.Name, r.Count, m.ConsecutiveSuccessLimit, counts(r))
	case reasonCount:
		return fmt.Sprintf("%s: %s (%s)", m.Name, describe(m, r, v1alpha1.AnalysisPhaseSuccessful), counts(r))
	case reasonUnproven:
		if phase == v1alpha1.AnalysisPhaseError {
			return fmt.Sprintf("%s: no successful measurement (%s); last error: %s", m.Name, counts(r), lastError(r))
		}
		return fmt.Sprintf("%s: no successful measurement (%s); last: %s", m.Name, counts(r), describe(m, r, ""))
	}
	if r.Successful == 0 {
		return fmt.Sprintf("%s: run terminated before any measurement completed", m.Name)
	}
	return fmt.Sprintf("%s: run terminated (%s)", m.Name, counts(r))
}

// counts lists the non-zero measurement counters.
func counts(r v1alpha1.MetricResult) string {
	var parts []string
	for _, c := range []struct {
		n    int32
		what string
	}{{r.Successful, "successful"}, {r.Failed, "failed"}, {r.Inconclusive, "inconclusive"}, {r.Error, "errored"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(parts) == 0 {
		return "no completed measurements"
	}
	return strings.Join(parts, ", ")
}

// latest is the last retained judged measurement with the given phase, or
// with any phase but Error when phase is empty. Measurements cut short by
// termination were not judged and are skipped.
func latest(r v1alpha1.MetricResult, phase v1alpha1.AnalysisPhase) *v1alpha1.Measurement {
	for i := len(r.Measurements) - 1; i >= 0; i-- {
		p := r.Measurements[i].Phase
		if r.Measurements[i].Message == MsgMetricTerminated {
			continue
		}
		if p == phase || (phase == "" && p.Completed() && p != v1alpha1.AnalysisPhaseError) {
			return &r.Measurements[i]
		}
	}
	return nil
}

func lastError(r v1alpha1.MetricResult) string {
	if meas := latest(r, v1alpha1.AnalysisPhaseError); meas != nil && meas.Message != "" {
		return meas.Message
	}
	return "(no message)"
}

// describe explains the latest retained measurement with the given phase
// (see latest): its value against the metric's conditions.
func describe(m Metric, r v1alpha1.MetricResult, phase v1alpha1.AnalysisPhase) string {
	meas := latest(r, phase)
	if meas == nil {
		return "measurement no longer retained"
	}
	value := meas.Value
	if value == "" {
		value = "(no value)"
	}
	success, failure := m.SuccessCondition, m.FailureCondition
	switch {
	case meas.Phase == v1alpha1.AnalysisPhaseFailed && failure != "":
		return fmt.Sprintf("%s meets failureCondition %s", value, failure)
	case meas.Phase == v1alpha1.AnalysisPhaseFailed && success != "":
		return fmt.Sprintf("%s does not satisfy %s", value, success)
	case meas.Phase == v1alpha1.AnalysisPhaseInconclusive && success != "" && failure != "":
		return fmt.Sprintf("%s satisfies neither %s nor failureCondition %s", value, success, failure)
	case meas.Phase == v1alpha1.AnalysisPhaseSuccessful && success != "":
		return fmt.Sprintf("%s satisfies %s", value, success)
	case meas.Phase == v1alpha1.AnalysisPhaseSuccessful && failure != "":
		return fmt.Sprintf("%s does not meet failureCondition %s", value, failure)
	}
	// Providers without conditions (Job, Kayenta, the canary judge) judge
	// for themselves. Their message, when they give one, says why and
	// stands in for the value, which may be a whole document (the judge's
	// JSON verdicts) too long for a one-line message.
	if meas.Message != "" {
		return fmt.Sprintf("measurement %s: %s", meas.Phase, meas.Message)
	}
	return fmt.Sprintf("measurement %s with %s", meas.Phase, value)
}
