package main

import (
	"flag"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aviary-rollouts/aviary/internal/cli"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

var chartDir = filepath.Join(root, "charts", "aviary")

// The value sets the chart is rendered and linted with, besides the
// defaults.
var chartValueSets = map[string]string{
	"namespaced": `
clusterInstall: false
createClusterAggregateRoles: false
installCRDs: false
dashboard:
  enabled: true
`,
	"ha": `
controller:
  replicas: 3
  pdb:
    enabled: true
`,
	"dashboard": `
dashboard:
  enabled: true
  rootPath: /argo
  allowedHosts: [rollouts.example.com, "*.rollouts.example.com"]
  service:
    port: 8080
`,
	"notifications": `
controller:
  selfServiceNotification: true
notifications:
  secret:
    create: true
    items: {slack-token: xoxb-test}
    annotations: {team: platform}
  notifiers:
    service.slack: |
      token: $slack-token
  templates:
    template.my-template: |
      message: Rollout {{.rollout.metadata.name}} is purple
  triggers:
    trigger.on-purple: |
      - send: [my-template]
        when: rollout.spec.replicas == 2
  subscriptions:
  - recipients: [slack:deploys]
    triggers: [on-purple]
`,
	"extraArgs": `
controller:
  extraArgs: [--instance-id=team-a, --rollout-threads=20]
  extraEnv:
  - name: ARGO_ROLLOUTS_PROMETHEUS_ADDRESS
    value: http://prometheus.monitoring:9090
  resources:
    requests: {cpu: 250m, memory: 256Mi}
  nodeSelector: {kubernetes.io/os: linux}
  tolerations:
  - {key: dedicated, operator: Equal, value: controllers, effect: NoSchedule}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - {key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}
  metrics:
    serviceMonitor:
      enabled: true
      additionalLabels: {release: prometheus}
imagePullSecrets: [{name: registry}]
keepCRDs: false
crdAnnotations: {team: platform}
`,
}

func chartValues(t *testing.T, doc string) map[string]any {
	t.Helper()
	vals, err := chartutil.ReadValues([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

// renderChart renders the chart as `helm template aviary -n namespace`
// would and returns its objects.
func renderChart(t *testing.T, values string, namespace string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(chrt, chartValues(t, values),
		chartutil.ReleaseOptions{Name: "aviary", Namespace: namespace, Revision: 1, IsInstall: true}, chartutil.DefaultCapabilities.Copy())
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(chrt, rv)
	if err != nil {
		return nil, err
	}
	names := slices.Sorted(maps.Keys(files))
	var objs []*unstructured.Unstructured
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			continue
		}
		objs = append(objs, objects(t, []byte(files[n]))...)
	}
	return objs, nil
}

func mustRenderChart(t *testing.T, values string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := renderChart(t, values, "aviary")
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return objs
}

func kindsOf(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	sort.Strings(out)
	return out
}

func has(objs []*unstructured.Unstructured, kind, name string) bool {
	return slices.Contains(kindsOf(objs), kind+"/"+name)
}

func sameRules(t *testing.T, what string, got, want []rbacv1.PolicyRule) {
	t.Helper()
	g, w := flat(got), flat(want)
	if !reflect.DeepEqual(g, w) {
		var missing, extra []string
		for k := range w {
			if !g[k] {
				missing = append(missing, k)
			}
		}
		for k := range g {
			if !w[k] {
				extra = append(extra, k)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		t.Errorf("%s: lacks %v, grants beyond the kustomize install %v", what, missing, extra)
	}
}

func parseControllerArgs(t *testing.T, args []string, podNamespace string) manager.Options {
	t.Helper()
	t.Setenv("POD_NAMESPACE", podNamespace)
	var opts manager.Options
	fs := flag.NewFlagSet("aviary-controller", flag.ContinueOnError)
	opts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("the controller refuses args %v: %v", args, err)
	}
	if err := opts.Validate(); err != nil {
		t.Fatalf("args %v: %v", args, err)
	}
	return opts
}

// TestChartDefaults: the default rendering is the cluster install —
// CRDs kept on uninstall, the same RBAC as dist/install.yaml, a hardened
// controller, its metrics Service and the aggregated roles — and nothing
// optional.
func TestChartDefaults(t *testing.T) {
	objs := mustRenderChart(t, "")
	dist := objects(t, render(t, Config{}).Dist["install.yaml"])

	for _, obj := range objs {
		if obj.GetKind() == "Namespace" {
			t.Errorf("the chart must not create namespaces (helm install --create-namespace does)")
		}
	}
	for _, o := range dist {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		var want, got apiextensionsv1.CustomResourceDefinition
		find(t, dist, "CustomResourceDefinition", o.GetName(), &want)
		find(t, objs, "CustomResourceDefinition", o.GetName(), &got)
		if !reflect.DeepEqual(got.Spec, want.Spec) {
			t.Errorf("CRD %s: the chart's spec differs from config/crd's (run `make manifests`)", o.GetName())
		}
		if got.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s: annotations %v, want helm.sh/resource-policy: keep (keepCRDs)", o.GetName(), got.Annotations)
		}
		for k, v := range want.Annotations {
			if got.Annotations[k] != v {
				t.Errorf("CRD %s lost annotation %s=%s", o.GetName(), k, v)
			}
		}
	}

	var cr, wantCR rbacv1.ClusterRole
	find(t, objs, "ClusterRole", "aviary-controller", &cr)
	find(t, dist, "ClusterRole", "aviary-controller", &wantCR)
	sameRules(t, "ClusterRole aviary-controller", cr.Rules, wantCR.Rules)
	var lease, wantLease rbacv1.Role
	find(t, objs, "Role", "aviary-controller-leader-election", &lease)
	find(t, dist, "Role", "aviary-controller-leader-election", &wantLease)
	sameRules(t, "the leader-election Role", lease.Rules, wantLease.Rules)
	var crb rbacv1.ClusterRoleBinding
	find(t, objs, "ClusterRoleBinding", "aviary-controller", &crb)
	if crb.RoleRef.Name != "aviary-controller" || len(crb.Subjects) != 1 || crb.Subjects[0].Namespace != "aviary" || crb.Subjects[0].Name != "aviary-controller" {
		t.Errorf("ClusterRoleBinding %+v %+v", crb.RoleRef, crb.Subjects)
	}
	for _, role := range []string{"admin", "edit", "view"} {
		var got, want rbacv1.ClusterRole
		find(t, objs, "ClusterRole", "aviary-aggregate-to-"+role, &got)
		find(t, dist, "ClusterRole", "aviary-aggregate-to-"+role, &want)
		sameRules(t, got.Name, got.Rules, want.Rules)
		if got.Labels["rbac.authorization.k8s.io/aggregate-to-"+role] != "true" {
			t.Errorf("%s labels %v", got.Name, got.Labels)
		}
	}

	var d appsv1.Deployment
	find(t, objs, "Deployment", "aviary-controller", &d)
	pod := d.Spec.Template.Spec
	ctr := pod.Containers[0]
	if ctr.Image != DefaultImage {
		t.Errorf("image %s, want %s", ctr.Image, DefaultImage)
	}
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("replicas %d strategy %s, want 1 Recreate", *d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	if opts := parseControllerArgs(t, ctr.Args, "aviary"); opts.Namespaced || opts.MetricsAddr != ":8090" || opts.HealthAddr != ":8080" {
		t.Errorf("args %v: namespaced=%v metrics %s health %s", ctr.Args, opts.Namespaced, opts.MetricsAddr, opts.HealthAddr)
	}
	if !hasPodNamespace(ctr) {
		t.Error("the controller lacks POD_NAMESPACE")
	}
	switch {
	case pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot:
		t.Error("pod must run as non-root")
	case ctr.SecurityContext == nil || ctr.SecurityContext.ReadOnlyRootFilesystem == nil || !*ctr.SecurityContext.ReadOnlyRootFilesystem:
		t.Error("container must have a read-only root filesystem")
	case ctr.SecurityContext.AllowPrivilegeEscalation == nil || *ctr.SecurityContext.AllowPrivilegeEscalation:
		t.Error("container must not allow privilege escalation")
	case ctr.Resources.Requests.Cpu().IsZero() || ctr.Resources.Requests.Memory().IsZero():
		t.Error("container must request CPU and memory")
	case ctr.LivenessProbe == nil || ctr.LivenessProbe.HTTPGet.Path != "/healthz" || ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet.Path != "/readyz":
		t.Error("probes must hit /healthz and /readyz")
	}
	if pod.ServiceAccountName != "aviary-controller" || !has(objs, "ServiceAccount", "aviary-controller") {
		t.Errorf("the pod runs as %q", pod.ServiceAccountName)
	}

	var svc corev1.Service
	find(t, objs, "Service", "aviary-metrics", &svc)
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the metrics Service selects %s=%s, which the controller's pods lack", k, v)
		}
	}
	if svc.Spec.Ports[0].Port != 8090 || svc.Spec.Ports[0].TargetPort.String() != "metrics" {
		t.Errorf("metrics Service ports %+v", svc.Spec.Ports)
	}
	for _, kind := range []string{"PodDisruptionBudget", "ServiceMonitor"} {
		for _, o := range objs {
			if o.GetKind() == kind {
				t.Errorf("%s %s rendered by default", kind, o.GetName())
			}
		}
	}
	if has(objs, "Deployment", "aviary-dashboard") {
		t.Error("the dashboard is off by default")
	}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && ns != "aviary" {
			t.Errorf("%s %s in namespace %s, want the release's", o.GetKind(), o.GetName(), ns)
		}
	}
}

