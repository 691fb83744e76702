package pass

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/plan/weights"
)

// After a switch from blue-green to canary, the rollout lets go of its
// active and preview Services; the Service it still names, another
// rollout's and an unmarked one are not its to release. Of its canary
// Ingresses, the one its NGINX routing no longer calls for is deleted.
func TestRelease(t *testing.T) {
	marked := func(name, owner, version string) *corev1.Service {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: version}}
		if owner != "" {
			svc.Annotations = map[string]string{v1alpha1.ManagedByRolloutsKey: owner}
		}
		return svc
	}
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "u1"}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{StableService: "stable"}
	ingress := func(name string, owner metav1.OwnerReference) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("i-" + string(owner.UID) + "-" + name), OwnerReferences: []metav1.OwnerReference{owner}}}
	}
	ours := *metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))
	theirs := ours
	theirs.UID = "u2"
	b := NewBuilder(Observed{Rollout: ro,
		Managed: []*corev1.Service{marked("active", "web", "7"), marked("preview", "web", "8"), marked("stable", "web", "9"),
			marked("api", "api", "10"), marked("unmarked", "", "11")},
		Ingresses:       []*networkingv1.Ingress{ingress("web-old-canary", ours), ingress("web-main-canary", ours), ingress("api-canary", theirs)},
		WantedIngresses: []string{"web-main-canary"}})
	b.Release()
	want := []Step{ReleaseService{Name: "active", ResourceVersion: "7"}, ReleaseService{Name: "preview", ResourceVersion: "8"},
		DeleteIngress{Name: "web-old-canary", UID: "i-u1-web-old-canary"}, ReleaseRouterObjects{}}
	if len(b.steps) != len(want) {
		t.Fatalf("steps %v, want %v", b.steps, want)
	}
	for i := range want {
		if b.steps[i] != want[i] {
			t.Errorf("step %d: %#v, want %#v", i, b.steps[i], want[i])
		}
	}
}

// A run its controller has not looked at yet reads as Pending, as the
// status named it at creation; a superseded run is none.
func TestRunView(t *testing.T) {
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
	if v := RunView(run); v == nil || v.Phase != v1alpha1.AnalysisPhasePending {
		t.Errorf("new run: %+v, want Pending", v)
	}
	run.Status.Phase = v1alpha1.AnalysisPhaseRunning
	if v := RunView(run); v.Phase != v1alpha1.AnalysisPhaseRunning {
		t.Errorf("running run: %+v", v)
	}
	run.Annotations = map[string]string{rules.SupersededAnnotation: "2026-01-01T00:00:00Z"}
	if v := RunView(run); v != nil {
		t.Errorf("superseded run: %+v, want none", v)
	}
}

// onlyScales: what a plan may hold and still let the counts wait for a
// decision — scales, the look for router objects, a route to the weights
// already set — and what it may not.
func TestOnlyScales(t *testing.T) {
	steady := Route{Decision: weights.Decision{Desired: 25, MayMove: true}, Previous: 25}
	for _, c := range []struct {
		name  string
		steps []Step
		want  bool
	}{
		{"nothing", nil, true},
		{"scales and the router look", []Step{ReleaseRouterObjects{}, Scale{ReplicaSet: "a", To: 2}, ScaleDownOld{ReplicaSet: "b", To: 1}}, true},
		{"a route to the same weights", []Step{ReleaseRouterObjects{}, steady, Scale{ReplicaSet: "a", To: 2}}, true},
		{"a header route", []Step{Route{Routes: weights.Routes{Headers: []v1alpha1.SetHeaderRoute{{Name: "h"}}}}}, false},
		{"a mirror route", []Step{Route{Routes: weights.Routes{Mirrors: []v1alpha1.SetMirrorRoute{{Name: "m"}}}}}, false},
		{"managed routes removed", []Step{Route{Decision: weights.Decision{RemoveManagedRoutes: true}}}, false},
		{"a weight reset", []Step{Route{Decision: weights.Decision{ResetFirst: true}}}, false},
		{"a created ReplicaSet", []Step{CreateReplicaSet{}}, false},
		{"a Service switched", []Step{SwitchService{Name: "s"}}, false},
		{"a run created", []Step{CreateRun{}}, false},
	} {
		b := &Builder{steps: c.steps}
		if got := b.onlyScales(); got != c.want {
			t.Errorf("%s: onlyScales = %v, want %v", c.name, got, c.want)
		}
	}
}
