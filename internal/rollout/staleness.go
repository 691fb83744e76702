package rollout

import (
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
