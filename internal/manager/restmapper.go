package manager

import (
	"net/http"
	"sync"
	"time"

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
// version is served. A kind not served is remembered as such for
// missingFor only, so that one installed later is found soon: asked about
// once per rollout (a router's clean-up looking for TrafficSplits and
// DestinationRules on a cluster without them), each question went to
// discovery, 1.44 requests per rollout in bench/traffic (2026-12-06).
// Reset forgets everything.
type rememberingMapper struct {
	meta.RESTMapper
	known   sync.Map // schema.GroupVersionKind → meta.RESTMapping
	missing sync.Map // schema.GroupVersionKind → missingKind
	now     func() time.Time
}

// missingFor is how long a kind found not served is answered as such
// without asking discovery again.
const missingFor = 10 * time.Second

type missingKind struct {
	err   error
	until time.Time
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
	now := time.Now
	if m.now != nil {
		now = m.now
	}
	if v, ok := m.missing.Load(gvk); ok && now().Before(v.(missingKind).until) {
		return nil, v.(missingKind).err
	}
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	switch {
	case err == nil && mapping != nil:
		m.known.Store(gvk, *mapping)
		m.missing.Delete(gvk)
	case meta.IsNoMatchError(err):
		m.missing.Store(gvk, missingKind{err: err, until: now().Add(missingFor)})
	}
	return mapping, err
}

// Reset forgets the remembered mappings and resets the mapper behind.
func (m *rememberingMapper) Reset() {
	m.known.Clear()
	m.missing.Clear()
	meta.MaybeResetRESTMapper(m.RESTMapper)
}
