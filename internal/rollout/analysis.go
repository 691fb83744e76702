package rollout

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/plan/canary"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// runOwnerKey indexes AnalysisRuns by the name of the Rollout controlling
// them.
const runOwnerKey = ".metadata.controllerRollout"

// ownedRuns lists the Rollout's AnalysisRuns from the cache. While the
// Rollout is aborted (status.abortedAt set, which lasts into the reconcile
// that handles a retry) it also marks the runs of the aborted attempt with
// rules.SupersededAnnotation, so that they never count again once the
// retry has cleared abortedAt: one patch per run, once per abort.
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
	for _, run := range out {
		if run.Annotations[rules.SupersededAnnotation] != "" || !rules.SupersededByAbort(run.CreationTimestamp, ro.Status.AbortedAt) {
			continue
		}
		at := ro.Status.AbortedAt.UTC().Format(time.RFC3339)
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, rules.SupersededAnnotation, at)
		if err := r.Client.Patch(ctx, run, rawMerge(patch)); client.IgnoreNotFound(err) != nil {
			return nil, fmt.Errorf("mark AnalysisRun %s as superseded by the abort of rollout %s: %w", run.Name, ro.Name, err)
		}
		if run.Annotations == nil {
			run.Annotations = map[string]string{}
		}
		run.Annotations[rules.SupersededAnnotation] = at
	}
	return out, nil
}

// findRun is the newest run of the current attempt matching key (see
// rules.Belongs).
func findRun(runs []*v1alpha1.AnalysisRun, key rules.RunKey) *v1alpha1.AnalysisRun {
	var found *v1alpha1.AnalysisRun
	for _, run := range runs {
		if !rules.Belongs(run.Labels, run.Annotations, key) {
			continue
		}
		if found == nil || found.CreationTimestamp.Before(&run.CreationTimestamp) {
			found = run
		}
	}
	return found
}

// runView is the planners' view of a run; a run of an aborted attempt is
// none (see ownedRuns).
func runView(run *v1alpha1.AnalysisRun) *rules.Run {
	if run == nil || run.Annotations[rules.SupersededAnnotation] != "" {
		return nil
	}
	return &rules.Run{Name: run.Name, Phase: run.Status.Phase, Message: run.Status.Message, Passed: engine.Passed(run.Status)}
}

// observeRuns fills the planner's view of the current step's run and the
// background run of the new revision.
func observeRuns(obs *canary.Observed, ro *v1alpha1.Rollout, runs []*v1alpha1.AnalysisRun, newHash string) {
	if idx := ro.Status.CurrentStepIndex; idx != nil {
		obs.StepRun = runView(findRun(runs, rules.RunKey{Type: v1alpha1.RolloutTypeStepLabel, Step: *idx, Hash: newHash, Revision: obs.Revision}))
	}
	obs.BackgroundRun = runView(findRun(runs, rules.RunKey{Type: v1alpha1.RolloutTypeBackgroundRunLabel, Hash: newHash, Revision: obs.Revision}))
}

// reconcileRuns creates the runs the planner asked for and terminates every
// other running run of the Rollout (an old revision's, a finished step's, or
// all of them once the update completes, aborts or rolls back).
func (r *Reconciler) reconcileRuns(ctx context.Context, ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, want canary.Runs, runs []*v1alpha1.AnalysisRun, rs roles.Roles) error {
	hash, idx := st.CurrentPodHash, int32(0)
	if st.CurrentStepIndex != nil {
		idx = *st.CurrentStepIndex
	}
	revision := strconv.FormatInt(roles.Revision(rs.New), 10)
	keep := map[string]bool{}
	if want.Step {
		if run := findRun(runs, rules.RunKey{Type: v1alpha1.RolloutTypeStepLabel, Step: idx, Hash: hash, Revision: revision}); run != nil {
			keep[run.Name] = true
		} else if step := ro.Spec.Strategy.Canary.Steps[idx]; step.Analysis != nil {
			created, err := r.createRun(ctx, ro, step.Analysis, v1alpha1.RolloutTypeStepLabel, idx, strconv.Itoa(int(idx)), rs)
			if err != nil {
				return err
			}
			keep[created] = true
			st.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: created, Status: v1alpha1.AnalysisPhasePending}
		}
	}
	if want.Background {
		if run := findRun(runs, rules.RunKey{Type: v1alpha1.RolloutTypeBackgroundRunLabel, Hash: hash, Revision: revision}); run != nil {
			keep[run.Name] = true
		} else if bg := ro.Spec.Strategy.Canary.Analysis; bg != nil {
			created, err := r.createRun(ctx, ro, &bg.RolloutAnalysis, v1alpha1.RolloutTypeBackgroundRunLabel, 0, "", rs)
			if err != nil {
				return err
			}
			keep[created] = true
			st.Canary.CurrentBackgroundAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: created, Status: v1alpha1.AnalysisPhasePending}
		}
	}
	return r.terminateAndPrune(ctx, ro, runs, keep)
}

