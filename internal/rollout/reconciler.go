// Package rollout is the Rollout reconciler's shell: it reads a Rollout and
// its ReplicaSets from the informer cache, asks the pure planner
// (internal/plan/…) what the world should look like, and applies the
// difference — creating or scaling ReplicaSets and writing status at most
// once per reconcile.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/internal/metrics"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/plan/services"
	"github.com/aviary-rollouts/aviary/internal/plugin"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
	"github.com/aviary-rollouts/aviary/internal/traffic/alb"
)

// Reconciler reconciles Rollouts.
type Reconciler struct {
	Client client.Client
	// APIReader reads around the cache, for the rare object the label-
	// filtered cache does not hold (a workloadRef ReplicaSet).
	APIReader client.Reader
	Recorder  record.EventRecorder
	// Journal records decision events exactly once (events.Journal).
	Journal *events.Journal
	Log     *slog.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Threads is how many Rollouts are reconciled at once.
	Threads int
	// Undecodable knows the objects the tolerant informers left out of the
	// cache, so a template that is malformed is not reported as missing.
	Undecodable *tolerant.Registry
	// ClusterTemplates caches and watches ClusterAnalysisTemplates; off
	// for a controller limited to a namespace, which may not list them.
	ClusterTemplates bool
	// IstioAPIVersion and SMIAPIVersion are the API versions the Istio
	// and SMI routers use (defaults v1alpha3 and v1alpha1).
	IstioAPIVersion, SMIAPIVersion string
	// AmbassadorAPIVersion is the Ambassador Mappings' apiVersion ("" is
	// getambassador.io/v2).
	AmbassadorAPIVersion string
	// AppMeshCRDVersion is the App Mesh CRDs' version ("" is v1beta2).
	AppMeshCRDVersion string
	// ALBWeights, when set, reads an ALB canary's weights back from AWS
	// before its setWeight steps complete (--aws-verify-target-group).
	ALBWeights *alb.Verifier
	// TargetGroupBindingAPIVersion is the apiVersion of the
	// TargetGroupBindings read with ALBWeights ("" is
	// alb.DefaultBindingAPIVersion).
	TargetGroupBindingAPIVersion string
	// TrafficPlugins hosts the traffic router plugins and StepPlugins the
	// step plugins argo-rollouts-config listed at start; nil hosts none.
	TrafficPlugins, StepPlugins *plugin.Host

	writes writeTracker
	// waiting is what a deferred status left for a rollout's next
	// reconcile.
	waiting waiting
}

// ownerKey indexes ReplicaSets by the name of the Rollout controlling them,
// so a reconcile reads exactly its own ReplicaSets from the cache.
const ownerKey = ".metadata.controllerRollout"

// serviceKey indexes Rollouts by the Services their strategy names, so a
// Service event finds its Rollouts without listing them all.
const serviceKey = ".spec.strategy.services"

// orphanKey indexes ReplicaSets without a controller, so looking for
// orphans to adopt costs nothing when there are none.
const orphanKey = ".metadata.orphan"

// Index is one field index the reconciler's cache reads need.
type Index struct {
	Object  client.Object
	Field   string
	Extract client.IndexerFunc
}

// Indexes are the field indexes the reconciler reads its cache through;
// SetupWithManager registers them on the manager, and a test registers
// them on a fake client (fake.ClientBuilder.WithIndex).
func Indexes() []Index {
	ownedBy := func(o client.Object) []string {
		ref := metav1.GetControllerOf(o)
		if ref == nil || ref.APIVersion != v1alpha1.GroupVersion.String() || ref.Kind != "Rollout" {
			return nil
		}
		return []string{ref.Name}
	}
	return []Index{
		{&appsv1.ReplicaSet{}, ownerKey, ownedBy},
		{&v1alpha1.AnalysisRun{}, runOwnerKey, ownedBy},
		{&v1alpha1.Experiment{}, experimentOwnerKey, ownedBy},
		{&v1alpha1.Rollout{}, serviceKey, func(o client.Object) []string {
			var names []string
			for _, n := range services.Named(o.(*v1alpha1.Rollout)) {
				if n != "" {
					names = append(names, n)
				}
			}
			return names
		}},
		{&appsv1.ReplicaSet{}, orphanKey, func(o client.Object) []string {
			if metav1.GetControllerOf(o) != nil {
				return nil
			}
			return []string{"true"}
		}},
		{&v1alpha1.Rollout{}, templateKey, func(o client.Object) []string {
			var out []string
			for _, ref := range templates.RolloutRefs(o.(*v1alpha1.Rollout)) {
				out = append(out, templateIndexValue(ref.Name, ref.ClusterScope))
			}
			return out
		}},
	}
}

