package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	jsonpatch "github.com/evanphx/json-patch/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/internal/logging"
	"github.com/aviary-rollouts/aviary/internal/metrics"
	"github.com/aviary-rollouts/aviary/internal/plan/bluegreen"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/restart"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/plan/services"
	"github.com/aviary-rollouts/aviary/internal/traffic/gatewayapi"
	"github.com/aviary-rollouts/aviary/internal/traffic/nginx"
	"github.com/aviary-rollouts/aviary/internal/validation"
)

func rawMerge(patch string) client.Patch { return client.RawPatch(types.MergePatchType, []byte(patch)) }

// sync reconciles a valid Rollout: it gathers what the strategy's planner
// needs, asks it once for the plan (canary.Plan or bluegreen.Plan), and
// applies the plan's steps in order.
func (r *Reconciler) sync(ctx context.Context, ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet, w *workload) (ctrl.Result, error) {
	if errs := validation.RolloutWith(ro, validation.Options{GatewayAPIPlugin: r.TrafficPlugins.Has(gatewayapi.ConfigKey)}); len(errs) > 0 {
		return r.markInvalid(ctx, ro, rsList, errs.ToAggregate().Error())
	}
	obs, err := r.observe(ctx, ro, rsList, w)
	if err != nil {
		return ctrl.Result{}, err
	}
	var p pass.Plan
	if ro.Spec.Strategy.BlueGreen != nil {
		p = bluegreen.Plan(obs)
	} else if p, err = r.planCanary(ctx, obs); err != nil {
		return ctrl.Result{}, err
	}
	if p.Invalid != "" {
		return r.markInvalid(ctx, ro, rsList, p.Invalid)
	}
	return r.apply(ctx, ro, obs, p)
}

