package rollout

import (
	"context"
	"errors"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/templateread"
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
	read := templateread.Reader{Cache: r.Client, Live: r.APIReader, ClusterCached: r.ClusterTemplates, Undecodable: r.Undecodable}
	lookup := func(name string, cluster bool) (*v1alpha1.AnalysisTemplateSpec, error) {
		spec, err := read.Get(ctx, ro.Namespace, name, cluster)
		if u, ok := errors.AsType[*templateread.Unusable](err); ok {
			return nil, &invalidSpec{u.Msg}
		}
		return spec, err
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
