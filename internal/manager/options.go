// Package manager turns the controller's command-line options into a running
// controller-runtime manager: client limits, namespace scoping, instance-id
// sharding, leader election, metrics and health endpoints.
package manager

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aviary-rollouts/aviary/internal/traffic/ambassador"
)

// Options are the controller's settings. Flag names and defaults follow Argo
// Rollouts' controller so existing Deployments' args keep working.
type Options struct {
	Kubeconfig string
	// KubeOverrides are kubectl's connection flags (--server, --token,
	// --context, --as, …), which Argo Rollouts' controller takes too; they
	// override what the kubeconfig or in-cluster config says.
	KubeOverrides clientcmd.ConfigOverrides
	// Namespaced limits the controller to one namespace (Namespace).
	Namespaced bool
	Namespace  string
	// InstanceID shards rollouts between controllers: only objects labelled
	// with this id are reconciled; without it, only unlabelled ones.
	InstanceID string

	// QPS and Burst are the one client budget every request of the process
	// draws from (internal/clientbudget); QPS < 0 lifts it.
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
	// KlogLevel is client-go's klog verbosity (Argo's --kloglevel).
	KlogLevel int

	// RolloutResyncSeconds is how often the cache re-delivers every object
	// to the controllers even without a change (Argo's --rollout-resync, in
	// seconds; 0 disables it).
	RolloutResyncSeconds int64

	// Controllers limits which controllers run (Argo's --controllers); empty
	// runs them all, "analysis" only the AnalysisRun controller.
	Controllers []string

	// IstioAPIVersion and TrafficSplitAPIVersion are the versions of the
	// Istio and SMI APIs the routers use (Argo Rollouts' flags of the same
	// names).
	IstioAPIVersion        string
	TrafficSplitAPIVersion string
	// AmbassadorAPIVersion is the apiVersion of the Ambassador Mappings
	// the Ambassador router clones (Argo's --ambassador-api-version).
	AmbassadorAPIVersion string
	// AppMeshCRDVersion is the appmesh.k8s.aws version of the VirtualNodes,
	// VirtualRouters and VirtualServices (Argo's --appmesh-crd-version).
	AppMeshCRDVersion string
	// VerifyALBWeights reads the weights back from AWS before an ALB
	// canary's setWeight step completes (Argo's --aws-verify-target-group,
	// or its older name --alb-verify-weight); ALBTagKeyResourceID is the
	// target-group tag naming its Ingress, Service and port.
	VerifyALBWeights    bool
	ALBTagKeyResourceID string
	// TargetGroupBindingAPIVersion is the apiVersion of the AWS Load
	// Balancer Controller's TargetGroupBindings read with
	// VerifyALBWeights (Argo's --aws-target-group-binding-api-version).
	TargetGroupBindingAPIVersion string

	// GCPercent is the garbage collector's target (GOGC) given with
	// --gc-percent; see GC for what applies when it is not given.
	GCPercent int

	// ReleaseStartupPages gives back, once the caches have synced, the
	// program pages only start-up used (internal/residency).
	ReleaseStartupPages bool

	// ShutdownTimeout bounds how long in-flight reconciles may take to finish
	// after SIGTERM.
	ShutdownTimeout time.Duration

	// NotificationNamespace holds the notification settings every rollout
	// uses: the controller's own namespace, as for Argo Rollouts, whatever
	// --namespace says.
	NotificationNamespace string
	// PodNamespace is the controller's own namespace (POD_NAMESPACE, else
	// the ServiceAccount's): metric providers read their default
	// credentials Secrets (datadog, newrelic, influxdb, wavefront-api-tokens)
	// there, as Argo Rollouts does.
	PodNamespace string
	// SelfServiceNotifications also reads the settings in each rollout's
	// namespace (--self-service-notification-enabled).
	SelfServiceNotifications bool

	// flags is the set BindFlags registered on, read by Complete to tell
	// which Argo-only flags were given.
	flags *flag.FlagSet
	// ignored are the command line's arguments that are not flags.
	ignored []string
}

// clientGoDefaultQPS and clientGoDefaultBurst are what client-go uses for a
// rest.Config QPS or Burst of 0 (rest.DefaultQPS, rest.DefaultBurst).
const (
	clientGoDefaultQPS   = 5
	clientGoDefaultBurst = 10
)

