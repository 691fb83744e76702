package foundation

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// argoArgsCase is one way Argo Rollouts' own install material starts its
// controller, with the arguments written down exactly as that material
// renders them.
type argoArgsCase struct {
	name string
	// args builds the argument list from the ports the test chose for the
	// chart's containerPorts values (0 when the material names none).
	args func(healthz, metrics int) []string
	// instanceID scopes a cluster-wide controller to the test's rollout
	// (the chart's controller.extraArgs, or an added flag); empty when the
	// args scope it with --namespaced.
	instanceID string
}

var argoArgsCases = []argoArgsCase{
	{
		// argo-helm charts/argo-rollouts/templates/controller/deployment.yaml
		// with the chart's default values (clusterInstall: true, replicas: 2,
		// logging.level info, logging.format text, logging.kloglevel "0"),
		// and controller.extraArgs: [--instance-id=…] to keep to this test.
		name: "argo-helm default values",
		args: func(healthz, metrics int) []string {
			return []string{
				fmt.Sprintf("--healthzPort=%d", healthz),
				fmt.Sprintf("--metricsport=%d", metrics),
				"--loglevel=info",
				"--logformat=text",
				"--kloglevel=0",
				"--leader-elect",
				"--instance-id=argoargs-helm",
			}
		},
		instanceID: "argoargs-helm",
	},
	{
		// The same template with clusterInstall: false: --namespaced is
		// added before --leader-elect.
		name: "argo-helm clusterInstall false",
		args: func(healthz, metrics int) []string {
			return []string{
				fmt.Sprintf("--healthzPort=%d", healthz),
				fmt.Sprintf("--metricsport=%d", metrics),
				"--loglevel=info",
				"--logformat=text",
				"--kloglevel=0",
				"--namespaced",
				"--leader-elect",
			}
		},
	},
	{
		// Argo Rollouts' manifests/install.yaml (manifests/base/
		// argo-rollouts-deployment.yaml) passes no args at all; the
		// instance id is added to keep to this test.
		name:       "argo-rollouts install.yaml",
		args:       func(int, int) []string { return []string{"--instance-id=argoargs-install"} },
		instanceID: "argoargs-install",
	},
	{
		// manifests/namespace-install.yaml patches in exactly one arg
		// (manifests/namespace-install/add-namespaced-flag.yaml).
		name: "argo-rollouts namespace-install.yaml",
		args: func(int, int) []string { return []string{"--namespaced"} },
	},
}

const argoArgsRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: argo-args
  labels: {LABELS}
spec:
  replicas: 2
  selector:
    matchLabels: {app: argo-args}
  template:
    metadata:
      labels: {app: argo-args}
    spec:
      containers:
      - name: app
        image: argoproj/rollouts-demo:blue
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {duration: 5s}
`

// TestArgoRolloutsInstallArgs starts the controller with the exact args of
// argo-helm's argo-rollouts chart and of Argo Rollouts' install manifests,
// as if the image of an existing install were swapped for Aviary's: it must
// start without a warning, become leader (its Lease in the pod's
// namespace, read here from POD_NAMESPACE as the ServiceAccount's would be
// in a pod), answer the chart's probes (/healthz on the healthz port,
// /metrics on the metrics port) and reconcile a canary Rollout to Healthy.
func TestArgoRolloutsInstallArgs(t *testing.T) {
	for _, c := range argoArgsCases {
		t.Run(c.name, func(t *testing.T) {
			e := framework.Get(t)
			ctx := context.Background()
			ns := framework.Namespace(t)
			t.Setenv("POD_NAMESPACE", ns)

			// The chart's ports are values: take free ones, since other test
			// packages share this machine; where the material names no
			// port, the framework's free --metrics-addr/--health-addr stand
			// in for the defaults 8090/8080.
			healthzPort, metricsPort := argoArgsFreePort(t), argoArgsFreePort(t)
			args := c.args(healthzPort, metricsPort)
			ctl := framework.StartController(t, args...)
			healthAddr, metricsAddr := ctl.HealthAddr, ctl.MetricsAddr
			if strings.Contains(strings.Join(args, " "), "--healthzPort") {
				healthAddr = fmt.Sprintf("127.0.0.1:%d", healthzPort)
				metricsAddr = fmt.Sprintf("127.0.0.1:%d", metricsPort)
			}

			ctl.WaitForOutput(60*time.Second, "leading: this instance now reconciles")
			if ctl.Exited() {
				t.Fatalf("the controller exited:\n%s", ctl.Output())
			}
			if out := ctl.Output(); strings.Contains(out, "level=warning") {
				t.Errorf("Argo's own args must start without a warning:\n%s", out)
			}
			id := ctl.Identity()
			lease := "aviary-controller-lock"
			if c.instanceID != "" {
				lease += "-" + c.instanceID
			}
			l, err := e.Clientset.CoordinationV1().Leases(ns).Get(ctx, lease, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("the Lease %s/%s: %v", ns, lease, err)
			}
			if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != id {
				t.Errorf("Lease %s/%s holder %v, want %s", ns, lease, l.Spec.HolderIdentity, id)
			}
			// The chart's liveness and readiness probes.
			if code, body := argoArgsGet(t, "http://"+healthAddr+"/healthz"); code != http.StatusOK {
				t.Errorf("/healthz on %s: status %d, body %q", healthAddr, code, body)
			}
			if code, _ := argoArgsGet(t, "http://"+metricsAddr+"/metrics"); code != http.StatusOK {
				t.Errorf("/metrics on %s: status %d", metricsAddr, code)
			}

			labels := "{}"
			if c.instanceID != "" {
				labels = "{" + v1alpha1.LabelControllerInstanceID + ": " + c.instanceID + "}"
			}
			manifest := strings.Replace(argoArgsRollout, "{LABELS}", labels, 1)
			if out, err := e.KubectlStdin(ctx, []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
				t.Fatalf("apply the rollout: %v\n%s", err, out)
			}
			framework.Eventually(t, 60*time.Second, "the rollout Healthy with 2 available pods", func() (bool, string) {
				var ro v1alpha1.Rollout
				if err := e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "argo-args"}, &ro); err != nil {
					return false, err.Error()
				}
				ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS != "" && ro.Status.AvailableReplicas == 2
				return ok, fmt.Sprintf("phase %s %q, stable %q, available %d", ro.Status.Phase, ro.Status.Message, ro.Status.StableRS, ro.Status.AvailableReplicas)
			})
		})
	}
}

// argoArgsGet returns the status and body of a GET.
func argoArgsGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// argoArgsFreePort is a free loopback port number.
func argoArgsFreePort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(framework.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscan(port, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
