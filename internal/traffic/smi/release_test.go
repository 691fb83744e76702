package smi

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// TestDeleteUnused: of the namespace's TrafficSplits, those the rollout
// controls and no longer calls for are deleted; the one it uses, another
// rollout's and an unowned one stay.
func TestDeleteUnused(t *testing.T) {
	ro := rollout(&v1alpha1.SMITrafficRouting{TrafficSplitName: "current"})
	split := func(name string, owner *v1alpha1.Rollout) client.Object {
		gvk, _ := GVK("")
		obj := NewTrafficSplit(ro, gvk, name, DesiredSpec(ro, 10))
		obj.SetOwnerReferences(nil)
		if owner != nil {
			obj.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(owner, v1alpha1.GroupVersion.WithKind("Rollout"))})
		}
		return obj
	}
	other := rollout(nil)
	other.Name, other.UID = "other", types.UID("other-uid")
	h := newHarness(split("old", ro), split("current", ro), split("theirs", other), split("unowned", nil))
	exists := func(name string) bool {
		gvk, _ := GVK("")
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		return h.c.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: name}, obj) == nil
	}

	deleted, err := DeleteUnused(context.Background(), h.c, "", ro)
	if err != nil || !slices.Equal(deleted, []string{"old"}) {
		t.Fatalf("deleted %v (err %v), want [old]", deleted, err)
	}
	for name, want := range map[string]bool{"old": false, "current": true, "theirs": true, "unowned": true} {
		if exists(name) != want {
			t.Errorf("TrafficSplit %s exists = %v, want %v", name, !want, want)
		}
	}
	// Routing removed: the one in use goes too.
	ro.Spec.Strategy.Canary.TrafficRouting = nil
	if deleted, err = DeleteUnused(context.Background(), h.c, "", ro); err != nil || !slices.Equal(deleted, []string{"current"}) {
		t.Errorf("routing removed: deleted %v (err %v), want [current]", deleted, err)
	}
}

func TestNamedTrafficSplits(t *testing.T) {
	if got := NamedTrafficSplits(rollout(nil)); got != nil {
		t.Errorf("no SMI: %v", got)
	}
	if got := NamedTrafficSplits(rollout(&v1alpha1.SMITrafficRouting{})); !slices.Equal(got, []string{"rollout-smi"}) {
		t.Errorf("default name: %v", got)
	}
}
