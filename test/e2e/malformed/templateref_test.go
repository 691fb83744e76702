package malformed

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestRolloutNamingAMalformedTemplate: a Rollout whose analysis names an
// AnalysisTemplate that exists but is malformed is InvalidSpec saying the
// template cannot be read and which field is wrong — not that it is
// missing — and goes on once the template is fixed.
func TestRolloutNamingAMalformedTemplate(t *testing.T) {
	ns := framework.Namespace(t)
	create(t, ns,
		strings.NewReplacer("NAME", "smoke", "MEMORY", "invalid").Replace(smokeTemplate),
		analysedRollout)
	startController(t, ns)
	jobMemory := "spec.metrics[0].provider.job.spec.template.spec.containers[0].resources.requests.memory"
	framework.Eventually(t, 60*time.Second, "InvalidSpec naming the malformed template's field", func() (bool, string) {
		msg := invalidSpec(read(t, ns, "Rollout", "web"))
		return strings.Contains(msg, `AnalysisTemplate "smoke" cannot be read: `+jobMemory), msg
	})
	// Fixed: replaced by a sound template of the same name.
	gvr := v1alpha1.GroupVersion.WithResource("analysistemplates")
	if err := framework.Get(t).Dynamic.Resource(gvr).Namespace(ns).Delete(context.Background(), "smoke", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	create(t, ns, strings.NewReplacer("NAME", "smoke", "MEMORY", "16Mi").Replace(smokeTemplate))
	framework.Eventually(t, 60*time.Second, "the InvalidSpec gone once the template is fixed", func() (bool, string) {
		msg := invalidSpec(read(t, ns, "Rollout", "web"))
		return msg == "", msg
	})
}
