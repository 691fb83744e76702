package rollout

import (
	"context"
	"errors"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/bluegreen"
	"github.com/aviary-rollouts/aviary/internal/plan/history"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/scaledown"
)

// Field paths of the blue-green Services, the keys of reconcileServices'
// selections.
const (
	activeField  = "spec.strategy.blueGreen.activeService"
	previewField = "spec.strategy.blueGreen.previewService"
)

// blueGreenRefs points the active Service at active and the preview
// Service at preview (nil leaves a Service as it is).
func blueGreenRefs(ro *v1alpha1.Rollout, active, preview *appsv1.ReplicaSet) []serviceRef {
	bg := ro.Spec.Strategy.BlueGreen
	return []serviceRef{
		{field: activeField, name: bg.ActiveService, target: active},
		{field: previewField, name: bg.PreviewService, target: preview},
	}
}

// syncBlueGreen reconciles a blue-green Rollout: the decision is
// internal/plan/bluegreen's; this applies it (ReplicaSet sizes, Service
// selectors, analysis runs, old ReplicaSets' scale-down) and writes status
// once.
func (r *Reconciler) syncBlueGreen(ctx context.Context, ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet, w *workload) (ctrl.Result, error) {
	newHash := roles.CurrentHash(ro, rsList)
	rs := roles.Classify(rsList, newHash, ro.Status.StableRS)
	pending, err := r.prepareNew(ctx, ro, rsList, newHash, &rs)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Read (and check) the Services before deciding: the decision depends
	// on what the active Service selects.
	_, before, err := r.reconcileServices(ctx, ro, blueGreenRefs(ro, nil, nil))
	if err != nil {
		return r.invalidOr(ctx, ro, rsList, err)
	}
	runs, err := r.ownedRuns(ctx, ro)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := r.Now()
	obs := bluegreen.Observed{
		NewHash:        newHash,
		Revision:       rs.New.Annotations[v1alpha1.RevisionAnnotation],
		NewReplicas:    roles.SpecReplicas(rs.New),
		NewAvailable:   rs.New.Status.AvailableReplicas,
		ActiveSelector: before[activeField],
		PreRun:         runView(namedRun(runs, ro.Status.BlueGreen.PrePromotionAnalysisRunStatus)),
		PostRun:        runView(namedRun(runs, ro.Status.BlueGreen.PostPromotionAnalysisRunStatus)),
	}
	if pending != nil {
		obs.NewReplicas = 0
	} else if rs.New != rs.Stable {
		mark, _ := scaledown.MarkOf(rs.New.Annotations)
		obs.FastRollback = mark.State == scaledown.Marked && rs.New.Status.AvailableReplicas >= ro.ReplicasOrDefault()
		obs.RollbackWithinWindow = roles.RollbackWithinWindow(ro, rs)
	}
	progress := bluegreen.Advance(ro, obs, now)
	// Journal the decision before acting on it: once the active Service
	// has switched, a controller restarted before the status write would
	// not make the same decision again, so its events must already be
	// recorded (the journal writes each exactly once).
	if err := r.journal(ctx, ro, progress.Events); err != nil {
		return ctrl.Result{}, err
	}
	next := ro.DeepCopy()
	next.Status = progress.Status

	scales := map[*appsv1.ReplicaSet]int32{rs.New: progress.NewReplicas}
	if rs.Stable != nil && rs.Stable != rs.New {
		// The active version keeps every pod until it is replaced.
		scales[rs.Stable] = ro.ReplicasOrDefault()
	}
	progressed, abortDue, err := r.scaleAll(ctx, ro, next, rs, &rs, pending, scales)
	if errors.Is(err, errCollision) {
		return ctrl.Result{}, r.bumpCollisionCount(ctx, ro)
	}
	if err != nil {
		return ctrl.Result{}, err
	}

	st := progress.Status
	var active *appsv1.ReplicaSet
	for _, set := range rs.All() {
		if set.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == progress.Active {
			active = set
		}
	}
	switched, selected, err := r.reconcileServices(ctx, ro, blueGreenRefs(ro, active, rs.New))
	if err != nil {
		return r.invalidOr(ctx, ro, rsList, err)
	}
	progressed = progressed || switched
	st.BlueGreen.ActiveSelector, st.BlueGreen.PreviewSelector = selected[activeField], selected[previewField]
	next.Status = st

	if err := r.syncRoleMetadata(ctx, next, rs.WithoutNew(pending)); err != nil {
		return ctrl.Result{}, err
	}
	if rs.Stable != nil {
		if err := r.dropInjectedAntiAffinity(ctx, rs.Stable); err != nil {
			return ctrl.Result{}, err
		}
	}
	scaleDownDue, err := r.scaleDownOld(ctx, next, rs, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, old := range history.ToDelete(rs.Others, ro.RevisionHistoryLimitOrDefault()) {
		uid := old.UID
		if err := r.Client.Delete(ctx, old, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
	}
	restarted, err := r.restartPods(ctx, ro, rs)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.reconcileBlueGreenRuns(ctx, ro, &st, progress.Runs, runs, rs); err != nil {
		return r.invalidOr(ctx, ro, rsList, err)
	}
	return r.finish(ctx, ro, rsList, rs, w, finishing{status: st, progressed: progressed, restarted: restarted,
		requeue: earliest(earliest(progress.RequeueAfter, scaleDownDue), abortDue)})
}

// invalidOr reports an *invalidSpec as InvalidSpec and returns any other
// error for a retry.
func (r *Reconciler) invalidOr(ctx context.Context, ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet, err error) (ctrl.Result, error) {
	var invalid *invalidSpec
	if errors.As(err, &invalid) {
		return r.markInvalid(ctx, ro, rsList, invalid.msg)
	}
	return ctrl.Result{}, err
}

// namedRun is the run a status reference names, if it exists.
func namedRun(runs []*v1alpha1.AnalysisRun, ref *v1alpha1.RolloutAnalysisRunStatus) *v1alpha1.AnalysisRun {
	if ref == nil {
		return nil
	}
	for _, run := range runs {
		if run.Name == ref.Name {
			return run
		}
	}
	return nil
}

// reconcileBlueGreenRuns creates the pre- or post-promotion run the planner
// asked for (recording it in status, which is how this attempt's run is
// told from an earlier attempt's), and terminates every other running run.
func (r *Reconciler) reconcileBlueGreenRuns(ctx context.Context, ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, want bluegreen.Runs, runs []*v1alpha1.AnalysisRun, rs roles.Roles) error {
	bg := ro.Spec.Strategy.BlueGreen
	keep := map[string]bool{}
	ensure := func(wanted bool, a *v1alpha1.RolloutAnalysis, runType, suffix string, ref **v1alpha1.RolloutAnalysisRunStatus) error {
		if !wanted || a == nil {
			return nil
		}
		if *ref != nil {
			// Named in status: ours, even if the cache has not caught up,
			// unless it is really gone (deleted by hand).
			name := (*ref).Name
			if namedRun(runs, *ref) != nil {
				keep[name] = true
				return nil
			}
			err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: name}, &v1alpha1.AnalysisRun{})
			if !apierrors.IsNotFound(err) {
				keep[name] = true
				return client.IgnoreNotFound(err)
			}
		}
		created, err := r.createRun(ctx, ro, a, runType, 0, suffix, rs)
		if err != nil {
			return err
		}
		keep[created] = true
		*ref = &v1alpha1.RolloutAnalysisRunStatus{Name: created, Status: v1alpha1.AnalysisPhasePending}
		return nil
	}
	if err := ensure(want.Pre, bg.PrePromotionAnalysis, v1alpha1.RolloutTypePrePromotionLabel, "pre", &st.BlueGreen.PrePromotionAnalysisRunStatus); err != nil {
		return err
	}
	if err := ensure(want.Post, bg.PostPromotionAnalysis, v1alpha1.RolloutTypePostPromotionLabel, "post", &st.BlueGreen.PostPromotionAnalysisRunStatus); err != nil {
		return err
	}
	return r.terminateAndPrune(ctx, ro, runs, keep)
}
