// Package experiment is the Experiment reconciler's shell: it reads an
// Experiment, its ReplicaSets, Services and AnalysisRuns and the analysis
// templates it needs, asks the pure planner (internal/plan/experiment) for
// the plan, and applies its steps in order, ending with at most one status
// write.
package experiment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/internal/logging"
	"github.com/aviary-rollouts/aviary/internal/metrics"
	"github.com/aviary-rollouts/aviary/internal/plan/experiment"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
)

// Reconciler reconciles Experiments.
type Reconciler struct {
	Client client.Client
	// APIReader reads around the cache: a run named in the status but not
	// yet in the cache, an object found taken on create,
	// ClusterAnalysisTemplates when they are not cached.
	APIReader client.Reader
	Recorder  record.EventRecorder
	// Journal records the plan's events exactly once (events.Journal).
	Journal *events.Journal
	Log     *slog.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Threads is how many Experiments are reconciled at once.
	Threads int
	// ClusterTemplates reads ClusterAnalysisTemplates from the cache; off
	// for a controller limited to a namespace, which may not list them.
	ClusterTemplates bool
	// Undecodable knows the objects the tolerant informers left out of the
	// cache, so a malformed template is reported as such, not as missing.
	Undecodable *tolerant.Registry
}

// ownerKey indexes ReplicaSets, Services and AnalysisRuns by the name of
// the Experiment controlling them.
const ownerKey = ".metadata.controllerExperiment"

// Indexes are the field indexes the reconciler reads its cache through.
func Indexes() []struct {
	Object  client.Object
	Extract client.IndexerFunc
} {
	ownedBy := func(o client.Object) []string {
		ref := metav1.GetControllerOf(o)
		if ref == nil || ref.APIVersion != v1alpha1.GroupVersion.String() || ref.Kind != experiment.Kind.Kind {
			return nil
		}
		return []string{ref.Name}
	}
	return []struct {
		Object  client.Object
		Extract client.IndexerFunc
	}{{&appsv1.ReplicaSet{}, ownedBy}, {&corev1.Service{}, ownedBy}, {&v1alpha1.AnalysisRun{}, ownedBy}}
}

// SetupWithManager registers the reconciler and its indexes.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	for _, ix := range Indexes() {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), ix.Object, ownerKey, ix.Extract); err != nil {
			return fmt.Errorf("index %T by %s: %w", ix.Object, ownerKey, err)
		}
	}
	b := ctrl.NewControllerManagedBy(mgr)
	if r.ClusterTemplates {
		b = b.Watches(&v1alpha1.ClusterAnalysisTemplate{}, handler.EnqueueRequestsFromMapFunc(r.waitingForTemplates))
	}
	return b.
		For(&v1alpha1.Experiment{}).
		Watches(&v1alpha1.AnalysisTemplate{}, handler.EnqueueRequestsFromMapFunc(r.waitingForTemplates)).
		Owns(&appsv1.ReplicaSet{}).
		Owns(&corev1.Service{}).
		Owns(&v1alpha1.AnalysisRun{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Threads, 1)}).
		Named(metrics.QueueExperiments).
		Complete(r)
}

// Reconcile brings one Experiment one pass closer to its end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	res, err := r.reconcile(ctx, req)
	if errors.Is(err, errGone) {
		metrics.ForgetExperiment(req.Namespace, req.Name)
		return ctrl.Result{}, nil
	}
	metrics.ExperimentReconcile.WithLabelValues(req.Namespace, req.Name).Observe(time.Since(start).Seconds())
	if err != nil {
		metrics.ExperimentReconcileError.WithLabelValues(req.Namespace, req.Name).Inc()
		if apierrors.IsConflict(err) {
			// Decided on a stale copy: plan again from the newer one.
			r.logFor(req.Namespace, req.Name).Info("experiment changed meanwhile; planning again", "error", err.Error())
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
	}
	return res, err
}

var errGone = errors.New("experiment deleted")

func (r *Reconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ex v1alpha1.Experiment
	if err := r.Client.Get(ctx, req.NamespacedName, &ex); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, errGone
		}
		return ctrl.Result{}, fmt.Errorf("get experiment %s: %w", req, err)
	}
	if ex.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	obs, err := r.observe(ctx, &ex)
	if err != nil {
		return ctrl.Result{}, err
	}
	p := experiment.Decide(obs)
	err = r.apply(ctx, &ex, p)
	// A template's ReplicaSet name held by a ReplicaSet the Experiment does
	// not control shows only on create (the cache holds only ReplicaSets
	// with a pod-template hash): plan again knowing it, so the status says so.
	var foreign *foreignReplicaSet
	if errors.As(err, &foreign) {
		r.logFor(req.Namespace, req.Name).Info("a template's ReplicaSet name is taken; planning again", "replicaSet", foreign.name)
		obs.ForeignReplicaSets = map[string]bool{foreign.name: true}
		p = experiment.Decide(obs)
		err = r.apply(ctx, &ex, p)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: p.RequeueAfter}, nil
}

// waitingForTemplates maps a template event to the Experiments (in its
// namespace, or anywhere for a cluster template) that report InvalidSpec,
// so one waiting for its template starts as soon as the template exists.
func (r *Reconciler) waitingForTemplates(ctx context.Context, o client.Object) []reconcile.Request {
	var opts []client.ListOption
	if o.GetNamespace() != "" {
		opts = append(opts, client.InNamespace(o.GetNamespace()))
	}
	var list v1alpha1.ExperimentList
	if err := r.Client.List(ctx, &list, opts...); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		ex := &list.Items[i]
		for _, c := range ex.Status.Conditions {
			if c.Type == v1alpha1.InvalidExperimentSpec {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(ex)})
				break
			}
		}
	}
	return out
}

// logFor is r.Log naming the Experiment namespace/name under Argo
// Rollouts' keys.
func (r *Reconciler) logFor(namespace, name string) *slog.Logger {
	return r.Log.With(logging.KeyNamespace, namespace, logging.KeyExperiment, name)
}
