package rollout

import (
	"time"

	"github.com/aviary-rollouts/aviary/internal/plan/rules"

	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// writeTracker remembers the resourceVersion of each Rollout's last status
// write, so a reconcile that reads an older copy from the informer cache
// (the watch event has not arrived yet) waits instead of deciding again on
// stale status — which would repeat events and could undo a user's patch.
// It is an optimisation, not state: after a restart it is empty and the
// cache is simply trusted.
type writeTracker struct {
	mu   sync.Mutex
	last map[types.NamespacedName]uint64
}

func (w *writeTracker) record(key types.NamespacedName, resourceVersion string) {
	rv, err := strconv.ParseUint(resourceVersion, 10, 64)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		w.last = map[types.NamespacedName]uint64{}
	}
	w.last[key] = rv
}

// stale reports whether the cached copy predates our last write.
func (w *writeTracker) stale(key types.NamespacedName, resourceVersion string) bool {
	rv, err := strconv.ParseUint(resourceVersion, 10, 64)
	if err != nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	last, ok := w.last[key]
	if !ok {
		return false
	}
	if rv >= last {
		delete(w.last, key)
		return false
	}
	return true
}

func (w *writeTracker) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.last, key)
}

// waiting holds, per Rollout, what a reconcile that deferred its status
// (pass.WriteStatus.Defer) left for a later one: since when the counts
// wait, and the facts of its ReplicaSet writes, to be told with the next
// reconcile's. They live in memory only: a controller stopped in between
// loses them — a ScalingReplicaSet fact told at most once, as an
// asynchronous recorder would — never a decision, which is planned again
// from the status.
type waiting struct {
	mu      sync.Mutex
	entries map[types.NamespacedName]waitingEntry
}

type waitingEntry struct {
	since time.Time
	facts []rules.Event
}

// keep records that key's status waits, since the first deferral of this
// wait (since; zero: now), with facts to tell.
func (w *waiting) keep(key types.NamespacedName, since, now time.Time, facts []rules.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.entries == nil {
		w.entries = map[types.NamespacedName]waitingEntry{}
	}
	e := w.entries[key]
	if e.since.IsZero() {
		e.since = since
	}
	if e.since.IsZero() {
		e.since = now
	}
	e.facts = append(e.facts, facts...)
	w.entries[key] = e
}

// since is how long key's counts have waited at now, 0 if they do not.
func (w *waiting) since(key types.NamespacedName, now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.entries[key]
	if !ok {
		return 0
	}
	// Never 0 once waiting, so the planner counts the wait as begun.
	return max(now.Sub(e.since), time.Nanosecond)
}

// take returns the facts waiting for key and since when, and forgets them.
func (w *waiting) take(key types.NamespacedName) ([]rules.Event, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.entries[key]
	delete(w.entries, key)
	return e.facts, e.since
}
