package rollout

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

func releaseFixture(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}

func markedService(name, owner string) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: "abc"}}}
	if owner != "" {
		svc.Annotations = map[string]string{v1alpha1.ManagedByRolloutsKey: owner, "team": "payments"}
	}
	return svc
}

// serviceState is a Service's selector and annotations, for comparison.
func serviceState(t *testing.T, c client.Client, name string) string {
	t.Helper()
	var svc corev1.Service
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: name}, &svc); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%v %v", svc.Spec.Selector, svc.Annotations)
}

// TestReleaseServices: after a switch from blue-green to canary, the
// rollout's active and preview Services lose the hash key and the
// managed-by annotation (their other keys stay); the Service it still
// names, another rollout's and an unmarked one are left alone.
func TestReleaseServices(t *testing.T) {
	c := releaseFixture(t, markedService("active", "web"), markedService("preview", "web"), markedService("stable", "web"),
		markedService("api", "api"), markedService("unmarked", ""))
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{StableService: "stable"}
	r := &Reconciler{Client: c}
	if err := r.releaseServices(context.Background(), ro); err != nil {
		t.Fatal(err)
	}
	pinned := "map[app:web rollouts-pod-template-hash:abc]"
	for name, want := range map[string]string{
		"active":   "map[app:web] map[team:payments]",
		"preview":  "map[app:web] map[team:payments]",
		"stable":   pinned + " map[argo-rollouts.argoproj.io/managed-by-rollouts:web team:payments]",
		"api":      pinned + " map[argo-rollouts.argoproj.io/managed-by-rollouts:api team:payments]",
		"unmarked": pinned + " map[]",
	} {
		if got := serviceState(t, c, name); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// TestReleaseAfterDeletion: a deleted rollout's Services are released only
// once the API server confirms no Rollout of that name exists.
func TestReleaseAfterDeletion(t *testing.T) {
	key := types.NamespacedName{Namespace: "ns", Name: "web"}
	for _, tc := range []struct {
		name string
		live []client.Object
		want string
	}{
		{"gone", nil, "map[app:web] map[team:payments]"},
		{"another instance's rollout of that name", []client.Object{&v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}},
			"map[app:web rollouts-pod-template-hash:abc] map[argo-rollouts.argoproj.io/managed-by-rollouts:web team:payments]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := releaseFixture(t, markedService("active", "web"))
			r := &Reconciler{Client: c, APIReader: releaseFixture(t, tc.live...)}
			if err := r.releaseAfterDeletion(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			if got := serviceState(t, c, "active"); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
