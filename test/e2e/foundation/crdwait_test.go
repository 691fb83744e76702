package foundation

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// crdHidingProxy forwards to the local cluster's API server with the admin's
// credentials, answering 404 for the argoproj.io API while hidden is set: to
// the controller behind it, the CRDs are not established yet. (The shared
// cluster's CRDs themselves are never touched: other tests use them.)
type crdHidingProxy struct {
	hidden atomic.Bool
	srv    *httptest.Server
}

func startCRDHidingProxy(t *testing.T) *crdHidingProxy {
	t.Helper()
	e := framework.Get(t)
	target, err := url.Parse(e.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	p := &crdHidingProxy{}
	p.hidden.Store(true)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = transport
	rp.FlushInterval = -1 // watches stream
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.hidden.Load() && strings.HasPrefix(r.URL.Path, "/apis/"+v1alpha1.GroupVersion.Group) {
			http.NotFound(w, r)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// kubeconfig points at the proxy, without credentials (the proxy adds them).
func (p *crdHidingProxy) kubeconfig(t *testing.T) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["proxy"] = &clientcmdapi.Cluster{Server: p.srv.URL}
	cfg.AuthInfos["none"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "none"}
	cfg.CurrentContext = "proxy"
	path := filepath.Join(t.TempDir(), "proxy.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStartsBeforeTheCRDsAreEstablished: applied in one `kubectl apply` with
// its CRDs, the controller can start before they are served. It must wait,
// saying so every few seconds and staying alive for its liveness probe,
// then start once they are served and reconcile as usual.
func TestStartsBeforeTheCRDsAreEstablished(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	proxy := startCRDHidingProxy(t)

	ctl := framework.StartController(t, "--kubeconfig", proxy.kubeconfig(t), "--namespaced", "--namespace", ns, "--leader-elect=false")
	want := "waiting for the argoproj.io CRDs to be established: Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun, Experiment not served yet"
	framework.Eventually(t, 20*time.Second, "two waiting lines", func() (bool, string) {
		return strings.Count(ctl.Output(), want) >= 2, ctl.Output()
	})
	if ctl.Exited() {
		t.Fatalf("the controller exited while waiting for the CRDs:\n%s", ctl.Output())
	}
	resp, err := http.Get("http://" + ctl.HealthAddr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz while waiting: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz while waiting: status %d", resp.StatusCode)
	}
	if strings.Contains(ctl.Output(), "starting aviary-controller") {
		t.Fatalf("the controller started before the CRDs were served:\n%s", ctl.Output())
	}

	proxy.hidden.Store(false)
	ctl.WaitForOutput(15*time.Second, "the argoproj.io CRDs are established")
	ctl.WaitForOutput(15*time.Second, "starting aviary-controller")

	manifest := strings.Replace(argoArgsRollout, "{LABELS}", "{}", 1)
	if out, err := e.KubectlStdin(ctx, []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply the rollout: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "the rollout Healthy with 2 available pods", func() (bool, string) {
		var ro v1alpha1.Rollout
		if err := e.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "argo-args"}, &ro); err != nil {
			return false, err.Error()
		}
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.AvailableReplicas == 2
		return ok, fmt.Sprintf("phase %s %q, available %d", ro.Status.Phase, ro.Status.Message, ro.Status.AvailableReplicas)
	})
}
