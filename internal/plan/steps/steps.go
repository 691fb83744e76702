// Package steps answers questions about where a canary Rollout stands in its
// step list: the current step, the experiment in force, and how a step reads
// in events and the CLI. (The weight and canary scale in force are replica
// decisions: internal/plan/replicas.) Everything is derived from spec and
// status alone.
package steps

import (
	"fmt"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Current returns the step being executed and its index. The index is
// len(steps) once every step is done, with a nil step; both are nil/-1 for a
// Rollout that is not a canary with steps.
func Current(ro *v1alpha1.Rollout) (*v1alpha1.CanaryStep, int32) {
	c := ro.Spec.Strategy.Canary
	if c == nil || len(c.Steps) == 0 {
		return nil, -1
	}
	var i int32
	if ro.Status.CurrentStepIndex != nil {
		i = *ro.Status.CurrentStepIndex
	}
	if i < 0 {
		i = 0
	}
	if int(i) >= len(c.Steps) {
		return nil, int32(len(c.Steps))
	}
	return &c.Steps[i], i
}

// lookBack returns the nearest step at or before the current one for which
// pick returns a value, so a step's effect lasts until a later step of the
// same kind replaces it.
func lookBack[T any](ro *v1alpha1.Rollout, pick func(*v1alpha1.CanaryStep) *T) *T {
	step, i := Current(ro)
	if step == nil {
		return nil
	}
	for ; i >= 0; i-- {
		if v := pick(&ro.Spec.Strategy.Canary.Steps[i]); v != nil {
			return v
		}
	}
	return nil
}

// Experiment is the latest experiment step at or before the current step.
func Experiment(ro *v1alpha1.Rollout) *v1alpha1.RolloutExperimentStep {
	return lookBack(ro, func(s *v1alpha1.CanaryStep) *v1alpha1.RolloutExperimentStep { return s.Experiment })
}

// String describes a step the way events and the CLI show it, e.g.
// "setWeight: 20" or "pause: 30s".
func String(s v1alpha1.CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight: %d", *s.SetWeight)
	case s.Pause != nil:
		if s.Pause.Duration != nil {
			return "pause: " + s.Pause.Duration.String()
		}
		return "pause"
	case s.Experiment != nil:
		return "experiment"
	case s.Analysis != nil:
		return "analysis"
	case s.SetCanaryScale != nil:
		switch cs := s.SetCanaryScale; {
		case cs.Weight != nil:
			return fmt.Sprintf("setCanaryScale{weight: %d}", *cs.Weight)
		case cs.MatchTrafficWeight:
			return "setCanaryScale{matchTrafficWeight: true}"
		case cs.Replicas != nil:
			return fmt.Sprintf("setCanaryScale{replicas: %d}", *cs.Replicas)
		}
	case s.Plugin != nil:
		return "plugin: " + s.Plugin.Name
	case s.SetHeaderRoute != nil:
		return "setHeaderRoute: " + s.SetHeaderRoute.Name
	case s.SetMirrorRoute != nil:
		return "setMirrorRoute: " + s.SetMirrorRoute.Name
	}
	return "invalid"
}
