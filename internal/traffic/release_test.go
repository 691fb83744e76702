package traffic_test

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// TestDeleteUnused: of the objects in the rollout's namespace, only those
// it controls and no longer names are deleted; another rollout's, an
// unowned one and one in another namespace stay.
func TestDeleteUnused(t *testing.T) {
	gvk := schema.GroupVersionKind{Group: "getambassador.io", Version: "v2", Kind: "Mapping"}
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-web"}}
	other := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", UID: "uid-api"}}
	mapping := func(ns, name string, owner *v1alpha1.Rollout) *unstructured.Unstructured {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		obj.SetNamespace(ns)
		obj.SetName(name)
		if owner != nil {
			obj.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(owner, v1alpha1.GroupVersion.WithKind("Rollout"))})
		}
		return obj
	}
	c := fake.NewClientBuilder().WithObjects(
		mapping("shop", "web-canary", ro), mapping("shop", "old-canary", ro), mapping("shop", "api-canary", other),
		mapping("shop", "mine", nil), mapping("elsewhere", "stale-canary", ro),
	).Build()
	deleted, err := traffic.DeleteUnused(context.Background(), c, gvk, ro, []string{"web-canary"})
	if err != nil || !slices.Equal(deleted, []string{"old-canary"}) {
		t.Fatalf("deleted %v, %v; want [old-canary]", deleted, err)
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind("MappingList"))
	if err := c.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, o := range list.Items {
		left = append(left, o.GetNamespace()+"/"+o.GetName())
	}
	slices.Sort(left)
	if want := []string{"elsewhere/stale-canary", "shop/api-canary", "shop/mine", "shop/web-canary"}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}