// DefaultQPS and DefaultBurst are the client budget at its defaults: what
// Argo Rollouts' controller allows itself at its defaults (--qps 40 --burst
// 80) on its two busiest clients, its Kubernetes and its argoproj.io
// clientset, each with a token bucket of its own. Aviary's one budget covers
// every request, so the same total is the same ceiling; see
// docs/architecture.md "Client budget".
const (
	DefaultQPS   = 80
	DefaultBurst = 160
)

// DefaultNamespace is where the controller runs and keeps its Lease unless
// told otherwise (the install manifests use it).
const DefaultNamespace = "aviary"

// BindFlags registers every option on fs with its default.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "path to a kubeconfig; in-cluster config when empty (KUBECONFIG is honoured too)")
	fs.BoolVar(&o.Namespaced, "namespaced", false, "only watch and reconcile objects in --namespace")
	ns := podNamespace()
	fs.StringVar(&o.Namespace, "namespace", ns, "namespace to watch with --namespaced, and the default for the leader-election Lease")
	fs.StringVar(&o.Namespace, "n", ns, "short for --namespace")
	fs.StringVar(&o.InstanceID, "instance-id", "", "reconcile only objects labelled argo-rollouts.argoproj.io/controller-instance-id=<id>")
	fs.Float64Var(&o.QPS, "qps", DefaultQPS, "maximum requests per second to the Kubernetes API server, all clients of the process together (negative: no client-side limit)")
	fs.IntVar(&o.Burst, "burst", DefaultBurst, "maximum burst of requests to the Kubernetes API server above --qps, all clients together")
	fs.IntVar(&o.RolloutThreads, "rollout-threads", 10, "number of rollouts reconciled in parallel")
	fs.IntVar(&o.AnalysisThreads, "analysis-threads", 30, "number of analysis runs reconciled in parallel")
	fs.IntVar(&o.ExperimentThreads, "experiment-threads", 10, "number of experiments reconciled in parallel")
	fs.BoolVar(&o.LeaderElect, "leader-elect", true, "elect a leader through a Lease so only one replica reconciles")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader-election Lease (default: --namespace)")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", "aviary-controller-lock", "name of the leader-election Lease")
	fs.DurationVar(&o.LeaderElectionLeaseDuration, "leader-election-lease-duration", 15*time.Second, "how long followers wait before taking over an unrenewed Lease")
	fs.DurationVar(&o.LeaderElectionRenewDeadline, "leader-election-renew-deadline", 10*time.Second, "how long the leader retries renewing before it gives up leadership")
	fs.DurationVar(&o.LeaderElectionRetryPeriod, "leader-election-retry-period", 2*time.Second, "how often candidates try to acquire or renew the Lease")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":8090", "address serving Prometheus /metrics (\"0\" or empty disables)")
	fs.StringVar(&o.HealthAddr, "health-addr", ":8080", "address serving /healthz and /readyz")
	// Argo Rollouts' spellings of the two ports; the last of a pair given
	// on the command line wins.
	fs.Var(portFlag{&o.MetricsAddr}, "metricsport", "port serving /metrics on every interface (Argo's flag; same as --metrics-addr :PORT)")
	fs.Var(portFlag{&o.MetricsAddr}, "metricsPort", "same as --metricsport")
	fs.Var(portFlag{&o.HealthAddr}, "healthzPort", "port serving /healthz and /readyz on every interface (Argo's flag; same as --health-addr :PORT)")
	fs.StringVar(&o.PprofAddr, "enable-pprof-address", "", "address serving Go profiles under /debug/pprof/ (off when empty); heap allocations are sampled for the heap profile only when it is set, from start-up on")
	fs.StringVar(&o.LogLevel, "loglevel", "info", "log level: debug, info, warn or error")
	fs.StringVar(&o.LogFormat, "logformat", "text", "log format: text or json")
	fs.IntVar(&o.KlogLevel, "kloglevel", 0, "verbosity of the Kubernetes client library's logs (klog -v)")
	fs.Int64Var(&o.RolloutResyncSeconds, "rollout-resync", 900, "seconds between resyncs of every cached object (0 disables)")
	fs.Var(&listFlag{&o.Controllers}, "controllers", "controllers to run, comma-separated or repeated: only \"analysis\" (the AnalysisRun controller alone) is supported; all when empty")
	fs.StringVar(&o.IstioAPIVersion, "istio-api-version", "v1alpha3", "networking.istio.io version for VirtualServices and DestinationRules: v1alpha3, v1beta1 or v1")
	fs.StringVar(&o.TrafficSplitAPIVersion, "traffic-split-api-version", "v1alpha1", "split.smi-spec.io version for TrafficSplits: v1alpha1, v1alpha2 or v1alpha3")
	fs.StringVar(&o.AmbassadorAPIVersion, "ambassador-api-version", "getambassador.io/v2",
		"apiVersion of Ambassador Mappings: getambassador.io/<version> (Mapping) or x.getambassador.io/<version> (AmbassadorMapping)")
	fs.StringVar(&o.AppMeshCRDVersion, "appmesh-crd-version", "v1beta2", "appmesh.k8s.aws version of App Mesh VirtualNodes, VirtualRouters and VirtualServices")
	fs.BoolVar(&o.VerifyALBWeights, "aws-verify-target-group", false, "before an ALB canary's setWeight step completes, read the listener rule's target-group weights from the ELBv2 API and wait until they are the step's (docs/traffic.md)")
	fs.BoolVar(&o.VerifyALBWeights, "alb-verify-weight", false, "deprecated name of --aws-verify-target-group")
	fs.StringVar(&o.TargetGroupBindingAPIVersion, "aws-target-group-binding-api-version", "elbv2.k8s.aws/v1beta1", "apiVersion of the TargetGroupBindings whose targets --aws-verify-target-group checks")
	fs.StringVar(&o.ALBTagKeyResourceID, "alb-tag-key-resource-id", "ingress.k8s.aws/resource", "target-group tag the AWS Load Balancer Controller sets to namespace/ingress-service:port")
	fs.IntVar(&o.GCPercent, gcPercentFlag, DefaultGCPercent, "garbage collector target, as GOGC: the heap may grow this many percent over what was live at the last collection before the next; lower keeps less memory resident for more CPU. Not given: GOGC from the environment when set")
	fs.BoolVar(&o.ReleaseStartupPages, "release-startup-pages", true, "give back the program's pages only package initialisation and start-up used (after initialisation and again once the caches have synced), and read program pages one at a time as they are used (Linux; lowers resident memory)")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "time in-flight work gets to finish after SIGTERM")
	o.NotificationNamespace = ns
	o.PodNamespace = ns
	fs.BoolVar(&o.SelfServiceNotifications, "self-service-notification-enabled", false, "also read the notification ConfigMap and Secret in each rollout's own namespace (docs/notifications.md)")
	bindKubeOverrides(fs, &o.KubeOverrides)
	for _, f := range argoOnlyFlags {
		switch {
		case f.isBool:
			fs.Bool(f.name, f.def == "true", f.usage+" (accepted for Argo Rollouts compatibility; no effect)")
		case f.list:
			fs.Var(&listFlag{new([]string)}, f.name, f.usage+" (accepted for Argo Rollouts compatibility; no effect)")
		default:
			fs.String(f.name, f.def, f.usage+" (accepted for Argo Rollouts compatibility; no effect)")
		}
	}
	o.flags = fs
}

