package manager

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func parse(t *testing.T, args ...string) Options {
	t.Helper()
	var o Options
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestDefaultsMatchArgoRollouts pins the defaults users rely on when they
// swap Argo Rollouts' controller for ours (reference Appendix A).
func TestDefaultsMatchArgoRollouts(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	o := parse(t)
	checks := []struct {
		name      string
		got, want any
	}{
		{"qps", o.QPS, float64(DefaultQPS)},
		{"burst", o.Burst, DefaultBurst},
		{"rollout-threads", o.RolloutThreads, 10},
		{"analysis-threads", o.AnalysisThreads, 30},
		{"experiment-threads", o.ExperimentThreads, 10},
		{"leader-elect", o.LeaderElect, true},
		{"lease duration", o.LeaderElectionLeaseDuration, 15 * time.Second},
		{"renew deadline", o.LeaderElectionRenewDeadline, 10 * time.Second},
		{"retry period", o.LeaderElectionRetryPeriod, 2 * time.Second},
		{"metrics-addr", o.MetricsAddr, ":8090"},
		{"health-addr", o.HealthAddr, ":8080"},
		{"namespace", o.Namespace, DefaultNamespace},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: default %v, want %v", c.name, c.got, c.want)
		}
	}
	if err := o.Validate(); err != nil {
		t.Errorf("defaults must validate: %v", err)
	}
}

func TestNamespaceDefaultsToPodNamespace(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "rollouts")
	if o := parse(t); o.Namespace != "rollouts" {
		t.Errorf("namespace %q, want the POD_NAMESPACE value", o.Namespace)
	}
}

func TestValidateNamesTheFlag(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--namespaced", "--namespace", ""}, "--namespaced needs --namespace"},
		{[]string{"--instance-id", "not a label!"}, "--instance-id"},
		{[]string{"--qps", "5", "--burst", "-1"}, "--burst must be at least 1 with --qps 5"},
		{[]string{"--rollout-threads", "0"}, "--rollout-threads"},
		{[]string{"--leader-election-renew-deadline", "20s"}, "--leader-election-renew-deadline"},
		{[]string{"--leader-election-retry-period", "10s"}, "--leader-election-retry-period"},
		{[]string{"--ambassador-api-version", "example.com/v1"}, `--ambassador-api-version: "example.com/v1" is not an Ambassador API version`},
		{[]string{"--appmesh-crd-version", "appmesh.k8s.aws/v1beta2"}, `--appmesh-crd-version "appmesh.k8s.aws/v1beta2" is not an API version`},
	}
	for _, c := range cases {
		err := func() error { o := parse(t, c.args...); return o.Validate() }()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
	// Without leader election the lease timings are irrelevant.
	o := parse(t, "--leader-elect=false", "--leader-election-renew-deadline", "20s")
	if err := o.Validate(); err != nil {
		t.Errorf("lease timings must not matter with --leader-elect=false: %v", err)
	}
}

// TestInstanceSelector checks the sharding rule: an instance sees only its
// own objects, and the default instance only unlabelled ones.
func TestInstanceSelector(t *testing.T) {
	own := labels.Set{v1alpha1.LabelControllerInstanceID: "blue"}
	other := labels.Set{v1alpha1.LabelControllerInstanceID: "green"}
	none := labels.Set{"app": "web"}
	cases := []struct {
		id   string
		set  labels.Set
		want bool
	}{
		{"blue", own, true},
		{"blue", other, false},
		{"blue", none, false},
		{"", none, true},
		{"", own, false},
	}
	for _, c := range cases {
		if got := InstanceSelector(c.id).Matches(c.set); got != c.want {
			t.Errorf("instance %q, labels %v: match %v, want %v", c.id, c.set, got, c.want)
		}
	}
}

func TestLeaseNameCarriesInstanceID(t *testing.T) {
	plain, blue := parse(t), parse(t, "--instance-id", "blue")
	if got := plain.leaseName(); got != "aviary-controller-lock" {
		t.Errorf("lease %q", got)
	}
	if got := blue.leaseName(); got != "aviary-controller-lock-blue" {
		t.Errorf("instances must elect separately; lease %q", got)
	}
}

