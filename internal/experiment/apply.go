package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	jsonpatch "github.com/evanphx/json-patch/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/internal/logging"
	"github.com/aviary-rollouts/aviary/internal/plan/experiment"
)

// apply carries out the plan's steps in order and stops at the first
// error: the next reconcile plans again from what is there.
func (r *Reconciler) apply(ctx context.Context, ex *v1alpha1.Experiment, p experiment.Plan) error {
	for _, s := range p.Steps {
		if err := r.step(ctx, ex, s); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reconciler) step(ctx context.Context, ex *v1alpha1.Experiment, s experiment.Step) error {
	key := ex.Namespace + "/" + ex.Name
	switch s := s.(type) {
	case experiment.CreateReplicaSet:
		r.logFor(ex.Namespace, ex.Name).Info("creating ReplicaSet", "template", s.Template, "replicaSet", s.ReplicaSet.Name)
		return r.create(ctx, ex, s.ReplicaSet, &appsv1.ReplicaSet{})
	case experiment.ScaleReplicaSet:
		r.logFor(ex.Namespace, ex.Name).Info("scaling ReplicaSet", "replicaSet", s.ReplicaSet.Name, "from", *s.ReplicaSet.Spec.Replicas, "to", s.Replicas)
		// The resourceVersion makes a size decided from a stale copy conflict.
		patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"spec":{"replicas":%d}}`, s.ReplicaSet.ResourceVersion, s.Replicas)
		if err := r.Client.Patch(ctx, s.ReplicaSet.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			return fmt.Errorf("scale ReplicaSet %s of experiment %s to %d: %w", s.ReplicaSet.Name, key, s.Replicas, err)
		}
		return nil
	case experiment.SetScaleDownDeadline:
		value := "null"
		if s.Deadline != "" {
			value = fmt.Sprintf("%q", s.Deadline)
		}
		r.logFor(ex.Namespace, ex.Name).Info("setting scale-down deadline", "replicaSet", s.ReplicaSet.Name, "deadline", s.Deadline)
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%s}}}`, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, value)
		if err := r.Client.Patch(ctx, s.ReplicaSet.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			return fmt.Errorf("annotate ReplicaSet %s of experiment %s with its scale-down deadline: %w", s.ReplicaSet.Name, key, err)
		}
		return nil
	case experiment.CreateService:
		r.logFor(ex.Namespace, ex.Name).Info("creating Service", "template", s.Template, "service", s.Service.Name)
		return r.create(ctx, ex, s.Service, &corev1.Service{})
	case experiment.DeleteService:
		r.logFor(ex.Namespace, ex.Name).Info("deleting Service", "template", s.Template, "service", s.Service.Name)
		uid := s.Service.UID
		if err := r.Client.Delete(ctx, s.Service.DeepCopy(), client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete Service %s of experiment %s: %w", s.Service.Name, key, err)
		}
		return nil
	case experiment.CreateRun:
		r.logFor(ex.Namespace, ex.Name).Info("creating AnalysisRun", "analysis", s.Analysis, "analysisRun", s.Run.Name)
		return r.create(ctx, ex, s.Run, &v1alpha1.AnalysisRun{})
	case experiment.TerminateRun:
		r.logFor(ex.Namespace, ex.Name).Info("terminating AnalysisRun", "analysis", s.Analysis, "analysisRun", s.Run.Name)
		err := r.Client.Patch(ctx, s.Run.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"spec":{"terminate":true}}`)))
		if client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("terminate AnalysisRun %s of experiment %s: %w", s.Run.Name, key, err)
		}
		return nil
	case experiment.Journal:
		return r.journal(ctx, ex, s.Events)
	case experiment.WriteStatus:
		return r.writeStatus(ctx, ex, s.Status)
	}
	return fmt.Errorf("experiment %s: no way to apply step %T", key, s)
}

// create creates obj; one already there from an earlier pass (a crash
// before the status recorded it, or a stale cache) is taken as created if
// the Experiment controls it, and is an error naming it otherwise.
func (r *Reconciler) create(ctx context.Context, ex *v1alpha1.Experiment, obj client.Object, found client.Object) error {
	kind := fmt.Sprintf("%T", obj)
	err := r.Client.Create(ctx, obj)
	if err == nil || !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("create %s %s of experiment %s/%s: %w", kind, obj.GetName(), ex.Namespace, ex.Name, err)
		}
		return nil
	}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), found); err != nil {
		return fmt.Errorf("read %s %s of experiment %s/%s, found already there: %w", kind, obj.GetName(), ex.Namespace, ex.Name, err)
	}
	if ref := metav1.GetControllerOf(found); ref != nil && ref.UID == ex.UID {
		return nil
	}
	if _, ok := obj.(*appsv1.ReplicaSet); ok {
		return &foreignReplicaSet{name: obj.GetName()}
	}
	return fmt.Errorf("%s %s already exists and is not controlled by experiment %s/%s: delete or rename it", kind, obj.GetName(), ex.Namespace, ex.Name)
}

// foreignReplicaSet is a template's ReplicaSet name found held by a
// ReplicaSet the Experiment does not control.
type foreignReplicaSet struct{ name string }

func (e *foreignReplicaSet) Error() string {
	return "ReplicaSet " + e.name + " already exists and is not controlled by the experiment: delete or rename it"
}

// journal records the plan's events for ex synchronously, named from the
// Experiment's resourceVersion, so a redo after a crash finds them there.
func (r *Reconciler) journal(ctx context.Context, ex *v1alpha1.Experiment, evs []experiment.Event) error {
	for _, e := range evs {
		// Logged as Argo Rollouts logs each event it records.
		level := slog.LevelInfo
		if e.Warning {
			level = slog.LevelWarn
		}
		r.logFor(ex.Namespace, ex.Name).Log(ctx, level, e.Message, logging.KeyEventReason, e.Reason)
		if r.Journal == nil {
			if r.Recorder != nil {
				r.Recorder.Event(ex, eventType(e.Warning), e.Reason, e.Message)
			}
			continue
		}
		s := events.Subject{APIVersion: v1alpha1.GroupVersion.String(), Kind: experiment.Kind.Kind, Namespace: ex.Namespace, Name: ex.Name,
			UID: ex.UID, ResourceVersion: ex.ResourceVersion}
		if err := r.Journal.Record(ctx, s, e.Warning, e.Reason, e.Message); err != nil {
			return err
		}
	}
	return nil
}

func eventType(warning bool) string {
	if warning {
		return corev1.EventTypeWarning
	}
	return corev1.EventTypeNormal
}

// writeStatus sends the difference of the statuses as a merge patch of the
// status subresource, with the resourceVersion the plan was made from: a
// status changed meanwhile (a user's retry) makes it conflict rather than
// be overwritten.
func (r *Reconciler) writeStatus(ctx context.Context, ex *v1alpha1.Experiment, st v1alpha1.ExperimentStatus) error {
	if equality.Semantic.DeepEqual(ex.Status, st) {
		return nil
	}
	before, err := json.Marshal(ex.Status)
	if err != nil {
		return fmt.Errorf("encode status of experiment %s/%s: %w", ex.Namespace, ex.Name, err)
	}
	after, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode status of experiment %s/%s: %w", ex.Namespace, ex.Name, err)
	}
	diff, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return fmt.Errorf("diff status of experiment %s/%s: %w", ex.Namespace, ex.Name, err)
	}
	data := fmt.Sprintf(`{"metadata":{"resourceVersion":%q},"status":%s}`, ex.ResourceVersion, diff)
	if err := r.Client.Status().Patch(ctx, ex.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(data))); err != nil {
		return fmt.Errorf("write status of experiment %s/%s: %w", ex.Namespace, ex.Name, err)
	}
	if st.Phase != ex.Status.Phase {
		r.logFor(ex.Namespace, ex.Name).Info("experiment phase", "from", string(ex.Status.Phase), "to", string(st.Phase), "message", st.Message)
	}
	return nil
}