// bindKubeOverrides registers kubectl's connection flags, under the names
// client-go gives them, as Argo Rollouts' controller does (its --namespace is
// Aviary's own, above).
func bindKubeOverrides(fs *flag.FlagSet, ov *clientcmd.ConfigOverrides) {
	f := clientcmd.RecommendedConfigOverrideFlags("")
	str := func(info clientcmd.FlagInfo, p *string) {
		fs.StringVar(p, info.LongName, info.Default, info.Description)
	}
	boolean := func(info clientcmd.FlagInfo, p *bool) {
		fs.BoolVar(p, info.LongName, info.Default == "true", info.Description)
	}
	str(f.AuthOverrideFlags.ClientCertificate, &ov.AuthInfo.ClientCertificate)
	str(f.AuthOverrideFlags.ClientKey, &ov.AuthInfo.ClientKey)
	str(f.AuthOverrideFlags.Token, &ov.AuthInfo.Token)
	str(f.AuthOverrideFlags.Impersonate, &ov.AuthInfo.Impersonate)
	str(f.AuthOverrideFlags.ImpersonateUID, &ov.AuthInfo.ImpersonateUID)
	fs.Var(&listFlag{&ov.AuthInfo.ImpersonateGroups}, f.AuthOverrideFlags.ImpersonateGroups.LongName, f.AuthOverrideFlags.ImpersonateGroups.Description)
	str(f.AuthOverrideFlags.Username, &ov.AuthInfo.Username)
	str(f.AuthOverrideFlags.Password, &ov.AuthInfo.Password)
	str(f.ClusterOverrideFlags.APIServer, &ov.ClusterInfo.Server)
	str(f.ClusterOverrideFlags.CertificateAuthority, &ov.ClusterInfo.CertificateAuthority)
	boolean(f.ClusterOverrideFlags.InsecureSkipTLSVerify, &ov.ClusterInfo.InsecureSkipTLSVerify)
	str(f.ClusterOverrideFlags.TLSServerName, &ov.ClusterInfo.TLSServerName)
	str(f.ClusterOverrideFlags.ProxyURL, &ov.ClusterInfo.ProxyURL)
	boolean(f.ClusterOverrideFlags.DisableCompression, &ov.ClusterInfo.DisableCompression)
	str(f.ContextOverrideFlags.ClusterName, &ov.Context.Cluster)
	str(f.ContextOverrideFlags.AuthInfoName, &ov.Context.AuthInfo)
	str(f.CurrentContext, &ov.CurrentContext)
	str(f.Timeout, &ov.Timeout)
}

