package tolerant

import (
	"reflect"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// kind is how an argoproj.io kind is listed and watched.
type kind struct {
	resource   string
	namespaced bool
	newObj     func() runtime.Object
	newList    func() runtime.Object
}

// kinds are the argoproj.io kinds read tolerantly, by object and by list
// type.
var kinds, listKinds = func() (map[reflect.Type]kind, map[reflect.Type]kind) {
	all := []kind{
		{"rollouts", true, func() runtime.Object { return &v1alpha1.Rollout{} }, func() runtime.Object { return &v1alpha1.RolloutList{} }},
		{"analysisruns", true, func() runtime.Object { return &v1alpha1.AnalysisRun{} }, func() runtime.Object { return &v1alpha1.AnalysisRunList{} }},
		{"analysistemplates", true, func() runtime.Object { return &v1alpha1.AnalysisTemplate{} }, func() runtime.Object { return &v1alpha1.AnalysisTemplateList{} }},
		{"clusteranalysistemplates", false, func() runtime.Object { return &v1alpha1.ClusterAnalysisTemplate{} }, func() runtime.Object { return &v1alpha1.ClusterAnalysisTemplateList{} }},
		{"experiments", true, func() runtime.Object { return &v1alpha1.Experiment{} }, func() runtime.Object { return &v1alpha1.ExperimentList{} }},
	}
	byObj, byList := map[reflect.Type]kind{}, map[reflect.Type]kind{}
	for _, k := range all {
		byObj[reflect.TypeOf(k.newObj())] = k
		byList[reflect.TypeOf(k.newList())] = k
	}
	return byObj, byList
}()

// For is a ListerWatcher of obj's kind limited to namespace ("" for all, or
// for a cluster-scoped kind) and label (nil for all), recording failures in
// reg; nil when obj is not of an argoproj.io kind.
func For(dyn dynamic.Interface, obj runtime.Object, namespace string, label labels.Selector, reg *Registry) *ListerWatcher {
	k, ok := kinds[reflect.TypeOf(obj)]
	if !ok {
		return nil
	}
	lw := &ListerWatcher{
		Resource: dyn.Resource(v1alpha1.GroupVersion.WithResource(k.resource)),
		// The type's name is its kind: the example object carries no
		// TypeMeta.
		Kind:     v1alpha1.GroupVersion.WithKind(reflect.TypeOf(obj).Elem().Name()).GroupKind(),
		Label:    label,
		New:      k.newObj,
		NewList:  k.newList,
		Registry: reg,
	}
	if k.namespaced {
		lw.Namespace = namespace
	}
	return lw
}

// Scope says which namespace and labels a cache reads obj's kind in.
type Scope func(obj runtime.Object) (namespace string, label labels.Selector)

// NewInformer is a controller-runtime cache.Options.NewInformer that reads
// the argoproj.io kinds through a tolerant ListerWatcher, so an object the
// Go types refuse stays out of the cache instead of failing every list of
// its kind. The cache's own ListerWatcher carried its namespace and
// selectors; scope gives them again.
func NewInformer(dyn dynamic.Interface, reg *Registry, scope Scope) func(toolscache.ListerWatcher, runtime.Object, time.Duration, toolscache.Indexers) toolscache.SharedIndexInformer {
	return func(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, idx toolscache.Indexers) toolscache.SharedIndexInformer {
		ns, label := scope(obj)
		if t := For(dyn, obj, ns, label, reg); t != nil {
			lw = t
		}
		return toolscache.NewSharedIndexInformer(lw, obj, resync, idx)
	}
}

// ListKinds maps each tolerantly read resource to its list kind, as the
// dynamic fake client wants them.
func ListKinds() map[schema.GroupVersionResource]string {
	out := map[schema.GroupVersionResource]string{}
	for t, k := range listKinds {
		out[v1alpha1.GroupVersion.WithResource(k.resource)] = t.Elem().Name()
	}
	return out
}
