package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestRolloutCollector(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ro := &v1alpha1.Rollout{}
	ro.Namespace, ro.Name = "shop", "web"
	ro.Spec.Replicas = new(int32(5))
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{TrafficRouting: &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{}}}
	ro.Status.Phase = v1alpha1.RolloutPhasePaused
	ro.Status.Replicas, ro.Status.AvailableReplicas, ro.Status.UpdatedReplicas = 6, 5, 1
	c := &RolloutCollector{Reader: fake.NewClientBuilder().WithScheme(scheme).WithObjects(ro).Build()}
	want := `
# HELP rollout_info Information about a rollout; the value is always 1.
# TYPE rollout_info gauge
rollout_info{name="web",namespace="shop",phase="Paused",strategy="canary",traffic_router="Nginx"} 1
# HELP rollout_info_replicas_available The number of available replicas of a rollout.
# TYPE rollout_info_replicas_available gauge
rollout_info_replicas_available{name="web",namespace="shop"} 5
# HELP rollout_info_replicas_desired The number of desired replicas of a rollout.
# TYPE rollout_info_replicas_desired gauge
rollout_info_replicas_desired{name="web",namespace="shop"} 5
# HELP rollout_info_replicas_unavailable The number of unavailable replicas of a rollout.
# TYPE rollout_info_replicas_unavailable gauge
rollout_info_replicas_unavailable{name="web",namespace="shop"} 1
# HELP rollout_info_replicas_updated The number of updated replicas of a rollout.
# TYPE rollout_info_replicas_updated gauge
rollout_info_replicas_updated{name="web",namespace="shop"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
