package tolerant

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// ListerWatcher lists and watches one kind through the dynamic client,
// whose unstructured decoding never fails, and hands the informer typed
// objects. An object that does not decode is left out of lists, turns a
// watch Modified into a Deleted (the cache drops it, as if deleted, until it
// is fixed) and is recorded in the Registry.
type ListerWatcher struct {
	Resource dynamic.NamespaceableResourceInterface
	Kind     schema.GroupKind
	// Namespace limits a namespaced kind to one namespace; "" is all.
	Namespace string
	// Label and Field are ANDed with the selectors the informer asks for:
	// the cache's own list options carry none, since the replaced typed
	// ListerWatcher added them.
	Label labels.Selector
	Field fields.Selector
	// New returns an empty typed object, NewList an empty typed list.
	New, NewList func() runtime.Object
	Registry     *Registry
}

// List implements cache.Lister.
func (lw *ListerWatcher) List(opts metav1.ListOptions) (runtime.Object, error) {
	return lw.ListWithContext(context.Background(), opts)
}

// Watch implements cache.Watcher.
func (lw *ListerWatcher) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	return lw.WatchWithContext(context.Background(), opts)
}

// ListWithContext implements cache.ListerWithContext.
func (lw *ListerWatcher) ListWithContext(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	ul, err := lw.client().List(ctx, lw.scope(opts))
	if err != nil {
		return nil, err
	}
	items := make([]runtime.Object, 0, len(ul.Items))
	for i := range ul.Items {
		if obj, ok := lw.convert(&ul.Items[i]); ok {
			items = append(items, obj)
		}
	}
	list := lw.NewList()
	if err := meta.SetList(list, items); err != nil {
		return nil, fmt.Errorf("build %s list: %w", lw.Kind, err)
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return nil, fmt.Errorf("build %s list: %w", lw.Kind, err)
	}
	lm.SetResourceVersion(ul.GetResourceVersion())
	lm.SetContinue(ul.GetContinue())
	lm.SetRemainingItemCount(ul.GetRemainingItemCount())
	return list, nil
}

// WatchWithContext implements cache.WatcherWithContext.
func (lw *ListerWatcher) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	w, err := lw.client().Watch(ctx, lw.scope(opts))
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, lw.event), nil
}

func (lw *ListerWatcher) event(in watch.Event) (watch.Event, bool) {
	u, ok := in.Object.(*unstructured.Unstructured)
	if !ok { // watch.Error carries a *metav1.Status: pass it on
		return in, true
	}
	switch in.Type {
	case watch.Bookmark:
		return watch.Event{Type: in.Type, Object: lw.metadataOnly(u)}, true
	case watch.Deleted:
		lw.Registry.clear(lw.key(u))
		if obj, err := lw.decode(u); err == nil {
			return watch.Event{Type: in.Type, Object: obj}, true
		}
		return watch.Event{Type: in.Type, Object: lw.metadataOnly(u)}, true
	}
	obj, ok := lw.convert(u)
	switch {
	case ok:
		return watch.Event{Type: in.Type, Object: obj}, true
	case in.Type == watch.Modified:
		return watch.Event{Type: watch.Deleted, Object: lw.metadataOnly(u)}, true
	default:
		// An Added object is not in the cache yet: nothing to drop. (A
		// Deleted here would also move the reflector's resource version
		// during a watch-list's unordered initial events.)
		return watch.Event{}, false
	}
}

// convert decodes u, recording the outcome in the registry.
func (lw *ListerWatcher) convert(u *unstructured.Unstructured) (runtime.Object, bool) {
	obj, err := lw.decode(u)
	if err != nil {
		lw.Registry.fail(lw.key(u), u, err)
		return nil, false
	}
	lw.Registry.clear(lw.key(u))
	return obj, true
}

func (lw *ListerWatcher) decode(u *unstructured.Unstructured) (runtime.Object, *DecodeError) {
	obj := lw.New()
	if err := Decode(u, obj); err != nil {
		de, ok := err.(*DecodeError)
		if !ok {
			de = &DecodeError{Err: err}
		}
		return nil, de
	}
	return obj, nil
}

// metadataOnly is the typed object with u's type and object metadata only:
// enough to delete it from the cache by key, or to carry a bookmark's
// resource version and annotations.
func (lw *ListerWatcher) metadataOnly(u *unstructured.Unstructured) runtime.Object {
	obj := lw.New()
	raw, err := json.Marshal(map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "metadata": u.Object["metadata"]})
	if err == nil {
		err = decodeJSON(raw, obj)
	}
	if err != nil { // the API server validated the metadata: not expected
		obj = lw.New()
		if m, aerr := meta.Accessor(obj); aerr == nil {
			m.SetNamespace(u.GetNamespace())
			m.SetName(u.GetName())
			m.SetUID(u.GetUID())
			m.SetResourceVersion(u.GetResourceVersion())
			m.SetAnnotations(u.GetAnnotations())
		}
	}
	return obj
}

func (lw *ListerWatcher) key(u *unstructured.Unstructured) Key {
	return Key{Kind: lw.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

func (lw *ListerWatcher) client() dynamic.ResourceInterface {
	if lw.Namespace != "" {
		return lw.Resource.Namespace(lw.Namespace)
	}
	return lw.Resource
}

func (lw *ListerWatcher) scope(opts metav1.ListOptions) metav1.ListOptions {
	opts.LabelSelector = and(opts.LabelSelector, lw.Label)
	opts.FieldSelector = and(opts.FieldSelector, lw.Field)
	return opts
}

func and(asked string, own interface {
	Empty() bool
	String() string
}) string {
	if own == nil || own.Empty() {
		return asked
	}
	if asked == "" {
		return own.String()
	}
	return asked + "," + own.String()
}
