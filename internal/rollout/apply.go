package rollout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/metrics"
	"github.com/aviary-rollouts/aviary/internal/plan/duration"
	"github.com/aviary-rollouts/aviary/internal/plan/ephemeral"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// conflictRetry is how soon a plan that met a changed object is made again
// (the change's own watch event usually comes first).
const conflictRetry = time.Second

// applying is what the steps of one plan learn as they go: the objects
// they act on by name (a ReplicaSet created joins them), the names the
// shell gave the runs it created, and whether the routers kept the last
// weights.
type applying struct {
	ro          *v1alpha1.Rollout
	obs         pass.Observed
	sets        map[string]*appsv1.ReplicaSet
	runs        map[string]*v1alpha1.AnalysisRun
	created     map[pass.RunSlot]string
	weightsHeld bool
	// experiment is the name of the step's Experiment as created (or found
	// running) by CreateExperiment, "" when none was.
	experiment string
	// done are the facts of the ReplicaSet writes made so far, told with
	// the plan's decisions in the reconcile's one Event (rules.Fold).
	done []rules.Event
	// held is what earlier reconciles left waiting (its facts are in
	// done).
	held held
	// requeue is how soon a router asked to be called again (an
	// Ambassador canary Mapping waiting to be deleted); 0 when none did.
	requeue time.Duration
}

// requeueWithin asks for the next reconcile within d; without a plan being
// applied there is nothing to bring back, so it is a no-op on nil.
func (a *applying) requeueWithin(d time.Duration) {
	if a == nil {
		return
	}
	if d <= 0 {
		d = time.Millisecond
	}
	if a.requeue == 0 || d < a.requeue {
		a.requeue = d
	}
}

