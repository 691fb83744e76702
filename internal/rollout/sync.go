package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/internal/metrics"
	"github.com/aviary-rollouts/aviary/internal/plan/canary"
	"github.com/aviary-rollouts/aviary/internal/plan/ephemeral"
	"github.com/aviary-rollouts/aviary/internal/plan/history"
	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/podhash"
	"github.com/aviary-rollouts/aviary/internal/validation"
)

func rawMerge(patch string) client.Patch { return client.RawPatch(types.MergePatchType, []byte(patch)) }

// sync reconciles a Rollout: validate it, make sure the new ReplicaSet
// exists, decide the step state, scale the ReplicaSets, and write status
// once. Blue-green rollouts branch off to syncBlueGreen after validation.
func (r *Reconciler) sync(ctx context.Context, ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet, w *workload) (ctrl.Result, error) {
	if errs := validation.Rollout(ro); len(errs) > 0 {
		return r.markInvalid(ctx, ro, rsList, errs.ToAggregate().Error())
	}
	if ro.Spec.Strategy.BlueGreen != nil {
		return r.syncBlueGreen(ctx, ro, rsList, w)
	}
	newHash := roles.CurrentHash(ro, rsList)
	rs := roles.Classify(rsList, newHash, ro.Status.StableRS)
	pending, err := r.prepareNew(ctx, ro, rsList, newHash, &rs)
	if err != nil {
		return ctrl.Result{}, err
	}

	progressed := pending != nil
	switched, selected, err := r.reconcileServices(ctx, ro, canaryServiceRefs(ro, rs))
	progressed = progressed || switched
	if err != nil {
		var invalid *invalidSpec
		if errors.As(err, &invalid) {
			return r.markInvalid(ctx, ro, rsList, invalid.msg)
		}
		return ctrl.Result{}, err
	}

	if err := r.syncRoleMetadata(ctx, ro, rs.WithoutNew(pending)); err != nil {
		return ctrl.Result{}, err
	}
	if rs.Stable != nil {
		if err := r.dropInjectedAntiAffinity(ctx, rs.Stable); err != nil {
			return ctrl.Result{}, err
		}
	}

	_, atDesired := replicas.Desired(ro, rs)
	runs, err := r.ownedRuns(ctx, ro)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs := canary.Observed{
		NewHash:           newHash,
		StepHash:          podhash.StepHash(ro.Spec.Strategy.Canary.Steps),
		AtDesiredReplicas: atDesired,
		Revision:          rs.New.Annotations[v1alpha1.RevisionAnnotation],
	}
	observeRuns(&obs, ro, runs, newHash)
	obs.RollbackWithinWindow = roles.RollbackWithinWindow(ro, rs)
	progress := canary.Advance(ro, obs, r.Now())

	// Scale against the status the decision produced, so a completed step's
	// next weight is applied in the same reconcile.
	next := ro.DeepCopy()
	next.Status = progress.Status
	nextRoles := roles.Classify(rsList, newHash, next.Status.StableRS).WithNew(rs.New)
	scales, _ := replicas.Desired(next, nextRoles)
	scaled, abortDue, err := r.scaleAll(ctx, ro, next, nextRoles, &rs, pending, scales)
	if errors.Is(err, errCollision) {
		return ctrl.Result{}, r.bumpCollisionCount(ctx, ro)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	progressed = progressed || scaled

	nextRoles.New = rs.New // the created object, should the cache have held it already
	scaleDownDue, err := r.scaleDownOld(ctx, next, nextRoles, r.Now())
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, old := range history.ToDelete(rs.Others, ro.RevisionHistoryLimitOrDefault()) {
		uid := old.UID
		if err := r.Client.Delete(ctx, old, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("delete old ReplicaSet %s beyond revisionHistoryLimit: %w", old.Name, err)
		}
	}

	restarted, err := r.restartPods(ctx, ro, rs)
	if err != nil {
		return ctrl.Result{}, err
	}

	st := progress.Status
	if len(runs) > 0 || progress.Runs != (canary.Runs{}) {
		if err := r.reconcileRuns(ctx, ro, &st, progress.Runs, runs, rs); err != nil {
			var invalid *invalidSpec
			if errors.As(err, &invalid) {
				return r.markInvalid(ctx, ro, rsList, invalid.msg)
			}
			return ctrl.Result{}, err
		}
	}
	if st.StableRS != ro.Status.StableRS {
		// Promoted in this pass: the stable Service moves to the new pods
		// now, before the router takes the weight off the canary, so no
		// request goes back to the old version in between.
		sw, sel, err := r.reconcileServices(ctx, next, canaryServiceRefs(next, nextRoles))
		if err != nil {
			return r.invalidOr(ctx, ro, rsList, err)
		}
		progressed, selected = progressed || sw, sel
		// And its pods trade the canary's metadata for the stable's now:
		// the status written below reports them as the stable version.
		if err := r.syncRoleMetadata(ctx, next, nextRoles); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.reconcileTraffic(ctx, ro, &st, rs, selected[stableServiceField]); err != nil {
		var invalid *invalidSpec
		if errors.As(err, &invalid) {
			return r.markInvalid(ctx, ro, rsList, invalid.msg)
		}
		return ctrl.Result{}, err
	}
	return r.finish(ctx, ro, rsList, rs, w, finishing{status: st, progressed: progressed, restarted: restarted,
		events: progress.Events, requeue: earliest(earliest(progress.RequeueAfter, scaleDownDue), abortDue)})
}

// finishing is what a strategy's sync hands to finish.
type finishing struct {
	status     v1alpha1.RolloutStatus
	progressed bool
	restarted  bool
	events     []rules.Event
	requeue    time.Duration
}

// finish is the common end of a sync: rules.Conclude decides the written
// status (counts, progress deadline, summary conditions, phase); this
// applies workloadRef bookkeeping, journals the decision events (before
// the status write that makes them, so a crash in between neither loses nor
// repeats them) and writes the status once.
func (r *Reconciler) finish(ctx context.Context, ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet, rs roles.Roles, w *workload, f finishing) (ctrl.Result, error) {
	end := rules.Ending{Rollout: ro, ReplicaSets: rsList, NewRS: rs.New, Status: f.status, Progressed: f.progressed,
		Restarted: f.restarted, Now: r.Now()}
	if w != nil {
		end.WorkloadGeneration = &w.generation
	}
	c := rules.Conclude(end)
	revision := rs.New.Annotations[v1alpha1.RevisionAnnotation]
	if w != nil {
		if err := r.scaleDownWorkload(ctx, ro, w.deployment, &c.Status, revision); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.recordRevision(ctx, ro, rs.New); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.journal(ctx, ro, slices.Concat(c.Summary, f.events, c.Deadline)); err != nil {
		return ctrl.Result{}, err
	}
	err := r.writeStatusTimed(ctx, ro, rs, func(s *v1alpha1.RolloutStatus) { *s = c.Status })
	requeue := earliest(f.requeue, c.DeadlineDue)
	if !f.restarted {
		// Pod events drive the restart; this is only a safety net.
		requeue = earliest(requeue, r.restartRecheckAfter(ro))
	}
	return ctrl.Result{RequeueAfter: requeue}, err
}

// scaleAll creates the pending new ReplicaSet (if any, setting rs.New to
// the object), holds an aborted new ReplicaSet for its abort delay (judged
// on next and hold, the decided status and roles.Roles), and scales every
// ReplicaSet in scales. It reports whether anything was created or scaled
// and when an abort delay falls due; errCollision is returned for the
// caller to move to the next hash.
func (r *Reconciler) scaleAll(ctx context.Context, ro, next *v1alpha1.Rollout, hold roles.Roles, rs *roles.Roles, pending *appsv1.ReplicaSet, scales map[*appsv1.ReplicaSet]int32) (bool, time.Duration, error) {
	if pending != nil {
		created, err := r.createPending(ctx, ro, pending, scales)
		if err != nil {
			return false, 0, err
		}
		rs.New = created
		if hold.New == pending {
			hold.New = created
		}
	}
	abortDue, err := r.holdAbortedNew(ctx, next, hold.WithNew(rs.New), scales, r.Now())
	if err != nil {
		return false, 0, err
	}
	scaled, err := r.applyScales(ctx, ro, scales)
	return scaled || pending != nil, abortDue, err
}

// createPending creates the new ReplicaSet built by prepareNew at the size
// scales gives it, and moves that size to the object returned (the created
// one, or ours already, should a stale cache have hidden it).
func (r *Reconciler) createPending(ctx context.Context, ro *v1alpha1.Rollout, pending *appsv1.ReplicaSet, scales map[*appsv1.ReplicaSet]int32) (*appsv1.ReplicaSet, error) {
	created, err := r.createNewReplicaSet(ctx, ro, pending, scales[pending])
	if err != nil {
		return nil, err
	}
	if created != pending {
		scales[created] = scales[pending]
	}
	delete(scales, pending)
	return created, nil
}

// bumpCollisionCount moves to the next hash after a collision; status is
// the only place to remember it.
func (r *Reconciler) bumpCollisionCount(ctx context.Context, ro *v1alpha1.Rollout) error {
	return r.writeStatus(ctx, ro, func(st *v1alpha1.RolloutStatus) {
		n := int32(0)
		if st.CollisionCount != nil {
			n = *st.CollisionCount + 1
		}
		st.CollisionCount = &n
	})
}

// applyScales scales each ReplicaSet to its size, reporting whether any
// changed.
func (r *Reconciler) applyScales(ctx context.Context, ro *v1alpha1.Rollout, scales map[*appsv1.ReplicaSet]int32) (bool, error) {
	changed := false
	for rsObj, n := range scales {
		from := roles.SpecReplicas(rsObj) // the patch below updates rsObj
		scaled, err := r.scaleReplicaSet(ctx, ro, rsObj, n)
		if err != nil {
			return changed, err
		}
		if scaled {
			changed = true
			if err := r.journal(ctx, ro, []rules.Event{{Reason: ReasonScalingReplicaSet, Message: scalingMessage(rsObj.Name, strconv.FormatInt(roles.Revision(rsObj), 10), from, n)}}); err != nil {
				return changed, err
			}
		}
	}
	return changed, nil
}

// prepareNew makes sure rs.New is the current template's ReplicaSet.
// A ReplicaSet not created yet is only built here and returned as pending:
// the caller creates it already at the size it needs, in one write, with
// the role metadata its pods start with.
func (r *Reconciler) prepareNew(ctx context.Context, ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet, newHash string, rs *roles.Roles) (*appsv1.ReplicaSet, error) {
	var maxRev int64 // newest revision among the other ReplicaSets
	for _, o := range rsList {
		if o != rs.New {
			maxRev = max(maxRev, roles.Revision(o))
		}
	}
	if rs.New != nil {
		return nil, r.syncNewReplicaSet(ctx, ro, rs.New, maxRev)
	}
	rs.New = roles.NewReplicaSet(ro, newHash, maxRev+1, ephemeral.ForNew(ro, rs.Stable != nil))
	return rs.New, nil
}

// earliest is the sooner of two requeue delays, 0 meaning none.
func earliest(a, b time.Duration) time.Duration {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// writeStatus applies change to a copy of the status and sends a merge patch
// of the difference to the status subresource, or nothing if unchanged.
func (r *Reconciler) writeStatus(ctx context.Context, ro *v1alpha1.Rollout, change func(*v1alpha1.RolloutStatus)) error {
	updated := ro.DeepCopy()
	change(&updated.Status)
	if equality.Semantic.DeepEqual(ro.Status, updated.Status) {
		return nil
	}
	// The patch is the difference of the statuses alone: diffing whole
	// Rollouts would encode the pod template twice on every write.
	before, err := json.Marshal(ro.Status)
	if err != nil {
		return fmt.Errorf("encode status of rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	after, err := json.Marshal(updated.Status)
	if err != nil {
		return fmt.Errorf("encode status of rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	diff, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return fmt.Errorf("diff status of rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	data := append(append([]byte(`{"status":`), diff...), '}')
	if r.Log != nil && r.Log.Enabled(ctx, slog.LevelDebug) {
		r.Log.DebugContext(ctx, "status write", "rollout", ro.Namespace+"/"+ro.Name, "patch", string(data))
	}
	if err := r.Client.Status().Patch(ctx, updated, client.RawPatch(types.MergePatchType, data)); err != nil {
		return fmt.Errorf("write status of rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	r.writes.record(client.ObjectKeyFromObject(ro), updated.ResourceVersion)
	return nil
}

// journal records the planner's decision events for ro synchronously (see
// events.Journal); without a journal they go to the asynchronous recorder.
// The shell's ReplicaSet events (RolloutUpdated, NewReplicaSetCreated,
// ScalingReplicaSet) go this way too: one channel keeps a rollout's story
// in the order it happened — through the queued recorder they could land
// after the decision events journaled later in the same reconcile.
func (r *Reconciler) journal(ctx context.Context, ro *v1alpha1.Rollout, evs []rules.Event) error {
	for _, e := range evs {
		if r.Journal == nil {
			r.event(ro, e.Warning, e.Reason, e.Message)
			continue
		}
		s := events.Subject{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout", Namespace: ro.Namespace, Name: ro.Name,
			UID: ro.UID, ResourceVersion: ro.ResourceVersion}
		if err := r.Journal.Record(ctx, s, e.Warning, e.Reason, e.Message); err != nil {
			return err
		}
		metrics.RolloutEvents.WithLabelValues(ro.Namespace, ro.Name, eventType(e.Warning), e.Reason).Inc()
	}
	return nil
}

func (r *Reconciler) event(ro *v1alpha1.Rollout, warning bool, reason, msg string) {
	metrics.RolloutEvents.WithLabelValues(ro.Namespace, ro.Name, eventType(warning), reason).Inc()
	if r.Recorder != nil {
		r.Recorder.Event(ro, eventType(warning), reason, msg)
	}
}

func eventType(warning bool) string {
	if warning {
		return corev1.EventTypeWarning
	}
	return corev1.EventTypeNormal
}

// invalidSpecRequeue is how soon an invalid Rollout is looked at again, for
// fixes to objects it references (its own edits trigger a reconcile anyway).
const invalidSpecRequeue = 20 * time.Second

// restartRecheck is how soon an unfinished restart is looked at again if no
// pod event arrives first.
const restartRecheck = 30 * time.Second

// markInvalid halts the Rollout where it is with an InvalidSpec condition
// (phase Degraded) and, the first time, a Warning event with the message.
func (r *Reconciler) markInvalid(ctx context.Context, ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet, msg string) (ctrl.Result, error) {
	prev := ""
	for _, c := range ro.Status.Conditions {
		if c.Type == v1alpha1.InvalidSpec {
			prev = c.Message
		}
	}
	if prev != msg {
		r.event(ro, true, v1alpha1.InvalidSpecReason, msg)
	}
	err := r.writeStatus(ctx, ro, func(st *v1alpha1.RolloutStatus) {
		now := metav1.NewTime(r.Now())
		st.Conditions = rules.WithoutCondition(st.Conditions, v1alpha1.InvalidSpec)
		st.Conditions = append(st.Conditions, v1alpha1.RolloutCondition{Type: v1alpha1.InvalidSpec, Status: corev1.ConditionTrue,
			Reason: v1alpha1.InvalidSpecReason, Message: msg, LastUpdateTime: now, LastTransitionTime: now})
		if prev == msg {
			// Keep the original timestamps: nothing changed.
			for i := range ro.Status.Conditions {
				if ro.Status.Conditions[i].Type == v1alpha1.InvalidSpec {
					st.Conditions[len(st.Conditions)-1] = ro.Status.Conditions[i]
				}
			}
		}
		rules.Aggregate(st, ro, rsList)
	})
	return ctrl.Result{RequeueAfter: invalidSpecRequeue}, err
}
