// Package manager turns the controller's command-line options into a running
// controller-runtime manager: client limits, namespace scoping, instance-id
// sharding, leader election, metrics and health endpoints.
package manager

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Options are the controller's settings. Flag names and defaults follow Argo
// Rollouts' controller so existing Deployments' args keep working.
type Options struct {
	Kubeconfig string
	// Namespaced limits the controller to one namespace (Namespace).
	Namespaced bool
	Namespace  string
	// InstanceID shards rollouts between controllers: only objects labelled
	// with this id are reconciled; without it, only unlabelled ones.
	InstanceID string

	QPS   float64
	Burst int

	RolloutThreads    int
	AnalysisThreads   int
	ExperimentThreads int

	LeaderElect                 bool
	LeaderElectionNamespace     string
	LeaderElectionID            string
	LeaderElectionLeaseDuration time.Duration
	LeaderElectionRenewDeadline time.Duration
	LeaderElectionRetryPeriod   time.Duration

	MetricsAddr string
	HealthAddr  string
	// PprofAddr serves net/http/pprof when set (Argo's --enable-pprof-address).
	PprofAddr string

	LogLevel  string
	LogFormat string

	// IstioAPIVersion and TrafficSplitAPIVersion are the versions of the
	// Istio and SMI APIs the routers use (Argo Rollouts' flags of the same
	// names).
	IstioAPIVersion        string
	TrafficSplitAPIVersion string

	// ShutdownTimeout bounds how long in-flight reconciles may take to finish
	// after SIGTERM.
	ShutdownTimeout time.Duration
}

// DefaultNamespace is where the controller runs and keeps its Lease unless
// told otherwise (the install manifests use it).
const DefaultNamespace = "aviary"

// BindFlags registers every option on fs with its default.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "path to a kubeconfig; in-cluster config when empty (KUBECONFIG is honoured too)")
	fs.BoolVar(&o.Namespaced, "namespaced", false, "only watch and reconcile objects in --namespace")
	fs.StringVar(&o.Namespace, "namespace", podNamespace(), "namespace to watch with --namespaced, and the default for the leader-election Lease")
	fs.StringVar(&o.InstanceID, "instance-id", "", "reconcile only objects labelled argo-rollouts.argoproj.io/controller-instance-id=<id>")
	fs.Float64Var(&o.QPS, "qps", 40, "maximum queries per second to the Kubernetes API server")
	fs.IntVar(&o.Burst, "burst", 80, "maximum burst of queries to the Kubernetes API server")
	fs.IntVar(&o.RolloutThreads, "rollout-threads", 10, "number of rollouts reconciled in parallel")
	fs.IntVar(&o.AnalysisThreads, "analysis-threads", 30, "number of analysis runs reconciled in parallel")
	fs.IntVar(&o.ExperimentThreads, "experiment-threads", 10, "number of experiments reconciled in parallel")
	fs.BoolVar(&o.LeaderElect, "leader-elect", true, "elect a leader through a Lease so only one replica reconciles")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader-election Lease (default: --namespace)")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", "aviary-controller-lock", "name of the leader-election Lease")
	fs.DurationVar(&o.LeaderElectionLeaseDuration, "leader-election-lease-duration", 15*time.Second, "how long followers wait before taking over an unrenewed Lease")
	fs.DurationVar(&o.LeaderElectionRenewDeadline, "leader-election-renew-deadline", 10*time.Second, "how long the leader retries renewing before it gives up leadership")
	fs.DurationVar(&o.LeaderElectionRetryPeriod, "leader-election-retry-period", 2*time.Second, "how often candidates try to acquire or renew the Lease")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":8090", "address serving Prometheus /metrics (\"0\" disables)")
	fs.StringVar(&o.HealthAddr, "health-addr", ":8080", "address serving /healthz and /readyz")
	fs.StringVar(&o.PprofAddr, "enable-pprof-address", "", "address serving Go profiles under /debug/pprof/ (off when empty)")
	fs.StringVar(&o.LogLevel, "loglevel", "info", "log level: debug, info, warn or error")
	fs.StringVar(&o.LogFormat, "logformat", "text", "log format: text or json")
	fs.StringVar(&o.IstioAPIVersion, "istio-api-version", "v1alpha3", "networking.istio.io version for VirtualServices and DestinationRules: v1alpha3, v1beta1 or v1")
	fs.StringVar(&o.TrafficSplitAPIVersion, "traffic-split-api-version", "v1alpha1", "split.smi-spec.io version for TrafficSplits: v1alpha1, v1alpha2 or v1alpha3")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "time in-flight work gets to finish after SIGTERM")
}

// Validate reports the first option that cannot work, naming the flag.
func (o *Options) Validate() error {
	switch {
	case o.Namespaced && o.Namespace == "":
		return fmt.Errorf("--namespaced needs --namespace (or the POD_NAMESPACE environment variable)")
	case len(validation.IsValidLabelValue(o.InstanceID)) > 0:
		return fmt.Errorf("--instance-id %q is not a valid label value: %s", o.InstanceID, strings.Join(validation.IsValidLabelValue(o.InstanceID), "; "))
	case o.QPS <= 0:
		return fmt.Errorf("--qps must be positive, got %v", o.QPS)
	case o.Burst < 1:
		return fmt.Errorf("--burst must be at least 1, got %d", o.Burst)
	case o.RolloutThreads < 1 || o.AnalysisThreads < 1 || o.ExperimentThreads < 1:
		return fmt.Errorf("--rollout-threads, --analysis-threads and --experiment-threads must each be at least 1")
	case o.LeaderElect && o.LeaderElectionRenewDeadline >= o.LeaderElectionLeaseDuration:
		return fmt.Errorf("--leader-election-renew-deadline (%s) must be shorter than --leader-election-lease-duration (%s)",
			o.LeaderElectionRenewDeadline, o.LeaderElectionLeaseDuration)
	case !slices.Contains([]string{"v1alpha3", "v1beta1", "v1"}, o.IstioAPIVersion):
		return fmt.Errorf("--istio-api-version %q is not a networking.istio.io version: use v1alpha3, v1beta1 or v1", o.IstioAPIVersion)
	case !slices.Contains([]string{"v1alpha1", "v1alpha2", "v1alpha3"}, o.TrafficSplitAPIVersion):
		return fmt.Errorf("--traffic-split-api-version %q is not a split.smi-spec.io version: use v1alpha1, v1alpha2 or v1alpha3", o.TrafficSplitAPIVersion)
	case o.LeaderElect && o.LeaderElectionRetryPeriod >= o.LeaderElectionRenewDeadline:
		return fmt.Errorf("--leader-election-retry-period (%s) must be shorter than --leader-election-renew-deadline (%s)",
			o.LeaderElectionRetryPeriod, o.LeaderElectionRenewDeadline)
	}
	return nil
}

// leaseName is the Lease's name: instances with different --instance-id
// each elect their own leader, so the id is appended, as Argo Rollouts does.
func (o *Options) leaseName() string {
	if o.InstanceID != "" {
		return o.LeaderElectionID + "-" + o.InstanceID
	}
	return o.LeaderElectionID
}

// leaseNamespace is where the Lease lives.
func (o *Options) leaseNamespace() string {
	if o.LeaderElectionNamespace != "" {
		return o.LeaderElectionNamespace
	}
	return o.Namespace
}

// podNamespace is the namespace the controller's pod runs in (downward API),
// or the install manifests' namespace when run outside a pod.
func podNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return DefaultNamespace
}
