package engine

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// MsgRunTerminated is the message of a run that spec.terminate ended with
// nothing failing.
const MsgRunTerminated = "Run Terminated"

// reason is why judge chose a phase; messages are built from it.
type reason int

const (
	reasonPending           reason = iota // no measurement yet
	reasonRunning                         // in flight, or more to take
	reasonFailureLimit                    // failed > failureLimit
	reasonInconclusiveLimit               // inconclusive > inconclusiveLimit
	reasonErrorLimit                      // consecutiveError > consecutiveErrorLimit
	reasonStreak                          // consecutiveSuccessLimit reached
	reasonNoStreak                        // count reached without the streak
	reasonCount                           // count reached
	reasonTerminated                      // the run is terminating
	reasonUnproven                        // would pass, but nothing succeeded
)

// AssessMetric is the phase of one metric given its result. A completed
// phase is final. Otherwise, in order:
//
//  1. No measurement: Pending, or Successful if the run is terminating.
//  2. The last measurement is in flight: Running.
//  3. failed > failureLimit (unless -1): Failed; inconclusive >
//     inconclusiveLimit: Inconclusive; consecutiveError >
//     consecutiveErrorLimit: Error. When several hold, the last wins.
//  4. consecutiveSuccess reached consecutiveSuccessLimit (> 0): Successful.
//  5. The effective count is reached: with a consecutiveSuccessLimit that
//     was not reached, Inconclusive if failureLimit applies (>= 0) and
//     Failed if not; otherwise Successful.
//  6. Otherwise Running, or Successful if the run is terminating.
//
// The proof-of-success rule (where this departs from Argo Rollouts, whose
// issue #4479 lets a metric pass on failures and errors alone): steps 5 and
// 6 award Successful only to a metric with at least one Successful
// measurement. One without is instead Error if its latest measurement
// errored (consecutiveError > 0), Inconclusive if every counted measurement
// was inconclusive, and Failed otherwise. The single exception is a
// terminating run's metric that has no completed measurement at all (none
// taken, or only ones cut short by the termination): nothing judged it, so
// it stays Successful as terminated, which Passed does not count as a pass.
func AssessMetric(m Metric, r v1alpha1.MetricResult, terminating bool) v1alpha1.AnalysisPhase {
	if r.Phase.Completed() {
		return r.Phase
	}
	phase, _ := judge(m, r, terminating)
	return phase
}

func judge(m Metric, r v1alpha1.MetricResult, terminating bool) (v1alpha1.AnalysisPhase, reason) {
	if len(r.Measurements) == 0 {
		if terminating {
			return v1alpha1.AnalysisPhaseSuccessful, reasonTerminated
		}
		return v1alpha1.AnalysisPhasePending, reasonPending
	}
	if !lastMeasurement(&r).Phase.Completed() {
		return v1alpha1.AnalysisPhaseRunning, reasonRunning
	}
	if phase, why := overLimit(m, r); phase != "" {
		return phase, why
	}
	streak := m.ConsecutiveSuccessLimit
	if streak > 0 && r.ConsecutiveSuccess >= streak {
		return v1alpha1.AnalysisPhaseSuccessful, reasonStreak
	}
	if m.countReached(&r) {
		switch {
		case streak > 0 && m.FailureLimit >= 0:
			return v1alpha1.AnalysisPhaseInconclusive, reasonNoStreak
		case streak > 0:
			return v1alpha1.AnalysisPhaseFailed, reasonNoStreak
		}
		return proven(r, reasonCount)
	}
	if terminating {
		return proven(r, reasonTerminated)
	}
	return v1alpha1.AnalysisPhaseRunning, reasonRunning
}

