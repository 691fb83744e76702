package manager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/dynamic"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcoordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientbudget"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
	"github.com/aviary-rollouts/aviary/internal/version"
)

// Scheme knows the built-in kinds and the five argoproj.io kinds.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("register built-in kinds: %w", err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("register argoproj.io/v1alpha1 kinds: %w", err)
	}
	return s, nil
}

// RESTConfig loads the kubeconfig named by the options, or KUBECONFIG, or the
// in-cluster config, and makes every client built from it (or from a copy)
// draw from one client budget of --qps and --burst.
func (o *Options) RESTConfig() (*rest.Config, error) {
	// As Argo Rollouts' controller loads it: --kubeconfig, else KUBECONFIG
	// or ~/.kube/config, else the in-cluster config; kubectl's connection
	// flags (--server, --token, --context, …) override each.
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &o.KubeOverrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load Kubernetes client configuration (set --kubeconfig or KUBECONFIG): %w", err)
	}
	o.ClientBudget().Instrument(cfg)
	cfg.UserAgent = "aviary-controller/" + version.String()
	return cfg, nil
}

// ClientBudget is the budget of --qps and --burst, or nil (no limit) for a
// negative --qps.
func (o *Options) ClientBudget() *clientbudget.Budget {
	if o.QPS < 0 {
		return nil
	}
	return clientbudget.New(o.QPS, o.Burst, nil)
}

// Identity is this process's name in the leader-election Lease, unique per
// process so a restarted controller never mistakes the old holder for itself.
func Identity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "aviary"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "_" + hex.EncodeToString(b)
}

// New builds the manager: cached clients scoped by namespace and instance id,
// leader election on a Lease, /metrics, /healthz and /readyz. An
// argoproj.io object that does not decode into its Go type is left out of
// the cache and recorded in undecodable. metrics serves /metrics on
// --metrics-addr.
func New(o *Options, cfg *rest.Config, identity string, undecodable *tolerant.Registry, metrics http.Handler) (ctrlmanager.Manager, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("create dynamic client for the argoproj.io informers: %w", err)
	}
	co := o.cacheOptions()
	co.NewInformer = o.tolerantInformers(dyn, undecodable)
	mo := ctrlmanager.Options{
		Scheme:         scheme,
		MapperProvider: newRESTMapper,
		Cache:          co,
		// controller-runtime's metrics server is replaced by ours (below),
		// which serves the per-object families without client_golang's
		// copy of them (internal/metrics, text.go).
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  o.HealthAddr,
		PprofBindAddress:        o.PprofAddr,
		GracefulShutdownTimeout: &o.ShutdownTimeout,
	}
	if o.LeaderElect {
		lock, err := o.leaseLock(cfg, identity)
		if err != nil {
			return nil, err
		}
		mo.LeaderElection = true
		mo.LeaderElectionID = o.leaseName()
		mo.LeaderElectionNamespace = o.leaseNamespace()
		mo.LeaderElectionResourceLockInterface = lock
		mo.LeaseDuration = &o.LeaderElectionLeaseDuration
		mo.RenewDeadline = &o.LeaderElectionRenewDeadline
		mo.RetryPeriod = &o.LeaderElectionRetryPeriod
		// Hand the Lease over at once on SIGTERM instead of making the next
		// leader wait out the lease duration.
		mo.LeaderElectionReleaseOnCancel = true
	}
	mgr, err := ctrlmanager.New(cfg, mo)
	if err != nil {
		return nil, fmt.Errorf("create controller manager: %w", err)
	}
	if err := addMetricsServer(mgr, o.MetricsAddr, metrics); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add /healthz check: %w", err)
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add /readyz check: %w", err)
	}
	// The informers of these kinds find a malformed one to report even
	// when no controller reads them from the cache. ClusterAnalysisTemplates
	// are left alone in a namespace, which may not list them. Before the
	// manager starts, this only registers the informers.
	reported := []client.Object{&v1alpha1.AnalysisTemplate{}, &v1alpha1.Experiment{}}
	if !o.Namespaced {
		reported = append(reported, &v1alpha1.ClusterAnalysisTemplate{})
	}
	for _, obj := range reported {
		if _, err := mgr.GetCache().GetInformer(context.Background(), obj); err != nil {
			return nil, fmt.Errorf("register the %T informer: %w", obj, err)
		}
	}
	return mgr, nil
}