// apply carries out a plan's steps in order. It stops at the first error;
// nothing later in the plan depends on a step that failed, and the next
// reconcile plans again from what is there. Scales are optimistic: they
// carry the ReplicaSet's resourceVersion, so a size decided from a stale
// cache (a controller just restarted, a watch behind) conflicts instead of
// landing — the rule Argo Rollouts gets from updating the cached object. An *invalidSpec from a step
// (a template or router object that is missing or wrong) marks the
// Rollout InvalidSpec; a hash collision moves to the next hash.
func (r *Reconciler) apply(ctx context.Context, ro *v1alpha1.Rollout, obs pass.Observed, p pass.Plan) (ctrl.Result, error) {
	a := &applying{ro: ro, obs: obs, sets: map[string]*appsv1.ReplicaSet{}, runs: map[string]*v1alpha1.AnalysisRun{},
		created: map[pass.RunSlot]string{}}
	for _, set := range obs.ReplicaSets {
		a.sets[set.Name] = set
	}
	for _, run := range obs.Runs {
		a.runs[run.Name] = run
	}
	// Facts an earlier reconcile left to be told with this one's.
	a.held = r.waiting.take(client.ObjectKeyFromObject(ro))
	a.done = a.held.facts
	r.logPlan(ctx, ro, p)
	for _, s := range p.Steps {
		if err := r.applyStep(ctx, a, s); err != nil {
			// What was done before the failure is still told.
			if terr := r.tell(ctx, a, nil); terr != nil && r.Log != nil {
				r.logFor(ro.Namespace, ro.Name).ErrorContext(ctx, "tell what a failed plan did", "error", terr)
			}
			if errors.Is(err, errCollision) {
				return ctrl.Result{}, r.bumpCollisionCount(ctx, ro)
			}
			if apierrors.IsConflict(err) {
				// A ReplicaSet changed since the cache showed it (scales
				// carry the resourceVersion decided on): plan again from
				// a fresher view instead of sizing from a stale one.
				if r.Log != nil {
					r.logFor(ro.Namespace, ro.Name).InfoContext(ctx, "plan again: an object changed since it was read", "step", s.Describe())
				}
				return ctrl.Result{RequeueAfter: conflictRetry}, nil
			}
			return r.invalidOr(ctx, ro, obs.ReplicaSets, err)
		}
	}
	if err := r.tell(ctx, a, nil); err != nil {
		return ctrl.Result{}, err
	}
	after := p.RequeueAfter
	if a.requeue > 0 && (after == 0 || a.requeue < after) {
		after = a.requeue
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// logPlan logs the plan's decisions at info, once per reconcile that does
// more than keep the status as it is. The status write and the look for
// router objects to release are in every plan; a release that lets go of
// something records an event of its own.
func (r *Reconciler) logPlan(ctx context.Context, ro *v1alpha1.Rollout, p pass.Plan) {
	if r.Log == nil {
		return
	}
	var what []string
	for _, s := range p.Steps {
		switch s := s.(type) {
		case pass.ReleaseRouterObjects:
		case pass.WriteStatus:
			if s.Defer {
				what = append(what, s.Describe())
			}
		default:
			what = append(what, s.Describe())
		}
	}
	if len(what) > 0 {
		r.logFor(ro.Namespace, ro.Name).InfoContext(ctx, "reconcile plan", "steps", strings.Join(what, "; "))
	}
}

// applyStep carries out one step.
func (r *Reconciler) applyStep(ctx context.Context, a *applying, s pass.Step) error {
	ro := a.ro
	switch s := s.(type) {
	case pass.StampRevision:
		return r.stampRevision(ctx, a, s)
	case pass.ReleaseService:
		released, err := r.releaseService(ctx, ro.Namespace, s.Name, s.ResourceVersion)
		if err != nil {
			return fmt.Errorf("release service %s/%s no longer named by rollout %s: %w", ro.Namespace, s.Name, ro.Name, err)
		}
		if released {
			r.event(ro, false, ReasonServiceReleased, fmt.Sprintf("Released service '%s': the rollout no longer names it, so its selector no longer pins %s and it is no longer marked %s",
				s.Name, v1alpha1.DefaultRolloutUniqueLabelKey, v1alpha1.ManagedByRolloutsKey))
		}
		return nil
	case pass.DeleteIngress:
		uid := s.UID
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ro.Namespace, Name: s.Name}}
		if err := r.Client.Delete(ctx, ing, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete canary ingress %s/%s no longer used by rollout %s: %w", ro.Namespace, s.Name, ro.Name, err)
		}
		r.event(ro, false, ReasonCanaryIngressDeleted, fmt.Sprintf("Deleted canary ingress '%s': the rollout's NGINX routing no longer uses it", s.Name))
		return nil
	case pass.ReleaseRouterObjects:
		return r.releaseRouterObjects(ctx, ro)
	case pass.SwitchService:
		return r.switchService(ctx, a, s)
	case pass.SyncRoleMetadata:
		for _, name := range slices.Sorted(maps.Keys(s.Desired)) {
			if set := a.sets[name]; set != nil {
				if err := r.syncRoleMetadata(ctx, set, s.Desired[name]); err != nil {
					return err
				}
			}
		}
		return nil
	case pass.DropAntiAffinity:
		return r.dropInjectedAntiAffinity(ctx, a.sets[s.ReplicaSet])
	case pass.MarkSuperseded:
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, rules.SupersededAnnotation, s.At)
		for _, name := range s.Runs {
			if err := r.Client.Patch(ctx, a.runs[name], rawMerge(patch)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("mark AnalysisRun %s as superseded by the abort of rollout %s: %w", name, ro.Name, err)
			}
		}
		for _, name := range s.Experiments {
			ex := &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: ro.Namespace, Name: name}}
			if err := r.Client.Patch(ctx, ex, rawMerge(patch)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("mark Experiment %s as superseded by the abort of rollout %s: %w", name, ro.Name, err)
			}
		}
		return nil
	case pass.CreateReplicaSet:
		return r.createPlanned(ctx, a, s)
	case pass.MarkAbortDeadline:
		value := "null"
		if s.Deadline != "" {
			value = fmt.Sprintf("%q", s.Deadline)
		}
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, value)
		if err := r.Client.Patch(ctx, a.sets[s.ReplicaSet], rawMerge(patch)); err != nil {
			return fmt.Errorf("mark aborted ReplicaSet %s for scale-down: %w", s.ReplicaSet, err)
		}
		return nil
	case pass.Scale:
		set := a.sets[s.ReplicaSet]
		patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q,"annotations":{%q:%q}},"spec":{"replicas":%d}}`,
			set.ResourceVersion, v1alpha1.DesiredReplicasAnnotation, s.DesiredReplicas, s.To)
		if err := r.Client.Patch(ctx, set, rawMerge(patch)); err != nil {
			return fmt.Errorf("scale ReplicaSet %s to %d: %w", s.ReplicaSet, s.To, err)
		}
		a.did(s.Event)
		return nil
	case pass.ScaleDownOld:
		set := a.sets[s.ReplicaSet]
		deadline := "null"
		if s.Deadline != "" {
			deadline = fmt.Sprintf("%q", s.Deadline)
		}
		patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q,"annotations":{%q:%s}},"spec":{"replicas":%d}}`,
			set.ResourceVersion, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, deadline, s.To)
		if err := r.Client.Patch(ctx, set, rawMerge(patch)); err != nil {
			return fmt.Errorf("scale down old ReplicaSet %s: %w", s.ReplicaSet, err)
		}
		a.did(s.Event)
		return nil
	case pass.DeleteReplicaSet:
		uid := s.UID
		if err := r.Client.Delete(ctx, a.sets[s.ReplicaSet], client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete old ReplicaSet %s beyond revisionHistoryLimit: %w", s.ReplicaSet, err)
		}
		return nil
	case pass.Evict:
		return r.evict(ctx, a, s)
	case pass.CreateRun:
		return r.createRun(ctx, a, s)
	case pass.TerminateRun:
		if err := r.Client.Patch(ctx, a.runs[s.Name], rawMerge(`{"spec":{"terminate":true}}`)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("terminate AnalysisRun %s: %w", s.Name, err)
		}
		return nil
	case pass.DeleteRun:
		if err := r.Client.Delete(ctx, a.runs[s.Name]); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete old AnalysisRun %s: %w", s.Name, err)
		}
		return nil
	case pass.CreateExperiment:
		return r.createExperiment(ctx, a, s)
	case pass.TerminateExperiment:
		return r.terminateExperiment(ctx, a, s.Name)
	case pass.DeleteExperiment:
		return r.deleteExperiment(ctx, a, s)
	case pass.Route:
		return r.route(ctx, a, s)
	case pass.ScaleWorkload:
		d := a.obs.Workload.Deployment
		if err := r.Client.Patch(ctx, d, rawMerge(fmt.Sprintf(`{"spec":{"replicas":%d}}`, s.Replicas))); err != nil {
			return fmt.Errorf("scale down workloadRef Deployment %s/%s: %w", d.Namespace, d.Name, err)
		}
		r.event(ro, false, rules.ReasonScalingReplicaSet, fmt.Sprintf("Scaled Deployment %s to %d (workloadRef scaleDown %s)", d.Name, s.Replicas, ro.Spec.WorkloadRef.ScaleDown))
		return nil
	case pass.Annotate:
		return r.annotate(ctx, ro, s.Annotations)
	case pass.Journal:
		return r.tell(ctx, a, s.Events)
	case pass.WriteStatus:
		key, now := client.ObjectKeyFromObject(ro), a.obs.Now
		var keep held
		if s.Defer || s.KeepFacts {
			// A decision soon, or the delay's requeue, tells these
			// facts with its own (and, deferred, writes the counts).
			if len(a.done) > 0 {
				keep.facts, keep.factsSince = a.done, a.held.waitsFrom(a.held.factsSince, now)
			}
			a.done = nil
		}
		if s.Defer {
			keep.counts = a.held.waitsFrom(a.held.counts, now)
			r.waiting.put(key, keep)
			return nil
		}
		r.waiting.put(key, keep)
		// Whatever was done and not kept is told before the status.
		if err := r.tell(ctx, a, nil); err != nil {
			return err
		}
		return r.writePlannedStatus(ctx, a, s)
	}
	return fmt.Errorf("rollout %s/%s: no way to apply step %T", ro.Namespace, ro.Name, s)
}

