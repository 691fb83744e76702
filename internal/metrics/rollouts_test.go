package metrics

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func cacheOf(t *testing.T, objs ...client.Object) client.Reader {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}

func TestRolloutCollector(t *testing.T) {
	ro := &v1alpha1.Rollout{}
	ro.Namespace, ro.Name = "shop", "web"
	ro.Spec.Replicas = new(int32(5))
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{TrafficRouting: &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{}}}
	ro.Status.Phase = v1alpha1.RolloutPhasePaused
	ro.Status.Conditions = []v1alpha1.RolloutCondition{
		{Type: v1alpha1.RolloutAvailable, Status: corev1.ConditionTrue, Reason: "AvailableReason"},
		{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionUnknown, Reason: v1alpha1.RolloutPausedReason},
	}
	ro.Status.Replicas, ro.Status.AvailableReplicas, ro.Status.UpdatedReplicas = 6, 5, 1
	// A blue-green Rollout without replicas, status or conditions.
	bg := &v1alpha1.Rollout{}
	bg.Namespace, bg.Name = "blog", "site"
	bg.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "site"}
	c := &RolloutCollector{Reader: cacheOf(t, ro, bg)}
	want := `
# HELP rollout_info Information about rollout.
# TYPE rollout_info gauge
rollout_info{name="site",namespace="blog",phase="Progressing",strategy="blueGreen",traffic_router=""} 1
rollout_info{name="web",namespace="shop",phase="Paused",strategy="canary",traffic_router="Nginx"} 1
# HELP rollout_info_replicas_available The number of available replicas per rollout.
# TYPE rollout_info_replicas_available gauge
rollout_info_replicas_available{name="site",namespace="blog"} 0
rollout_info_replicas_available{name="web",namespace="shop"} 5
# HELP rollout_info_replicas_desired The number of desired replicas per rollout.
# TYPE rollout_info_replicas_desired gauge
rollout_info_replicas_desired{name="site",namespace="blog"} 1
rollout_info_replicas_desired{name="web",namespace="shop"} 5
# HELP rollout_info_replicas_unavailable The number of unavailable replicas per rollout.
# TYPE rollout_info_replicas_unavailable gauge
rollout_info_replicas_unavailable{name="site",namespace="blog"} 0
rollout_info_replicas_unavailable{name="web",namespace="shop"} 1
# HELP rollout_info_replicas_updated The number of updated replicas per rollout.
# TYPE rollout_info_replicas_updated gauge
rollout_info_replicas_updated{name="site",namespace="blog"} 0
rollout_info_replicas_updated{name="web",namespace="shop"} 1
# HELP rollout_phase Information on the state of the rollout (DEPRECATED - use rollout_info)
# TYPE rollout_phase gauge
rollout_phase{name="site",namespace="blog",phase="Abort",strategy="blueGreen"} 0
rollout_phase{name="site",namespace="blog",phase="Completed",strategy="blueGreen"} 0
rollout_phase{name="site",namespace="blog",phase="Error",strategy="blueGreen"} 0
rollout_phase{name="site",namespace="blog",phase="Paused",strategy="blueGreen"} 0
rollout_phase{name="site",namespace="blog",phase="Progressing",strategy="blueGreen"} 1
rollout_phase{name="site",namespace="blog",phase="Timeout",strategy="blueGreen"} 0
rollout_phase{name="web",namespace="shop",phase="Abort",strategy="canary"} 0
rollout_phase{name="web",namespace="shop",phase="Completed",strategy="canary"} 0
rollout_phase{name="web",namespace="shop",phase="Error",strategy="canary"} 0
rollout_phase{name="web",namespace="shop",phase="Paused",strategy="canary"} 1
rollout_phase{name="web",namespace="shop",phase="Progressing",strategy="canary"} 0
rollout_phase{name="web",namespace="shop",phase="Timeout",strategy="canary"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

// TestInfoPhase: rollout_info's phase comes from the Progressing
// condition's reason and the InvalidSpec condition, as Argo Rollouts
// derives it, whatever status.phase says.
func TestInfoPhase(t *testing.T) {
	progressing := func(status corev1.ConditionStatus, reason string) v1alpha1.RolloutCondition {
		return v1alpha1.RolloutCondition{Type: v1alpha1.RolloutProgressing, Status: status, Reason: reason}
	}
	invalid := v1alpha1.RolloutCondition{Type: v1alpha1.InvalidSpec, Status: corev1.ConditionTrue, Reason: v1alpha1.InvalidSpecReason}
	available := v1alpha1.RolloutCondition{Type: v1alpha1.RolloutAvailable, Status: corev1.ConditionTrue, Reason: v1alpha1.NewRSAvailableReason}
	for _, c := range []struct {
		name       string
		phase      v1alpha1.RolloutPhase
		conditions []v1alpha1.RolloutCondition
		want       string
	}{
		{"no conditions yet", "", nil, PhaseProgressing},
		{"healthy", v1alpha1.RolloutPhaseHealthy, []v1alpha1.RolloutCondition{available, progressing(corev1.ConditionTrue, v1alpha1.NewRSAvailableReason)}, PhaseCompleted},
		{"updating", v1alpha1.RolloutPhaseProgressing, []v1alpha1.RolloutCondition{progressing(corev1.ConditionTrue, v1alpha1.ReplicaSetUpdatedReason)}, PhaseProgressing},
		{"a pause step", v1alpha1.RolloutPhasePaused, []v1alpha1.RolloutCondition{progressing(corev1.ConditionUnknown, v1alpha1.RolloutPausedReason)}, PhasePaused},
		{"aborted", v1alpha1.RolloutPhaseDegraded, []v1alpha1.RolloutCondition{progressing(corev1.ConditionFalse, v1alpha1.RolloutAbortedReason)}, PhaseAbort},
		{"deadline missed", v1alpha1.RolloutPhaseDegraded, []v1alpha1.RolloutCondition{progressing(corev1.ConditionFalse, v1alpha1.TimedOutReason)}, PhaseTimeout},
		{"ReplicaSet not created", v1alpha1.RolloutPhaseProgressing, []v1alpha1.RolloutCondition{progressing(corev1.ConditionFalse, v1alpha1.FailedRSCreateReason)}, PhaseError},
		{"retried after an abort", v1alpha1.RolloutPhaseProgressing, []v1alpha1.RolloutCondition{progressing(corev1.ConditionUnknown, v1alpha1.RolloutRetryReason)}, PhaseProgressing},
		{"invalid, even while paused", v1alpha1.RolloutPhaseDegraded, []v1alpha1.RolloutCondition{progressing(corev1.ConditionUnknown, v1alpha1.RolloutPausedReason), invalid}, PhaseInvalidSpec},
		{"invalid before any update", v1alpha1.RolloutPhaseDegraded, []v1alpha1.RolloutCondition{invalid}, PhaseInvalidSpec},
		// The Available condition's reason does not count.
		{"available but updating", v1alpha1.RolloutPhaseProgressing, []v1alpha1.RolloutCondition{available, progressing(corev1.ConditionTrue, v1alpha1.RolloutUpdatedReason)}, PhaseProgressing},
	} {
		ro := &v1alpha1.Rollout{}
		ro.Status.Phase, ro.Status.Conditions = c.phase, c.conditions
		if got := infoPhase(ro); got != c.want {
			t.Errorf("%s: phase %q, want %q", c.name, got, c.want)
		}
	}
}

// TestTrafficRouter: one router name, Argo Rollouts' spelling; the last
// in its order when several are set; none for routers it does not name.
func TestTrafficRouter(t *testing.T) {
	for _, c := range []struct {
		spec string
		want string
	}{
		{`{"canary":{}}`, ""},
		{`{"canary":{"trafficRouting":{"nginx":{"stableIngress":"web"}}}}`, "Nginx"},
		{`{"canary":{"trafficRouting":{"istio":{"virtualService":{"name":"web"}}}}}`, "Istio"},
		{`{"canary":{"trafficRouting":{"smi":{}}}}`, "SMI"},
		{`{"canary":{"trafficRouting":{"alb":{"ingress":"web","servicePort":80}}}}`, "ALB"},
		{`{"canary":{"trafficRouting":{"ambassador":{"mappings":["web"]}}}}`, "Ambassador"},
		{`{"canary":{"trafficRouting":{"appMesh":{}}}}`, "AppMesh"},
		{`{"canary":{"trafficRouting":{"alb":{"ingress":"web","servicePort":80},"nginx":{"stableIngress":"web"}}}}`, "Nginx"},
		{`{"canary":{"trafficRouting":{"nginx":{"stableIngress":"web"},"smi":{}}}}`, "SMI"},
		{`{"canary":{"trafficRouting":{"traefik":{"weightedTraefikServiceName":"web"}}}}`, ""},
		{`{"canary":{"trafficRouting":{"apisix":{"route":{"name":"web"}}}}}`, ""},
		{`{"canary":{"trafficRouting":{"plugins":{"argoproj-labs/gatewayAPI":{"httpRoute":"web"}}}}}`, ""},
		{`{"blueGreen":{"activeService":"web"}}`, ""},
	} {
		var ro v1alpha1.Rollout
		if err := json.Unmarshal([]byte(c.spec), &ro.Spec.Strategy); err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		if got := trafficRouter(&ro); got != c.want {
			t.Errorf("%s: traffic_router %q, want %q", c.spec, got, c.want)
		}
	}
}