// addMetricsServer serves handler at /metrics on addr ("0" or "": not at
// all), on every instance whether leading or not, as controller-runtime's
// metrics server does. The port is bound here, so a taken one fails the
// start.
func addMetricsServer(mgr ctrlmanager.Manager, addr string, handler http.Handler) error {
	if addr == "0" || addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for /metrics on --metrics-addr %q: %w (choose a free address, or \"0\" to serve none)", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", handler)
	return mgr.Add(&ctrlmanager.Server{
		Name:            "metrics",
		Server:          &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		Listener:        ln,
		ShutdownTimeout: new(time.Minute),
	})
}

// tolerantInformers builds the cache's informers, replacing the typed
// ListerWatcher of the argoproj.io kinds: with it, one object the Go types
// refuse fails every list of its kind, and no object of that kind is ever
// reconciled. The replaced ListerWatcher carried the cache's namespace and
// selectors, so they are given again here, from the same options.
func (o *Options) tolerantInformers(dyn dynamic.Interface, undecodable *tolerant.Registry) func(toolscache.ListerWatcher, runtime.Object, time.Duration, toolscache.Indexers) toolscache.SharedIndexInformer {
	return tolerant.NewInformer(dyn, undecodable, o.scope)
}

// tolerantListerWatcher reads obj's kind as the cache would, or is nil for
// a kind not of argoproj.io.
func (o *Options) tolerantListerWatcher(dyn dynamic.Interface, undecodable *tolerant.Registry, obj runtime.Object) *tolerant.ListerWatcher {
	ns, label := o.scope(obj)
	return tolerant.For(dyn, obj, ns, label, undecodable)
}

// scope is the namespace and labels the cache reads obj's kind in.
func (o *Options) scope(obj runtime.Object) (string, labels.Selector) {
	ns := ""
	if o.Namespaced {
		ns = o.Namespace
	}
	return ns, o.cacheLabel(obj)
}

func (o *Options) leaseLock(cfg *rest.Config, identity string) (resourcelock.Interface, error) {
	// The two API groups the Lease lock uses, not client-go's whole
	// clientset: linking that adds megabytes of code to the binary and so
	// to the process's resident memory (docs/architecture.md, "Memory").
	cfg = rest.CopyConfig(cfg)
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("create HTTP client for leader election: %w", err)
	}
	core, err := typedcorev1.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("create core/v1 client for leader election: %w", err)
	}
	coordination, err := typedcoordinationv1.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("create coordination.k8s.io/v1 client for leader election: %w", err)
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, o.leaseNamespace(), o.leaseName(),
		core, coordination, resourcelock.ResourceLockConfig{Identity: identity})
	if err != nil {
		return nil, fmt.Errorf("create leader-election Lease lock %s/%s: %w", o.leaseNamespace(), o.leaseName(), err)
	}
	return lock, nil
}