// did notes the fact of a ReplicaSet write, if any, to be told.
func (a *applying) did(e ...*rules.Event) {
	for _, x := range e {
		if x != nil {
			a.done = append(a.done, *x)
		}
	}
}

// stampRevision writes a ReplicaSet's new revision, revision-history and
// minReadySeconds.
func (r *Reconciler) stampRevision(ctx context.Context, a *applying, s pass.StampRevision) error {
	set := a.sets[s.ReplicaSet]
	orig := set.DeepCopy()
	set.Spec.MinReadySeconds = s.MinReadySeconds
	if s.Revision != "" {
		if set.Annotations == nil {
			set.Annotations = map[string]string{}
		}
		set.Annotations[v1alpha1.RevisionAnnotation] = s.Revision
		set.Annotations[v1alpha1.RevisionHistoryAnnotation] = s.History
	}
	if err := r.Client.Patch(ctx, set, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("update revision of ReplicaSet %s: %w", set.Name, err)
	}
	a.done = append(a.done, s.Events...)
	return nil
}

// switchService points a Service's selector at a hash, with a strategic
// merge patch that takes it over (managed-by annotation) if need be.
func (r *Reconciler) switchService(ctx context.Context, a *applying, s pass.SwitchService) error {
	ro := a.ro
	svc := a.obs.Services[s.Name]
	patch := fmt.Sprintf(`{"spec":{"selector":{%q:%q}}}`, v1alpha1.DefaultRolloutUniqueLabelKey, s.To)
	if s.Adopt {
		patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"selector":{%q:%q}}}`,
			v1alpha1.ManagedByRolloutsKey, ro.Name, v1alpha1.DefaultRolloutUniqueLabelKey, s.To)
	}
	if err := r.Client.Patch(ctx, svc, client.RawPatch(types.StrategicMergePatchType, []byte(patch))); err != nil {
		return fmt.Errorf("switch service %s/%s to %s: %w", ro.Namespace, s.Name, s.To, err)
	}
	a.did(&rules.Event{Reason: rules.ReasonSwitchService, Message: fmt.Sprintf("Switched selector for service '%s' from '%s' to '%s'", s.Name, s.From, s.To)})
	return nil
}

// createPlanned creates the new ReplicaSet at its planned size and
// journals its events; one of ours found there already (a stale cache) is
// scaled to that size instead.
func (r *Reconciler) createPlanned(ctx context.Context, a *applying, s pass.CreateReplicaSet) error {
	rs := s.ReplicaSet.DeepCopy()
	created, err := r.createReplicaSet(ctx, a.ro, rs)
	if err != nil {
		var refusal apierrors.APIStatus
		if errors.As(err, &refusal) && !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			r.createRefused(ctx, a.ro, rs.Name, refusal.(error))
		}
		return err
	}
	a.sets[created.Name] = created
	if created == rs {
		a.done = append(a.done, s.Events...)
		return nil
	}
	want := *s.ReplicaSet.Spec.Replicas
	if created.Spec.Replicas != nil && *created.Spec.Replicas == want {
		return nil
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"replicas":%d}}`, v1alpha1.DesiredReplicasAnnotation,
		s.ReplicaSet.Annotations[v1alpha1.DesiredReplicasAnnotation], want)
	if err := r.Client.Patch(ctx, created, rawMerge(patch)); err != nil {
		return fmt.Errorf("scale ReplicaSet %s to %d: %w", created.Name, want, err)
	}
	return nil
}

