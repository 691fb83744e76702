package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aviary-rollouts/aviary/internal/cli"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

var root = filepath.Join("..", "..")

var defaultOutput struct {
	sync.Once
	*Output
	err error
}

// render builds with cfg's images; the default build is made once.
func render(t *testing.T, cfg Config) *Output {
	t.Helper()
	if cfg == (Config{}) {
		defaultOutput.Do(func() {
			defaultOutput.Output, defaultOutput.err = Render(Config{CRDDir: filepath.Join(root, "config", "crd"), ManifestsDir: filepath.Join(root, "manifests")})
		})
		if defaultOutput.err != nil {
			t.Fatal(defaultOutput.err)
		}
		return defaultOutput.Output
	}
	cfg.CRDDir = filepath.Join(root, "config", "crd")
	cfg.ManifestsDir = filepath.Join(root, "manifests")
	o, err := Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// objects decodes a multi-document manifest.
func objects(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		if m != nil {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

// find returns the object of that kind and name, converted into into.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string, into any) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no %s %q", kind, name)
}

// TestGeneratedFilesAreUpToDate fails when manifests/crds, the chart's CRDs
// or dist/ differ from what `make manifests` would write, so the committed
// install manifests never drift from config/crd and the kustomizations.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	o := render(t, Config{})
	check := func(dir string, files map[string][]byte) {
		for name, want := range files {
			got, err := os.ReadFile(filepath.Join(root, dir, name))
			if err != nil {
				t.Errorf("read %s/%s: %v (run `make manifests`)", dir, name, err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s is out of date: run `make manifests` and commit the result", dir, name)
			}
		}
	}
	check("manifests/crds", o.CRDs)
	check("charts/aviary/files/crds", o.ChartCRDs)
	check("dist", o.Dist)
	for dir, files := range map[string]map[string][]byte{"manifests/crds": o.CRDs, "charts/aviary/files/crds": o.ChartCRDs} {
		stale, _ := filepath.Glob(filepath.Join(root, dir, "*.yaml"))
		for _, p := range stale {
			if _, ok := files[filepath.Base(p)]; !ok {
				t.Errorf("%s is no CRD of config/crd: run `make manifests`", p)
			}
		}
	}
}

// flat lists what rules grant as group/resource:verb, or
// group/resource[name]:verb for a rule limited to resourceNames, so a
// grant of every object never compares equal to a grant of one.
func flat(rules []rbacv1.PolicyRule) map[string]bool {
	m := map[string]bool{}
	for _, r := range rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, n := range names {
					if n != "" {
						n = "[" + n + "]"
					}
					for _, v := range r.Verbs {
						m[g+"/"+res+n+":"+v] = true
					}
				}
			}
		}
	}
	return m
}

