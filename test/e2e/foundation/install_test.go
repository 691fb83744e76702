package foundation

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const (
	installNamespace = "aviary"
	// The foundation suite runs its controllers with --instance-id
	// foundation (so they leave other suites' rollouts alone), which names
	// their Lease.
	leaseName      = "aviary-controller-lock-foundation"
	serviceAccount = "aviary-controller"
)

// applyInstall applies dist/install.yaml with plain `kubectl apply`, as the
// README tells users to (client-side apply also proves every CRD fits the
// last-applied annotation's size limit).
func applyInstall(t *testing.T) {
	t.Helper()
	e := framework.Get(t)
	path := filepath.Join(e.RepoRoot, "dist", "install.yaml")
	if out, err := e.Kubectl(context.Background(), "apply", "-f", path); err != nil {
		t.Fatalf("kubectl apply -f dist/install.yaml: %v\n%s", err, out)
	}
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the
// install's ServiceAccount in namespace, so the controller runs with exactly
// the RBAC the manifests grant — not as cluster admin.
func serviceAccountKubeconfig(t *testing.T, namespace string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "controller.kubeconfig")
	if _, err := framework.Get(t).WriteTokenKubeconfig(context.Background(), namespace, serviceAccount, time.Hour, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// identityOf reads the Lease identity the controller announces at start.
func identityOf(_ *testing.T, c *framework.Controller) string { return c.Identity() }

func leaseHolder(t *testing.T) (string, error) {
	t.Helper()
	l, err := framework.Get(t).Clientset.CoordinationV1().Leases(installNamespace).Get(context.Background(), leaseName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if l.Spec.HolderIdentity == nil {
		return "", nil
	}
	return *l.Spec.HolderIdentity, nil
}

func waitForHolder(t *testing.T, timeout time.Duration, want string) {
	t.Helper()
	framework.Eventually(t, timeout, "Lease "+leaseName+" held by "+want, func() (bool, string) {
		h, err := leaseHolder(t)
		if err != nil {
			return false, err.Error()
		}
		return h == want, "holder is " + fmt.Sprintf("%q", h)
	})
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestInstallAndLeaderElection applies the install manifests, runs two
// controllers under the install's ServiceAccount, and checks that one leads
// (holding the Lease, serving metrics and health), the other waits, a killed
// leader is replaced within the lease duration, and SIGTERM exits cleanly
// and releases the Lease.
func TestInstallAndLeaderElection(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	applyInstall(t)
	// A Lease left by an earlier run names a dead process; start clean.
	_ = e.Clientset.CoordinationV1().Leases(installNamespace).Delete(ctx, leaseName, metav1.DeleteOptions{})
	kubeconfig := serviceAccountKubeconfig(t, installNamespace)

	// An instance id keeps these controllers away from other suites' rollouts.
	first := framework.StartController(t, "--kubeconfig", kubeconfig, "--instance-id", "foundation")
	firstID := identityOf(t, first)
	waitForHolder(t, 30*time.Second, firstID)
	first.WaitForOutput(10*time.Second, "leading: this instance now reconciles")

	code, body := httpGet(t, "http://"+first.HealthAddr+"/healthz")
	if code != http.StatusOK {
		t.Errorf("/healthz: status %d, body %q", code, body)
	}
	code, body = httpGet(t, "http://"+first.HealthAddr+"/readyz")
	if code != http.StatusOK {
		t.Errorf("/readyz: status %d, body %q", code, body)
	}
	code, body = httpGet(t, "http://"+first.MetricsAddr+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, `leader_election_master_status{name="`+leaseName+`"} 1`) {
		t.Errorf("/metrics: status %d; want leader_election_master_status 1 for %s in:\n%s", code, leaseName, body)
	}

	second := framework.StartController(t, "--kubeconfig", kubeconfig, "--instance-id", "foundation")
	secondID := identityOf(t, second)
	second.WaitForOutput(30*time.Second, "Attempting to acquire leader lease")
	// The follower has tried and must not have taken over.
	if h, err := leaseHolder(t); err != nil || h != firstID {
		t.Fatalf("while the leader is alive the Lease must stay with %s; holder %q, err %v", firstID, h, err)
	}
	if strings.Contains(second.Output(), "leading: this instance now reconciles") {
		t.Fatalf("the second controller claims leadership while the first holds the Lease:\n%s", second.Output())
	}

	killed := time.Now()
	first.Kill()
	// Lease duration 15 s plus one retry period (2 s) and scheduling slack.
	waitForHolder(t, 20*time.Second, secondID)
	second.WaitForOutput(5*time.Second, "leading: this instance now reconciles")
	t.Logf("leadership moved %s after the leader was killed", time.Since(killed).Round(100*time.Millisecond))

	if err := second.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if code := second.ExitCode(); code != 0 {
		t.Errorf("after SIGTERM the controller exited %d, want 0:\n%s", code, second.Output())
	}
	// ReleaseOnCancel: a graceful stop hands the Lease back at once.
	if h, err := leaseHolder(t); err != nil || h != "" {
		t.Errorf("after a graceful stop the Lease should be released; holder %q, err %v", h, err)
	}
}
