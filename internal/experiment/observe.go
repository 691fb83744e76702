package experiment

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/plan/experiment"
	"github.com/aviary-rollouts/aviary/internal/templateread"
)

// observe reads what the planner decides on, from the cache: the
// Experiment's ReplicaSets and AnalysisRuns, the namespace's Services and
// run names, and the templates of the analyses still waiting for a run.
func (r *Reconciler) observe(ctx context.Context, ex *v1alpha1.Experiment) (experiment.Observed, error) {
	obs := experiment.Observed{Experiment: ex, TakenRunNames: map[string]bool{}, Templates: map[string]experiment.Resolved{}, Now: r.Now()}
	owned := []client.ListOption{client.InNamespace(ex.Namespace), client.MatchingFields{ownerKey: ex.Name}}
	var rss appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &rss, owned...); err != nil {
		return obs, fmt.Errorf("list ReplicaSets of experiment %s/%s: %w", ex.Namespace, ex.Name, err)
	}
	for i := range rss.Items {
		obs.ReplicaSets = append(obs.ReplicaSets, &rss.Items[i])
	}
	var svcs corev1.ServiceList
	if err := r.Client.List(ctx, &svcs, client.InNamespace(ex.Namespace)); err != nil {
		return obs, fmt.Errorf("list Services of namespace %s: %w", ex.Namespace, err)
	}
	for i := range svcs.Items {
		obs.Services = append(obs.Services, &svcs.Items[i])
	}
	var runs v1alpha1.AnalysisRunList
	if err := r.Client.List(ctx, &runs, client.InNamespace(ex.Namespace)); err != nil {
		return obs, fmt.Errorf("list AnalysisRuns of namespace %s: %w", ex.Namespace, err)
	}
	for i := range runs.Items {
		run := &runs.Items[i]
		obs.TakenRunNames[run.Name] = true
		if ref := metav1.GetControllerOf(run); ref != nil && ref.UID == ex.UID {
			obs.Runs = append(obs.Runs, run)
		}
	}
	// A run just created may not be in the cache yet; it must not read as
	// deleted.
	for _, st := range ex.Status.AnalysisRuns {
		if st.AnalysisRun == "" || st.Phase.Completed() || obs.TakenRunNames[st.AnalysisRun] {
			continue
		}
		var run v1alpha1.AnalysisRun
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ex.Namespace, Name: st.AnalysisRun}, &run)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return obs, fmt.Errorf("read AnalysisRun %s of experiment %s/%s: %w", st.AnalysisRun, ex.Namespace, ex.Name, err)
		}
		obs.TakenRunNames[run.Name] = true
		obs.Runs = append(obs.Runs, &run)
	}
	for _, a := range ex.Spec.Analyses {
		if st := runStatusOf(ex, a.Name); st != nil && st.AnalysisRun != "" {
			continue
		}
		ts, err := templates.Collect([]v1alpha1.AnalysisTemplateRef{{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}}, r.lookup(ctx, ex.Namespace))
		var missing *missingTemplate
		switch {
		case errors.As(err, &missing):
			obs.Templates[a.Name] = experiment.Resolved{Err: missing}
		case err != nil:
			return obs, fmt.Errorf("read the templates of analysis %q of experiment %s/%s: %w", a.Name, ex.Namespace, ex.Name, err)
		default:
			obs.Templates[a.Name] = experiment.Resolved{Templates: ts}
		}
	}
	return obs, nil
}

func runStatusOf(ex *v1alpha1.Experiment, name string) *v1alpha1.ExperimentAnalysisRunStatus {
	for i := range ex.Status.AnalysisRuns {
		if ex.Status.AnalysisRuns[i].Name == name {
			return &ex.Status.AnalysisRuns[i]
		}
	}
	return nil
}

// missingTemplate is a template that does not exist or may not be read,
// worded for the user; any other read error is retried.
type missingTemplate struct{ msg string }

func (e *missingTemplate) Error() string { return e.msg }

// lookup reads the analysis templates (templateread), reporting a missing
// or unusable one as a *missingTemplate worded for the user.
func (r *Reconciler) lookup(ctx context.Context, ns string) templates.Lookup {
	read := templateread.Reader{Cache: r.Client, Live: r.APIReader, ClusterCached: r.ClusterTemplates, Undecodable: r.Undecodable}
	return func(name string, cluster bool) (*v1alpha1.AnalysisTemplateSpec, error) {
		spec, err := read.Get(ctx, ns, name, cluster)
		if u, ok := errors.AsType[*templateread.Unusable](err); ok {
			return nil, &missingTemplate{u.Msg}
		}
		if err == nil && spec == nil {
			if cluster {
				return nil, &missingTemplate{fmt.Sprintf("ClusterAnalysisTemplate %q not found; create it or fix the name", name)}
			}
			return nil, &missingTemplate{fmt.Sprintf("AnalysisTemplate %q not found in namespace %s; create it or fix the name", name, ns)}
		}
		return spec, err
	}
}
