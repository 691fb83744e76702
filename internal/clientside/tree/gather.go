package tree

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
)

// GatherRollout reads the Rollout ns/name and what it owns from r (the API
// server, or a watch's cache) and builds its view.
func GatherRollout(ctx context.Context, r client.Reader, ns, name string) (*Rollout, error) {
	var ro v1alpha1.Rollout
	if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &ro); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("rollout %q not found in namespace %q", name, ns)
		}
		return nil, fmt.Errorf("get rollout %q: %w", name, err)
	}
	objs, err := Gather(ctx, r, ns, true)
	if err != nil {
		return nil, err
	}
	return NewRollout(&ro, objs), nil
}

// GatherExperiment reads the Experiment ns/name and what it owns from r
// and builds its view.
func GatherExperiment(ctx context.Context, r client.Reader, ns, name string) (*Experiment, error) {
	var exp v1alpha1.Experiment
	if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &exp); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("experiment %q not found in namespace %q", name, ns)
		}
		return nil, fmt.Errorf("get experiment %q: %w", name, err)
	}
	objs, err := Gather(ctx, r, ns, true)
	if err != nil {
		return nil, err
	}
	return NewExperiment(&exp, objs), nil
}

// Gather lists the namespace's ReplicaSets, AnalysisRuns and Experiments
// once each, then, with pods, only the pods of those ReplicaSets (by
// their pod-template-hash label), since pods are usually the most
// numerous; views that show no pods (the dashboard's list) skip them.
func Gather(ctx context.Context, r client.Reader, ns string, withPods bool) (Objects, error) {
	var (
		objs Objects
		rss  appsv1.ReplicaSetList
		runs v1alpha1.AnalysisRunList
		exps v1alpha1.ExperimentList
	)
	in := client.InNamespace(ns)
	if err := r.List(ctx, &rss, in); err != nil {
		return objs, fmt.Errorf("list replicasets: %w", err)
	}
	if err := r.List(ctx, &runs, in); err != nil && !meta.IsNoMatchError(err) {
		return objs, fmt.Errorf("list analysisruns: %w", err)
	}
	// Experiments are optional: a cluster may lack their CRD.
	if err := r.List(ctx, &exps, in); err != nil && !meta.IsNoMatchError(err) {
		return objs, fmt.Errorf("list experiments: %w", err)
	}
	objs.ReplicaSets, objs.AnalysisRuns, objs.Experiments = rss.Items, runs.Items, exps.Items
	if !withPods {
		return objs, nil
	}
	hashes := sets.New[string]()
	for _, rs := range rss.Items {
		if h := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; h != "" {
			hashes.Insert(h)
		}
	}
	if hashes.Len() == 0 {
		return objs, nil
	}
	req, err := labels.NewRequirement(v1alpha1.DefaultRolloutUniqueLabelKey, selection.In, sets.List(hashes))
	if err != nil {
		return objs, fmt.Errorf("pod selector: %w", err)
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, in, client.MatchingLabelsSelector{Selector: labels.NewSelector().Add(*req)}); err != nil {
		return objs, fmt.Errorf("list pods: %w", err)
	}
	objs.Pods = pods.Items
	return objs, nil
}

// Watch starts a cache of the namespace's Rollouts, ReplicaSets, pods,
// AnalysisRuns and Experiments, and returns it for GatherRollout and
// GatherExperiment together with a channel that receives a value whenever
// any of them changes. It stops with ctx.
func Watch(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, ns string) (client.Reader, <-chan struct{}, error) {
	// One pending signal is enough: a redraw reads everything anew.
	changed := make(chan struct{}, 1)
	r, err := WatchFunc(ctx, cfg, scheme, ns, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	return r, changed, err
}

// WatchFunc is Watch calling notify (from the cache's goroutines) on every
// change instead of signalling a channel, for callers with several
// listeners.
func WatchFunc(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, ns string, notify func()) (client.Reader, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("watch namespace %q: %w", ns, err)
	}
	// The argoproj.io kinds are read tolerantly: one malformed object
	// stays out of the cache instead of keeping it from ever syncing.
	c, err := cache.New(cfg, cache.Options{Scheme: scheme, DefaultNamespaces: map[string]cache.Config{ns: {}},
		NewInformer: tolerant.NewInformer(dyn, tolerant.NewRegistry(), func(runtime.Object) (string, labels.Selector) { return ns, nil })})
	if err != nil {
		return nil, fmt.Errorf("watch namespace %q: %w", ns, err)
	}
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}
	kinds := []client.Object{&v1alpha1.Rollout{}, &appsv1.ReplicaSet{}, &corev1.Pod{}, &v1alpha1.AnalysisRun{}, &v1alpha1.Experiment{}}
	for _, obj := range kinds {
		inf, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			if meta.IsNoMatchError(err) {
				continue
			}
			return nil, fmt.Errorf("watch %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("watch %T: %w", obj, err)
		}
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("watch namespace %q: %w", ns, context.Cause(ctx))
	}
	return c, nil
}
