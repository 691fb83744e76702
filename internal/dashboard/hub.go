package dashboard

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
)

// idleStop is how long a namespace's watch outlives its last reader, so
// switching back and forth between pages does not restart it.
const idleStop = 2 * time.Minute

// syncTimeout bounds the first listing of a namespace.
const syncTimeout = 30 * time.Second

// hub keeps one watch (an informer cache) per namespace that someone is
// looking at, and tells every subscriber of that namespace when anything
// in it changes. Readers of the API then read the cache, never the API
// server, however many pages are open.
type hub struct {
	cfg    *rest.Config
	scheme *runtime.Scheme

	mu sync.Mutex
	ns map[string]*nsWatch
}

type nsWatch struct {
	ready  chan struct{} // closed once reader or err is set
	reader client.Reader
	err    error
	cancel context.CancelFunc
	users  int
	idle   *time.Timer
	subs   map[chan struct{}]struct{}
}

func newHub(cfg *rest.Config, scheme *runtime.Scheme) *hub {
	return &hub{cfg: cfg, scheme: scheme, ns: map[string]*nsWatch{}}
}

// acquire returns the cache of ns, starting its watch if needed, and a
// release function to call when done. With sub set, the returned channel
// receives a value (coalesced) after every change until release.
func (h *hub) acquire(ctx context.Context, ns string, sub bool) (client.Reader, <-chan struct{}, func(), error) {
	h.mu.Lock()
	w := h.ns[ns]
	if w == nil {
		w = h.start(ns)
	}
	w.users++
	if w.idle != nil {
		w.idle.Stop()
		w.idle = nil
	}
	var ch chan struct{}
	if sub {
		ch = make(chan struct{}, 1)
		w.subs[ch] = struct{}{}
	}
	h.mu.Unlock()

	release := func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if ch != nil {
			delete(w.subs, ch)
		}
		w.users--
		if w.users == 0 && h.ns[ns] == w {
			w.idle = time.AfterFunc(idleStop, func() { h.stopIfIdle(ns, w) })
		}
	}
	select {
	case <-w.ready:
	case <-ctx.Done():
		release()
		return nil, nil, nil, context.Cause(ctx)
	}
	if w.err != nil {
		release()
		h.forget(ns, w)
		return nil, nil, nil, w.err
	}
	return w.reader, ch, release, nil
}

// start begins watching ns; h.mu is held.
func (h *hub) start(ns string) *nsWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &nsWatch{ready: make(chan struct{}), cancel: cancel, subs: map[chan struct{}]struct{}{}}
	h.ns[ns] = w
	go func() {
		// A watch that cannot sync (no access to pods, say) fails the
		// requests waiting on it instead of holding them forever.
		timedOut := time.AfterFunc(syncTimeout, cancel)
		r, err := tree.WatchFunc(ctx, h.cfg, h.scheme, ns, func() { h.notify(w) })
		if !timedOut.Stop() && err != nil {
			err = fmt.Errorf("the watch of namespace %q did not sync within %s: check access to its rollouts, replicasets, pods and analysisruns: %w", ns, syncTimeout, err)
		}
		w.reader, w.err = r, err
		if err != nil {
			cancel()
		}
		close(w.ready)
	}()
	return w
}

func (h *hub) notify(w *nsWatch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range w.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (h *hub) stopIfIdle(ns string, w *nsWatch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.users == 0 && h.ns[ns] == w {
		delete(h.ns, ns)
		w.cancel()
	}
}

// forget drops a watch that failed to start, so the next request tries
// again.
func (h *hub) forget(ns string, w *nsWatch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ns[ns] == w {
		delete(h.ns, ns)
	}
}

// close stops every watch.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ns, w := range h.ns {
		w.cancel()
		delete(h.ns, ns)
	}
}