// SetupWithManager registers the reconciler and its indexes.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	for _, ix := range Indexes() {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), ix.Object, ix.Field, ix.Extract); err != nil {
			return fmt.Errorf("index %T by %s: %w", ix.Object, ix.Field, err)
		}
	}
	b := ctrl.NewControllerManagedBy(mgr)
	if r.ClusterTemplates {
		b = b.Watches(&v1alpha1.ClusterAnalysisTemplate{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsReferencingTemplate(true)))
	}
	return b.
		For(&v1alpha1.Rollout{}).
		Owns(&appsv1.ReplicaSet{}).
		Owns(&v1alpha1.AnalysisRun{}).
		Owns(&v1alpha1.Experiment{}).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsReferencingService)).
		Watches(&v1alpha1.AnalysisTemplate{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsReferencingTemplate(false))).
		Owns(&networkingv1.Ingress{}).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsReferencingWorkload("Deployment"))).
		Watches(&corev1.PodTemplate{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsReferencingWorkload("PodTemplate"))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Threads, 1)}).
		Named(metrics.QueueRollouts).
		Complete(r)
}

// Reconcile brings one Rollout one step closer to its desired state.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	res, err := r.reconcile(ctx, req)
	if !errors.Is(err, errGone) {
		metrics.RolloutReconcile.WithLabelValues(req.Namespace, req.Name).Observe(time.Since(start).Seconds())
		if err != nil {
			metrics.RolloutReconcileError.WithLabelValues(req.Namespace, req.Name).Inc()
		}
		return res, err
	}
	return res, nil
}

// errGone means the Rollout no longer exists.
var errGone = errors.New("rollout deleted")

func (r *Reconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ro v1alpha1.Rollout
	if err := r.Client.Get(ctx, req.NamespacedName, &ro); err != nil {
		if apierrors.IsNotFound(err) {
			if err := r.releaseAfterDeletion(ctx, req.NamespacedName); err != nil {
				return ctrl.Result{}, err // retried; the metrics are forgotten then
			}
			r.writes.forget(req.NamespacedName)
			r.waiting.take(req.NamespacedName)
			metrics.ForgetRollout(req.Namespace, req.Name)
			return ctrl.Result{}, errGone
		}
		return ctrl.Result{}, fmt.Errorf("get rollout %s: %w", req, err)
	}
	if r.writes.stale(req.NamespacedName, ro.ResourceVersion) {
		// Our own write's watch event is on its way and will trigger
		// a reconcile; this one's copy is outdated.
		return ctrl.Result{}, nil
	}
	if ro.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	// An HPA scales through /scale, which needs spec.replicas set.
	if ro.Spec.Replicas == nil {
		patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, v1alpha1.DefaultReplicas)
		if err := r.Client.Patch(ctx, &ro, rawMerge(patch)); err != nil {
			return ctrl.Result{}, fmt.Errorf("default spec.replicas of rollout %s: %w", req, err)
		}
		return ctrl.Result{}, nil
	}
	if ro.Status.ObservedGeneration == "" {
		// Argo Rollouts announces every rollout its informer adds (again at
		// each controller start); tools and runbooks start a rollout's
		// story there. Aviary records it once, the first time any
		// controller sees the rollout (it has never written its status),
		// through the journal, so a restart neither repeats nor loses it.
		if err := r.journal(ctx, &ro, []rules.Event{{Reason: rules.ReasonAddedToInformer,
			Message: fmt.Sprintf("Rollout resource added to informer: %s/%s", ro.Namespace, ro.Name)}}); err != nil {
			return ctrl.Result{}, err
		}
	}
	// Checked before resolving, which overwrites the template in memory.
	templateWithRef := ro.Spec.WorkloadRef != nil && !ro.Spec.EmptyTemplate()
	var w *workload
	var resolveErr error
	if ro.Spec.WorkloadRef != nil && !templateWithRef {
		w, resolveErr = r.resolveWorkloadRef(ctx, &ro)
	}
	rsList, err := r.ownedReplicaSets(ctx, &ro)
	if err != nil {
		return ctrl.Result{}, err
	}
	if templateWithRef {
		return r.markInvalid(ctx, &ro, rsList, "spec.template: Invalid value: template must be empty for workload reference rollout: "+
			"remove spec.template, or spec.workloadRef to use the inline template")
	}
	if resolveErr != nil {
		var invalid *invalidSpec
		if errors.As(resolveErr, &invalid) {
			return r.markInvalid(ctx, &ro, rsList, invalid.msg)
		}
		return ctrl.Result{}, resolveErr
	}
	if w != nil {
		if err := r.recordWorkloadGeneration(ctx, &ro, w.generation); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.checkTemplateRefs(ctx, &ro); err != nil {
		var invalid *invalidSpec
		if errors.As(err, &invalid) {
			return r.markInvalid(ctx, &ro, rsList, invalid.msg)
		}
		return ctrl.Result{}, err
	}
	return r.sync(ctx, &ro, rsList, w)
}

