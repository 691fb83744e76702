package canary

import (
	"slices"
	"strconv"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/evidence"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/plan/services"
	"github.com/aviary-rollouts/aviary/internal/plan/weights"
	"github.com/aviary-rollouts/aviary/internal/podhash"
)

// Field paths of the canary Services, the keys of the selections.
const (
	CanaryServiceField = "spec.strategy.canary.canaryService"
	StableServiceField = "spec.strategy.canary.stableService"
)

// Plan decides one reconcile of a canary Rollout from everything the shell
// observed, and returns it as the steps that carry it out, in order:
//
//  1. the current template's ReplicaSet is kept the newest revision;
//  2. the Services follow the ReplicaSets as they stand, each pod's role
//     metadata too; a stable that was a canary loses its anti-affinity;
//     the runs of an aborted attempt are marked;
//  3. the step decision (Advance), and the sizes against the status it
//     produced, so a completed step's next weight is applied at once: the
//     new ReplicaSet created at its size in one write, the others scaled,
//     old ones scaled down after their delay or deleted beyond the
//     history limit; a restart's next evictions;
//  4. the runs the update needs created, the others stopped and pruned;
//  5. on promotion in this pass, the stable Service moves to the new pods
//     before the router takes the weight off the canary, so no request
//     goes back to the old version in between;
//  6. the routers' weight and routes;
//  7. the end every plan shares (pass.Builder.Finish): the journal before
//     the one status write.
func Plan(obs pass.Observed) pass.Plan {
	ro, now := obs.Rollout, obs.Now
	b := pass.NewBuilder(obs)
	rs, pending := b.Prepare()
	b.Release()
	selected := b.Switch(serviceRefs(ro, rs))
	if b.Failed() {
		return b.Plan()
	}
	b.RoleMetadata(ro, rs.WithoutNew(pending))
	b.DropAntiAffinity(rs.Stable)
	b.Supersede()

	newHash := rs.New.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	_, atDesired := replicas.Desired(ro, rs)
	o := Observed{
		NewHash:           newHash,
		StepHash:          podhash.StepHash(ro.Spec.Strategy.Canary.Steps),
		AtDesiredReplicas: atDesired,
		Revision:          rs.New.Annotations[v1alpha1.RevisionAnnotation],
	}
	if idx := ro.Status.CurrentStepIndex; idx != nil {
		o.StepRun = pass.RunView(pass.FindRun(b.Runs, rules.RunKey{Type: v1alpha1.RolloutTypeStepLabel, Step: *idx, Hash: newHash, Revision: o.Revision}))
	}
	var stepEx *v1alpha1.Experiment
	if atExperimentStep(ro, &ro.Status) {
		stepEx = pass.StepExperiment(b.Experiments, ro.Status.Canary.CurrentExperiment, experimentBase(ro, rs, *ro.Status.CurrentStepIndex))
		if stepEx != nil {
			o.StepExperiment = &Experiment{Name: stepEx.Name, Phase: stepEx.Status.Phase, Message: stepEx.Status.Message}
		}
	}
	bgRun := pass.FindRun(b.Runs, rules.RunKey{Type: v1alpha1.RolloutTypeBackgroundRunLabel, Hash: newHash, Revision: o.Revision})
	if o.BackgroundRun = pass.RunView(bgRun); o.BackgroundRun != nil {
		o.Evidence = evidence.Of(bgRun)
	}
	if pending == nil {
		o.RollbackWithinWindow = roles.RollbackWithinWindow(ro, rs)
	}
	o.StepPlugins = obs.StepPlugins
	o.Weights = obs.Weights
	o.PausedAt = ro.Status.ControllerPauseStep
	if o.PausedAt == "" {
		o.PausedAt = ro.Annotations[rules.PausedAtAnnotation]
	}
	progress := Advance(ro, o, now)
	if progress.Call != nil {
		// A step plugin is called before anything else is done; the
		// shell plans again with its answer.
		return pass.Plan{Steps: []pass.Step{*progress.Call}}
	}
	b.Requeue(progress.RequeueAfter)

	next := ro.DeepCopy()
	next.Status = progress.Status
	nextRoles := roles.Classify(b.Sets, newHash, next.Status.StableRS).WithNew(rs.New)
	scales, _ := replicas.Desired(next, nextRoles)
	b.Create(pending, scales)
	b.HoldAbortedNew(next, nextRoles, scales)
	b.Size(scales)
	if t := obs.Targets; t != nil && !t.Verified {
		// Nothing old is scaled down until the load balancer has
		// registered the stable's pods (Argo Rollouts' rule with
		// --aws-verify-target-group).
		b.Requeue(VerifyRetry)
	} else {
		b.ScaleDownOld(next, nextRoles)
	}
	b.History(rs.Others)
	restarted := b.Restart(rs)

	st := progress.Status
	if len(b.Runs) > 0 || progress.Runs != (Runs{}) {
		runs(b, ro, &st, progress.Runs, rs)
	}
	if len(b.Experiments) > 0 || progress.Experiment {
		if !progress.Experiment {
			stepEx = nil
		}
		experiments(b, ro, &st, progress, stepEx, rs)
	}
	if st.StableRS != ro.Status.StableRS {
		selected = b.Switch(serviceRefs(next, nextRoles))
		b.RoleMetadata(next, nextRoles)
	}
	route(b, obs, &st, rs, selected[StableServiceField], experimentDestinations(ro, st.CurrentStepIndex, stepEx))
	recordVerification(&st, obs.Weights)
	// A run's new phase is told before the decisions it leads to (the
	// step it completes, the abort it causes), the order they happened.
	told := rules.RunEvents(&ro.Status, &st, rules.CurrentRuns{Step: o.StepRun, Background: o.BackgroundRun})
	return b.Finish(rs, st, restarted, slices.Concat(told, progress.Events))
}

