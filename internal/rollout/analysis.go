package rollout

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
)

// runOwnerKey indexes AnalysisRuns by the name of the Rollout controlling
// them.
const runOwnerKey = ".metadata.controllerRollout"

// ownedRuns lists the Rollout's AnalysisRuns from the cache.
func (r *Reconciler) ownedRuns(ctx context.Context, ro *v1alpha1.Rollout) ([]*v1alpha1.AnalysisRun, error) {
	var list v1alpha1.AnalysisRunList
	if err := r.Client.List(ctx, &list, client.InNamespace(ro.Namespace), client.MatchingFields{runOwnerKey: ro.Name}); err != nil {
		return nil, fmt.Errorf("list AnalysisRuns of rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	var out []*v1alpha1.AnalysisRun
	for i := range list.Items {
		run := &list.Items[i]
		if ref := metav1.GetControllerOf(run); ref != nil && ref.UID == ro.UID && run.DeletionTimestamp == nil {
			out = append(out, run)
		}
	}
	return out, nil
}

// lookupTemplate reads AnalysisTemplates (in ns) and ClusterAnalysisTemplates
// around the cache: they are read only when a run is created.
func (r *Reconciler) lookupTemplate(ctx context.Context, ns string) templates.Lookup {
	return func(name string, clusterScope bool) (*v1alpha1.AnalysisTemplateSpec, error) {
		if clusterScope {
			var t v1alpha1.ClusterAnalysisTemplate
			if err := r.APIReader.Get(ctx, types.NamespacedName{Name: name}, &t); err != nil {
				return nil, fmt.Errorf("ClusterAnalysisTemplate %q: %w", name, err)
			}
			return &t.Spec, nil
		}
		var t v1alpha1.AnalysisTemplate
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &t); err != nil {
			return nil, fmt.Errorf("AnalysisTemplate %q in namespace %s: %w", name, ns, err)
		}
		return &t.Spec, nil
	}
}