// argoFlag is a flag of Argo Rollouts' controller that Aviary accepts but
// has no use for; instead says what Aviary does in its place.
type argoFlag struct {
	name, def, usage string
	isBool, list     bool
	instead          string
}

// argoOnlyFlags are Argo Rollouts v1.9's controller flags with no effect in
// Aviary. Given a value that is neither Argo's default nor empty, each gets
// one startup warning.
var argoOnlyFlags = []argoFlag{
	{name: "service-threads", def: "10", usage: "workers of Argo's Service controller",
		instead: "Aviary has no separate Service controller: a rollout's Services are updated in the rollout's own reconcile, within --rollout-threads"},
	{name: "ingress-threads", def: "10", usage: "workers of Argo's Ingress controller",
		instead: "Aviary has no separate Ingress controller: a rollout's Ingresses are updated in the rollout's own reconcile, within --rollout-threads"},
	{name: "ephemeral-metadata-threads", def: "10", usage: "workers updating pods' ephemeral metadata",
		instead: "pods' ephemeral labels and annotations are updated in the rollout's own reconcile, within --rollout-threads"},
	{name: "ephemeral-metadata-update-pod-retries", def: "3", usage: "retries of a pod's ephemeral metadata update",
		instead: "a failed pod metadata update is retried by the rollout's next reconcile, with backoff"},
	{name: "traefik-api-group", def: "traefik.io", usage: "TraefikService API group",
		instead: "the Traefik router finds the TraefikService under traefik.io, then traefik.containo.us, by itself"},
	{name: "traefik-api-version", def: "v1alpha1", usage: "TraefikService API version",
		instead: "the Traefik router uses v1alpha1 of traefik.io or traefik.containo.us, whichever is served"},
	{name: "ingress-api-version", def: "", usage: "Ingress apiVersion",
		instead: "Aviary always uses networking.k8s.io/v1 Ingresses"},
	{name: "alb-ingress-classes", def: "alb", list: true, usage: "ingress classes of the AWS Load Balancer Controller",
		instead: "the ALB router annotates the Ingresses a rollout names in trafficRouting.alb whatever their class"},
	{name: "nginx-ingress-classes", def: "nginx", list: true, usage: "ingress classes of ingress-nginx",
		instead: "Aviary manages the Ingresses a rollout names in trafficRouting.nginx whatever their class"},
	{name: "configmap-name", def: "argo-rollouts-config", usage: "name of the controller's ConfigMap",
		instead: "Aviary reads its plugins from the ConfigMap argo-rollouts-config in its own namespace, whatever this flag says (docs/plugins.md)"},
}