// overLimit runs the three limit checks in the reference's order; the last
// one that holds decides, so errors outrank inconclusives and failures.
func overLimit(m Metric, r v1alpha1.MetricResult) (phase v1alpha1.AnalysisPhase, why reason) {
	if m.FailureLimit >= 0 && r.Failed > m.FailureLimit {
		phase, why = v1alpha1.AnalysisPhaseFailed, reasonFailureLimit
	}
	if r.Inconclusive > m.InconclusiveLimit {
		phase, why = v1alpha1.AnalysisPhaseInconclusive, reasonInconclusiveLimit
	}
	if r.ConsecutiveError > m.errorLimit() {
		phase, why = v1alpha1.AnalysisPhaseError, reasonErrorLimit
	}
	return phase, why
}

// proven applies the proof-of-success rule (see AssessMetric) to a metric
// that would otherwise be Successful.
func proven(r v1alpha1.MetricResult, why reason) (v1alpha1.AnalysisPhase, reason) {
	switch {
	case r.Successful > 0:
		return v1alpha1.AnalysisPhaseSuccessful, why
	case why == reasonTerminated && r.Count == 0 && r.Error == 0:
		return v1alpha1.AnalysisPhaseSuccessful, why
	case r.ConsecutiveError > 0:
		return v1alpha1.AnalysisPhaseError, reasonUnproven
	case r.Failed == 0 && r.Inconclusive > 0:
		return v1alpha1.AnalysisPhaseInconclusive, reasonUnproven
	}
	return v1alpha1.AnalysisPhaseFailed, reasonUnproven
}

// Terminating reports whether the run is ending early: spec.terminate is
// set, or a metric that is not a dry run is already Failed, Error or
// Inconclusive (fail-fast). A terminating run takes no new measurements.
func Terminating(terminate bool, status *v1alpha1.AnalysisRunStatus) bool {
	if terminate {
		return true
	}
	for _, r := range status.MetricResults {
		if !r.DryRun && failing(r.Phase) {
			return true
		}
	}
	return false
}

func failing(p v1alpha1.AnalysisPhase) bool {
	switch p {
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
		return true
	}
	return false
}

// severity orders phases from best to worst: Successful, Running, Pending,
// Inconclusive, Error, Failed. Unknown phases rank with Successful, as in
// the reference.
func severity(p v1alpha1.AnalysisPhase) int {
	switch p {
	case v1alpha1.AnalysisPhaseRunning:
		return 1
	case v1alpha1.AnalysisPhasePending:
		return 2
	case v1alpha1.AnalysisPhaseInconclusive:
		return 3
	case v1alpha1.AnalysisPhaseError:
		return 4
	case v1alpha1.AnalysisPhaseFailed:
		return 5
	}
	return 0
}

// Transition is a metric whose phase Assess changed, for events
// (Metric<Phase> when To is completed).
type Transition struct {
	Metric   string
	From, To v1alpha1.AnalysisPhase
}