// TestChartNamespaced: clusterInstall false grants nothing cluster-wide:
// the Role is namespace-install's, the controller runs --namespaced with
// its namespace from the pod.
func TestChartNamespaced(t *testing.T) {
	objs, err := renderChart(t, chartValueSets["namespaced"], "team-a")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetNamespace() != "team-a" {
			t.Errorf("%s %s: namespace %q, want team-a (cluster-scoped objects are off in this mode)", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	var role, want rbacv1.Role
	find(t, objs, "Role", "aviary-controller", &role)
	find(t, objects(t, render(t, Config{}).Dist["namespace-install.yaml"]), "Role", "aviary-controller", &want)
	sameRules(t, "Role aviary-controller", role.Rules, want.Rules)
	var rb rbacv1.RoleBinding
	find(t, objs, "RoleBinding", "aviary-controller", &rb)
	if rb.RoleRef.Kind != "Role" || rb.Subjects[0].Namespace != "team-a" {
		t.Errorf("RoleBinding %+v %+v", rb.RoleRef, rb.Subjects)
	}
	var d appsv1.Deployment
	find(t, objs, "Deployment", "aviary-controller", &d)
	if opts := parseControllerArgs(t, d.Spec.Template.Spec.Containers[0].Args, "team-a"); !opts.Namespaced || opts.Namespace != "team-a" {
		t.Errorf("args %v: namespaced=%v namespace=%q", d.Spec.Template.Spec.Containers[0].Args, opts.Namespaced, opts.Namespace)
	}
	// The dashboard follows: a Role in the namespace.
	if !has(objs, "Role", "aviary-dashboard") || !has(objs, "RoleBinding", "aviary-dashboard") {
		t.Errorf("the namespaced dashboard needs a Role and RoleBinding: %v", kindsOf(objs))
	}
}

// TestChartHA: more replicas roll one at a time behind a
// PodDisruptionBudget selecting the controller's pods.
func TestChartHA(t *testing.T) {
	objs := mustRenderChart(t, chartValueSets["ha"])
	var d appsv1.Deployment
	find(t, objs, "Deployment", "aviary-controller", &d)
	if *d.Spec.Replicas != 3 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("replicas %d strategy %s", *d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	var pdb policyv1.PodDisruptionBudget
	find(t, objs, "PodDisruptionBudget", "aviary-controller", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PDB spec %+v, want minAvailable 1", pdb.Spec)
	}
	for k, v := range pdb.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the PDB selects %s=%s, which the controller's pods lack", k, v)
		}
	}
	objs = mustRenderChart(t, chartValueSets["ha"]+"    maxUnavailable: 1\n")
	find(t, objs, "PodDisruptionBudget", "aviary-controller", &pdb)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB spec %+v, want maxUnavailable 1 only", pdb.Spec)
	}
	if _, err := renderChart(t, chartValueSets["ha"]+"    maxUnavailable: 1\n    minAvailable: 1\n", "aviary"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("minAvailable and maxUnavailable together: %v, want a refusal", err)
	}
}