func (r *Reconciler) ownedReplicaSets(ctx context.Context, ro *v1alpha1.Rollout) ([]*appsv1.ReplicaSet, error) {
	var list appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &list, client.InNamespace(ro.Namespace), client.MatchingFields{ownerKey: ro.Name}); err != nil {
		return nil, fmt.Errorf("list ReplicaSets of rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	out := make([]*appsv1.ReplicaSet, 0, len(list.Items))
	for i := range list.Items {
		rs := &list.Items[i]
		if rs.DeletionTimestamp == nil && metav1.GetControllerOf(rs).UID == ro.UID {
			out = append(out, rs)
		}
	}
	orphans, err := r.adoptOrphans(ctx, ro)
	if err != nil {
		return nil, err
	}
	return append(out, orphans...), nil
}

// adoptOrphans takes ownership of ReplicaSets that match the Rollout's
// selector, carry a pod-template hash and have no controller — left behind
// by a Rollout deleted with --cascade=orphan, or by a migration — so their
// pods are kept instead of recreated.
func (r *Reconciler) adoptOrphans(ctx context.Context, ro *v1alpha1.Rollout) ([]*appsv1.ReplicaSet, error) {
	if ro.Spec.Selector == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
	if err != nil || sel.Empty() {
		return nil, nil // validation reports a bad or empty selector
	}
	var list appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &list, client.InNamespace(ro.Namespace), client.MatchingFields{orphanKey: "true"}); err != nil {
		return nil, fmt.Errorf("list orphaned ReplicaSets for rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	var adopted []*appsv1.ReplicaSet
	checked := false
	for i := range list.Items {
		rs := &list.Items[i]
		if rs.DeletionTimestamp != nil || metav1.GetControllerOf(rs) != nil || rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == "" ||
			!sel.Matches(labels.Set(rs.Labels)) {
			continue
		}
		if !checked {
			alive, err := r.aliveLive(ctx, ro)
			if err != nil || !alive {
				return nil, err
			}
			checked = true
		}
		orig := rs.DeepCopy()
		rs.OwnerReferences = append(rs.OwnerReferences, *metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout")))
		// The resourceVersion in the patch makes it fail if another
		// controller adopted the ReplicaSet meanwhile.
		if err := r.Client.Patch(ctx, rs, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return nil, fmt.Errorf("adopt ReplicaSet %s into rollout %s: %w", rs.Name, ro.Name, err)
		}
		r.event(ro, false, rules.ReasonAdoptedReplicaSet, "Adopted orphaned ReplicaSet "+rs.Name)
		adopted = append(adopted, rs)
	}
	return adopted, nil
}

// aliveLive reads ro around the cache and reports whether it still exists,
// with the same UID, and is not being deleted. Adoption must ask: when a
// Rollout is deleted with --cascade=orphan, the garbage collector frees
// its ReplicaSets first, and a cached copy of the Rollout without its
// deletionTimestamp yet would take them back, leaving an owner reference
// to a deleted object — for which the garbage collector then deletes the
// ReplicaSets and their pods, the very thing orphaning was to prevent.
func (r *Reconciler) aliveLive(ctx context.Context, ro *v1alpha1.Rollout) (bool, error) {
	var live v1alpha1.Rollout
	err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(ro), &live)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read rollout %s/%s before adopting ReplicaSets: %w", ro.Namespace, ro.Name, err)
	}
	return live.UID == ro.UID && live.DeletionTimestamp == nil, nil
}

// rolloutsReferencingService maps a Service event to the Rollouts in its
// namespace that name it, so a Service created after its Rollout (or edited
// by hand) is reconciled without waiting for a resync.
func (r *Reconciler) rolloutsReferencingService(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.RolloutList
	if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{serviceKey: o.GetName()}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, ro := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
	}
	return out
}

// rolloutsReferencingWorkload maps a workload event to the Rollouts in its
// namespace whose workloadRef names it.
func (r *Reconciler) rolloutsReferencingWorkload(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var list v1alpha1.RolloutList
		if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
			return nil
		}
		var out []reconcile.Request
		for _, ro := range list.Items {
			if ref := ro.Spec.WorkloadRef; ref != nil && ref.Kind == kind && ref.Name == o.GetName() {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ro)})
			}
		}
		return out
	}
}
