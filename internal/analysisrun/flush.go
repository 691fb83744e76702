package analysisrun

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// statuses decouples taking measurements from writing them. A reconcile
// records its run's newest status here and goes on measuring; writers send
// each run's newest status to the API server as fast as the client budget
// allows, one write carrying every measurement taken since the last. So a
// thousand runs measured every second stay on schedule even when the API
// server accepts only a fraction of a thousand writes a second.
//
// A run's status is still its only durable memory: a controller killed
// before a flush loses those measurements, and since the written status
// says they were never taken, they are simply taken again. Completed
// statuses are written at once (see Reconciler.write).
type statuses struct {
	mu    sync.Mutex
	runs  map[types.NamespacedName]*entry
	queue workqueue.TypedRateLimitingInterface[types.NamespacedName]
}

// entry is one run's status in memory.
type entry struct {
	uid types.UID
	// writeMu orders writes of the run.
	writeMu sync.Mutex
	mu      sync.Mutex
	latest  *v1alpha1.AnalysisRunStatus
	// written is what the API server holds, as far as this process knows:
	// the status it last wrote, or the one it first read. Patches are
	// computed against it, never against a possibly older cached copy.
	written *v1alpha1.AnalysisRunStatus
}

func newStatuses() *statuses {
	return &statuses{runs: map[types.NamespacedName]*entry{},
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]())}
}

// get returns the run's entry, creating it from the cached run when there
// is none (or the run was recreated under the same name).
func (s *statuses) get(run *v1alpha1.AnalysisRun) *entry {
	key := types.NamespacedName{Namespace: run.Namespace, Name: run.Name}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.runs[key]
	if e == nil || e.uid != run.UID {
		e = &entry{uid: run.UID, latest: run.Status.DeepCopy(), written: run.Status.DeepCopy()}
		s.runs[key] = e
	}
	return e
}

func (s *statuses) forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.runs, key)
}

func (s *statuses) lookup(key types.NamespacedName) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[key]
}

// current is a copy of the newest status.
func (e *entry) current() *v1alpha1.AnalysisRunStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.latest.DeepCopy()
}

// set records st as the newest status and reports whether it differs from
// what was written.
func (e *entry) set(st *v1alpha1.AnalysisRunStatus) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latest = st.DeepCopy()
	return !equality.Semantic.DeepEqual(e.latest, e.written)
}

// flush writes the newest status if it differs from the written one.
func (e *entry) flush(ctx context.Context, c client.Client, run *v1alpha1.AnalysisRun) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.Lock()
	latest, written := e.latest.DeepCopy(), e.written.DeepCopy()
	e.mu.Unlock()
	if equality.Semantic.DeepEqual(latest, written) {
		return nil
	}
	before, err := json.Marshal(written)
	if err != nil {
		return err
	}
	after, err := json.Marshal(latest)
	if err != nil {
		return err
	}
	diff, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return fmt.Errorf("diff status of AnalysisRun %s/%s: %w", run.Namespace, run.Name, err)
	}
	patch := append(append([]byte(`{"status":`), diff...), '}')
	target := &v1alpha1.AnalysisRun{}
	target.Namespace, target.Name = run.Namespace, run.Name
	if err := c.Status().Patch(ctx, target, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("write status of AnalysisRun %s/%s: %w", run.Namespace, run.Name, err)
	}
	e.mu.Lock()
	e.written = latest
	e.mu.Unlock()
	return nil
}

// runWriters starts n writers draining the queue until ctx ends.
func (r *Reconciler) runWriters(ctx context.Context, n int) {
	go func() { <-ctx.Done(); r.status.queue.ShutDown() }()
	for range n {
		go func() {
			for {
				key, shutdown := r.status.queue.Get()
				if shutdown {
					return
				}
				r.flushKey(ctx, key)
				r.status.queue.Done(key)
			}
		}()
	}
}

func (r *Reconciler) flushKey(ctx context.Context, key types.NamespacedName) {
	e := r.status.lookup(key)
	if e == nil {
		return
	}
	run := &v1alpha1.AnalysisRun{}
	run.Namespace, run.Name = key.Namespace, key.Name
	if err := e.flush(ctx, r.Client, run); err != nil {
		if apierrors.IsNotFound(err) {
			r.status.forget(key)
			return
		}
		r.logFor(key.Namespace, key.Name).WarnContext(ctx, "flush AnalysisRun status; retrying", "error", err)
		r.status.queue.AddRateLimited(key)
		return
	}
	r.status.queue.Forget(key)
}
