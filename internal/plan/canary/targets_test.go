package canary

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/podhash"
)

// TestOldPodsWaitForRegisteredTargets: a promoted ALB canary scales its
// old stable down (after its delay) only once the load balancer has
// registered the new stable's pods, when that is checked.
func TestOldPodsWaitForRegisteredTargets(t *testing.T) {
	v1 := planRollout()
	old := replicaSetOf(v1, "1", 2)
	ro := planRollout()
	ro.Spec.Template.Spec.Containers[0].Image = "web:2"
	ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "web", ServicePort: 80}}
	hash := podhash.PodTemplateHash(&ro.Spec.Template, nil)
	ro.Status.StableRS, ro.Status.CurrentPodHash = hash, hash
	ro.Status.CurrentStepHash = podhash.StepHash(ro.Spec.Strategy.Canary.Steps)
	ro.Status.CurrentStepIndex = new(int32(2))
	ro.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "2"}
	for _, tc := range []struct {
		name      string
		targets   *pass.TargetCheck
		scaleDown bool
	}{
		{"not checked", nil, true},
		{"registered", &pass.TargetCheck{Verified: true}, true},
		{"not yet registered", &pass.TargetCheck{Waiting: "1/2 endpoints registered"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := pass.Observed{Rollout: ro, Routed: true, Now: planNow, Targets: tc.targets,
				ReplicaSets: []*appsv1.ReplicaSet{old, replicaSetOf(ro, "2", 2)},
				Services:    map[string]*corev1.Service{"web-canary": planService("web-canary", hash), "web-stable": planService("web-stable", hash)}}
			p := Plan(obs)
			got := describe(p)
			if strings.Contains(got, "ScaleDownOld") != tc.scaleDown {
				t.Errorf("plan:\n%s\nwant scale-down %v", got, tc.scaleDown)
			}
			if !tc.scaleDown && p.RequeueAfter != VerifyRetry {
				t.Errorf("requeue %v while waiting", p.RequeueAfter)
			}
		})
	}
}
