package rollout

import (
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

// waitingFacts holds, per Rollout, the facts of ReplicaSet writes whose
// reconcile deferred its status (pass.WriteStatus.Defer), to be told with
// the next reconcile's. They live in memory only: a controller stopped in
// between loses them — a ScalingReplicaSet fact told at most once, as an
// asynchronous recorder would — never a decision, which is planned again
// from the status.
type waitingFacts struct {
	mu    sync.Mutex
	facts map[types.NamespacedName][]rules.Event
}

func (w *waitingFacts) keep(key types.NamespacedName, facts []rules.Event) {
	if len(facts) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.facts == nil {
		w.facts = map[types.NamespacedName][]rules.Event{}
	}
	w.facts[key] = append(w.facts[key], facts...)
}

// take returns and forgets the facts waiting for key.
func (w *waitingFacts) take(key types.NamespacedName) []rules.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.facts[key]
	delete(w.facts, key)
	return f
}
