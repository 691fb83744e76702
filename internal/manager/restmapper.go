package manager

import (
	"net/http"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// newRESTMapper is controller-runtime's discovery-backed mapper behind a
// memo of the mappings it has found (rememberingMapper).
func newRESTMapper(cfg *rest.Config, hc *http.Client) (meta.RESTMapper, error) {
	m, err := apiutil.NewDynamicRESTMapper(cfg, hc)
	if err != nil {
		return nil, err
	}
	return &rememberingMapper{RESTMapper: m}, nil
}

// rememberingMapper answers RESTMapping for a fully specified kind (group,
// kind and one version) from a memo once the mapper behind it has found
// it. The client asks for the mapping of every request it sends, and a
// namespaced cache for every Get and List, to learn the resource path and
// whether the kind is namespaced; controller-runtime's mapper searches
// every API group for each such question and allocates an error for each
// group that does not serve the kind — a third of all the controller's
// allocation in a rollout wave (docs/architecture.md, "Memory"), and so of
// its garbage collections. A kind's mapping does not change while its
// version is served; failures are not remembered, so a kind installed
// later is found as before, and Reset forgets everything.
type rememberingMapper struct {
	meta.RESTMapper
	known sync.Map // schema.GroupVersionKind → meta.RESTMapping
}

// RESTMapping implements meta.RESTMapper.
func (m *rememberingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	if len(versions) != 1 || versions[0] == "" {
		// The preferred version of a group can change as CRDs change.
		return m.RESTMapper.RESTMapping(gk, versions...)
	}
	gvk := gk.WithVersion(versions[0])
	if v, ok := m.known.Load(gvk); ok {
		// A copy: the caller may change what it is given.
		mapping := v.(meta.RESTMapping)
		return &mapping, nil
	}
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err == nil && mapping != nil {
		m.known.Store(gvk, *mapping)
	}
	return mapping, err
}

// Reset forgets the remembered mappings and resets the mapper behind.
func (m *rememberingMapper) Reset() {
	m.known.Clear()
	meta.MaybeResetRESTMapper(m.RESTMapper)
}