// portFlag sets an address to ":PORT", for Argo's --metricsport and
// --healthzPort.
type portFlag struct{ addr *string }

func (p portFlag) String() string {
	if p.addr == nil {
		return ""
	}
	_, port, _ := strings.Cut(*p.addr, ":")
	return port
}

func (p portFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q is not a port number", s)
	}
	*p.addr = ":" + strconv.Itoa(n)
	return nil
}

// listFlag is a list flag given repeatedly or comma-separated, as pflag's
// string-slice flags are.
type listFlag struct{ list *[]string }

func (l *listFlag) String() string {
	if l.list == nil {
		return ""
	}
	return strings.Join(*l.list, ",")
}

func (l *listFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l.list = append(*l.list, v)
		}
	}
	return nil
}

// Parse parses args on the set BindFlags registered on. Flags may follow
// other arguments, as with Argo Rollouts' controller (whose flag library
// reads the whole line; Go's stops at the first argument that is not a
// flag): those arguments are ignored, as Argo ignores them, and Complete
// warns of each.
func (o *Options) Parse(args []string) error {
	if o.flags == nil {
		return fmt.Errorf("options: Parse before BindFlags")
	}
	for {
		if err := o.flags.Parse(args); err != nil {
			return err
		}
		if o.flags.NArg() == 0 {
			return nil
		}
		o.ignored = append(o.ignored, o.flags.Arg(0))
		args = o.flags.Args()[1:]
	}
}

// Complete settles values Argo Rollouts accepts but Aviary spells
// differently, and returns one startup warning for each flag that was given
// but has no effect, or whose value was replaced, naming the flag and what
// Aviary does instead. Call it after parsing, before Validate.
func (o *Options) Complete() []string {
	var warnings []string
	// Argo's logger (logrus) also knows trace, fatal and panic.
	switch strings.ToLower(o.LogLevel) {
	case "trace":
		warnings = append(warnings, "--loglevel trace: Aviary's finest level is debug, used instead")
		o.LogLevel = "debug"
	case "fatal", "panic":
		warnings = append(warnings, fmt.Sprintf("--loglevel %s: Aviary logs errors at level error, used instead", o.LogLevel))
		o.LogLevel = "error"
	}
	// Argo falls back to text for a format it does not know.
	if f := strings.ToLower(o.LogFormat); f != "" && f != "text" && f != "json" {
		warnings = append(warnings, fmt.Sprintf("--logformat %q is neither text nor json: logging as text", o.LogFormat))
		o.LogFormat = "text"
	}
	// Argo Rollouts hands --qps/--burst to client-go, which reads 0 as its
	// own defaults (5 and 10); do the same rather than refuse a flag Argo
	// accepts.
	if o.QPS == 0 {
		warnings = append(warnings, fmt.Sprintf("--qps 0: client-go's default of %v requests per second is used, as in Argo Rollouts", clientGoDefaultQPS))
		o.QPS = clientGoDefaultQPS
	}
	if o.Burst == 0 {
		warnings = append(warnings, fmt.Sprintf("--burst 0: client-go's default burst of %d is used, as in Argo Rollouts", clientGoDefaultBurst))
		o.Burst = clientGoDefaultBurst
	}
	for _, a := range o.ignored {
		warnings = append(warnings, fmt.Sprintf("argument %q is not a flag and is ignored, as Argo Rollouts ignores it (a boolean flag takes a value only as --flag=false)", a))
	}
	if o.flags == nil {
		return warnings
	}
	given := map[string]string{}
	o.flags.Visit(func(f *flag.Flag) { given[f.Name] = f.Value.String() })
	for _, f := range argoOnlyFlags {
		// An empty value is how templates write "unset".
		v, ok := given[f.name]
		if !ok || v == f.def || v == "" {
			continue
		}
		warnings = append(warnings, fmt.Sprintf("--%s=%s is accepted for Argo Rollouts compatibility but has no effect: %s", f.name, v, f.instead))
	}
	return warnings
}

