package traffic

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/release"
)

// DeleteUnused lists the objects of gvk in ro's namespace and deletes those
// ro controls that are not among named, the ones its spec calls for now
// (internal/plan/release decides): an object a router created and left
// behind keeps routing at its last state. It returns the names deleted;
// the list's error is returned as it is, so the caller can tell a cluster
// that does not serve the kind (a no-match error) from a failure.
func DeleteUnused(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, ro *v1alpha1.Rollout, named []string) ([]string, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.List(ctx, list, client.InNamespace(ro.Namespace)); err != nil {
		return nil, err
	}
	var owned []release.Object
	uids := map[string]types.UID{}
	for i := range list.Items {
		obj := &list.Items[i]
		if !metav1.IsControlledBy(obj, ro) || obj.GetDeletionTimestamp() != nil {
			continue
		}
		owned = append(owned, release.Object{Name: obj.GetName(), Holder: ro.Name})
		uids[obj.GetName()] = obj.GetUID()
	}
	var deleted []string
	for _, name := range release.Unreferenced(ro.Name, named, owned) {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		obj.SetNamespace(ro.Namespace)
		obj.SetName(name)
		uid := uids[name]
		if err := c.Delete(ctx, obj, client.Preconditions{UID: &uid}); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return deleted, fmt.Errorf("delete %s %s/%s: %w", gvk.Kind, ro.Namespace, name, err)
		}
		deleted = append(deleted, name)
	}
	return deleted, nil
}
