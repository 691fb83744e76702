// Package malformed tells the owner of an argoproj.io object the controller
// cannot decode what is wrong with it, on the object itself: a Rollout gets
// an InvalidSpec condition, an AnalysisRun the Error phase, every kind a
// Warning event and a log line.
package malformed

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
)

// Reporter reports the failures of a tolerant.Registry. It runs on the
// leader only (status writes are the leader's), from the registry's
// contents when it starts and then on each change.
type Reporter struct {
	registry *tolerant.Registry
	// client writes status merge patches of unstructured objects, which
	// never go through the cache.
	client client.Client
	// recorder, not the events.Journal: this is a diagnosis, not a
	// rollout decision that must appear exactly once across a crash and
	// a redo. Each failure is reported once per process, and a new leader
	// reporting it again is a useful reminder.
	recorder record.EventRecorder
	log      *slog.Logger
	now      func() time.Time
	queue    workqueue.TypedRateLimitingInterface[tolerant.Key]
	// reported holds the registry's Seq of the failure last reported per
	// key, so each (uid, fault) gets one event and one log line.
	reported map[tolerant.Key]uint64
}

// New returns a reporter of the registry's failures; add it to the manager.
func New(reg *tolerant.Registry, c client.Client, rec record.EventRecorder, log *slog.Logger) *Reporter {
	r := &Reporter{
		registry: reg, client: c, recorder: rec, log: log, now: time.Now,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[tolerant.Key](),
			workqueue.TypedRateLimitingQueueConfig[tolerant.Key]{Name: "malformed"}),
		reported: map[tolerant.Key]uint64{},
	}
	reg.Watch(r.queue.Add)
	return r
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (r *Reporter) NeedLeaderElection() bool { return true }

// Start reports until ctx ends.
func (r *Reporter) Start(ctx context.Context) error {
	go func() { <-ctx.Done(); r.queue.ShutDown() }()
	// Failures seen before this instance became the leader.
	for _, k := range r.registry.Keys() {
		r.queue.Add(k)
	}
	for r.next(ctx) {
	}
	return nil
}

func (r *Reporter) next(ctx context.Context) bool {
	k, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(k)
	if err := r.Report(ctx, k); err != nil {
		r.log.Warn("cannot report an undecodable object; retrying", "kind", k.Kind.Kind, "namespace", k.Namespace, "name", k.Name, "error", err)
		r.queue.AddRateLimited(k)
		return true
	}
	r.queue.Forget(k)
	return true
}

// Report reports the key's current failure, if it still has one: a log
// line and an event once per failure, and the status, unless it already
// says so.
func (r *Reporter) Report(ctx context.Context, k tolerant.Key) error {
	f, ok := r.registry.Get(k)
	if !ok { // fixed or deleted
		delete(r.reported, k)
		return nil
	}
	msg := Message(k.Kind.Kind, f.Err)
	if r.reported[k] != f.Seq {
		r.log.Error("object cannot be decoded: left out of the controller's cache until it is fixed",
			"kind", k.Kind.Kind, "namespace", k.Namespace, "name", k.Name, "uid", f.Object.GetUID(),
			"field", f.Err.Path, "value", f.Err.Value, "error", f.Err.Err)
		r.recorder.Event(f.Object, corev1.EventTypeWarning, v1alpha1.InvalidSpecReason, msg)
		r.reported[k] = f.Seq
	}
	patch, err := statusPatch(f.Object, msg, r.now())
	if err != nil || patch == nil {
		return err
	}
	if err := r.client.Status().Patch(ctx, f.Object, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("write status of %s %s/%s: %w", k.Kind.Kind, k.Namespace, k.Name, err)
	}
	return nil
}

// Message says what is wrong and what to do about it.
func Message(kind string, err *tolerant.DecodeError) string {
	return fmt.Sprintf("%v; correct the value and re-apply the %s", err, kind)
}

// statusPatch is the merge patch recording msg in u's status, nil when the
// status already says it or the kind has no status to write.
func statusPatch(u *unstructured.Unstructured, msg string, now time.Time) ([]byte, error) {
	var status map[string]any
	switch u.GetKind() {
	case "Rollout":
		status = rolloutStatus(u, msg, now)
	case "AnalysisRun", "Experiment":
		// Both end in phase Error with the message: the Experiment
		// controller never sees an Experiment the Go types refuse, so
		// nothing else would say why it does not run.
		status = runStatus(u, msg)
	default:
		// Templates have no status.
	}
	if status == nil {
		return nil, nil
	}
	// The resource version makes the patch fail on a newer object rather
	// than overwrite conditions it did not see; the retry reads the newer
	// one, which the watch has put in the registry.
	p, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": u.GetResourceVersion()},
		"status":   status,
	})
	if err != nil {
		return nil, fmt.Errorf("encode status patch of %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return p, nil
}

// rolloutStatus is the InvalidSpec condition, as the controller writes it
// for a spec it can read but not run, and the Degraded phase.
func rolloutStatus(u *unstructured.Unstructured, msg string, now time.Time) map[string]any {
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	phaseMsg, _, _ := unstructured.NestedString(u.Object, "status", "message")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	wantPhaseMsg := fmt.Sprintf("%s: %s", v1alpha1.InvalidSpec, msg)
	ts := now.UTC().Format(time.RFC3339)
	cond := map[string]any{"type": string(v1alpha1.InvalidSpec), "status": string(corev1.ConditionTrue),
		"reason": v1alpha1.InvalidSpecReason, "message": msg, "lastUpdateTime": ts, "lastTransitionTime": ts}
	out := make([]any, 0, len(conds)+1)
	same := false
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != string(v1alpha1.InvalidSpec) {
			out = append(out, c)
			continue
		}
		if m["message"] == msg && m["status"] == string(corev1.ConditionTrue) {
			same = true
			cond = m // nothing changed: keep its timestamps
		}
	}
	if same && phase == string(v1alpha1.RolloutPhaseDegraded) && phaseMsg == wantPhaseMsg {
		return nil
	}
	return map[string]any{
		"conditions": append(out, cond),
		"phase":      string(v1alpha1.RolloutPhaseDegraded),
		"message":    wantPhaseMsg,
	}
}

// runStatus ends a run (or an Experiment) in Error, so a Rollout waiting
// on it stops with the reason instead of waiting forever. One that already
// completed keeps its result.
func runStatus(u *unstructured.Unstructured, msg string) map[string]any {
	phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
	current, _, _ := unstructured.NestedString(u.Object, "status", "message")
	p := v1alpha1.AnalysisPhase(phase)
	if p.Completed() && (p != v1alpha1.AnalysisPhaseError || current == msg) {
		return nil
	}
	return map[string]any{"phase": string(v1alpha1.AnalysisPhaseError), "message": msg}
}