// AnalysisOnly reports whether --controllers asks for the AnalysisRun
// controller alone.
func (o *Options) AnalysisOnly() bool {
	return len(o.Controllers) > 0 && !slices.ContainsFunc(o.Controllers, func(c string) bool { return c != "analysis" })
}

// ResyncPeriod is --rollout-resync as a duration.
func (o *Options) ResyncPeriod() time.Duration {
	return time.Duration(o.RolloutResyncSeconds) * time.Second
}

// Validate reports the first option that cannot work, naming the flag.
func (o *Options) Validate() error {
	switch {
	case o.Namespaced && o.Namespace == "":
		return fmt.Errorf("--namespaced needs --namespace (or the POD_NAMESPACE environment variable)")
	case len(validation.IsValidLabelValue(o.InstanceID)) > 0:
		return fmt.Errorf("--instance-id %q is not a valid label value: %s", o.InstanceID, strings.Join(validation.IsValidLabelValue(o.InstanceID), "; "))
	case o.QPS > 0 && o.Burst < 1:
		return fmt.Errorf("--burst must be at least 1 with --qps %v, got %d", o.QPS, o.Burst)
	case o.RolloutThreads < 1 || o.AnalysisThreads < 1 || o.ExperimentThreads < 1:
		return fmt.Errorf("--rollout-threads, --analysis-threads and --experiment-threads must each be at least 1")
	case o.LeaderElect && o.LeaderElectionRenewDeadline >= o.LeaderElectionLeaseDuration:
		return fmt.Errorf("--leader-election-renew-deadline (%s) must be shorter than --leader-election-lease-duration (%s)",
			o.LeaderElectionRenewDeadline, o.LeaderElectionLeaseDuration)
	case !slices.Contains([]string{"v1alpha3", "v1beta1", "v1"}, o.IstioAPIVersion):
		return fmt.Errorf("--istio-api-version %q is not a networking.istio.io version: use v1alpha3, v1beta1 or v1", o.IstioAPIVersion)
	case !slices.Contains([]string{"v1alpha1", "v1alpha2", "v1alpha3"}, o.TrafficSplitAPIVersion):
		return fmt.Errorf("--traffic-split-api-version %q is not a split.smi-spec.io version: use v1alpha1, v1alpha2 or v1alpha3", o.TrafficSplitAPIVersion)
	case len(validation.IsDNS1035Label(o.AppMeshCRDVersion)) > 0:
		return fmt.Errorf("--appmesh-crd-version %q is not an API version: use v1beta2 (App Mesh's current one)", o.AppMeshCRDVersion)
	case ambassadorVersionErr(o.AmbassadorAPIVersion) != nil:
		return fmt.Errorf("--ambassador-api-version: %w", ambassadorVersionErr(o.AmbassadorAPIVersion))
	case o.RolloutResyncSeconds < 0:
		return fmt.Errorf("--rollout-resync must be 0 (off) or a number of seconds, got %d", o.RolloutResyncSeconds)
	case o.GCPercent < 1:
		return fmt.Errorf("--gc-percent must be at least 1, got %d (to turn the collector off, set GOGC=off in the environment instead, with GOMEMLIMIT)", o.GCPercent)
	case o.KlogLevel < 0:
		return fmt.Errorf("--kloglevel must be 0 or more, got %d", o.KlogLevel)
	case slices.ContainsFunc(o.Controllers, func(c string) bool { return c != "analysis" }):
		return fmt.Errorf("--controllers %s: only \"analysis\" (the AnalysisRun controller alone) is supported, as in Argo Rollouts; leave it out to run every controller",
			strings.Join(o.Controllers, ","))
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

// serviceAccountNamespaceFile holds the namespace of the pod's
// ServiceAccount, mounted in every pod that has a token.
var serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// podNamespace is the namespace the controller's pod runs in (the downward
// API's POD_NAMESPACE, else the ServiceAccount's namespace, as Argo Rollouts
// reads it: its manifests set no POD_NAMESPACE), or the install manifests'
// namespace when run outside a pod.
func podNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespaceFile); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return DefaultNamespace
}

// ambassadorVersionErr says why an --ambassador-api-version names no
// Mapping kind.
func ambassadorVersionErr(v string) error {
	_, err := ambassador.GVK(v)
	return err
}