// createRefused tells that the API server refused the new ReplicaSet as
// rules.CreateRefused decides — the Progressing condition False with
// reason ReplicaSetCreateError (phase Error in rollout_info) and a Warning
// event, once per refusal; the create is retried with backoff.
func (r *Reconciler) createRefused(ctx context.Context, ro *v1alpha1.Rollout, name string, refusal error) {
	st := ro.Status.DeepCopy()
	e, changed := rules.CreateRefused(st, name, refusal.Error(), r.Now())
	if !changed {
		return
	}
	r.event(ro, e.Warning, e.Reason, e.Message)
	if err := r.writeStatus(ctx, ro, func(cur *v1alpha1.RolloutStatus) { *cur = *st }); err != nil {
		r.logFor(ro.Namespace, ro.Name).WarnContext(ctx, "record the refused ReplicaSet in the Progressing condition", "error", err)
	}
}

// evict evicts the step's pods in order, at most its batch; a pod gone
// already takes its place in the batch, one a PodDisruptionBudget keeps
// gives it to the next.
func (r *Reconciler) evict(ctx context.Context, a *applying, s pass.Evict) error {
	byName := map[string]*corev1.Pod{}
	for _, pods := range a.obs.Pods {
		for i := range pods {
			byName[pods[i].Name] = &pods[i]
		}
	}
	evicted := 0
	for _, name := range s.Pods {
		if evicted >= s.Batch {
			break
		}
		p := byName[name]
		if p == nil {
			continue
		}
		ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
		err := r.Client.SubResource("eviction").Create(ctx, p, ev)
		switch {
		case err == nil:
			evicted++
			r.event(a.ro, false, rules.ReasonRolloutRestarting, fmt.Sprintf("Evicted pod %s for the restart requested at %s", p.Name, s.RestartAt))
		case apierrors.IsNotFound(err):
			evicted++
		case apierrors.IsTooManyRequests(err):
		default:
			return fmt.Errorf("evict pod %s for restart: %w", p.Name, err)
		}
	}
	return nil
}