// terminateAndPrune terminates every running run not in keep and deletes
// completed runs beyond the history limits.
func (r *Reconciler) terminateAndPrune(ctx context.Context, ro *v1alpha1.Rollout, runs []*v1alpha1.AnalysisRun, keep map[string]bool) error {
	for _, run := range runs {
		if keep[run.Name] || run.Spec.Terminate || run.Status.Phase.Completed() {
			continue
		}
		if err := r.Client.Patch(ctx, run, rawMerge(`{"spec":{"terminate":true}}`)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("terminate AnalysisRun %s: %w", run.Name, err)
		}
	}
	return r.pruneRuns(ctx, ro, runs, keep)
}

// createRun makes the AnalysisRun for an analysis step or the background
// analysis from its templates, named and labelled as Argo Rollouts does.
func (r *Reconciler) createRun(ctx context.Context, ro *v1alpha1.Rollout, a *v1alpha1.RolloutAnalysis, runType string, idx int32, suffix string, rs roles.Roles) (string, error) {
	stable := ""
	if rs.Stable != nil {
		stable = rs.Stable.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	}
	hash := rs.New.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	args, err := templates.RolloutArgs(ro, a.Args, stable, hash)
	if err != nil {
		return "", &invalidSpec{msg: err.Error()}
	}
	spec, err := templates.Build(templates.Request{Templates: a.Templates, Args: args, DryRun: a.DryRun, MeasurementRetention: a.MeasurementRetention}, r.lookupTemplate(ctx, ro.Namespace))
	if err != nil {
		return "", &invalidSpec{msg: fmt.Sprintf("analysis of rollout %s: %v", ro.Name, err)}
	}
	revision := roles.Revision(rs.New)
	base := templates.RunName(ro.Name, hash, revision, suffix)
	meta := a.AnalysisRunMetadata
	var matchLabels map[string]string
	if ro.Spec.Selector != nil {
		matchLabels = ro.Spec.Selector.MatchLabels
	}
	for n := 0; ; n++ {
		name := base
		if n > 0 {
			name = templates.CollisionName(base, n)
		}
		run := &v1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: ro.Namespace,
				Labels:          templates.Labels(runType, idx, hash, ro.Labels[v1alpha1.LabelControllerInstanceID], meta, matchLabels),
				Annotations:     templates.Annotations(revision, meta),
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
			},
			Spec: spec,
		}
		err := r.Client.Create(ctx, run)
		if err == nil {
			r.event(ro, false, "AnalysisRunCreated", fmt.Sprintf("Created AnalysisRun %s", name))
			return name, nil
		}
		if !apierrors.IsAlreadyExists(err) || n > 20 {
			return "", fmt.Errorf("create AnalysisRun %s: %w", name, err)
		}
		// Ours from an earlier attempt whose status write was lost, and
		// still useful: reuse it. Otherwise try the next name.
		var existing v1alpha1.AnalysisRun
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: name}, &existing); err == nil {
			if ref := metav1.GetControllerOf(&existing); ref != nil && ref.UID == ro.UID && !existing.Spec.Terminate && !existing.Status.Phase.Completed() &&
				existing.Annotations[rules.SupersededAnnotation] == "" {
				return name, nil
			}
		}
	}
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

// pruneRuns deletes completed runs beyond successfulRunHistoryLimit and
// unsuccessfulRunHistoryLimit, oldest first.
func (r *Reconciler) pruneRuns(ctx context.Context, ro *v1alpha1.Rollout, runs []*v1alpha1.AnalysisRun, keep map[string]bool) error {
	var ok, bad []*v1alpha1.AnalysisRun
	for _, run := range runs {
		switch {
		case keep[run.Name] || !run.Status.Phase.Completed():
		case run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful:
			ok = append(ok, run)
		default:
			bad = append(bad, run)
		}
	}
	newestFirst := func(a, b *v1alpha1.AnalysisRun) int { return b.CreationTimestamp.Compare(a.CreationTimestamp.Time) }
	slices.SortFunc(ok, newestFirst)
	slices.SortFunc(bad, newestFirst)
	var drop []*v1alpha1.AnalysisRun
	if n := int(ro.SuccessfulRunHistoryLimitOrDefault()); len(ok) > n {
		drop = append(drop, ok[n:]...)
	}
	if n := int(ro.UnsuccessfulRunHistoryLimitOrDefault()); len(bad) > n {
		drop = append(drop, bad[n:]...)
	}
	for _, run := range drop {
		if err := r.Client.Delete(ctx, run); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete old AnalysisRun %s: %w", run.Name, err)
		}
	}
	return nil
}
