package tolerant

import (
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Key names one object.
type Key struct {
	Kind            schema.GroupKind
	Namespace, Name string
}

// Failure is an object that cannot be decoded, as last seen.
type Failure struct {
	Object *unstructured.Unstructured
	Err    *DecodeError
	// Seq numbers the failure: it changes with the object's uid or the
	// fault, or when the object was fixed and broke again, never otherwise.
	Seq uint64
}

// Registry holds the objects that cannot be decoded right now. Watchers hear
// of a failure once per (uid, message): a watch event that carries the same
// object with the same fault again (a relist, or the status a reporter
// just wrote) stays silent, so reporting never feeds itself.
type Registry struct {
	mu       sync.Mutex
	failures map[Key]Failure
	watchers []func(Key)
	seq      uint64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{failures: map[Key]Failure{}} }

// Watch registers f, called (never under the registry's lock, and from the
// informer's goroutine, so it must not block) with the key of each new
// failure and of each object that decodes again.
func (r *Registry) Watch(f func(Key)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watchers = append(r.watchers, f)
}

// Get returns a copy of the key's failure, if it currently has one.
func (r *Registry) Get(k Key) (Failure, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.failures[k]
	if !ok {
		return Failure{}, false
	}
	f.Object = f.Object.DeepCopy()
	return f, true
}

// Failing says why the object cannot be decoded, or is nil when nothing
// is known against it; a nil registry knows nothing. It lets a reader that
// finds the object missing from the cache say "cannot be read: <field>…"
// instead of "not found".
func (r *Registry) Failing(k Key) *DecodeError {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.failures[k]; ok {
		return f.Err
	}
	return nil
}

// Keys lists the objects currently failing.
func (r *Registry) Keys() []Key {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]Key, 0, len(r.failures))
	for k := range r.failures {
		keys = append(keys, k)
	}
	return keys
}

func (r *Registry) fail(k Key, u *unstructured.Unstructured, err *DecodeError) {
	r.mu.Lock()
	prev, had := r.failures[k]
	same := had && prev.Object.GetUID() == u.GetUID() && prev.Err.Error() == err.Error()
	seq := prev.Seq
	if !same {
		r.seq++
		seq = r.seq
	}
	r.failures[k] = Failure{Object: u, Err: err, Seq: seq}
	watchers := r.watchers
	r.mu.Unlock()
	if !same {
		notify(watchers, k)
	}
}

func (r *Registry) clear(k Key) {
	r.mu.Lock()
	_, had := r.failures[k]
	delete(r.failures, k)
	watchers := r.watchers
	r.mu.Unlock()
	if had {
		notify(watchers, k)
	}
}

func notify(watchers []func(Key), k Key) {
	for _, w := range watchers {
		w(k)
	}
}