// parseArgo binds the flags and parses args as the controller does.
func parseArgo(t *testing.T, args ...string) (Options, []string) {
	t.Helper()
	var o Options
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.BindFlags(fs)
	if err := o.Parse(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return o, o.Complete()
}

// TestEveryArgoRolloutsFlagParses gives every flag of Argo Rollouts v1.9's
// rollouts-controller (cmd/rollouts-controller/main.go, with client-go's
// kubeconfig override flags) a typical value, the way Argo's manifests and
// Helm chart write it, and checks what it sets, or that it is accepted with
// one warning naming it.
func TestEveryArgoRolloutsFlagParses(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	cases := []struct {
		args  []string
		check func(o Options) any // the effective value
		want  any
		warn  string // a warning mentioning this, or none when empty
	}{
		// Connection: the kubeconfig and kubectl's override flags.
		{[]string{"--kubeconfig", "/etc/kube/config"}, func(o Options) any { return o.Kubeconfig }, "/etc/kube/config", ""},
		{[]string{"--server", "https://10.0.0.1:6443"}, func(o Options) any { return o.KubeOverrides.ClusterInfo.Server }, "https://10.0.0.1:6443", ""},
		{[]string{"--certificate-authority", "/ca.crt"}, func(o Options) any { return o.KubeOverrides.ClusterInfo.CertificateAuthority }, "/ca.crt", ""},
		{[]string{"--insecure-skip-tls-verify"}, func(o Options) any { return o.KubeOverrides.ClusterInfo.InsecureSkipTLSVerify }, true, ""},
		{[]string{"--tls-server-name", "api.local"}, func(o Options) any { return o.KubeOverrides.ClusterInfo.TLSServerName }, "api.local", ""},
		{[]string{"--proxy-url", "http://proxy:3128"}, func(o Options) any { return o.KubeOverrides.ClusterInfo.ProxyURL }, "http://proxy:3128", ""},
		{[]string{"--disable-compression=true"}, func(o Options) any { return o.KubeOverrides.ClusterInfo.DisableCompression }, true, ""},
		{[]string{"--client-certificate", "/tls.crt"}, func(o Options) any { return o.KubeOverrides.AuthInfo.ClientCertificate }, "/tls.crt", ""},
		{[]string{"--client-key", "/tls.key"}, func(o Options) any { return o.KubeOverrides.AuthInfo.ClientKey }, "/tls.key", ""},
		{[]string{"--token", "abc"}, func(o Options) any { return o.KubeOverrides.AuthInfo.Token }, "abc", ""},
		{[]string{"--as", "system:serviceaccount:argo-rollouts:argo-rollouts"}, func(o Options) any { return o.KubeOverrides.AuthInfo.Impersonate }, "system:serviceaccount:argo-rollouts:argo-rollouts", ""},
		{[]string{"--as-uid", "1234"}, func(o Options) any { return o.KubeOverrides.AuthInfo.ImpersonateUID }, "1234", ""},
		{[]string{"--as-group", "a", "--as-group", "b"}, func(o Options) any { return strings.Join(o.KubeOverrides.AuthInfo.ImpersonateGroups, ",") }, "a,b", ""},
		{[]string{"--username", "admin"}, func(o Options) any { return o.KubeOverrides.AuthInfo.Username }, "admin", ""},
		{[]string{"--password", "secret"}, func(o Options) any { return o.KubeOverrides.AuthInfo.Password }, "secret", ""},
		{[]string{"--cluster", "prod"}, func(o Options) any { return o.KubeOverrides.Context.Cluster }, "prod", ""},
		{[]string{"--user", "ops"}, func(o Options) any { return o.KubeOverrides.Context.AuthInfo }, "ops", ""},
		{[]string{"--context", "prod-admin"}, func(o Options) any { return o.KubeOverrides.CurrentContext }, "prod-admin", ""},
		{[]string{"--request-timeout", "30s"}, func(o Options) any { return o.KubeOverrides.Timeout }, "30s", ""},
		{[]string{"--namespace", "argo-rollouts"}, func(o Options) any { return o.Namespace }, "argo-rollouts", ""},
		{[]string{"-n", "argo-rollouts"}, func(o Options) any { return o.Namespace }, "argo-rollouts", ""},
		// Scope, client and workers.
		{[]string{"--namespaced"}, func(o Options) any { return o.Namespaced }, true, ""},
		{[]string{"--instance-id", "blue"}, func(o Options) any { return o.InstanceID }, "blue", ""},
		{[]string{"--qps", "50"}, func(o Options) any { return o.QPS }, 50.0, ""},
		// client-go reads 0 as its defaults, so Argo Rollouts runs with them.
		{[]string{"--qps", "0"}, func(o Options) any { return o.QPS }, 5.0, "--qps 0"},
		{[]string{"--burst", "0"}, func(o Options) any { return o.Burst }, 10, "--burst 0"},
		{[]string{"--burst", "100"}, func(o Options) any { return o.Burst }, 100, ""},
		{[]string{"--rollout-threads", "20"}, func(o Options) any { return o.RolloutThreads }, 20, ""},
		{[]string{"--experiment-threads", "5"}, func(o Options) any { return o.ExperimentThreads }, 5, ""},
		{[]string{"--analysis-threads", "40"}, func(o Options) any { return o.AnalysisThreads }, 40, ""},
		{[]string{"--rollout-resync", "300"}, func(o Options) any { return o.ResyncPeriod() }, 5 * time.Minute, ""},
		{[]string{"--controllers", "analysis"}, func(o Options) any { return o.AnalysisOnly() }, true, ""},
		// Leader election.
		{[]string{"--leader-elect"}, func(o Options) any { return o.LeaderElect }, true, ""},
		{[]string{"--leader-elect=false"}, func(o Options) any { return o.LeaderElect }, false, ""},
		{[]string{"--leader-election-lease-duration", "30s"}, func(o Options) any { return o.LeaderElectionLeaseDuration }, 30 * time.Second, ""},
		{[]string{"--leader-election-renew-deadline", "5s"}, func(o Options) any { return o.LeaderElectionRenewDeadline }, 5 * time.Second, ""},
		{[]string{"--leader-election-retry-period", "1s"}, func(o Options) any { return o.LeaderElectionRetryPeriod }, time.Second, ""},
		// Endpoints and logs.
		{[]string{"--metricsport", "8091"}, func(o Options) any { return o.MetricsAddr }, ":8091", ""},
		{[]string{"--metricsPort=8092"}, func(o Options) any { return o.MetricsAddr }, ":8092", ""},
		{[]string{"--healthzPort=8081"}, func(o Options) any { return o.HealthAddr }, ":8081", ""},
		{[]string{"--enable-pprof-address", ":6060"}, func(o Options) any { return o.PprofAddr }, ":6060", ""},
		{[]string{"--loglevel=debug"}, func(o Options) any { return o.LogLevel }, "debug", ""},
		{[]string{"--loglevel=trace"}, func(o Options) any { return o.LogLevel }, "debug", "--loglevel trace"},
		{[]string{"--loglevel=fatal"}, func(o Options) any { return o.LogLevel }, "error", "--loglevel fatal"},
		{[]string{"--logformat=json"}, func(o Options) any { return o.LogFormat }, "json", ""},
		{[]string{"--logformat=logfmt"}, func(o Options) any { return o.LogFormat }, "text", "--logformat"},
		{[]string{"--kloglevel=4"}, func(o Options) any { return o.KlogLevel }, 4, ""},
		// Routers.
		{[]string{"--istio-api-version", "v1beta1"}, func(o Options) any { return o.IstioAPIVersion }, "v1beta1", ""},
		{[]string{"--traffic-split-api-version", "v1alpha3"}, func(o Options) any { return o.TrafficSplitAPIVersion }, "v1alpha3", ""},
		{[]string{"--ambassador-api-version", "x.getambassador.io/v3alpha1"}, func(o Options) any { return o.AmbassadorAPIVersion }, "x.getambassador.io/v3alpha1", ""},
		{[]string{"--appmesh-crd-version", "v1beta1"}, func(o Options) any { return o.AppMeshCRDVersion }, "v1beta1", ""},
		// Accepted with a warning naming the flag.
		{[]string{"--service-threads", "20"}, nil, nil, "--service-threads=20"},
		{[]string{"--ingress-threads", "20"}, nil, nil, "--ingress-threads=20"},
		{[]string{"--ephemeral-metadata-threads", "20"}, nil, nil, "--ephemeral-metadata-threads=20"},
		{[]string{"--ephemeral-metadata-update-pod-retries", "5"}, nil, nil, "--ephemeral-metadata-update-pod-retries=5"},
		{[]string{"--traefik-api-group", "traefik.containo.us"}, nil, nil, "--traefik-api-group"},
		{[]string{"--traefik-api-version", "v1alpha2"}, nil, nil, "--traefik-api-version"},
		{[]string{"--ingress-api-version", "networking.k8s.io/v1"}, nil, nil, "--ingress-api-version"},
		{[]string{"--alb-ingress-classes", "alb", "--alb-ingress-classes", "alb-internal"}, nil, nil, "--alb-ingress-classes=alb,alb-internal"},
		{[]string{"--nginx-ingress-classes", "nginx-public"}, nil, nil, "--nginx-ingress-classes"},
		{[]string{"--aws-verify-target-group"}, func(o Options) any { return o.VerifyALBWeights }, true, ""},
		{[]string{"--alb-verify-weight"}, func(o Options) any { return o.VerifyALBWeights }, true, ""},
		{[]string{"--aws-target-group-binding-api-version", "eks.amazonaws.com/v1"}, func(o Options) any { return o.TargetGroupBindingAPIVersion }, "eks.amazonaws.com/v1", ""},
		{[]string{"--alb-tag-key-resource-id", "ingress.eks.amazonaws.com"}, func(o Options) any { return o.ALBTagKeyResourceID }, "ingress.eks.amazonaws.com", ""},
		{[]string{"--self-service-notification-enabled"}, func(o Options) any { return o.SelfServiceNotifications }, true, ""},
		{[]string{"--configmap-name", "my-config"}, nil, nil, "--configmap-name"},
	}
	for _, c := range cases {
		o, warnings := parseArgo(t, c.args...)
		if err := o.Validate(); err != nil {
			t.Errorf("%v: %v", c.args, err)
		}
		if c.check != nil {
			if got := c.check(o); got != c.want {
				t.Errorf("%v: got %v, want %v", c.args, got, c.want)
			}
		}
		switch {
		case c.warn == "" && len(warnings) > 0:
			t.Errorf("%v: unexpected warnings %q", c.args, warnings)
		case c.warn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], c.warn)):
			t.Errorf("%v: warnings %q, want one mentioning %q", c.args, warnings, c.warn)
		}
	}
}

