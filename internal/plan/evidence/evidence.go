// Package evidence is the rule that a canary is not promoted without
// evidence: while its background analysis runs, the canary takes its final
// step (to 100% and completion) only once every metric of that analysis has
// measured it successfully at its current weight, however short the last
// pause. A bad canary would otherwise be promoted by a 1-second pause
// before a single measurement could count against it. The rule is
// Aviary's own (docs/analysis.md, docs/compatibility.md); like every
// planner it is a pure function of what the controller observed.
package evidence

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
)

// Annotation on a Rollout sets how many successful measurements each
// background metric needs at the canary's current weight before the final
// step; "0" turns the rule off for that Rollout. It is an annotation, not a
// field, so manifests stay valid argoproj.io/v1alpha1 and Argo Rollouts
// ignores it; and per Rollout, because how long evidence takes depends on
// its metrics' intervals, which only its owners know.
const Annotation = "rollouts.aviary.dev/promotion-evidence"

// DefaultMinimum is the number of successful measurements per background
// metric required without the annotation.
const DefaultMinimum = 1

// MaxMinimum bounds the annotation: the default measurement retention (a
// metric keeps its last 10 measurements) — more could never be seen.
const MaxMinimum = v1alpha1.DefaultMeasurementHistoryLimit

// Minimum is the number of successful measurements the Rollout asks for
// (DefaultMinimum without the annotation); 0 means the rule is off. An
// invalid annotation gives DefaultMinimum and an error saying what the
// value must be (the caller names the annotation and the value).
func Minimum(ro *v1alpha1.Rollout) (int, error) {
	v, ok := ro.Annotations[Annotation]
	if !ok {
		return DefaultMinimum, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > MaxMinimum {
		return DefaultMinimum, fmt.Errorf("must be a whole number of successful measurements per background metric, from 0 (no evidence required) to %d; remove it for the default, %d",
			MaxMinimum, DefaultMinimum)
	}
	return n, nil
}

// Metric is what one metric of the background run has shown.
type Metric struct {
	Name string
	// Done: the metric has completed Successful, proven by a successful
	// measurement, and takes no more; its verdict stands.
	Done bool
	// Successes are the start times of its retained successful
	// measurements (a measurement cut short by termination is none).
	Successes []time.Time
	// Retained is how many completed measurements it keeps; Taken how many
	// it took in all (more than Retained once old ones were trimmed).
	Retained, Taken int
}

// Of lists the metrics of a background run that can hold a promotion: all
// but dry-run ones, in spec order, including those not measured yet.
func Of(run *v1alpha1.AnalysisRun) []Metric {
	if run == nil {
		return nil
	}
	names := make([]engine.Metric, len(run.Spec.Metrics))
	for i, m := range run.Spec.Metrics {
		names[i] = engine.Metric{Name: m.Name}
	}
	// A dryRun rule that selects nothing fails the run itself, which
	// aborts the rollout; until then no metric counts as dry.
	_ = engine.ApplyRules(names, run.Spec.DryRun, nil)
	var out []Metric
	for _, m := range names {
		if m.DryRun {
			continue
		}
		em := Metric{Name: m.Name}
		if r := engine.Result(&run.Status, m.Name); r != nil {
			em.Done = r.Phase == v1alpha1.AnalysisPhaseSuccessful && r.Successful > 0
			em.Taken = int(r.Count + r.Error)
			for _, ms := range r.Measurements {
				if !ms.Phase.Completed() {
					continue
				}
				em.Retained++
				if ms.Phase == v1alpha1.AnalysisPhaseSuccessful && ms.Message != engine.MsgMetricTerminated {
					em.Successes = append(em.Successes, started(ms))
				}
			}
		}
		out = append(out, em)
	}
	return out
}

func started(m v1alpha1.Measurement) time.Time {
	switch {
	case m.StartedAt != nil:
		return m.StartedAt.Time
	case m.FinishedAt != nil:
		return m.FinishedAt.Time
	}
	return time.Time{}
}

// Missing says which metric lacks evidence, or "" when every metric has at
// least min successful measurements started after since (the moment the
// canary reached its current weight; nil when unknown — a status written
// by another controller — and then every retained measurement counts).
//
// Times are compared in whole seconds, as the API stores them, and a
// measurement must start in a later second than since: one started in the
// same second may have measured the weight before. A metric counts as
// proven when it completed Successful (it measures no more), or when every
// measurement it still keeps is such a success and older ones were
// trimmed: it has shown all its retention lets it keep.
func Missing(metrics []Metric, since *time.Time, min int) string {
	if min <= 0 {
		return ""
	}
	for _, m := range metrics {
		if m.Done {
			continue
		}
		n := 0
		for _, s := range m.Successes {
			if since == nil || s.Truncate(time.Second).After(since.Truncate(time.Second)) {
				n++
			}
		}
		if n >= min || (n > 0 && n == m.Retained && m.Taken > m.Retained) {
			continue
		}
		at := "in this analysis"
		if since != nil {
			at = "since the canary reached its current weight at " + since.UTC().Format(time.RFC3339)
		}
		return fmt.Sprintf("waiting for evidence before promotion: background metric %q has %d of %d successful measurements %s", m.Name, n, min, at)
	}
	return ""
}