// recordVerification records a reading of the data plane's weights as
// Argo Rollouts does: status.canary.weights.verified for the weights the
// status now records (false when they moved since the reading), and the
// load balancers found in status.alb (the first Ingress's) and
// status.albs.
func recordVerification(st *v1alpha1.RolloutStatus, w *pass.WeightCheck) {
	if w == nil {
		return
	}
	if cur := st.Canary.Weights; cur != nil {
		v := w.Verified && w.Weight == cur.Canary.Weight && slices.EqualFunc(w.Additional, cur.Additional,
			func(a, b v1alpha1.WeightDestination) bool {
				return a.ServiceName == b.ServiceName && a.Weight == b.Weight
			})
		cur.Verified = &v
	}
	if len(w.ALBs) > 0 {
		st.ALBs = slices.Clone(w.ALBs)
		st.ALB = w.ALBs[0].DeepCopy()
	}
}

// serviceRefs points the canary and stable Services at what
// services.Canary gives them.
func serviceRefs(ro *v1alpha1.Rollout, rs roles.Roles) []pass.ServiceRef {
	c := ro.Spec.Strategy.Canary
	canaryTarget, stable := services.Canary(ro, rs)
	refs := []pass.ServiceRef{
		{Field: CanaryServiceField, Name: c.CanaryService, Target: canaryTarget},
		{Field: StableServiceField, Name: c.StableService, Target: stable},
	}
	// With pingPong, the Service in the canary role follows the new
	// ReplicaSet while an update is under way; the stable one keeps the
	// pods it selected as the canary of the update before (Argo Rollouts
	// never re-points it), so each promotion only swaps the roles.
	if pp := c.PingPong; pp != nil && rs.New != nil && ro.Status.StableRS != "" &&
		rs.New.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != ro.Status.StableRS {
		_, name := services.PingPong(ro)
		field := "spec.strategy.canary.pingPong.pongService"
		if name == pp.PingService {
			field = "spec.strategy.canary.pingPong.pingService"
		}
		refs = append(refs, pass.ServiceRef{Field: field, Name: name, Target: rs.New})
	}
	return refs
}

