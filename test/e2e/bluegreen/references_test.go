package bluegreen

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func invalidSpecMessage(ro *v1alpha1.Rollout) string {
	for _, c := range ro.Status.Conditions {
		if c.Type == v1alpha1.InvalidSpec {
			return c.Message
		}
	}
	return ""
}

// TestMissingPrePromotionTemplateIsInvalidSpec: a blue-green Rollout whose
// pre-promotion analysis names an AnalysisTemplate that does not exist is
// Degraded with InvalidSpec naming the field and the template from the
// start (not Healthy until an update reaches the analysis), and recovers
// by itself as soon as the template is created.
func TestMissingPrePromotionTemplateIsInvalidSpec(t *testing.T) {
	f := newFixture(t, "web", 2)
	applyYAML(t, f.ns, manifest("prePromotionAnalysis:\n  templates: [{templateName: smoke-later}]"))
	want := fmt.Sprintf(`spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName: AnalysisTemplate "smoke-later" not found in namespace %s; create it or fix the name`, f.ns)
	f.until(30*time.Second, "Degraded with InvalidSpec naming the template", func(s snapshot) bool {
		return s.ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && invalidSpecMessage(s.ro) == want
	})
	applyYAML(t, f.ns, strings.Replace(strings.ReplaceAll(smokeTemplate, "STATE", "ready"), "name: smoke-ready", "name: smoke-later", 1))
	f.until(10*time.Second, "InvalidSpec cleared as soon as the template exists", func(s snapshot) bool {
		return invalidSpecMessage(s.ro) == "" && s.ro.Status.Phase != v1alpha1.RolloutPhaseDegraded
	})
	f.until(60*time.Second, "the first version Healthy", func(s snapshot) bool {
		return s.current() && s.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy
	})
}
