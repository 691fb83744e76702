package istio

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/release"
)

// ReleaseDestinationRule undoes in dr what ApplyHashes added: the
// managed-by-rollouts annotation and every subset's
// rollouts-pod-template-hash label (a subset left with no labels loses
// the empty map too). Subsets ApplyHashes dropped are not brought back:
// they are gone from the object. It changes dr in place and reports
// whether anything changed.
func ReleaseDestinationRule(dr *unstructured.Unstructured) (bool, error) {
	key := dr.GetNamespace() + "/" + dr.GetName()
	before, err := json.Marshal(dr.Object)
	if err != nil {
		return false, fmt.Errorf("encode DestinationRule %s: %w", key, err)
	}
	if ann := dr.GetAnnotations(); ann != nil {
		if _, ok := ann[v1alpha1.ManagedByRolloutsKey]; ok {
			delete(ann, v1alpha1.ManagedByRolloutsKey)
			if len(ann) == 0 {
				ann = nil
			}
			dr.SetAnnotations(ann)
		}
	}
	subsets, found, err := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	if err != nil {
		return false, fmt.Errorf("DestinationRule %s: spec.subsets: %w", key, err)
	}
	if found {
		for i, s := range subsets {
			m, ok := s.(map[string]any)
			if !ok {
				return false, fmt.Errorf("DestinationRule %s: spec.subsets[%d] is not an object", key, i)
			}
			labels, ok := m["labels"].(map[string]any)
			if !ok {
				continue
			}
			if _, pinned := labels[v1alpha1.DefaultRolloutUniqueLabelKey]; !pinned {
				continue
			}
			delete(labels, v1alpha1.DefaultRolloutUniqueLabelKey)
			if len(labels) == 0 {
				delete(m, "labels")
			}
		}
		if err := unstructured.SetNestedSlice(dr.Object, subsets, "spec", "subsets"); err != nil {
			return false, fmt.Errorf("DestinationRule %s: set spec.subsets: %w", key, err)
		}
	}
	after, err := json.Marshal(dr.Object)
	if err != nil {
		return false, fmt.Errorf("encode DestinationRule %s: %w", key, err)
	}
	return string(before) != string(after), nil
}

// NamedDestinationRules are the DestinationRules ro's spec names: the
// Istio destinationRule's, if any.
func NamedDestinationRules(ro *v1alpha1.Rollout) []string {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil || c.TrafficRouting.Istio == nil || c.TrafficRouting.Istio.DestinationRule == nil {
		return nil
	}
	return []string{c.TrafficRouting.Istio.DestinationRule.Name}
}

// ReleaseDestinationRules lists the DestinationRules in ro's namespace
// (at apiVersion, the default when empty), and releases
// (ReleaseDestinationRule) those annotated as managed by ro that its spec
// no longer names, as internal/plan/release decides. It returns the names
// released; the list's error is returned as it is, so the caller can tell
// a cluster without Istio (a no-match error) from a failure.
func ReleaseDestinationRules(ctx context.Context, c client.Client, apiVersion string, ro *v1alpha1.Rollout) ([]string, error) {
	list := &unstructured.UnstructuredList{}
	gvk := DestinationRuleGVK(apiVersion)
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := c.List(ctx, list, client.InNamespace(ro.Namespace)); err != nil {
		return nil, err
	}
	held := make([]release.Object, 0, len(list.Items))
	byName := map[string]*unstructured.Unstructured{}
	for i := range list.Items {
		dr := &list.Items[i]
		if owner := dr.GetAnnotations()[v1alpha1.ManagedByRolloutsKey]; owner != "" {
			held = append(held, release.Object{Name: dr.GetName(), Holder: owner})
			byName[dr.GetName()] = dr
		}
	}
	var released []string
	for _, name := range release.Unreferenced(ro.Name, NamedDestinationRules(ro), held) {
		dr := byName[name]
		changed, err := ReleaseDestinationRule(dr)
		if err != nil {
			return released, err
		}
		if !changed {
			continue
		}
		// Update carries the resourceVersion read: a conflict (the object
		// changed meanwhile) is returned, and the retry reads it again.
		if err := c.Update(ctx, dr); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return released, fmt.Errorf("update DestinationRule %s/%s: %w", ro.Namespace, name, err)
		}
		released = append(released, name)
	}
	return released, nil
}