// TestNamespacedRoleIsClusterRoleWithoutClusterScopedKinds keeps the two
// install variants granting the same access to namespaced kinds.
func TestNamespacedRoleIsClusterRoleWithoutClusterScopedKinds(t *testing.T) {
	o := render(t, Config{})
	var cr rbacv1.ClusterRole
	var leader, role rbacv1.Role
	cluster := objects(t, o.Dist["install.yaml"])
	find(t, cluster, "ClusterRole", "aviary-controller", &cr)
	find(t, cluster, "Role", "aviary-controller-leader-election", &leader)
	find(t, objects(t, o.Dist["namespace-install.yaml"]), "Role", "aviary-controller", &role)

	want := flat(slices.Concat(cr.Rules, leader.Rules))
	got := flat(role.Rules)
	for k := range want {
		if strings.Contains(k, "/clusteranalysistemplates:") {
			continue
		}
		if !got[k] {
			t.Errorf("namespaced install lacks %s that the cluster install grants", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("namespaced install grants %s that the cluster install does not", k)
		}
	}
}

// TestNamespaceInstallNamesNoNamespace: `kubectl apply -n NS` puts every
// object in NS only if none names its own, and the RoleBinding's subject
// then means the ServiceAccount of the binding's namespace.
func TestNamespaceInstallNamesNoNamespace(t *testing.T) {
	o := render(t, Config{})
	objs := objects(t, o.Dist["namespace-install.yaml"])
	var kinds []string
	for _, obj := range objs {
		kinds = append(kinds, obj.GetKind())
		if obj.GetNamespace() != "" {
			t.Errorf("%s %s names namespace %q", obj.GetKind(), obj.GetName(), obj.GetNamespace())
		}
		if strings.HasPrefix(obj.GetKind(), "Cluster") || obj.GetKind() == "Namespace" || obj.GetKind() == "CustomResourceDefinition" {
			t.Errorf("namespace-install holds cluster-scoped %s %s", obj.GetKind(), obj.GetName())
		}
	}
	slices.Sort(kinds)
	if want := []string{"ConfigMap", "Deployment", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"}; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	var rb rbacv1.RoleBinding
	find(t, objs, "RoleBinding", "aviary-controller", &rb)
	if len(rb.Subjects) != 1 || rb.Subjects[0].Namespace != "" || rb.Subjects[0].Name != "aviary-controller" {
		t.Errorf("RoleBinding subjects %+v: want the ServiceAccount aviary-controller without a namespace", rb.Subjects)
	}
	var d appsv1.Deployment
	find(t, objs, "Deployment", "aviary-controller", &d)
	ctr := d.Spec.Template.Spec.Containers[0]
	if !slices.Contains(ctr.Args, "--namespaced") {
		t.Errorf("args %v lack --namespaced", ctr.Args)
	}
	if slices.ContainsFunc(ctr.Args, func(a string) bool { return strings.HasPrefix(a, "--namespace=") || a == "--namespace" }) {
		t.Errorf("args %v pin a namespace; it must come from POD_NAMESPACE", ctr.Args)
	}
	if !hasPodNamespace(ctr) {
		t.Error("the container lacks POD_NAMESPACE from metadata.namespace")
	}
	// The controller accepts the args, and takes its namespace from the pod.
	t.Setenv("POD_NAMESPACE", "team-a")
	var opts manager.Options
	fs := flag.NewFlagSet("aviary-controller", flag.ContinueOnError)
	opts.BindFlags(fs)
	if err := fs.Parse(ctr.Args); err != nil {
		t.Fatalf("the controller refuses the Deployment's args %v: %v", ctr.Args, err)
	}
	if err := opts.Validate(); err != nil || !opts.Namespaced || opts.Namespace != "team-a" {
		t.Errorf("with POD_NAMESPACE=team-a the args give namespaced=%v namespace=%q (%v)", opts.Namespaced, opts.Namespace, err)
	}
}

func hasPodNamespace(c corev1.Container) bool {
	return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace"
	})
}

