package foundation

import (
	"bytes"
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// renderChart renders charts/aviary with Helm's library, as `helm template
// aviary -n namespace -f values` would, into one multi-document manifest.
func renderChart(t *testing.T, namespace, values string) []byte {
	t.Helper()
	chrt, err := loader.Load(filepath.Join(framework.Get(t).RepoRoot, "charts", "aviary"))
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ReadValues([]byte(values))
	if err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(chrt, vals,
		chartutil.ReleaseOptions{Name: "aviary", Namespace: namespace, Revision: 1, IsInstall: true}, chartutil.DefaultCapabilities.Copy())
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(chrt, rv)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if strings.HasSuffix(name, ".yaml") && strings.TrimSpace(files[name]) != "" {
			b.WriteString("---\n")
			b.WriteString(files[name])
			b.WriteString("\n")
		}
	}
	return b.Bytes()
}

// TestChartAppliesToTheCluster sends the chart's renderings to the API
// server with `kubectl apply --dry-run=server`: every object passes
// validation and admission (CRDs included) without being stored.
func TestChartAppliesToTheCluster(t *testing.T) {
	e := framework.Get(t)
	ns := framework.Namespace(t)
	for name, values := range map[string]string{
		"defaults":   "",
		"namespaced": "clusterInstall: false\ncreateClusterAggregateRoles: false\ninstallCRDs: false\ndashboard: {enabled: true}\n",
		"ha":         "controller: {replicas: 3, pdb: {enabled: true}}\n",
		"dashboard":  "dashboard: {enabled: true}\n",
	} {
		t.Run(name, func(t *testing.T) {
			manifest := renderChart(t, ns, values)
			out, err := e.KubectlStdin(context.Background(), manifest, "apply", "--dry-run=server", "-f", "-")
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server of the chart (%s): %v\n%s", name, err, out)
			}
			if !strings.Contains(out, "deployment.apps/aviary-controller") {
				t.Errorf("the controller Deployment was not applied:\n%s", out)
			}
		})
	}
}

// TestChartControllerLeads installs the chart's namespaced rendering into
// the test's namespace and runs the controller as its Deployment would: the
// Deployment's args (ports aside: a pod's container ports cannot collide,
// a test's can), POD_NAMESPACE from the downward API and the chart's
// ServiceAccount's credentials. It must lead and reconcile a rollout.
func TestChartControllerLeads(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	manifest := renderChart(t, ns, "clusterInstall: false\ncreateClusterAggregateRoles: false\ninstallCRDs: false\n")
	if out, err := e.KubectlStdin(ctx, manifest, "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("kubectl apply -n %s of the chart: %v\n%s", ns, err, out)
	}
	var deployment appsv1.Deployment
	for _, obj := range decodeManifest(t, manifest) {
		if obj.GetKind() == "Deployment" && obj.GetName() == "aviary-controller" {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &deployment); err != nil {
				t.Fatal(err)
			}
		}
	}
	if deployment.Name == "" || deployment.Spec.Template.Spec.ServiceAccountName != serviceAccount {
		t.Fatalf("the chart renders no Deployment aviary-controller running as %s: %+v", serviceAccount, deployment.Spec.Template.Spec.ServiceAccountName)
	}
	var args []string
	for _, a := range deployment.Spec.Template.Spec.Containers[0].Args {
		if !strings.HasPrefix(a, "--metrics-addr=") && !strings.HasPrefix(a, "--health-addr=") {
			args = append(args, a)
		}
	}
	t.Setenv("POD_NAMESPACE", ns)
	c := framework.StartController(t, append([]string{"--kubeconfig", serviceAccountKubeconfig(t, ns)}, args...)...)
	id := identityOf(t, c)
	framework.Eventually(t, 30*time.Second, "the chart's controller to hold its Lease in "+ns, func() (bool, string) {
		l, err := e.Clientset.CoordinationV1().Leases(ns).Get(ctx, "aviary-controller-lock", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == id, "not yet held by " + id
	})
	if out, err := e.Kubectl(ctx, "apply", "-n", ns, "-f", framework.Example(t, "03-basic-canary.yaml")); err != nil {
		t.Fatalf("apply seed 03: %v\n%s", err, out)
	}
	framework.Eventually(t, 90*time.Second, "seed 03 Healthy under the chart's controller", func() (bool, string) {
		var ro v1alpha1.Rollout
		if err := e.Client.Get(ctx, framework.Key(ns, "rollouts-demo"), &ro); err != nil {
			return false, err.Error()
		}
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS != "", string(ro.Status.Phase) + " " + ro.Status.Message
	})
}
