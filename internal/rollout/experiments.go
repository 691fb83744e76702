package rollout

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// experimentOwnerKey indexes Experiments by the name of the Rollout
// controlling them.
const experimentOwnerKey = ".metadata.controllerRollout"

// ownedExperiments lists the Rollout's Experiments from the cache.
func (r *Reconciler) ownedExperiments(ctx context.Context, ro *v1alpha1.Rollout) ([]*v1alpha1.Experiment, error) {
	var list v1alpha1.ExperimentList
	if err := r.Client.List(ctx, &list, client.InNamespace(ro.Namespace), client.MatchingFields{experimentOwnerKey: ro.Name}); err != nil {
		return nil, fmt.Errorf("list Experiments of rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	var out []*v1alpha1.Experiment
	for i := range list.Items {
		ex := &list.Items[i]
		if ref := metav1.GetControllerOf(ex); ref != nil && ref.UID == ro.UID && ex.DeletionTimestamp == nil {
			out = append(out, ex)
		}
	}
	return out, nil
}

// createExperiment creates the step's Experiment. A name taken by another
// object moves to the next one ("-1", "-2"…, as Argo Rollouts names
// them); one of ours still running from a pass whose status write was
// lost (or that a stale cache did not show) is taken as created, so a
// restart never runs two.
func (r *Reconciler) createExperiment(ctx context.Context, a *applying, s pass.CreateExperiment) error {
	ro := a.ro
	base := s.Experiment.Name
	for n := 0; ; n++ {
		ex := s.Experiment.DeepCopy()
		if n > 0 {
			ex.Name = pass.ExperimentCollisionName(base, n)
		}
		err := r.Client.Create(ctx, ex)
		if err == nil {
			r.event(ro, false, rules.ReasonExperimentCreated, fmt.Sprintf("Created Experiment '%s'", ex.Name))
			a.experiment = ex.Name
			return nil
		}
		if !apierrors.IsAlreadyExists(err) || n > 20 {
			return fmt.Errorf("create Experiment %s of rollout %s: %w", ex.Name, ro.Name, err)
		}
		var existing v1alpha1.Experiment
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: ex.Name}, &existing); err != nil {
			return client.IgnoreNotFound(err) // deleted meanwhile: the next pass creates it
		}
		if ref := metav1.GetControllerOf(&existing); ref != nil && ref.UID == ro.UID && !existing.Spec.Terminate && !existing.Status.Phase.Completed() &&
			existing.Annotations[rules.SupersededAnnotation] == "" &&
			existing.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == ex.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] {
			a.experiment = existing.Name
			return nil
		}
	}
}

// terminateExperiment asks a running Experiment to stop, with the patch
// `kubectl argo rollouts terminate experiment` sends.
func (r *Reconciler) terminateExperiment(ctx context.Context, a *applying, name string) error {
	ex := &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: a.ro.Namespace, Name: name}}
	if err := r.Client.Patch(ctx, ex, rawMerge(`{"spec":{"terminate":true}}`)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("terminate Experiment %s of rollout %s: %w", name, a.ro.Name, err)
	}
	return nil
}

// deleteExperiment deletes an Experiment of the Rollout; its ReplicaSets,
// Services and runs go with it (owner references).
func (r *Reconciler) deleteExperiment(ctx context.Context, a *applying, s pass.DeleteExperiment) error {
	uid := s.UID
	ex := &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: a.ro.Namespace, Name: s.Name}}
	if err := r.Client.Delete(ctx, ex, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete Experiment %s of rollout %s: %w", s.Name, a.ro.Name, err)
	}
	return nil
}
