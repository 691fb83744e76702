package smi

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/release"
)

// NamedTrafficSplits are the TrafficSplits ro's spec calls for: its SMI
// routing's (TrafficSplitName), none without SMI routing.
func NamedTrafficSplits(ro *v1alpha1.Rollout) []string {
	if c := ro.Spec.Strategy.Canary; c == nil || c.TrafficRouting == nil || c.TrafficRouting.SMI == nil {
		return nil
	}
	return []string{TrafficSplitName(ro)}
}

// DeleteUnused lists the TrafficSplits in ro's namespace (at apiVersion,
// v1alpha1 when empty) and deletes those ro controls that its spec no
// longer calls for (internal/plan/release decides): a TrafficSplit left
// behind keeps splitting the root Service's traffic at its last weights.
// It returns the names deleted; the list's error is returned as it is, so
// the caller can tell a cluster without SMI (a no-match error) from a
// failure.
func DeleteUnused(ctx context.Context, c client.Client, apiVersion string, ro *v1alpha1.Rollout) ([]string, error) {
	gvk, err := GVK(apiVersion)
	if err != nil {
		return nil, err
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.List(ctx, list, client.InNamespace(ro.Namespace)); err != nil {
		return nil, err
	}
	var owned []release.Object
	uids := map[string]types.UID{}
	for i := range list.Items {
		ts := &list.Items[i]
		if !metav1.IsControlledBy(ts, ro) || ts.GetDeletionTimestamp() != nil {
			continue
		}
		owned = append(owned, release.Object{Name: ts.GetName(), Holder: ro.Name})
		uids[ts.GetName()] = ts.GetUID()
	}
	var deleted []string
	for _, name := range release.Unreferenced(ro.Name, NamedTrafficSplits(ro), owned) {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		obj.SetNamespace(ro.Namespace)
		obj.SetName(name)
		uid := uids[name]
		if err := c.Delete(ctx, obj, client.Preconditions{UID: &uid}); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return deleted, fmt.Errorf("delete TrafficSplit %s/%s: %w", ro.Namespace, name, err)
		}
		deleted = append(deleted, name)
	}
	return deleted, nil
}