// createRun makes an AnalysisRun from its templates (read around the
// cache: only now are they needed), named and labelled as Argo Rollouts
// does; a name taken by something else moves to the next one, and one of
// ours from an earlier attempt whose status write was lost is reused.
func (r *Reconciler) createRun(ctx context.Context, a *applying, s pass.CreateRun) error {
	ro := a.ro
	if s.Reuse != "" {
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: s.Reuse}, &v1alpha1.AnalysisRun{})
		if !apierrors.IsNotFound(err) {
			return client.IgnoreNotFound(err)
		}
	}
	an := s.Analysis
	spec, err := templates.Build(templates.Request{Templates: an.Templates, Args: s.Args, DryRun: an.DryRun, MeasurementRetention: an.MeasurementRetention}, r.lookupTemplate(ctx, ro.Namespace))
	if err != nil {
		return &invalidSpec{msg: fmt.Sprintf("analysis of rollout %s: %v", ro.Name, err)}
	}
	meta := an.AnalysisRunMetadata
	var matchLabels map[string]string
	if ro.Spec.Selector != nil {
		matchLabels = ro.Spec.Selector.MatchLabels
	}
	for n := 0; ; n++ {
		name := s.Name
		if n > 0 {
			name = templates.CollisionName(s.Name, n)
		}
		run := &v1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: ro.Namespace,
				Labels:          templates.Labels(s.Type, s.Step, s.Hash, ro.Labels[v1alpha1.LabelControllerInstanceID], meta, matchLabels),
				Annotations:     templates.Annotations(s.Revision, meta),
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
			},
			Spec: spec,
		}
		err := r.Client.Create(ctx, run)
		if err == nil {
			r.event(ro, false, rules.ReasonAnalysisRunCreated, fmt.Sprintf("Created AnalysisRun %s", name))
			a.created[s.Slot] = name
			return nil
		}
		if !apierrors.IsAlreadyExists(err) || n > 20 {
			return fmt.Errorf("create AnalysisRun %s: %w", name, err)
		}
		var existing v1alpha1.AnalysisRun
		if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: name}, &existing); err == nil {
			if ref := metav1.GetControllerOf(&existing); ref != nil && ref.UID == ro.UID && !existing.Spec.Terminate && !existing.Status.Phase.Completed() &&
				existing.Annotations[rules.SupersededAnnotation] == "" {
				a.created[s.Slot] = name
				return nil
			}
		}
	}
}

// route drives the routers as the step says: managed routes removed when
// asked; unless the weight may not move, the step's header and mirror
// routes set, the weight reset first if the canary lost its pods, the
// hashes updated and the weight set. A router still waiting for its
// subsets to follow the hashes keeps the last weights (the ReplicaSet's
// next status change brings the next reconcile).
func (r *Reconciler) route(ctx context.Context, a *applying, s pass.Route) error {
	ro, d := a.ro, s.Decision
	routers := r.routers(ro, slicesOf(a.sets), a)
	if d.RemoveManagedRoutes {
		if err := routers.RemoveManagedRoutes(ctx); err != nil {
			return routingError(ro, err)
		}
	}
	if !d.MayMove {
		return nil
	}
	for i := range s.Routes.Headers {
		if err := routers.SetHeaderRoute(ctx, &s.Routes.Headers[i]); err != nil {
			return routingError(ro, err)
		}
	}
	for i := range s.Routes.Mirrors {
		if err := routers.SetMirrorRoute(ctx, &s.Routes.Mirrors[i]); err != nil {
			return routingError(ro, err)
		}
	}
	if d.ResetFirst {
		if err := routers.SetWeight(ctx, d.Desired, d.Additional...); err != nil {
			return routingError(ro, err)
		}
	}
	if err := routers.UpdateHash(ctx, d.CanaryHash, d.StableHash, d.Additional...); err != nil {
		if errors.Is(err, traffic.ErrWait) {
			a.weightsHeld = true
			return nil
		}
		return routingError(ro, err)
	}
	if err := routers.SetWeight(ctx, d.Desired, d.Additional...); err != nil {
		return routingError(ro, err)
	}
	if s.Previous != d.Desired {
		a.did(&rules.Event{Reason: rules.ReasonTrafficWeightUpdated, Message: fmt.Sprintf("Traffic weight updated from %d to %d", s.Previous, d.Desired)})
	}
	return nil
}

