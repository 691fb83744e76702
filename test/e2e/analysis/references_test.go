package analysis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func invalidSpecMessage(ro *v1alpha1.Rollout) string {
	for _, c := range ro.Status.Conditions {
		if c.Type == v1alpha1.InvalidSpec {
			return c.Message
		}
	}
	return ""
}

// TestMissingTemplateIsInvalidSpecUntilCreated: a Rollout whose background
// analysis and analysis step name AnalysisTemplates that do not exist is
// Degraded with InvalidSpec naming the field and the template (not
// Healthy, as when nothing read the templates until a run was due); each
// template created moves the message on, and once both exist the Rollout
// recovers by itself, at once (the template's creation reconciles it),
// without waiting for the InvalidSpec requeue.
func TestMissingTemplateIsInvalidSpecUntilCreated(t *testing.T) {
	ns, _ := scoped(t)
	apply(t, ns, strings.NewReplacer("STEP", "ready", "BACKGROUND", "hold").Replace(analysedRollout))
	want := fmt.Sprintf(`spec.strategy.canary.analysis.templates[0].templateName: AnalysisTemplate "smoke-hold" not found in namespace %s; create it or fix the name`, ns)
	framework.Eventually(t, 30*time.Second, "Degraded with InvalidSpec naming the background template", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && invalidSpecMessage(ro) == want &&
			strings.Contains(ro.Status.Message, want), describeRollout(t, ns)
	})

	apply(t, ns, strings.ReplaceAll(smokeTemplate, "STATE", "hold"))
	want = fmt.Sprintf(`spec.strategy.canary.steps[1].analysis.templates[0].templateName: AnalysisTemplate "smoke-ready" not found in namespace %s; create it or fix the name`, ns)
	framework.Eventually(t, 10*time.Second, "InvalidSpec now naming the step's template", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && invalidSpecMessage(ro) == want, describeRollout(t, ns)
	})

	apply(t, ns, strings.ReplaceAll(smokeTemplate, "STATE", "ready"))
	framework.Eventually(t, 10*time.Second, "InvalidSpec cleared as soon as the template exists", func() (bool, string) {
		ro := rollout(t, ns)
		return invalidSpecMessage(ro) == "" && ro.Status.Phase != v1alpha1.RolloutPhaseDegraded, describeRollout(t, ns)
	})
	framework.Eventually(t, 60*time.Second, "Healthy", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy, describeRollout(t, ns)
	})
	warned := false
	for _, e := range framework.RolloutEvents(t, ns) {
		warned = warned || (e.Reason == v1alpha1.InvalidSpecReason && strings.Contains(e.Message, `AnalysisTemplate "smoke-hold" not found`))
	}
	if !warned {
		t.Errorf("no InvalidSpec event named the missing template: %v", framework.RolloutEvents(t, ns))
	}
}

// TestTemplateDeletedAfterwardsIsInvalidSpec: a Healthy Rollout whose step
// template is deleted turns InvalidSpec on the template's delete event, not
// only when the next update reaches the step.
func TestTemplateDeletedAfterwardsIsInvalidSpec(t *testing.T) {
	ns, _ := scoped(t)
	apply(t, ns, strings.ReplaceAll(smokeTemplate, "STATE", "ready")+"---\n"+strings.ReplaceAll(smokeTemplate, "STATE", "hold"))
	apply(t, ns, strings.NewReplacer("STEP", "ready", "BACKGROUND", "hold").Replace(analysedRollout))
	framework.Eventually(t, 60*time.Second, "Healthy", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy, describeRollout(t, ns)
	})
	if out, err := framework.Get(t).Kubectl(t.Context(), "delete", "-n", ns, "analysistemplate", "smoke-ready"); err != nil {
		t.Fatalf("delete template: %v\n%s", err, out)
	}
	want := fmt.Sprintf(`spec.strategy.canary.steps[1].analysis.templates[0].templateName: AnalysisTemplate "smoke-ready" not found in namespace %s; create it or fix the name`, ns)
	framework.Eventually(t, 10*time.Second, "Degraded with InvalidSpec naming the deleted template", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && invalidSpecMessage(ro) == want, describeRollout(t, ns)
	})
}