// TestChartDashboard: the dashboard's args are ones the plugin accepts,
// bind beyond loopback explicitly, and its rules are dashboard-install's.
func TestChartDashboard(t *testing.T) {
	objs := mustRenderChart(t, chartValueSets["dashboard"])
	dist := objects(t, render(t, Config{}).Dist["dashboard-install.yaml"])
	var d appsv1.Deployment
	find(t, objs, "Deployment", "aviary-dashboard", &d)
	ctr := d.Spec.Template.Spec.Containers[0]
	if ctr.Image != DefaultDashboardImage {
		t.Errorf("image %s, want %s", ctr.Image, DefaultDashboardImage)
	}
	cmd, rest, err := cli.NewRootCommand(genericiooptions.NewTestIOStreamsDiscard()).Find(ctr.Args)
	if err != nil || cmd.Name() != "dashboard" {
		t.Fatalf("args %v do not name the dashboard command: %v", ctr.Args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("the dashboard refuses args %v: %v", ctr.Args, err)
	}
	address, _ := cmd.Flags().GetString("address")
	port, _ := cmd.Flags().GetInt("port")
	rootPath, _ := cmd.Flags().GetString("root-path")
	hosts, _ := cmd.Flags().GetStringSlice("allowed-hosts")
	if address != "0.0.0.0" || rootPath != "argo" || int32(port) != ctr.Ports[0].ContainerPort ||
		!slices.Equal(hosts, []string{"rollouts.example.com", "*.rollouts.example.com"}) {
		t.Errorf("args %v: address %s port %d root path %s allowed hosts %v; container port %d", ctr.Args, address, port, rootPath, hosts, ctr.Ports[0].ContainerPort)
	}
	var svc corev1.Service
	find(t, objs, "Service", "aviary-dashboard", &svc)
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].TargetPort.String() != "dashboard" {
		t.Errorf("dashboard Service %+v", svc.Spec)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the dashboard Service selects %s=%s, which its pods lack", k, v)
		}
	}
	var cr, want rbacv1.ClusterRole
	find(t, objs, "ClusterRole", "aviary-dashboard", &cr)
	find(t, dist, "ClusterRole", "aviary-dashboard", &want)
	sameRules(t, "the dashboard's ClusterRole", cr.Rules, want.Rules)
	var crb rbacv1.ClusterRoleBinding
	find(t, objs, "ClusterRoleBinding", "aviary-dashboard", &crb)
	if crb.Subjects[0].Name != d.Spec.Template.Spec.ServiceAccountName || crb.Subjects[0].Namespace != "aviary" {
		t.Errorf("binding subjects %+v, pod ServiceAccount %s", crb.Subjects, d.Spec.Template.Spec.ServiceAccountName)
	}

	objs = mustRenderChart(t, chartValueSets["dashboard"]+"  readonly: true\n")
	find(t, objs, "ClusterRole", "aviary-dashboard", &cr)
	for k := range flat(cr.Rules) {
		if _, verb, _ := strings.Cut(k, ":"); !slices.Contains([]string{"get", "list", "watch"}, verb) {
			t.Errorf("readonly dashboard may %s", k)
		}
	}
}

