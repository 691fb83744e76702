package engine

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Action is what the controller must do for a metric.
type Action string

// Action values.
const (
	// Measure starts a new measurement (provider Run).
	Measure Action = "Measure"
	// Resume checks an in-flight asynchronous measurement (provider Resume).
	Resume Action = "Resume"
	// Terminate stops an in-flight measurement because the run is ending
	// (provider Terminate).
	Terminate Action = "Terminate"
)

// Task is one metric the controller must act on now.
type Task struct {
	Metric string
	Action Action
}

// slot is when a metric next needs the controller. Untimed slots are due
// on every reconcile but set no timer: an in-flight measurement without a
// resumeAt finishes on an event (a Job completing), not at a known time.
type slot struct {
	at     time.Time
	action Action
	timed  bool
}

// Start records now as the run's start time, which initialDelay counts
// from, unless the run has one.
func Start(status *v1alpha1.AnalysisRunStatus, now time.Time) {
	if status.StartedAt == nil {
		t := metav1.NewTime(now)
		status.StartedAt = &t
	}
}

// Due lists the metrics to act on at now, in spec order. terminate is
// spec.terminate. A run that is terminating (see Terminating) starts no new
// measurement and terminates the ones in flight at once, whatever their
// resumeAt, so that it can complete on the next assessment.
func Due(metrics []Metric, terminate bool, status *v1alpha1.AnalysisRunStatus, now time.Time) []Task {
	var tasks []Task
	forEachSlot(metrics, terminate, status, now, func(m Metric, s slot) {
		if !s.at.After(now) {
			tasks = append(tasks, Task{Metric: m.Name, Action: s.action})
		}
	})
	return tasks
}

// Next is the earliest time a metric falls due, for the controller to
// requeue the run exactly then; ok is false when nothing is timed (every
// metric complete, or only waiting on in-flight measurements that report by
// event). Call it after recording this reconcile's measurements: a time at
// or before now means requeue at once.
//
// A metric falls due at startedAt+initialDelay for its first measurement, at
// the last measurement's finish plus interval after that, 10 s after an
// error (whatever the interval), at resumeAt for an in-flight asynchronous
// measurement, and never once its count is reached or the run is
// terminating (except to terminate what is in flight).
func Next(metrics []Metric, terminate bool, status *v1alpha1.AnalysisRunStatus, now time.Time) (next time.Time, ok bool) {
	forEachSlot(metrics, terminate, status, now, func(_ Metric, s slot) {
		if s.timed && (!ok || s.at.Before(next)) {
			next, ok = s.at, true
		}
	})
	return next, ok
}

func forEachSlot(metrics []Metric, terminate bool, status *v1alpha1.AnalysisRunStatus, now time.Time, f func(Metric, slot)) {
	if status.Phase.Completed() {
		return
	}
	terminating := Terminating(terminate, status)
	started := now
	if status.StartedAt != nil {
		started = status.StartedAt.Time
	}
	for _, m := range metrics {
		if s, ok := nextSlot(m, Result(status, m.Name), started, terminating, now); ok {
			f(m, s)
		}
	}
}

func nextSlot(m Metric, r *v1alpha1.MetricResult, started time.Time, terminating bool, now time.Time) (slot, bool) {
	if r != nil && r.Phase.Completed() {
		return slot{}, false
	}
	last := lastMeasurement(r)
	switch {
	case last != nil && !last.Phase.Completed():
		if terminating {
			return slot{at: now, action: Terminate, timed: true}, true
		}
		if last.ResumeAt != nil {
			return slot{at: last.ResumeAt.Time, action: Resume, timed: true}, true
		}
		return slot{at: now, action: Resume}, true
	case terminating:
		return slot{}, false
	case last == nil:
		return slot{at: started.Add(m.InitialDelay), action: Measure, timed: true}, true
	case m.countReached(r):
		return slot{}, false
	}
	// Without an interval the only reason to measure again is a retry.
	wait := m.Interval
	if last.Phase == v1alpha1.AnalysisPhaseError || wait == 0 {
		wait = v1alpha1.DefaultErrorRetryInterval
	}
	finished := now
	switch {
	case last.FinishedAt != nil:
		finished = last.FinishedAt.Time
	case last.StartedAt != nil:
		finished = last.StartedAt.Time
	}
	return slot{at: finished.Add(wait), action: Measure, timed: true}, true
}