// cacheOptions scopes the informers: one namespace when namespaced, and the
// argoproj.io kinds filtered by controller instance id, so a controller never
// even receives objects that belong to another instance.
func (o *Options) cacheOptions() cache.Options {
	resync := o.ResyncPeriod()
	co := cache.Options{SyncPeriod: &resync}
	if o.Namespaced {
		co.DefaultNamespaces = map[string]cache.Config{o.Namespace: {}}
	}
	co.ByObject = map[client.Object]cache.ByObject{
		&v1alpha1.Rollout{}:     {Label: o.cacheLabel(&v1alpha1.Rollout{}), Transform: dropLastApplied},
		&v1alpha1.AnalysisRun{}: {Label: o.cacheLabel(&v1alpha1.AnalysisRun{})},
		&v1alpha1.Experiment{}:  {Label: o.cacheLabel(&v1alpha1.Experiment{})},
		// Only ReplicaSets a Rollout can own: Deployments' ReplicaSets
		// never enter the controller's memory.
		&appsv1.ReplicaSet{}: {Label: rolloutReplicaSets()},
		// Only the Jobs of Job metrics.
		&batchv1.Job{}: {Label: exists(analysisRunUIDLabel)},
	}
	// Pods are never cached (read only at role changes and restarts), and
	// nothing reads managedFields: dropping them keeps memory flat with N.
	co.DefaultTransform = cache.TransformStripManagedFields()
	return co
}

// cacheLabel is the label selector of an argoproj.io kind's informer: the
// instance's own objects, except templates, which every instance shares.
func (o *Options) cacheLabel(obj runtime.Object) labels.Selector {
	switch obj.(type) {
	case *v1alpha1.Rollout, *v1alpha1.AnalysisRun, *v1alpha1.Experiment:
		return InstanceSelector(o.InstanceID)
	}
	return nil
}

// InstanceSelector selects the objects an instance owns: those labelled with
// its id, or, without an id, those carrying no instance label at all.
func InstanceSelector(id string) labels.Selector {
	var req *labels.Requirement
	var err error
	if id == "" {
		req, err = labels.NewRequirement(v1alpha1.LabelControllerInstanceID, selection.DoesNotExist, nil)
	} else {
		req, err = labels.NewRequirement(v1alpha1.LabelControllerInstanceID, selection.Equals, []string{id})
	}
	if err != nil {
		// Only an id that is not a valid label value gets here; Validate
		// rejects those, so selecting nothing is the safe answer.
		return labels.Nothing()
	}
	return labels.NewSelector().Add(*req)
}

// dropLastApplied removes kubectl's last-applied-configuration annotation (a
// second copy of the whole spec) from cached objects: the controller never
// reads it and only ever patches, so it never writes the copy back.
func dropLastApplied(obj any) (any, error) {
	if o, ok := obj.(metav1.Object); ok {
		if a := o.GetAnnotations(); a[corev1.LastAppliedConfigAnnotation] != "" {
			a = maps.Clone(a)
			delete(a, corev1.LastAppliedConfigAnnotation)
			o.SetAnnotations(a)
		}
	}
	if o, ok := obj.(metav1.ObjectMetaAccessor); ok {
		o.GetObjectMeta().SetManagedFields(nil)
	}
	return obj, nil
}

func rolloutReplicaSets() labels.Selector { return exists(v1alpha1.DefaultRolloutUniqueLabelKey) }

// analysisRunUIDLabel marks the Jobs of Job metrics with their run's UID.
const analysisRunUIDLabel = "analysisrun.argoproj.io/uid"

func exists(key string) labels.Selector {
	req, _ := labels.NewRequirement(key, selection.Exists, nil)
	return labels.NewSelector().Add(*req)
}

// ErrCRDsMissing means the argoproj.io CRDs are not installed.
var ErrCRDsMissing = errors.New("argoproj.io CRDs are not installed")

// CheckCRDs verifies the API server serves every kind the controller watches,
// so a missing install step is one clear message instead of informer errors.
func CheckCRDs(_ context.Context, mapper meta.RESTMapper) error {
	for _, kind := range []string{"Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun", "Experiment"} {
		gk := schema.GroupKind{Group: v1alpha1.GroupVersion.Group, Kind: kind}
		if _, err := mapper.RESTMapping(gk, v1alpha1.GroupVersion.Version); err != nil {
			return fmt.Errorf("%w: kind %s.%s/%s is not served (%v); install them with `kubectl apply -f dist/install.yaml` or `kubectl apply -f config/crd`",
				ErrCRDsMissing, kind, gk.Group, v1alpha1.GroupVersion.Version, err)
		}
	}
	return nil
}