// TestChartExtraArgs: extraArgs, extraEnv, resources, scheduling, pull
// secrets, the ServiceMonitor and the CRD options reach their objects.
func TestChartExtraArgs(t *testing.T) {
	objs := mustRenderChart(t, chartValueSets["extraArgs"])
	var d appsv1.Deployment
	find(t, objs, "Deployment", "aviary-controller", &d)
	pod := d.Spec.Template.Spec
	ctr := pod.Containers[0]
	opts := parseControllerArgs(t, ctr.Args, "aviary")
	if opts.InstanceID != "team-a" || opts.RolloutThreads != 20 {
		t.Errorf("args %v: instance id %q, rollout threads %d", ctr.Args, opts.InstanceID, opts.RolloutThreads)
	}
	if !slices.ContainsFunc(ctr.Env, func(e corev1.EnvVar) bool { return e.Name == "ARGO_ROLLOUTS_PROMETHEUS_ADDRESS" }) || !hasPodNamespace(ctr) {
		t.Errorf("env %+v", ctr.Env)
	}
	// Helm merges maps with the defaults: the default limit stays.
	if ctr.Resources.Requests.Cpu().String() != "250m" || ctr.Resources.Requests.Memory().String() != "256Mi" {
		t.Errorf("resources %+v, want the given requests", ctr.Resources)
	}
	if pod.NodeSelector["kubernetes.io/os"] != "linux" || len(pod.Tolerations) != 1 || pod.Affinity == nil || pod.Affinity.NodeAffinity == nil {
		t.Errorf("scheduling: nodeSelector %v tolerations %v affinity %v", pod.NodeSelector, pod.Tolerations, pod.Affinity)
	}
	if len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "registry" {
		t.Errorf("imagePullSecrets %v", pod.ImagePullSecrets)
	}
	var sm unstructured.Unstructured
	find(t, objs, "ServiceMonitor", "aviary-metrics", &sm.Object)
	if sm.GetLabels()["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v", sm.GetLabels())
	}
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(endpoints) != 1 || endpoints[0].(map[string]any)["port"] != "metrics" {
		t.Errorf("ServiceMonitor endpoints %v", endpoints)
	}
	// The job Argo Rollouts' Grafana dashboard selects: the ServiceMonitor
	// takes it from the Service's label its jobLabel names.
	var svc corev1.Service
	find(t, objs, "Service", "aviary-metrics", &svc)
	jobLabel, _, _ := unstructured.NestedString(sm.Object, "spec", "jobLabel")
	if jobLabel == "" || svc.Labels[jobLabel] != "argo-rollouts-metrics" {
		t.Errorf("ServiceMonitor jobLabel %q, the Service's labels %v: want the job argo-rollouts-metrics", jobLabel, svc.Labels)
	}
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			if a := o.GetAnnotations(); a["helm.sh/resource-policy"] != "" || a["team"] != "platform" {
				t.Errorf("CRD %s annotations %v: want team=platform and no keep policy", o.GetName(), a)
			}
		}
	}
	if _, err := renderChart(t, "controller: {metrics: {enabled: false, serviceMonitor: {enabled: true}}}", "aviary"); err == nil {
		t.Error("a ServiceMonitor without the metrics Service must be refused")
	}
}