// Assess brings status up to date at now: each measured metric's phase and
// message, the run and dry-run summaries, and the run's phase, message,
// startedAt and completedAt. terminate is spec.terminate. A completed run
// is left alone. It returns the metrics whose phase changed.
//
// The run is Running until every metric (dry-run ones too: they are
// measured in full) is complete; then its phase is the worst phase of its
// non-dry-run metrics, or Successful if there are none. As soon as a
// non-dry-run metric is Failed, Error or Inconclusive the run terminates
// (fail-fast): the other metrics are assessed as terminating in the same
// pass, so the run completes at once unless a measurement is in flight (it
// completes once Due has had it terminated). The run's message is the
// message of the first metric, in spec order, with the run's phase; a run
// that spec.terminate ended with nothing failing says "Run Terminated".
func Assess(metrics []Metric, terminate bool, status *v1alpha1.AnalysisRunStatus, now time.Time) []Transition {
	if status.Phase.Completed() {
		return nil
	}
	Start(status, now)
	dryRun := map[string]bool{}
	for _, m := range metrics {
		dryRun[m.Name] = m.DryRun
	}
	for i := range status.MetricResults {
		status.MetricResults[i].DryRun = dryRun[status.MetricResults[i].Name]
	}
	terminating := Terminating(terminate, status)
	phases := assessAll(metrics, status, terminating)
	if !terminating && anyFailing(metrics, phases) {
		terminating = true
		phases = assessAll(metrics, status, terminating)
	}

	var changed []Transition
	run, dry := v1alpha1.RunSummary{}, v1alpha1.RunSummary{}
	done, worst, culprit := true, v1alpha1.AnalysisPhase(""), -1
	for i, m := range metrics {
		phase := phases[i]
		if r := Result(status, m.Name); r != nil {
			if r.Phase != phase {
				changed = append(changed, Transition{Metric: m.Name, From: r.Phase, To: phase})
				r.Phase = phase
			}
			r.Message = resultMessage(m, *r)
		}
		summary := &run
		if m.DryRun {
			summary = &dry
		}
		tally(summary, phase)
		done = done && phase.Completed()
		if !m.DryRun && (worst == "" || severity(phase) > severity(worst)) {
			worst, culprit = phase, i
		}
	}
	status.RunSummary, status.DryRunSummary = run, &dry

	switch {
	case !done:
		status.Phase, status.Message = v1alpha1.AnalysisPhaseRunning, ""
		return changed
	case worst == "":
		worst = v1alpha1.AnalysisPhaseSuccessful
	}
	status.Phase, status.Message = worst, ""
	if worst != v1alpha1.AnalysisPhaseSuccessful {
		status.Message = resultMessageOf(metrics[culprit], status)
	} else if terminate {
		status.Message = MsgRunTerminated
	}
	if status.CompletedAt == nil {
		t := metav1.NewTime(now)
		status.CompletedAt = &t
	}
	return changed
}

func assessAll(metrics []Metric, status *v1alpha1.AnalysisRunStatus, terminating bool) []v1alpha1.AnalysisPhase {
	phases := make([]v1alpha1.AnalysisPhase, len(metrics))
	for i, m := range metrics {
		var r v1alpha1.MetricResult
		if p := Result(status, m.Name); p != nil {
			r = *p
		}
		phases[i] = AssessMetric(m, r, terminating)
	}
	return phases
}

func anyFailing(metrics []Metric, phases []v1alpha1.AnalysisPhase) bool {
	for i, m := range metrics {
		if !m.DryRun && failing(phases[i]) {
			return true
		}
	}
	return false
}

// tally counts one metric in a summary: every metric in count, completed
// ones under their phase.
func tally(s *v1alpha1.RunSummary, phase v1alpha1.AnalysisPhase) {
	s.Count++
	switch phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		s.Successful++
	case v1alpha1.AnalysisPhaseFailed:
		s.Failed++
	case v1alpha1.AnalysisPhaseInconclusive:
		s.Inconclusive++
	case v1alpha1.AnalysisPhaseError:
		s.Error++
	}
}

// resultMessage is a result's message: the verdict once complete, the
// latest measurement's message (say, a provider error being retried)
// before that.
func resultMessage(m Metric, r v1alpha1.MetricResult) string {
	if r.Phase.Completed() {
		return MetricMessage(m, r)
	}
	if last := lastMeasurement(&r); last != nil {
		return last.Message
	}
	return ""
}

func resultMessageOf(m Metric, status *v1alpha1.AnalysisRunStatus) string {
	if r := Result(status, m.Name); r != nil {
		return r.Message
	}
	return ""
}

// Passed reports whether a run's outcome may let a rollout proceed: the run
// is Successful and every non-dry-run metric (runSummary.count of them)
// took at least one Successful measurement. A run terminated before its
// metrics were judged is Successful in phase, for compatibility, but did
// not pass.
func Passed(status v1alpha1.AnalysisRunStatus) bool {
	if status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		return false
	}
	var proven int32
	for _, r := range status.MetricResults {
		if !r.DryRun && r.Successful > 0 {
			proven++
		}
	}
	return proven >= status.RunSummary.Count
}
