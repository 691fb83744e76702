// Package steps describes canary steps the way events and the CLI show them.
// (Where a rollout stands in its steps, and the weight and canary scale in
// force, are replica decisions: internal/plan/replicas.)
package steps

import (
	"fmt"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

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