// slicesOf lists the ReplicaSets the plan acts on.
func slicesOf(sets map[string]*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	out := make([]*appsv1.ReplicaSet, 0, len(sets))
	for _, set := range sets {
		out = append(out, set)
	}
	return out
}

// writePlannedStatus writes the plan's status — with the names of the runs
// the shell created, and the last weights if the routers kept them — and,
// once written, records the updates it ends in the duration histograms. A
// failed write records nothing: the next reconcile derives the same ending
// again, so each is counted once.
func (r *Reconciler) writePlannedStatus(ctx context.Context, a *applying, s pass.WriteStatus) error {
	ro := a.ro
	st := s.Status
	if a.weightsHeld {
		st.Canary.Weights = ro.Status.Canary.Weights.DeepCopy()
	}
	if a.experiment != "" {
		st.Canary.CurrentExperiment = a.experiment
	}
	for slot, name := range a.created {
		ref := &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhasePending}
		switch slot {
		case pass.StepRun:
			st.Canary.CurrentStepAnalysisRunStatus = ref
		case pass.BackgroundRun:
			st.Canary.CurrentBackgroundAnalysisRunStatus = ref
		case pass.PrePromotionRun:
			st.BlueGreen.PrePromotionAnalysisRunStatus = ref
		case pass.PostPromotionRun:
			st.BlueGreen.PostPromotionAnalysisRunStatus = ref
		}
	}
	if err := r.writeStatus(ctx, ro, func(cur *v1alpha1.RolloutStatus) { *cur = st }); err != nil {
		return err
	}
	for _, d := range s.Ended {
		total, progression, pause, ok := duration.Seconds(d)
		if !ok {
			continue
		}
		metrics.ObserveRolloutDuration(string(d.CompletionStatus), total, progression, pause)
		if r.Log != nil {
			r.logFor(ro.Namespace, ro.Name).InfoContext(ctx, "rollout update ended", "status", d.CompletionStatus,
				"seconds", total, "progressionSeconds", progression, "manualPauseSeconds", pause)
		}
	}
	return nil
}

// syncRoleMetadata brings a ReplicaSet's template, and its live pods, to
// the role metadata it should carry, removing what an earlier role added.
//
// Pods are not cached (they are needed only at these role changes), so the
// change is made in two writes: the template first, so pods created from now
// on carry the new role; then, once the live pods are patched from an
// uncached list, the ephemeral-metadata annotation that marks the change done.
// A controller killed in between finds the annotation unchanged and redoes
// the (idempotent) work.
func (r *Reconciler) syncRoleMetadata(ctx context.Context, set *appsv1.ReplicaSet, desired *v1alpha1.PodTemplateMetadata) error {
	old := ephemeral.Recorded(set.Annotations)
	labels, annotations := ephemeral.Swap(set.Spec.Template.Labels, set.Spec.Template.Annotations, old, desired)
	labels[v1alpha1.DefaultRolloutUniqueLabelKey] = set.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	if !maps.Equal(labels, set.Spec.Template.Labels) || !maps.Equal(annotations, set.Spec.Template.Annotations) {
		orig := set.DeepCopy()
		set.Spec.Template.Labels, set.Spec.Template.Annotations = labels, annotations
		if err := r.Client.Patch(ctx, set, client.MergeFrom(orig)); err != nil {
			return fmt.Errorf("update role metadata of ReplicaSet %s: %w", set.Name, err)
		}
	}
	if err := r.syncPodMetadata(ctx, set, old, desired); err != nil {
		return err
	}
	orig := set.DeepCopy()
	if set.Annotations == nil {
		set.Annotations = map[string]string{}
	}
	if enc := ephemeral.Encode(desired); enc != "" {
		set.Annotations[v1alpha1.EphemeralMetadataAnnotation] = enc
	} else {
		delete(set.Annotations, v1alpha1.EphemeralMetadataAnnotation)
	}
	if err := r.Client.Patch(ctx, set, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("record role metadata of ReplicaSet %s: %w", set.Name, err)
	}
	return nil
}
