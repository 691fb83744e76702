package rollout

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

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

// TestReleaseService: a released Service loses the hash key and the
// managed-by annotation, its other keys stay; one changed since the
// version decided on is left alone (the next pass looks again).
func TestReleaseService(t *testing.T) {
	c := releaseFixture(t, markedService("active", "web"), markedService("preview", "web"))
	r := &Reconciler{Client: c}
	ctx := context.Background()
	var active, preview corev1.Service
	if err := c.Get(ctx, types.NamespacedName{Namespace: "ns", Name: "active"}, &active); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: "ns", Name: "preview"}, &preview); err != nil {
		t.Fatal(err)
	}
	if released, err := r.releaseService(ctx, "ns", "active", active.ResourceVersion); err != nil || !released {
		t.Fatalf("release active: %v, %v", released, err)
	}
	if got, want := serviceState(t, c, "active"), "map[app:web] map[team:payments]"; got != want {
		t.Errorf("active: %s, want %s", got, want)
	}
	if released, err := r.releaseService(ctx, "ns", "preview", "1"); err != nil || released {
		t.Fatalf("release preview at an old version: %v, %v; want left alone", released, err)
	}
	if got, want := serviceState(t, c, "preview"), "map[app:web rollouts-pod-template-hash:abc] map[argo-rollouts.argoproj.io/managed-by-rollouts:web team:payments]"; got != want {
		t.Errorf("preview: %s, want %s", got, want)
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

// TestObserveCopiesOnlyItsOwnServices: observe hands the planner the
// Services the strategy names and those marked as managed by this Rollout
// — never another Rollout's managed Services, which it would otherwise
// copy on every reconcile of every Rollout in a namespace.
func TestObserveCopiesOnlyItsOwnServices(t *testing.T) {
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		markedService("web-stable", "web"),      // named and managed
		markedService("web-canary", ""),         // named, not yet managed
		markedService("web-old-preview", "web"), // managed, no longer named: a release looks at it
		markedService("api-stable", "api"),      // another Rollout's
		markedService("unrelated", ""),
	)
	for _, ix := range Indexes() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	r := &Reconciler{Client: b.Build(), Now: time.Now}
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			StableService: "web-stable", CanaryService: "web-canary"}}}}
	obs, err := r.observe(context.Background(), ro, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var named, managed []string
	for name := range obs.Services {
		named = append(named, name)
	}
	for _, svc := range obs.Managed {
		managed = append(managed, svc.Name)
	}
	slices.Sort(named)
	slices.Sort(managed)
	if got, want := fmt.Sprint(named), "[web-canary web-stable]"; got != want {
		t.Errorf("named services %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(managed), "[web-old-preview web-stable]"; got != want {
		t.Errorf("managed services %s, want %s (another rollout's are not this one's to release)", got, want)
	}
}

// TestRouterObjectsLookedAtFromFirstSight: a routed Rollout is looked at
// for router objects to let go of on the first reconcile that sees it,
// before its status has weights, and not again while its routing stays the
// same; one that routes nothing and never did is never looked at; taking
// the routing out looks again.
func TestRouterObjectsLookedAtFromFirstSight(t *testing.T) {
	var lists []string
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			lists = append(lists, list.GetObjectKind().GroupVersionKind().Kind)
			return c.List(ctx, list, opts...)
		},
	}).Build()
	r := &Reconciler{Client: c}
	ctx := context.Background()
	// routerChecked is the process's memo: start from a controller that
	// has seen neither Rollout (a repeated run of the test included).
	for _, uid := range []types.UID{"u-plain", "u-routed"} {
		routerChecked.Delete(uid)
		t.Cleanup(func() { routerChecked.Delete(uid) })
	}
	look := func(ro *v1alpha1.Rollout) []string {
		t.Helper()
		lists = nil
		if err := r.releaseRouterObjects(ctx, ro); err != nil {
			t.Fatal(err)
		}
		return lists
	}

	plain := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "plain", UID: "u-plain"}}
	plain.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
	if got := look(plain); len(got) != 0 {
		t.Errorf("a Rollout that routes nothing and never did listed %v", got)
	}

	routed := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "routed", UID: "u-routed"}}
	routed.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{TrafficRouting: &v1alpha1.RolloutTrafficRouting{
		Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "web"}}}
	want := []string{"DestinationRuleList", "TrafficSplitList"}
	if got := look(routed); !slices.Equal(got, want) {
		t.Errorf("an NGINX-routed Rollout without weights yet listed %v, want %v on first sight", got, want)
	}
	routed.Status.Canary.Weights = &v1alpha1.TrafficWeights{}
	if got := look(routed); len(got) != 0 {
		t.Errorf("the same routing looked at again: listed %v", got)
	}

	routed.Spec.Strategy.Canary.TrafficRouting = nil
	want = []string{"DestinationRuleList", "TrafficSplitList", "MappingList", "ApisixRouteList"}
	if got := look(routed); !slices.Equal(got, want) {
		t.Errorf("routing taken out, weights still set: listed %v, want %v", got, want)
	}
}