// TestChartLint runs Helm's linter with each value set: no warning or
// error.
func TestChartLint(t *testing.T) {
	sets := map[string]string{"defaults": ""}
	maps.Copy(sets, chartValueSets)
	for name, values := range sets {
		t.Run(name, func(t *testing.T) {
			l := lint.All(chartDir, chartValues(t, values), "aviary", false)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Error(m.Error())
				} else {
					t.Log(m.Error())
				}
			}
		})
	}
}

// TestChartValuesUseArgoKeys: values files written for Argo Rollouts'
// community chart keep working for the keys both have.
func TestChartValuesUseArgoKeys(t *testing.T) {
	data, err := chartutil.ReadValuesFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		"installCRDs", "keepCRDs", "clusterInstall", "createClusterAggregateRoles", "podSecurityContext",
		"containerSecurityContext", "imagePullSecrets", "crdAnnotations", "serviceAccount.create",
		"controller.replicas", "controller.extraArgs", "controller.extraEnv", "controller.resources",
		"controller.nodeSelector", "controller.tolerations", "controller.affinity", "controller.image.registry",
		"controller.image.repository", "controller.image.tag", "controller.logging.level", "controller.logging.format",
		"controller.metrics.enabled", "controller.metrics.serviceMonitor.enabled", "controller.pdb.enabled",
		"dashboard.enabled", "dashboard.readonly",
		"dashboard.service.type", "dashboard.service.port", "dashboard.rootPath", "dashboard.extraArgs",
		"controller.selfServiceNotification", "notifications.configmap.create", "notifications.secret.create",
		"notifications.secret.items", "notifications.secret.annotations", "notifications.notifiers",
		"notifications.templates", "notifications.triggers", "notifications.subscriptions",
	} {
		m := map[string]any(data)
		parts := strings.Split(key, ".")
		for _, p := range parts[:len(parts)-1] {
			m, _ = m[p].(map[string]any)
		}
		if _, ok := m[parts[len(parts)-1]]; !ok {
			t.Errorf("values.yaml lacks %s", key)
		}
	}
}
