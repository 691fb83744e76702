// Command aviary-controller runs Aviary's controllers for the argoproj.io
// Rollout, AnalysisRun and Experiment kinds.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/client-go/discovery"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmanager "sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysisrun"
	"github.com/aviary-rollouts/aviary/internal/clientbudget"
	"github.com/aviary-rollouts/aviary/internal/clientmetrics"
	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/internal/experiment"
	"github.com/aviary-rollouts/aviary/internal/heapsampling"
	"github.com/aviary-rollouts/aviary/internal/logging"
	"github.com/aviary-rollouts/aviary/internal/malformed"
	"github.com/aviary-rollouts/aviary/internal/manager"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/builtin"
	"github.com/aviary-rollouts/aviary/internal/metrics"
	"github.com/aviary-rollouts/aviary/internal/notify"
	"github.com/aviary-rollouts/aviary/internal/plugin"
	"github.com/aviary-rollouts/aviary/internal/residency"
	"github.com/aviary-rollouts/aviary/internal/residency/noreadahead"
	"github.com/aviary-rollouts/aviary/internal/rollout"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
	"github.com/aviary-rollouts/aviary/internal/traffic/alb"
	"github.com/aviary-rollouts/aviary/internal/traffic/gatewayapi"
	"github.com/aviary-rollouts/aviary/internal/version"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "aviary-controller: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var opts manager.Options
	fs := flag.NewFlagSet("aviary-controller", flag.ContinueOnError)
	opts.BindFlags(fs)
	showVersion := fs.Bool("version", false, "print the version, commit, build date, Go version and platform, and exit")
	if err := opts.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Print(version.Get().Long("aviary-controller"))
		return nil
	}
	warnings := opts.Complete()
	if err := opts.Validate(); err != nil {
		return err
	}
	// Package initialisation touched every library's types and tables, most
	// of them never used again: give those pages back before the caches
	// fill, so start-up's peak is the larger of the two, not their sum
	// (docs/architecture.md, "Memory").
	var initPages residency.Released
	var initErr error
	if opts.ReleaseStartupPages {
		initPages, initErr = residency.Release()
	} else {
		noreadahead.Restore()
	}
	log, err := logging.New(os.Stderr, opts.LogLevel, opts.LogFormat)
	if err != nil {
		return err
	}
	if initErr != nil {
		log.Warn("could not give back package initialisation's program pages; the controller runs on, with more memory resident", "err", initErr)
	} else if opts.ReleaseStartupPages {
		log.Info("program pages only package initialisation used given back", "mappings", initPages.Mappings, "residentFileBefore", initPages.Before, "residentFileAfter", initPages.After)
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	log.Info(opts.ApplyGC())
	// Heap sampling is off from package initialisation on (its stacks and
	// buckets cost resident memory for a profile nobody reads); a
	// controller that serves its profiles samples from here.
	switch {
	case heapsampling.FromGODEBUG():
		log.Info("heap profile sampling as GODEBUG sets it", "memProfileRate", heapsampling.Enable())
	case opts.PprofAddr != "":
		log.Info("heap profile sampling on for --enable-pprof-address, covering allocations from now", "memProfileRate", heapsampling.Enable())
	}
	// Libraries that log through slog's default (the AWS SDK's adapter,
	// internal/metricprovider/awsconfig) write the controller's records.
	slog.SetDefault(log)
	ctrl.SetLogger(logging.Logr(log))
	klogLog, err := manager.KlogLogger(log.With("source", "client-go"), opts.KlogLevel)
	if err != nil {
		return err
	}
	klog.SetLogger(klogLog)

	cfg, err := opts.RESTConfig()
	if err != nil {
		return err
	}
	clientmetrics.Instrument(cfg)
	exposition := metrics.NewExposition(ctrlmetrics.Registry)
	exposition.MustRegister(clientmetrics.Requests, clientmetrics.K8sRequests)
	exposition.MustRegister(clientbudget.Collectors()...)
	ctx := ctrl.SetupSignalHandler()
	// Applied together with its CRDs, the controller may start before they
	// are served: wait (alive for the liveness probe) rather than exit.
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create discovery client: %w", err)
	}
	stopHealthz, err := manager.ServeHealthz(opts.HealthAddr)
	if err != nil {
		return err
	}
	err = manager.WaitForCRDs(ctx, disco, log, 5*time.Second)
	stopHealthz()
	if err != nil {
		if ctx.Err() != nil {
			log.Info("aviary-controller stopped before the argoproj.io CRDs were established")
			return nil
		}
		return err
	}
	identity := manager.Identity()
	undecodable := tolerant.NewRegistry()
	mgr, err := manager.New(&opts, cfg, identity, undecodable, exposition)
	if err != nil {
		return err
	}
	if err := manager.CheckCRDs(ctx, mgr.GetRESTMapper()); err != nil {
		return err
	}
	// The journal (decision events, written synchronously) and the
	// recorder (the rest, queued) share the process's one client budget
	// with everything else; it serves the journal with the controllers'
	// work and the recorder after it, with a share of its own
	// (internal/clientbudget).
	// core/v1 alone, not client-go's whole clientset (docs/architecture.md,
	// "Memory").
	eventsCS, err := typedcorev1.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create events client: %w", err)
	}
	recorder := events.NewRecorder(ctx, eventsCS, mgr.GetScheme())
	rolloutJournal := &events.Journal{Events: eventsCS, Host: identity, Now: time.Now}
	if !opts.AnalysisOnly() {
		notifier, err := notifications(ctx, &opts, eventsCS, mgr.GetClient(), recorder, log)
		if err != nil {
			return err
		}
		rolloutJournal.Notify = notifier
		if err := mgr.Add(notifier); err != nil {
			return fmt.Errorf("add notifier: %w", err)
		}
	}
	// As Argo Rollouts, fetch the plugins argo-rollouts-config lists and do
	// not start without them (docs/plugins.md).
	plugins, err := plugin.Prepare(ctx, mgr.GetAPIReader(), opts.PodNamespace, plugin.Kinds, log.With("component", "plugins"))
	if err != nil {
		return err
	}
	defer plugins.Stop()
	if err := mgr.Add(plugins); err != nil {
		return fmt.Errorf("add plugins: %w", err)
	}
	if plugins.Host(plugin.TrafficRouter).Has(gatewayapi.ConfigKey) {
		log.Info("argo-rollouts-config lists the " + gatewayapi.ConfigKey + " plugin: Rollouts naming it route through its binary instead of the built-in Gateway API router")
	}
	var albWeights *alb.Verifier
	if opts.VerifyALBWeights {
		if albWeights, err = alb.NewVerifier(ctx, opts.ALBTagKeyResourceID); err != nil {
			return err
		}
		log.Info("ALB canary weights are verified against the ELBv2 API before each setWeight step completes (--aws-verify-target-group)")
	}
	rollouts := &rollout.Reconciler{
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Recorder:    recorder,
		Journal:     rolloutJournal,
		Undecodable: undecodable,
		Log:         log.With("controller", "rollout"),
		Threads:     opts.RolloutThreads,

		ClusterTemplates:     !opts.Namespaced,
		IstioAPIVersion:      opts.IstioAPIVersion,
		SMIAPIVersion:        opts.TrafficSplitAPIVersion,
		AmbassadorAPIVersion: opts.AmbassadorAPIVersion,
		AppMeshCRDVersion:    opts.AppMeshCRDVersion,
		ALBWeights:           albWeights,
		TrafficPlugins:       plugins.Host(plugin.TrafficRouter),
		StepPlugins:          plugins.Host(plugin.Step),

		TargetGroupBindingAPIVersion: opts.TargetGroupBindingAPIVersion,
	}
	if opts.AnalysisOnly() {
		// Argo's --controllers analysis: the AnalysisRun controller alone.
		log.Info("running only the AnalysisRun controller (--controllers analysis): rollouts are not reconciled")
	} else if err := rollouts.SetupWithManager(mgr); err != nil {
		return err
	}
	metricProviders := builtin.Providers(builtin.Options{Jobs: mgr.GetClient(), Live: mgr.GetAPIReader(), Home: opts.PodNamespace,
		MetricPlugins: plugins.Host(plugin.MetricProvider)})
	runs := &analysisrun.Reconciler{
		Client:    mgr.GetClient(),
		Secrets:   mgr.GetAPIReader(),
		Recorder:  recorder,
		Log:       log.With("controller", "analysisrun"),
		Providers: metricProviders,
		Threads:   opts.AnalysisThreads,
	}
	if err := runs.SetupWithManager(mgr); err != nil {
		return err
	}
	experiments := &experiment.Reconciler{
		Client:           mgr.GetClient(),
		APIReader:        mgr.GetAPIReader(),
		Recorder:         recorder,
		Journal:          &events.Journal{Events: eventsCS, Host: identity, Now: time.Now},
		Log:              log.With("controller", "experiment"),
		Threads:          opts.ExperimentThreads,
		Undecodable:      undecodable,
		ClusterTemplates: !opts.Namespaced,
	}
	if !opts.AnalysisOnly() {
		if err := experiments.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	if err := mgr.Add(malformed.New(undecodable, mgr.GetClient(), recorder, log.With("controller", "malformed"))); err != nil {
		return fmt.Errorf("add malformed-object reporter: %w", err)
	}
	if !opts.AnalysisOnly() {
		exposition.MustRegister(&metrics.RolloutCollector{Reader: mgr.GetCache()})
		exposition.MustRegister(&metrics.ExperimentCollector{Reader: mgr.GetCache()})
		metrics.RegisterExperiments(exposition)
	}
	exposition.MustRegister(&metrics.AnalysisCollector{Reader: mgr.GetCache(), ClusterTemplates: !opts.Namespaced})
	metrics.Register(exposition)
	elected := mgr.Elected()
	if err := mgr.Add(ctrlmanager.RunnableFunc(func(ctx context.Context) error {
		<-elected
		log.Info("leading: this instance now reconciles", "identity", identity)
		<-ctx.Done()
		return nil
	})); err != nil {
		return fmt.Errorf("add leadership logger: %w", err)
	}
	if opts.ReleaseStartupPages {
		if err := mgr.Add(ctrlmanager.RunnableFunc(func(ctx context.Context) error {
			if !mgr.GetCache().WaitForCacheSync(ctx) {
				return nil
			}
			r, err := residency.Release()
			switch {
			case err != nil:
				log.Warn("could not give back start-up's program pages; the controller runs on, with more memory resident", "err", err)
			case r.PageoutUnsupported:
				log.Info("program pages only start-up used unmapped; this kernel does not reclaim on request (MADV_PAGEOUT, Linux 5.4), so they stay in the page cache", "mappings", r.Mappings, "residentFileBefore", r.Before, "residentFileAfter", r.After)
			default:
				log.Info("program pages only start-up used given back", "mappings", r.Mappings, "residentFileBefore", r.Before, "residentFileAfter", r.After)
			}
			return nil
		})); err != nil {
			return fmt.Errorf("add start-up page release: %w", err)
		}
	}
	log.Info("starting aviary-controller", "version", version.String(), "identity", identity,
		"namespaced", opts.Namespaced, "namespace", opts.Namespace, "instanceID", opts.InstanceID,
		"leaderElect", opts.LeaderElect, "qps", opts.QPS, "burst", opts.Burst, "metrics", opts.MetricsAddr, "health", opts.HealthAddr)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("controller manager stopped: %w", err)
	}
	log.Info("aviary-controller stopped")
	return nil
}

