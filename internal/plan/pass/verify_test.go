package pass

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func albCanary(step int32, stable, current string, weight int32) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{StableService: "stable", CanaryService: "canary",
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "web", ServicePort: 80}},
		Steps:          []v1alpha1.CanaryStep{{SetWeight: new(int32(30))}, {Pause: &v1alpha1.RolloutPause{}}}}
	ro.Status.CurrentStepIndex = &step
	ro.Status.StableRS, ro.Status.CurrentPodHash = stable, current
	ro.Status.Canary.Weights = &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: weight}}
	return ro
}

func TestVerifiesWeight(t *testing.T) {
	aborted := albCanary(0, "old", "new", 30)
	aborted.Status.Abort = true
	for _, tc := range []struct {
		name string
		ro   *v1alpha1.Rollout
		want bool
	}{
		{"setWeight step", albCanary(0, "old", "new", 30), true},
		{"pause step", albCanary(1, "old", "new", 30), false},
		{"end at the full weight", albCanary(2, "old", "new", 100), true},
		{"end before the full weight is set", albCanary(2, "old", "new", 30), true},
		{"no steps", func() *v1alpha1.Rollout {
			ro := albCanary(0, "old", "new", 0)
			ro.Spec.Strategy.Canary.Steps = nil
			return ro
		}(), false},
		{"promoted", albCanary(2, "new", "new", 0), false},
		{"aborted", aborted, false},
	} {
		if got := VerifiesWeight(tc.ro); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

func TestTargetsToCheck(t *testing.T) {
	set := func(hash string, replicas int32, deadline bool) *appsv1.ReplicaSet {
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash}}}
		rs.Spec.Replicas = &replicas
		if deadline {
			rs.Annotations = map[string]string{v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey: "2026-01-01T00:00:00Z"}
		}
		return rs
	}
	bg := &v1alpha1.Rollout{}
	bg.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "active"}
	bg.Status.StableRS, bg.Status.CurrentPodHash = "old", "new"
	bgPost := bg.DeepCopy()
	bgPost.Status.BlueGreen.PostPromotionAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: "post"}
	for _, tc := range []struct {
		name string
		ro   *v1alpha1.Rollout
		sets []*appsv1.ReplicaSet
		want string
	}{
		{"promoted canary, old pods to let go", albCanary(2, "new", "new", 0), []*appsv1.ReplicaSet{set("new", 2, false), set("old", 2, false)}, "stable"},
		{"promoted canary, old ones already on their delay", albCanary(2, "new", "new", 0), []*appsv1.ReplicaSet{set("new", 2, false), set("old", 2, true)}, ""},
		{"canary mid-update", albCanary(1, "old", "new", 30), []*appsv1.ReplicaSet{set("new", 1, false), set("old", 2, false)}, ""},
		{"blue-green before promotion", bg, nil, "active"},
		{"blue-green in post-promotion analysis", bgPost, nil, ""},
	} {
		if got := TargetsToCheck(tc.ro, tc.sets); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
