package bluegreen

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/plan/scaledown"
)

// Field paths of the blue-green Services, the keys of the selections.
const (
	ActiveServiceField  = "spec.strategy.blueGreen.activeService"
	PreviewServiceField = "spec.strategy.blueGreen.previewService"
)

// Plan decides one reconcile of a blue-green Rollout from everything the
// shell observed, and returns it as the steps that carry it out, in order:
// the current template's ReplicaSet kept the newest revision; the runs of
// an aborted attempt marked; the decision (Advance, which depends on what
// the active Service selects) journaled before it is acted on — once the
// active Service has switched, a controller restarted before the status
// write would not make the same decision again; the new ReplicaSet
// created or scaled (the active one keeps every pod until replaced); the
// active and preview Services switched; role metadata and anti-affinity;
// old ReplicaSets scaled down after their delay or deleted beyond the
// history limit; a restart's evictions; the pre- and post-promotion runs;
// and the end every plan shares (pass.Builder.Finish).
func Plan(obs pass.Observed) pass.Plan {
	ro, now := obs.Rollout, obs.Now
	bg := ro.Spec.Strategy.BlueGreen
	b := pass.NewBuilder(obs)
	rs, pending := b.Prepare()
	b.Release()
	// The Services are read (and checked) before deciding: the decision
	// depends on what the active Service selects.
	before := b.Switch(refs(ro, nil, nil))
	if b.Failed() {
		return b.Plan()
	}
	b.Supersede()
	o := Observed{
		NewHash:        rs.New.Labels[v1alpha1.DefaultRolloutUniqueLabelKey],
		Revision:       rs.New.Annotations[v1alpha1.RevisionAnnotation],
		NewReplicas:    roles.SpecReplicas(rs.New),
		NewAvailable:   rs.New.Status.AvailableReplicas,
		ActiveSelector: before[ActiveServiceField],
		PreRun:         pass.RunView(pass.NamedRun(b.Runs, ro.Status.BlueGreen.PrePromotionAnalysisRunStatus)),
		PostRun:        pass.RunView(pass.NamedRun(b.Runs, ro.Status.BlueGreen.PostPromotionAnalysisRunStatus)),
	}
	o.TargetsUnverified = obs.Targets != nil && !obs.Targets.Verified
	if pending != nil {
		o.NewReplicas = 0
	} else if rs.New != rs.Stable {
		mark, _ := scaledown.MarkOf(rs.New.Annotations)
		o.FastRollback = mark.State == scaledown.Marked && rs.New.Status.AvailableReplicas >= ro.ReplicasOrDefault()
		o.RollbackWithinWindow = roles.RollbackWithinWindow(ro, rs)
	}
	progress := Advance(ro, o, now)
	b.Requeue(progress.RequeueAfter)
	if len(progress.Events) > 0 {
		b.Add(pass.Journal{Events: progress.Events})
	}
	next := ro.DeepCopy()
	next.Status = progress.Status

	scales := map[*appsv1.ReplicaSet]int32{rs.New: progress.NewReplicas}
	if rs.Stable != nil && rs.Stable != rs.New {
		// The active version keeps every pod until it is replaced.
		scales[rs.Stable] = ro.ReplicasOrDefault()
	}
	b.Create(pending, scales)
	b.HoldAbortedNew(next, rs, scales)
	b.Size(scales)

	st := progress.Status
	var active *appsv1.ReplicaSet
	for _, set := range rs.All() {
		if set.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == progress.Active {
			active = set
		}
	}
	selected := b.Switch(refs(ro, active, rs.New))
	st.BlueGreen.ActiveSelector, st.BlueGreen.PreviewSelector = selected[ActiveServiceField], selected[PreviewServiceField]
	next.Status = st

	b.RoleMetadata(next, rs.WithoutNew(pending))
	b.DropAntiAffinity(rs.Stable)
	b.ScaleDownOld(next, rs)
	b.History(rs.Others)
	restarted := b.Restart(rs)
	runs(b, ro, bg, &st, progress.Runs, rs)
	// The runs' new phases are told with the end of the plan, not with
	// the decision journaled before the switches: a pass redone after a
	// switch may decide otherwise, and a phase told beside another
	// decision would be told again.
	current := rules.CurrentRuns{
		PrePromotion:  trackedRun(b.Runs, ro.Status.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PrePromotionAnalysisRunStatus),
		PostPromotion: trackedRun(b.Runs, ro.Status.BlueGreen.PostPromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus),
	}
	return b.Finish(rs, st, restarted, rules.RunEvents(&ro.Status, &st, current))
}