// TestClusterInstallIsInNamespaceAviary: every namespaced object of the
// cluster and dashboard installs is in aviary, and so are the bindings'
// ServiceAccounts.
func TestClusterInstallIsInNamespaceAviary(t *testing.T) {
	o := render(t, Config{})
	clusterScoped := map[string]bool{"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true}
	for _, file := range []string{"install.yaml", "dashboard-install.yaml"} {
		for _, obj := range objects(t, o.Dist[file]) {
			switch {
			case clusterScoped[obj.GetKind()] && obj.GetNamespace() != "":
				t.Errorf("%s: cluster-scoped %s %s names namespace %q", file, obj.GetKind(), obj.GetName(), obj.GetNamespace())
			case !clusterScoped[obj.GetKind()] && obj.GetNamespace() != "aviary":
				t.Errorf("%s: %s %s is in namespace %q, want aviary", file, obj.GetKind(), obj.GetName(), obj.GetNamespace())
			}
			subjects, _, _ := unstructured.NestedSlice(obj.Object, "subjects")
			for _, s := range subjects {
				if ns := s.(map[string]any)["namespace"]; ns != "aviary" {
					t.Errorf("%s: %s %s binds a subject in namespace %v", file, obj.GetKind(), obj.GetName(), ns)
				}
			}
		}
	}
	var d appsv1.Deployment
	find(t, objects(t, o.Dist["install.yaml"]), "Deployment", "aviary-controller", &d)
	if args := d.Spec.Template.Spec.Containers[0].Args; len(args) != 0 {
		t.Errorf("the cluster install's controller has args %v, want none (cluster-wide)", args)
	}
}

// TestAggregateRoles: view reads the five kinds, edit and admin also write
// them and their status and scale subresources.
func TestAggregateRoles(t *testing.T) {
	objs := objects(t, render(t, Config{}).Dist["install.yaml"])
	kinds := []string{"rollouts", "analysisruns", "analysistemplates", "clusteranalysistemplates", "experiments"}
	sub := []string{"rollouts/status", "rollouts/scale", "analysisruns/status", "experiments/status"}
	write := []string{"create", "update", "patch", "delete"}
	for _, role := range []string{"admin", "edit", "view"} {
		var cr rbacv1.ClusterRole
		find(t, objs, "ClusterRole", "aviary-aggregate-to-"+role, &cr)
		if cr.Labels["rbac.authorization.k8s.io/aggregate-to-"+role] != "true" {
			t.Errorf("%s: labels %v lack aggregate-to-%s", cr.Name, cr.Labels, role)
		}
		rules := flat(cr.Rules)
		for _, res := range slices.Concat(kinds, sub) {
			for _, v := range []string{"get", "list", "watch"} {
				if !rules["argoproj.io/"+res+":"+v] {
					t.Errorf("%s cannot %s %s", cr.Name, v, res)
				}
			}
			for _, v := range write {
				if got := rules["argoproj.io/"+res+":"+v]; got != (role != "view") {
					t.Errorf("%s: %s %s granted=%v", cr.Name, v, res, got)
				}
			}
		}
	}
}

// TestDeploymentsAreHardened checks the security settings users and
// admission policies expect of every Deployment we ship.
func TestDeploymentsAreHardened(t *testing.T) {
	o := render(t, Config{})
	for _, tc := range []struct{ file, name string }{
		{"install.yaml", "aviary-controller"},
		{"namespace-install.yaml", "aviary-controller"},
		{"dashboard-install.yaml", "aviary-dashboard"},
	} {
		var d appsv1.Deployment
		find(t, objects(t, o.Dist[tc.file]), "Deployment", tc.name, &d)
		pod := d.Spec.Template.Spec
		ctr := pod.Containers[0]
		switch {
		case pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot:
			t.Errorf("%s: pod must run as non-root", tc.file)
		case ctr.SecurityContext == nil || ctr.SecurityContext.ReadOnlyRootFilesystem == nil || !*ctr.SecurityContext.ReadOnlyRootFilesystem:
			t.Errorf("%s: container must have a read-only root filesystem", tc.file)
		case ctr.SecurityContext.AllowPrivilegeEscalation == nil || *ctr.SecurityContext.AllowPrivilegeEscalation:
			t.Errorf("%s: container must not allow privilege escalation", tc.file)
		case ctr.Resources.Requests.Cpu().IsZero() || ctr.Resources.Requests.Memory().IsZero():
			t.Errorf("%s: container must request CPU and memory", tc.file)
		case ctr.ReadinessProbe == nil:
			t.Errorf("%s: container needs a readiness probe", tc.file)
		}
		if tc.name == "aviary-controller" {
			if ctr.LivenessProbe == nil || ctr.LivenessProbe.HTTPGet.Path != "/healthz" || ctr.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("%s: probes must hit /healthz and /readyz", tc.file)
			}
			if !hasPodNamespace(ctr) {
				t.Errorf("%s: the container lacks POD_NAMESPACE", tc.file)
			}
		}
	}
}