// TestArgoOnlyFlagsAtTheirDefaultsAreSilent: Argo's own defaults, and empty
// values, change nothing, so they earn no warning (generated manifests and
// chart templates often spell them).
func TestArgoOnlyFlagsAtTheirDefaultsAreSilent(t *testing.T) {
	_, warnings := parseArgo(t, "--service-threads=10", "--ingress-threads=10", "--aws-verify-target-group=false",
		"--self-service-notification-enabled=false", "--nginx-ingress-classes=nginx", "--aws-target-group-binding-api-version=")
	if len(warnings) > 0 {
		t.Errorf("warnings %q for Argo's defaults", warnings)
	}
}

// TestArgoChartAndManifestArgs parses the exact argument lists of argo-helm's
// argo-rollouts chart (templates/controller/deployment.yaml with its default
// values, in both install modes) and of Argo Rollouts' manifests.
func TestArgoChartAndManifestArgs(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "argo-rollouts")
	// argo-helm, clusterInstall: true, replicas: 2.
	o, warnings := parseArgo(t, "--healthzPort=8080", "--metricsport=8090", "--loglevel=info", "--logformat=text", "--kloglevel=0", "--leader-elect")
	if err := o.Validate(); err != nil || len(warnings) > 0 {
		t.Fatalf("chart args: %v, warnings %q", err, warnings)
	}
	if o.HealthAddr != ":8080" || o.MetricsAddr != ":8090" || !o.LeaderElect || o.Namespaced || o.leaseNamespace() != "argo-rollouts" {
		t.Errorf("chart args: health %s, metrics %s, leader-elect %v, namespaced %v, lease namespace %s",
			o.HealthAddr, o.MetricsAddr, o.LeaderElect, o.Namespaced, o.leaseNamespace())
	}
	// argo-helm, clusterInstall: false.
	o, _ = parseArgo(t, "--healthzPort=8080", "--metricsport=8090", "--loglevel=info", "--logformat=text", "--kloglevel=0", "--namespaced", "--leader-elect")
	if !o.Namespaced || o.Namespace != "argo-rollouts" {
		t.Errorf("namespaced chart args: namespaced %v in %q", o.Namespaced, o.Namespace)
	}
	// manifests/install.yaml passes no args; namespace-install.yaml
	// passes --namespaced.
	o, _ = parseArgo(t)
	if o.MetricsAddr != ":8090" || o.HealthAddr != ":8080" || !o.LeaderElect || o.ResyncPeriod() != 15*time.Minute {
		t.Errorf("install.yaml defaults: %+v", o)
	}
	o, _ = parseArgo(t, "--namespaced")
	if !o.Namespaced || o.Namespace != "argo-rollouts" {
		t.Errorf("namespace-install.yaml: namespaced %v in %q", o.Namespaced, o.Namespace)
	}
}

