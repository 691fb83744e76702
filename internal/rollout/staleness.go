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

// waiting holds, per Rollout, what a reconcile left for a later one
// (pass.WriteStatus.Defer, KeepFacts): since when its counts wait
// unwritten, and the facts of its ReplicaSet writes, to be told with a
// later reconcile's decision, and since when. They live in memory only: a
// controller stopped in between loses them — a ScalingReplicaSet fact told
// at most once, as an asynchronous recorder would — never a decision,
// which is planned again from the status.
type waiting struct {
	mu      sync.Mutex
	entries map[types.NamespacedName]held
}

// held is what waits for one Rollout.
type held struct {
	counts, factsSince time.Time
	facts              []rules.Event
}

// put records what waits for key; nothing waiting forgets key.
func (w *waiting) put(key types.NamespacedName, h held) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h.counts.IsZero() && len(h.facts) == 0 {
		delete(w.entries, key)
		return
	}
	if w.entries == nil {
		w.entries = map[types.NamespacedName]held{}
	}
	w.entries[key] = h
}

// ages are how long key's counts and facts have waited at now, 0 when
// they do not (never 0 once waiting, so the planner counts the wait as
// begun).
func (w *waiting) ages(key types.NamespacedName, now time.Time) (counts, facts time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.entries[key]
	if !ok {
		return 0, 0
	}
	if !h.counts.IsZero() {
		counts = max(now.Sub(h.counts), time.Nanosecond)
	}
	if len(h.facts) > 0 {
		facts = max(now.Sub(h.factsSince), time.Nanosecond)
	}
	return counts, facts
}

// take returns what waits for key and forgets it.
func (w *waiting) take(key types.NamespacedName) held {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.entries[key]
	delete(w.entries, key)
	return h
}

// waitsFrom is when a wait that goes on began: at t if it already did,
// else now.
func (h held) waitsFrom(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}
