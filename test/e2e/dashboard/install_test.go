package dashboard

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// installedDashboard applies dist/dashboard-install.yaml (namespace aviary,
// as beside dist/install.yaml) and returns its Deployment and a kubeconfig
// authenticating as its ServiceAccount. Its objects are deleted when the
// test ends.
func installedDashboard(t *testing.T) (appsv1.Deployment, string) {
	t.Helper()
	e := framework.Get(t)
	ctx := context.Background()
	const ns = "aviary"
	// The namespace of dist/install.yaml, which the foundation suite
	// installs and leaves; create it only if that has not happened.
	if _, err := e.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	path := filepath.Join(e.RepoRoot, "dist", "dashboard-install.yaml")
	if out, err := e.Kubectl(ctx, "apply", "-f", path); err != nil {
		t.Fatalf("kubectl apply -f dist/dashboard-install.yaml: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := e.Kubectl(context.Background(), "delete", "--ignore-not-found", "--wait=false", "-f", path); err != nil {
			t.Logf("delete the dashboard install: %v\n%s", err, out)
		}
	})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if strings.Contains(doc, "\nkind: Deployment\n") {
			if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("no Deployment with one container in %s", path)
	}
	token, err := e.Kubectl(ctx, "create", "token", d.Spec.Template.Spec.ServiceAccountName, "-n", ns, "--duration=1h")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := clientcmd.LoadFromFile(e.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	cfg.AuthInfos["dashboard"] = &clientcmdapi.AuthInfo{Token: strings.TrimSpace(token)}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "dashboard"}
	cfg.CurrentContext = "local"
	kubeconfig := filepath.Join(t.TempDir(), "dashboard.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	return d, kubeconfig
}

// TestDashboardInstall runs the dashboard as dist/dashboard-install.yaml
// deploys it — the Deployment's args (on a free port instead of 3100) and
// nothing but its ServiceAccount's rights — and uses it on a rollout: the
// namespace list, the rollout list and detail, set image and promote must
// all be within those rights.
func TestDashboardInstall(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	deployment, kubeconfig := installedDashboard(t)
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	if out, err := e.Kubectl(ctx, "apply", "-n", ns, "-f", framework.Example(t, "03-basic-canary.yaml")); err != nil {
		t.Fatalf("apply seed 03: %v\n%s", err, out)
	}
	rollout := func() *v1alpha1.Rollout {
		var ro v1alpha1.Rollout
		if err := e.Client.Get(ctx, framework.Key(ns, "rollouts-demo"), &ro); err != nil {
			t.Fatal(err)
		}
		return &ro
	}
	framework.Eventually(t, 90*time.Second, "the first version Healthy", func() (bool, string) {
		ro := rollout()
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy, string(ro.Status.Phase) + " " + ro.Status.Message
	})

	args := append(append([]string{}, deployment.Spec.Template.Spec.Containers[0].Args...), "--port", "0")
	d := startDashboardWith(t, ns, kubeconfig, args...)
	// It listens on every address, as in its pod; talk to it on loopback.
	d.Addr = "127.0.0.1:" + d.Port()
	d.URL = "http://" + d.Addr + "/rollouts"

	var namespaces struct {
		AvailableNamespaces []string `json:"availableNamespaces"`
	}
	d.getJSON("namespace", &namespaces)
	if !strings.Contains(strings.Join(namespaces.AvailableNamespaces, ","), ns) {
		t.Errorf("the namespaces with rollouts %v lack %s: the ServiceAccount must list rollouts everywhere", namespaces.AvailableNamespaces, ns)
	}
	for _, path := range []string{"rollouts/" + ns + "/info", "rollouts/" + ns + "/rollouts-demo/info"} {
		if r := d.do(http.MethodGet, d.api(path), "", nil); r.Status != http.StatusOK || !strings.Contains(r.Body, "rollouts-demo") {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
	}

	token := d.token()
	act := func(path string) {
		t.Helper()
		r := d.do(http.MethodPut, d.api("rollouts/"+ns+"/rollouts-demo/"+path), "", map[string]string{"X-CSRF-Token": token, "Origin": "http://" + d.Addr})
		if r.Status != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
	}
	act("set/rollouts-demo/argoproj/rollouts-demo/green")
	framework.Eventually(t, 90*time.Second, "the update paused at its first step", func() (bool, string) {
		ro := rollout()
		ok := ro.Status.Phase == v1alpha1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1
		return ok, string(ro.Status.Phase) + " " + ro.Status.Message
	})
	act("promote")
	framework.Eventually(t, 60*time.Second, "the update past its first pause", func() (bool, string) {
		ro := rollout()
		return ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex >= 2, string(ro.Status.Phase) + " " + ro.Status.Message
	})
	if out := d.output(); strings.Contains(out, "forbidden") {
		t.Errorf("the dashboard met a refusal:\n%s", out)
	}
}