// observe reads what the planners decide on: the runs and experiments, the Services the
// strategy names, a due restart's live pods, the workload, the clock.
func (r *Reconciler) observe(ctx context.Context, ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet, w *workload) (pass.Observed, error) {
	obs := pass.Observed{Rollout: ro, ReplicaSets: rsList, Services: map[string]*corev1.Service{},
		Routed: len(r.routers(ro, nil, nil)) > 0, Now: r.Now()}
	obs.CountsWaiting, obs.FactsWaiting = r.waiting.ages(client.ObjectKeyFromObject(ro), obs.Now)
	obs.StepPlugins.Disabled = r.disabledStepPlugins(ro)
	runs, err := r.ownedRuns(ctx, ro)
	if err != nil {
		return obs, err
	}
	obs.Runs = runs
	if ro.Spec.Strategy.Canary != nil {
		if obs.Experiments, err = r.ownedExperiments(ctx, ro); err != nil {
			return obs, err
		}
	}
	// One cached list serves both the Services the strategy names and the
	// ones marked as managed by this Rollout, which a release looks at (a
	// Rollout releases only its own). It is read without copying, and only
	// those are copied (a switch patches them): a namespace's other Services
	// — every other Rollout's among them — would otherwise be copied on
	// every reconcile of every Rollout in it (10% of the controller's CPU in
	// bench/traffic at N=200, where each Rollout manages two).
	var svcs corev1.ServiceList
	if err := r.Client.List(ctx, &svcs, client.InNamespace(ro.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return obs, fmt.Errorf("list services of namespace %s: %w", ro.Namespace, err)
	}
	named := services.Named(ro)
	for i := range svcs.Items {
		isNamed, managed := slices.Contains(named, svcs.Items[i].Name), svcs.Items[i].Annotations[v1alpha1.ManagedByRolloutsKey] == ro.Name
		if !isNamed && !managed {
			continue
		}
		svc := svcs.Items[i].DeepCopy()
		if isNamed {
			obs.Services[svc.Name] = svc
		}
		if managed {
			obs.Managed = append(obs.Managed, svc)
		}
	}
	var ings networkingv1.IngressList
	if err := r.Client.List(ctx, &ings, client.InNamespace(ro.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return obs, fmt.Errorf("list ingresses of namespace %s: %w", ro.Namespace, err)
	}
	for i := range ings.Items {
		if ref := metav1.GetControllerOf(&ings.Items[i]); ref != nil && ref.UID == ro.UID {
			obs.Ingresses = append(obs.Ingresses, &ings.Items[i])
		}
	}
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil && c.TrafficRouting.Nginx != nil {
		for _, stable := range nginx.StableIngresses(ro) {
			obs.WantedIngresses = append(obs.WantedIngresses, nginx.CanaryIngressName(ro.Name, stable))
		}
	}
	obs.Weights = r.verifyWeights(ctx, ro)
	obs.Targets = r.verifyTargets(ctx, ro, rsList, obs.Services)
	if restart.Due(ro) {
		obs.Pods = map[*appsv1.ReplicaSet][]corev1.Pod{}
		for _, set := range rsList {
			pods, err := r.podsOf(ctx, set)
			if err != nil {
				return obs, err
			}
			obs.Pods[set] = pods
		}
	}
	if w != nil {
		obs.Workload = &pass.Workload{Generation: w.generation, Deployment: w.deployment}
	}
	return obs, nil
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
		r.logFor(ro.Namespace, ro.Name).DebugContext(ctx, "status write", "patch", string(data))
	}
	// The answer is asked for as metadata only: the write's resourceVersion
	// is all that is read from it, and the watch brings the Rollout anyway.
	// Decoding whole Rollouts from these answers was 9% of the controller's
	// CPU in a bench/scale wave (2026-12-06).
	written := &metav1.PartialObjectMetadata{}
	written.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Rollout"))
	written.Namespace, written.Name = ro.Namespace, ro.Name
	if err := r.Client.Status().Patch(ctx, written, client.RawPatch(types.MergePatchType, data)); err != nil {
		return fmt.Errorf("write status of rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	r.writes.record(client.ObjectKeyFromObject(ro), written.ResourceVersion)
	return nil
}

// journal records events for ro synchronously, one Event each (see
// events.Journal); without a journal they go to the asynchronous recorder.
// A plan's facts and decisions are told together instead (tell).
func (r *Reconciler) journal(ctx context.Context, ro *v1alpha1.Rollout, evs []rules.Event) error {
	for _, e := range evs {
		if r.Journal == nil {
			r.event(ro, e.Warning, e.Reason, e.Message)
			continue
		}
		s := events.Subject{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout", Namespace: ro.Namespace, Name: ro.Name,
			UID: ro.UID, ResourceVersion: ro.ResourceVersion, Labels: ro.Labels, Annotations: ro.Annotations, Object: ro}
		if err := r.Journal.Record(ctx, s, e.Warning, e.Reason, e.Message); err != nil {
			return err
		}
		r.recorded(ctx, ro, e.Warning, e.Reason, e.Message)
	}
	return nil
}

// tell writes the reconcile's one Event: the facts of the ReplicaSet writes
// done so far and the decisions given, folded (rules.Fold), through the
// journal, before the status write that carries the decisions out. The
// facts are then told and cleared; with nothing to tell it writes nothing.
func (r *Reconciler) tell(ctx context.Context, a *applying, decided []rules.Event) error {
	told, ok := rules.Fold(a.done, decided)
	if !ok {
		return nil
	}
	ro := a.ro
	if r.Journal == nil {
		for _, e := range told.Facts {
			r.event(ro, e.Warning, e.Reason, e.Message)
		}
		a.done = nil
		return nil
	}
	s := events.Subject{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout", Namespace: ro.Namespace, Name: ro.Name,
		UID: ro.UID, ResourceVersion: ro.ResourceVersion, Labels: ro.Labels, Annotations: ro.Annotations, Object: ro}
	if err := r.Journal.Tell(ctx, s, told); err != nil {
		return err
	}
	a.done = nil
	for _, e := range told.Facts {
		r.recorded(ctx, ro, e.Warning, e.Reason, e.Message)
	}
	return nil
}

func (r *Reconciler) event(ro *v1alpha1.Rollout, warning bool, reason, msg string) {
	r.recorded(context.Background(), ro, warning, reason, msg)
	if r.Recorder != nil {
		r.Recorder.Event(ro, eventType(warning), reason, msg)
	}
}

// recorded counts an event of ro in rollout_events_total and logs it, as
// Argo Rollouts logs every event it records: the message at info (warning
// for a Warning event) with the Rollout and the reason. Every decision —
// a step completed, a weight set, a pause, an abort and why, an analysis
// verdict — is an event, so each is in the log once.
func (r *Reconciler) recorded(ctx context.Context, ro *v1alpha1.Rollout, warning bool, reason, msg string) {
	metrics.RolloutEvents.WithLabelValues(ro.Namespace, ro.Name, eventType(warning), reason).Inc()
	level := slog.LevelInfo
	if warning {
		level = slog.LevelWarn
	}
	r.logFor(ro.Namespace, ro.Name).Log(ctx, level, msg, logging.KeyEventReason, reason)
}

// logFor is r.Log naming the Rollout namespace/name under Argo Rollouts'
// keys, or a logger that discards when r.Log is unset (tests).
func (r *Reconciler) logFor(namespace, name string) *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log.With(logging.KeyNamespace, namespace, logging.KeyRollout, name)
}

func eventType(warning bool) string {
	if warning {
		return corev1.EventTypeWarning
	}
	return corev1.EventTypeNormal
}

// markInvalid halts the Rollout where it is as rules.Invalid decides
// (InvalidSpec condition, phase Degraded) and, the first time, records a
// Warning event with the message.
func (r *Reconciler) markInvalid(ctx context.Context, ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet, msg string) (ctrl.Result, error) {
	st, first, requeue := rules.Invalid(ro, rsList, msg, r.Now())
	if first {
		r.event(ro, true, v1alpha1.InvalidSpecReason, msg)
	}
	err := r.writeStatus(ctx, ro, func(cur *v1alpha1.RolloutStatus) { *cur = st })
	return ctrl.Result{RequeueAfter: requeue}, err
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

// invalidSpec is a problem with a Rollout's spec or the objects it names,
// worded for the user: which field, which value, what to do.
type invalidSpec struct{ msg string }

func (e *invalidSpec) Error() string { return e.msg }