// notifications starts reading the notification settings and returns the
// notifier that sends what the rollouts' journaled Events owe
// (internal/notify); it sends once added to the manager, while leading.
func notifications(ctx context.Context, opts *manager.Options, cs typedcorev1.CoreV1Interface, c client.Client, recorder record.EventRecorder, log *slog.Logger) (*notify.Notifier, error) {
	notify.EngineLog()
	runs := func(namespace, podHash string) ([]v1alpha1.AnalysisRun, error) {
		var list v1alpha1.AnalysisRunList
		err := c.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{v1alpha1.DefaultRolloutUniqueLabelKey: podHash})
		return list.Items, err
	}
	cfg := notify.NewConfig(cs, opts.NotificationNamespace, opts.SelfServiceNotifications, notify.TemplateVars(runs))
	if err := cfg.Start(ctx); err != nil {
		return nil, err
	}
	log.Info("notification settings read", "namespace", opts.NotificationNamespace, "selfService", opts.SelfServiceNotifications)
	pendingIn := "" // every namespace
	if opts.Namespaced {
		pendingIn = opts.Namespace
	}
	n := notify.New(cfg, cs, c, recorder, pendingIn, log.With("controller", "notifications"))
	cfg.OnChange(n.SettingsChanged)
	return n, nil
}