// TestDashboard: the dashboard serves the pod's address only because its
// args say so, with flags the plugin knows, and its ServiceAccount writes
// nothing but Rollouts.
func TestDashboard(t *testing.T) {
	objs := objects(t, render(t, Config{}).Dist["dashboard-install.yaml"])
	var d appsv1.Deployment
	find(t, objs, "Deployment", "aviary-dashboard", &d)
	ctr := d.Spec.Template.Spec.Containers[0]
	if ctr.Image != DefaultDashboardImage {
		t.Errorf("image %q, want %q", ctr.Image, DefaultDashboardImage)
	}
	if i := slices.Index(ctr.Args, "--address"); i < 0 || i+1 >= len(ctr.Args) || ctr.Args[i+1] != "0.0.0.0" {
		t.Errorf("args %v: binding beyond loopback must be explicit (--address 0.0.0.0)", ctr.Args)
	}
	root := cli.NewRootCommand(genericiooptions.NewTestIOStreamsDiscard())
	cmd, rest, err := root.Find(ctr.Args)
	if err != nil || cmd.Name() != "dashboard" {
		t.Fatalf("args %v do not name the dashboard command: %v", ctr.Args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("the dashboard refuses args %v: %v", ctr.Args, err)
	}
	if got, _ := cmd.Flags().GetString("address"); got != "0.0.0.0" {
		t.Errorf("--address parses as %q", got)
	}
	port, _ := cmd.Flags().GetInt("port")
	if len(ctr.Ports) != 1 || ctr.Ports[0].ContainerPort != int32(port) {
		t.Errorf("container ports %v, dashboard listens on %d", ctr.Ports, port)
	}

	var cr rbacv1.ClusterRole
	find(t, objs, "ClusterRole", "aviary-dashboard", &cr)
	writes := map[string]bool{"argoproj.io/rollouts": true, "argoproj.io/rollouts/status": true}
	for k := range flat(cr.Rules) {
		res, verb, _ := strings.Cut(k, ":")
		if !slices.Contains([]string{"get", "list", "watch"}, verb) && !writes[res] {
			t.Errorf("the dashboard may %s %s", verb, res)
		}
	}
	for _, want := range []string{"argoproj.io/rollouts:patch", "argoproj.io/rollouts/status:patch", "apps/replicasets:watch", "/pods:list", "/events:list", "argoproj.io/experiments:watch"} {
		if !flat(cr.Rules)[want] {
			t.Errorf("the dashboard's ClusterRole lacks %s", want)
		}
	}
}

// TestImageOverride: -image and -dashboard-image reach every Deployment of
// dist/, with a tag, a registry port or a digest.
func TestImageOverride(t *testing.T) {
	for _, img := range []string{
		"registry.example:5000/team/aviary-controller:v1.2.3",
		"registry.example/aviary@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"localhost:5000/aviary",
	} {
		want := img
		if img == "localhost:5000/aviary" {
			want += ":latest"
		}
		o := render(t, Config{Image: img, DashboardImage: img + "-dash"})
		for _, file := range []string{"install.yaml", "namespace-install.yaml"} {
			var d appsv1.Deployment
			find(t, objects(t, o.Dist[file]), "Deployment", "aviary-controller", &d)
			if got := d.Spec.Template.Spec.Containers[0].Image; got != want {
				t.Errorf("-image %s: %s has %s", img, file, got)
			}
		}
		var d appsv1.Deployment
		find(t, objects(t, o.Dist["dashboard-install.yaml"]), "Deployment", "aviary-dashboard", &d)
		if got := d.Spec.Template.Spec.Containers[0].Image; !strings.Contains(got, "-dash") {
			t.Errorf("-dashboard-image %s-dash: dashboard has %s", img, got)
		}
	}
}

func TestSplitImage(t *testing.T) {
	for ref, want := range map[string][3]string{
		"nginx":                       {"nginx", "", ""},
		"nginx:1.27":                  {"nginx", "1.27", ""},
		"host:5000/a/b":               {"host:5000/a/b", "", ""},
		"host:5000/a/b:v1":            {"host:5000/a/b", "v1", ""},
		"a/b@sha256:abc":              {"a/b", "", "sha256:abc"},
		"host:5000/a/b:v1@sha256:abc": {"host:5000/a/b", "v1", "sha256:abc"},
	} {
		n, tag, d := splitImage(ref)
		if got := [3]string{n, tag, d}; got != want {
			t.Errorf("splitImage(%q) = %q, want %q", ref, got, want)
		}
	}
}

// TestMetricsService: both installs serve the controller's /metrics
// through Argo Rollouts' Service name and port (argo-rollouts-metrics,
// 8090, port name metrics), selecting the controller's pods, so a
// ServiceMonitor's job is argo-rollouts-metrics, the job Argo Rollouts'
// Grafana dashboard selects.
func TestMetricsService(t *testing.T) {
	o := render(t, Config{})
	for _, file := range []string{"install.yaml", "namespace-install.yaml"} {
		objs := objects(t, o.Dist[file])
		var svc corev1.Service
		find(t, objs, "Service", "argo-rollouts-metrics", &svc)
		var d appsv1.Deployment
		find(t, objs, "Deployment", "aviary-controller", &d)
		for k, v := range svc.Spec.Selector {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("%s: the metrics Service selects %s=%s, which the controller's pods lack", file, k, v)
			}
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "metrics" || svc.Spec.Ports[0].Port != 8090 {
			t.Fatalf("%s: metrics Service ports %+v, want metrics 8090", file, svc.Spec.Ports)
		}
		target := svc.Spec.Ports[0].TargetPort.String()
		if !slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool {
			return p.Name == target && p.ContainerPort == 8090
		}) {
			t.Errorf("%s: the Service targets port %q, which the controller does not serve /metrics on", file, target)
		}
	}
}