// trackedRun is the run of one role as observed: the one the status named
// before this pass, or, when it named none, the one it names now (a run
// adopted after a crash left it unnamed; a run created in this pass is not
// observed yet).
func trackedRun(runs []*v1alpha1.AnalysisRun, before, after *v1alpha1.RolloutAnalysisRunStatus) *rules.Run {
	if before == nil {
		before = after
	}
	return pass.RunView(pass.NamedRun(runs, before))
}

// refs points the preview Service at preview and the active Service at
// active (nil leaves a Service as it is), in that order: when both switch
// in one pass (the new pods became available together), the preview
// selects the new version before users are sent to it, as in Argo
// Rollouts.
func refs(ro *v1alpha1.Rollout, active, preview *appsv1.ReplicaSet) []pass.ServiceRef {
	bg := ro.Spec.Strategy.BlueGreen
	return []pass.ServiceRef{
		{Field: PreviewServiceField, Name: bg.PreviewService, Target: preview},
		{Field: ActiveServiceField, Name: bg.ActiveService, Target: active},
	}
}

// runs asks for the pre- or post-promotion run the decision wants
// (recorded in status, which is how this attempt's run is told from an
// earlier attempt's), and stops and prunes every other run.
func runs(b *pass.Builder, ro *v1alpha1.Rollout, bg *v1alpha1.BlueGreenStrategy, st *v1alpha1.RolloutStatus, want Runs, rs roles.Roles) {
	keep := map[string]bool{}
	hash := rs.New.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	revision := strconv.FormatInt(roles.Revision(rs.New), 10)
	ensure := func(wanted bool, a *v1alpha1.RolloutAnalysis, slot pass.RunSlot, runType, suffix string, ref **v1alpha1.RolloutAnalysisRunStatus) {
		if !wanted || a == nil {
			return
		}
		reuse := ""
		if *ref == nil {
			// A controller killed between creating this attempt's run and
			// recording its name left it unnamed: it is adopted, not
			// stopped beside a second one (an aborted attempt's runs are
			// superseded by now, so they do not match).
			if run := pass.FindRun(b.Runs, rules.RunKey{Type: runType, Hash: hash, Revision: revision}); run != nil {
				keep[run.Name] = true
				v := pass.RunView(run)
				*ref = &v1alpha1.RolloutAnalysisRunStatus{Name: v.Name, Status: v.Phase, Message: v.Message}
				return
			}
		}
		if *ref != nil {
			// Named in status: ours, even if the cache has not caught up,
			// unless it is really gone (deleted by hand); the shell checks.
			if pass.NamedRun(b.Runs, *ref) != nil {
				keep[(*ref).Name] = true
				return
			}
			reuse = (*ref).Name
		}
		name := b.Run(slot, a, runType, 0, suffix, rs, reuse)
		keep[name] = true
		if reuse != "" {
			keep[reuse] = true // the status keeps naming it unless the shell creates another
			return
		}
		*ref = &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhasePending}
	}
	ensure(want.Pre, bg.PrePromotionAnalysis, pass.PrePromotionRun, v1alpha1.RolloutTypePrePromotionLabel, "pre", &st.BlueGreen.PrePromotionAnalysisRunStatus)
	ensure(want.Post, bg.PostPromotionAnalysis, pass.PostPromotionRun, v1alpha1.RolloutTypePostPromotionLabel, "post", &st.BlueGreen.PostPromotionAnalysisRunStatus)
	b.StopAndPrune(keep)
}
