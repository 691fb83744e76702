package rollout

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
)

// templateKey indexes Rollouts by the analysis templates they name, as
// "AnalysisTemplate/<name>" or "ClusterAnalysisTemplate/<name>", so a
// template event finds its Rollouts without listing them all.
const templateKey = ".spec.strategy.analysisTemplates"

func templateIndexValue(name string, cluster bool) string {
	return templates.Template{Name: name, ClusterScope: cluster}.Kind() + "/" + name
}

// rolloutsReferencingTemplate maps an AnalysisTemplate (or, with cluster,
// ClusterAnalysisTemplate) event to the Rollouts that name it, so a
// Rollout held InvalidSpec for want of the template recovers as soon as it
// is created, and one whose template is deleted says so at once.
func (r *Reconciler) rolloutsReferencingTemplate(cluster bool) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		opts := []client.ListOption{client.MatchingFields{templateKey: templateIndexValue(o.GetName(), cluster)}}
		if !cluster {
			opts = append(opts, client.InNamespace(o.GetNamespace()))
		}
		var list v1alpha1.RolloutList
		if err := r.Client.List(ctx, &list, opts...); err != nil {
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for _, ro := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
		}
		return out
	}
}

// checkTemplateRefs reports a template the Rollout names that does not
// exist as an *invalidSpec, on every reconcile as Argo Rollouts does, not
// only when a run is due: a Rollout whose analysis cannot run must not
// look Healthy. AnalysisTemplates are read from the cache (the watch in
// SetupWithManager keeps an informer of them), as are
// ClusterAnalysisTemplates when ClusterTemplates is set; a namespaced
// controller, which may not list them, reads each named one with a GET.
func (r *Reconciler) checkTemplateRefs(ctx context.Context, ro *v1alpha1.Rollout) error {
	refs := templates.RolloutRefs(ro)
	if len(refs) == 0 {
		return nil
	}
	lookup := func(name string, cluster bool) (*v1alpha1.AnalysisTemplateSpec, error) {
		var spec *v1alpha1.AnalysisTemplateSpec
		var err error
		if cluster {
			reader := r.APIReader
			if r.ClusterTemplates {
				reader = r.Client
			}
			t := &v1alpha1.ClusterAnalysisTemplate{}
			spec, err = &t.Spec, reader.Get(ctx, types.NamespacedName{Name: name}, t)
		} else {
			t := &v1alpha1.AnalysisTemplate{}
			spec, err = &t.Spec, r.Client.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: name}, t)
		}
		switch {
		case apierrors.IsNotFound(err):
			// Missing from the cache may mean malformed: the tolerant
			// informers leave out what the Go types refuse.
			kind, ns := "AnalysisTemplate", ro.Namespace
			if cluster {
				kind, ns = "ClusterAnalysisTemplate", ""
			}
			key := tolerant.Key{Kind: v1alpha1.GroupVersion.WithKind(kind).GroupKind(), Namespace: ns, Name: name}
			if de := r.Undecodable.Failing(key); de != nil {
				return nil, &invalidSpec{fmt.Sprintf("%s %q cannot be read: %v; correct it and re-apply", kind, name, de)}
			}
			return nil, nil
		case cluster && apierrors.IsForbidden(err):
			return nil, &invalidSpec{fmt.Sprintf("%v; a controller limited to one namespace (--namespaced) can only use AnalysisTemplates in that namespace", err)}
		case err != nil:
			return nil, err
		}
		return spec, nil
	}
	msg, err := templates.Missing(refs, ro.Namespace, lookup)
	var invalid *invalidSpec
	if errors.As(err, &invalid) {
		return &invalidSpec{err.Error()} // with the field
	}
	if err != nil {
		return err
	}
	if msg != "" {
		return &invalidSpec{msg}
	}
	return nil
}