func TestFlagsAfterAnArgumentStillCount(t *testing.T) {
	o, warnings := parseArgo(t, "--leader-elect", "false", "--instance-id", "blue")
	if o.InstanceID != "blue" {
		t.Errorf("a flag after a stray argument was dropped: instance id %q", o.InstanceID)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"false"`) {
		t.Errorf("warnings %q, want one naming the ignored argument", warnings)
	}
}

func TestLastPortFlagWins(t *testing.T) {
	o, _ := parseArgo(t, "--metrics-addr", "127.0.0.1:9000", "--metricsPort", "9001")
	if o.MetricsAddr != ":9001" {
		t.Errorf("metrics %q", o.MetricsAddr)
	}
	o, _ = parseArgo(t, "--healthzPort", "9002", "--health-addr", "127.0.0.1:9003")
	if o.HealthAddr != "127.0.0.1:9003" {
		t.Errorf("health %q", o.HealthAddr)
	}
	var opts Options
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts.BindFlags(fs)
	if err := opts.Parse([]string{"--metricsPort", "http"}); err == nil {
		t.Error("a port that is not a number must be refused")
	}
}

func TestControllersOtherThanAnalysisAreRefused(t *testing.T) {
	o, _ := parseArgo(t, "--controllers", "rollout")
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--controllers") {
		t.Errorf("error %v, want one naming --controllers", err)
	}
}

func TestNamespaceFromServiceAccount(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	f := filepath.Join(t.TempDir(), "namespace")
	if err := os.WriteFile(f, []byte("argo-rollouts\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := serviceAccountNamespaceFile
	serviceAccountNamespaceFile = f
	defer func() { serviceAccountNamespaceFile = old }()
	if o, _ := parseArgo(t); o.Namespace != "argo-rollouts" {
		t.Errorf("namespace %q, want the ServiceAccount's", o.Namespace)
	}
}

// TestRESTConfigHonoursOverrides: kubectl's connection flags override the
// kubeconfig, as in Argo Rollouts' controller.
func TestRESTConfigHonoursOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://a.example:6443"}
- name: b
  cluster: {server: "https://b.example:6443"}
users:
- name: u
  user: {token: from-file}
contexts:
- name: ctx-a
  context: {cluster: a, user: u}
- name: ctx-b
  context: {cluster: b, user: u}
current-context: ctx-a
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	o, _ := parseArgo(t, "--kubeconfig", path)
	cfg, err := o.RESTConfig()
	if err != nil || cfg.Host != "https://a.example:6443" || cfg.BearerToken != "from-file" {
		t.Fatalf("plain kubeconfig: %v, host %s", err, cfg.Host)
	}
	o, _ = parseArgo(t, "--kubeconfig", path, "--context", "ctx-b", "--token", "tok", "--as", "someone", "--request-timeout", "7s", "--qps", "12")
	cfg, err = o.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://b.example:6443" || cfg.BearerToken != "tok" || cfg.Impersonate.UserName != "someone" || cfg.Timeout != 7*time.Second || o.ClientBudget().QPS() != 12 {
		t.Errorf("overrides not applied: host %s, token %s, as %s, timeout %s, qps %v", cfg.Host, cfg.BearerToken, cfg.Impersonate.UserName, cfg.Timeout, o.ClientBudget().QPS())
	}
	o, _ = parseArgo(t, "--kubeconfig", path, "--server", "https://c.example:6443")
	if cfg, err = o.RESTConfig(); err != nil || cfg.Host != "https://c.example:6443" {
		t.Errorf("--server: %v, host %s", err, cfg.Host)
	}
}