// runs asks for the runs the planner wants (the current analysis step's,
// the background one) unless this attempt has them, and stops and prunes
// the rest: an old revision's, a finished step's, or all of them once the
// update completes, aborts or rolls back.
func runs(b *pass.Builder, ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, want Runs, rs roles.Roles) {
	hash, idx := st.CurrentPodHash, int32(0)
	if st.CurrentStepIndex != nil {
		idx = *st.CurrentStepIndex
	}
	revision := strconv.FormatInt(roles.Revision(rs.New), 10)
	keep := map[string]bool{}
	if want.Step {
		if run := pass.FindRun(b.Runs, rules.RunKey{Type: v1alpha1.RolloutTypeStepLabel, Step: idx, Hash: hash, Revision: revision}); run != nil {
			keep[run.Name] = true
		} else if step := ro.Spec.Strategy.Canary.Steps[idx]; step.Analysis != nil {
			name := b.Run(pass.StepRun, step.Analysis, v1alpha1.RolloutTypeStepLabel, idx, strconv.Itoa(int(idx)), rs, "")
			st.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhasePending}
		}
	}
	if want.Background {
		if run := pass.FindRun(b.Runs, rules.RunKey{Type: v1alpha1.RolloutTypeBackgroundRunLabel, Hash: hash, Revision: revision}); run != nil {
			keep[run.Name] = true
		} else if bg := ro.Spec.Strategy.Canary.Analysis; bg != nil {
			name := b.Run(pass.BackgroundRun, &bg.RolloutAnalysis, v1alpha1.RolloutTypeBackgroundRunLabel, 0, "", rs, "")
			st.Canary.CurrentBackgroundAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhasePending}
		}
	}
	b.StopAndPrune(keep)
}

// route gives the routers the weight internal/plan/weights decides (weight
// never leads canary readiness, and moves only when the stable can take
// the rest), with the running experiment's weighted templates as
// additional destinations, and records it in status.canary.weights. stableSelects is the
// hash the stable Service selects: after a promotion the weight comes off
// the canary only once it selects the new stable, or the requests would go
// back to the old pods.
func route(b *pass.Builder, obs pass.Observed, st *v1alpha1.RolloutStatus, rs roles.Roles, stableSelects string, experiment []v1alpha1.WeightDestination) {
	ro := obs.Rollout
	if !obs.Routed {
		// Without routing there are no weights to report, as in Argo
		// Rollouts; the status no longer claims the last ones routed.
		st.Canary.Weights = nil
		return
	}
	view := ro.DeepCopy()
	view.Status = *st
	c, err := replicas.CanaryFromRollout(view)
	if err != nil {
		return // validation reports it
	}
	sets := replicas.ReplicaSets{New: replicas.FromReplicaSet(rs.New), Stable: replicas.FromReplicaSet(rs.Stable)}
	for _, o := range rs.Others {
		sets.Others = append(sets.Others, *replicas.FromReplicaSet(o))
	}
	d := weights.Decide(weights.Input{Canary: c, Sets: sets, Current: st.Canary.Weights, Experiment: experiment})
	if st.StableRS != "" && st.StableRS == st.CurrentPodHash && ro.Spec.Strategy.Canary.StableService != "" && stableSelects != st.StableRS {
		d.MayMove = false
	}
	r := pass.Route{Decision: d}
	if st.Canary.Weights != nil {
		r.Previous = st.Canary.Weights.Canary.Weight
	}
	if idx := st.CurrentStepIndex; idx != nil && int(*idx) < len(ro.Spec.Strategy.Canary.Steps) && !st.Abort {
		r.Routes = weights.RoutesAt(ro.Spec.Strategy.Canary.Steps, int(*idx))
	}
	if d.MayMove {
		cs := ro.Spec.Strategy.Canary
		r.Weights = &v1alpha1.TrafficWeights{
			Canary:     v1alpha1.WeightDestination{Weight: d.Desired, ServiceName: cs.CanaryService, PodTemplateHash: d.CanaryHash},
			Stable:     v1alpha1.WeightDestination{Weight: d.Stable, ServiceName: cs.StableService, PodTemplateHash: d.StableHash},
			Additional: d.Additional,
		}
		st.Canary.Weights = r.Weights
	}
	b.Add(r)
}
