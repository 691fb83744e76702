// Package templateread reads the analysis templates a Rollout or an
// Experiment names, for both controllers: AnalysisTemplates from the cache,
// ClusterAnalysisTemplates from the cache or, for a controller limited to a
// namespace (which may not list them), with a GET; and it tells a template
// that is missing from one the tolerant informers left out as malformed.
package templateread

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
)

// Reader reads templates.
type Reader struct {
	// Cache serves AnalysisTemplates, and ClusterAnalysisTemplates when
	// ClusterCached is set.
	Cache client.Reader
	// Live serves ClusterAnalysisTemplates otherwise.
	Live          client.Reader
	ClusterCached bool
	// Undecodable knows the objects the tolerant informers left out.
	Undecodable *tolerant.Registry
}

// Unusable is a template that exists but cannot be used: malformed, or
// not readable with the controller's permissions. Msg is worded for the
// user, with the fix.
type Unusable struct{ Msg string }

func (e *Unusable) Error() string { return e.Msg }

// Get returns the spec of template name (in ns unless cluster), nil and no
// error when it does not exist, an *Unusable when it cannot be used, and
// any other error as a read to retry.
func (r Reader) Get(ctx context.Context, ns, name string, cluster bool) (*v1alpha1.AnalysisTemplateSpec, error) {
	kind := "AnalysisTemplate"
	var spec *v1alpha1.AnalysisTemplateSpec
	var err error
	if cluster {
		kind, ns = "ClusterAnalysisTemplate", ""
		reader := r.Live
		if r.ClusterCached {
			reader = r.Cache
		}
		t := &v1alpha1.ClusterAnalysisTemplate{}
		spec, err = &t.Spec, reader.Get(ctx, types.NamespacedName{Name: name}, t)
	} else {
		t := &v1alpha1.AnalysisTemplate{}
		spec, err = &t.Spec, r.Cache.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, t)
	}
	switch {
	case apierrors.IsNotFound(err):
		// Missing from the cache may mean malformed.
		key := tolerant.Key{Kind: v1alpha1.GroupVersion.WithKind(kind).GroupKind(), Namespace: ns, Name: name}
		if r.Undecodable != nil {
			if de := r.Undecodable.Failing(key); de != nil {
				return nil, &Unusable{fmt.Sprintf("%s %q cannot be read: %v; correct it and re-apply", kind, name, de)}
			}
		}
		return nil, nil
	case cluster && apierrors.IsForbidden(err):
		return nil, &Unusable{fmt.Sprintf("%v; a controller limited to one namespace (--namespaced) can only use AnalysisTemplates in that namespace", err)}
	case err != nil:
		return nil, err
	}
	return spec, nil
}
