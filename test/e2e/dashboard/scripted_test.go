package dashboard

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// pausedAtStep makes the plain rollout look paused at its pause step, as
// the controller would leave it, so that promote has something to do.
const pausedAtStep = `{"status":{"stableRS":"a","currentPodHash":"b","currentStepIndex":1,` +
	`"pauseConditions":[{"reason":"CanaryPauseStep","startTime":"2026-01-01T00:00:00Z"}]}}`

// scriptPromotes does what docs/dashboard.md tells a script to do: read
// the token from the API, then promote with it in the header it names.
func scriptPromotes(t *testing.T, d *dashboard, ns, host string) {
	t.Helper()
	r := d.do(http.MethodGet, d.api("token"), "", map[string]string{"Host": host})
	var tok struct{ Token, Header string }
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &tok) != nil || tok.Token == "" || tok.Header != "X-CSRF-Token" {
		t.Fatalf("GET token (Host %s): %d %s, want {\"token\": ..., \"header\": \"X-CSRF-Token\"}", host, r.Status, r.Body)
	}
	if tok.Token != d.token() {
		t.Errorf("the API's token differs from the page's")
	}
	promote := d.api("rollouts/" + ns + "/plain/promote")
	wantRefused(t, "PUT promote without the token", d.do(http.MethodPut, promote, "", map[string]string{"Host": host}), "GET /rollouts/api/v1/token")
	if len(getPlain(t, ns).Status.PauseConditions) == 0 {
		t.Fatal("the refused promote promoted")
	}
	r = d.do(http.MethodPut, promote, "", map[string]string{"Host": host, tok.Header: tok.Token})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "rollout 'plain' promoted") {
		t.Fatalf("PUT promote with the token (Host %s): %d %s", host, r.Status, r.Body)
	}
	if pc := getPlain(t, ns).Status.PauseConditions; len(pc) != 0 {
		t.Errorf("promote answered 200 but the pause conditions remain: %+v", pc)
	}
}

func TestDashboardScriptedClient(t *testing.T) {
	t.Parallel()
	ns, d := startPlain(t)
	framework.PatchRolloutStatus(t, ns, "plain", pausedAtStep)

	t.Run("another site's page gets neither the token nor an action", func(t *testing.T) {
		// What a browser sends for a fetch() from another site's page…
		for _, h := range []map[string]string{
			{"Origin": "https://evil.example.com", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"},
			{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
		} {
			r := d.do(http.MethodGet, d.api("token"), "", h)
			wantRefused(t, "GET token cross-site", r, "refused")
			if r.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("GET token cross-site: Access-Control-Allow-Origin %q", r.Header.Get("Access-Control-Allow-Origin"))
			}
		}
		// …and for its form's submission: a POST, no custom header.
		form := map[string]string{"Origin": "https://evil.example.com", "Sec-Fetch-Site": "cross-site", "Content-Type": "application/x-www-form-urlencoded"}
		for _, method := range []string{http.MethodPost, http.MethodPut} {
			wantRefused(t, method+" promote from a form", d.do(method, d.api("rollouts/"+ns+"/plain/promote"), "full=true", form), "X-CSRF-Token")
		}
		if ro := getPlain(t, ns); len(ro.Status.PauseConditions) == 0 || ro.Status.PromoteFull {
			t.Fatalf("a cross-site request changed the rollout: %+v", ro.Status)
		}
	})
	t.Run("a script reads the token and promotes", func(t *testing.T) {
		scriptPromotes(t, d, ns, "127.0.0.1:"+d.Port())
	})
}

// TestDashboardInCluster runs the dashboard as dist/dashboard-install.yaml's
// Deployment does — its exact args, a non-loopback listener and the
// ServiceAccount's rules, not the admin's — since no image runs here: with
// the port chosen freely and --allowed-hosts for an Ingress's name. A
// port-forward (Host localhost), the pod's address and the Ingress's name
// are answered, any other name is not, and every read and a script's
// action work with the ServiceAccount's rights.
func TestDashboardInCluster(t *testing.T) {
	t.Parallel()
	e := framework.Get(t)
	ns := framework.Namespace(t)
	applyPlain(t, ns)
	framework.PatchRolloutStatus(t, ns, "plain", pausedAtStep)

	var deployment appsv1.Deployment
	var role rbacv1.ClusterRole
	data, err := os.ReadFile(filepath.Join(e.RepoRoot, "dist", "dashboard-install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var head metav1.TypeMeta
		if err := utilyaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		switch head.Kind {
		case "Deployment":
			err = utilyaml.Unmarshal([]byte(doc), &deployment)
		case "ClusterRole":
			err = utilyaml.Unmarshal([]byte(doc), &role)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(deployment.Spec.Template.Spec.Containers) == 0 || len(role.Rules) == 0 {
		t.Fatalf("dist/dashboard-install.yaml lacks the dashboard's Deployment or ClusterRole")
	}
	args := deployment.Spec.Template.Spec.Containers[0].Args
	kubeconfig := dashboardAccount(t, ns, role.Rules)

	// A later --port wins: parallel tests must not race for 3100.
	args = append(slices.Clone(args), "--port", "0", "--allowed-hosts", "rollouts.example.com")
	d := startDashboardWith(t, ns, kubeconfig, args...)
	// Every address is announced as localhost, which a browser can open.
	if host, _, _ := net.SplitHostPort(d.Addr); host != "localhost" {
		t.Errorf("announced %s, want http://localhost:PORT/rollouts", d.URL)
	}
	if out := d.output(); !strings.Contains(out, "Serving beyond loopback: whoever reaches 0.0.0.0:"+d.Port()) &&
		!strings.Contains(out, "Serving beyond loopback: whoever reaches [::]:"+d.Port()) {
		t.Fatalf("the Deployment's args %v: no warning of serving every address in:\n%s", args, out)
	}
	// Connect over loopback (as kubectl port-forward does) and vary Host.
	d.URL = strings.Replace(d.URL, d.Addr, "127.0.0.1:"+d.Port(), 1)

	t.Run("it answers port-forwards, addresses and the allowed name only", func(t *testing.T) {
		for _, host := range []string{"localhost:3100", "127.0.0.1:3100", "localhost:" + d.Port(), "10.244.1.7:3100", "rollouts.example.com", "ROLLOUTS.example.com:443"} {
			if r := d.do(http.MethodGet, d.URL+"/", "", map[string]string{"Host": host}); r.Status != http.StatusOK {
				t.Errorf("GET the page for Host %s: %d %.300s, want 200", host, r.Status, r.Body)
			}
		}
		for _, host := range []string{"evil.example.com", "evil.example.com:3100", "aviary-dashboard.aviary.svc:3100", "rollouts.example.com.evil.example.com"} {
			wantRefused(t, "GET the token for Host "+host, d.do(http.MethodGet, d.api("token"), "", map[string]string{"Host": host}), "--allowed-hosts")
		}
	})
	t.Run("it listens beyond loopback", func(t *testing.T) {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			ip, ok := a.(*net.IPNet)
			if !ok || ip.IP.IsLoopback() || ip.IP.IsLinkLocalUnicast() || ip.IP.To4() == nil {
				continue
			}
			// The Host a client addressing the pod's IP sends.
			target := net.JoinHostPort(ip.IP.String(), d.Port())
			if r := d.do(http.MethodGet, "http://"+target+"/rollouts/api/v1/version", "", nil); r.Status != http.StatusOK {
				t.Errorf("GET version at %s: %d %s", target, r.Status, r.Body)
			}
			return
		}
		t.Logf("no non-loopback IPv4 address on this machine (%v): only loopback was tried", addrs)
	})
	t.Run("the ServiceAccount may read everything the pages show", func(t *testing.T) {
		var nsInfo struct {
			AvailableNamespaces []string `json:"availableNamespaces"`
		}
		d.getJSON("namespace", &nsInfo)
		if !slices.Contains(nsInfo.AvailableNamespaces, ns) {
			t.Errorf("namespaces %v, want %s among them (the ServiceAccount lists rollouts everywhere)", nsInfo.AvailableNamespaces, ns)
		}
		var list struct {
			Rollouts []struct{ Name string } `json:"rollouts"`
		}
		d.getJSON("rollouts/"+ns+"/info", &list)
		if len(list.Rollouts) != 1 || list.Rollouts[0].Name != "plain" {
			t.Errorf("list %+v, want plain", list.Rollouts)
		}
		var detail struct{ Name string }
		d.getJSON("rollouts/"+ns+"/plain/info", &detail)
		if detail.Name != "plain" {
			t.Errorf("detail %+v, want plain", detail)
		}
		if event, data := firstEvent(t, d.api("rollouts/"+ns+"/plain/info/watch")); event != "message" {
			t.Errorf("detail watch: first event %q %s, want a message", event, data)
		}
	})
	t.Run("a script behind a port-forward promotes with the ServiceAccount's rights", func(t *testing.T) {
		scriptPromotes(t, d, ns, "localhost:3100")
	})
	t.Run("the page under the Ingress's name acts through a proxy that sends the pod's address", func(t *testing.T) {
		h := map[string]string{"Host": "10.244.1.7:3100", "Origin": "https://rollouts.example.com", "X-CSRF-Token": d.token()}
		if r := d.do(http.MethodPut, d.api("rollouts/"+ns+"/plain/set/web/argoproj/rollouts-demo/green"), "", h); r.Status != http.StatusOK {
			t.Fatalf("PUT set image: %d %s", r.Status, r.Body)
		}
		if img := getPlain(t, ns).Spec.Template.Spec.Containers[0].Image; img != "argoproj/rollouts-demo:green" {
			t.Errorf("set image answered 200, image is %s", img)
		}
		h["Origin"] = "https://evil.example.com"
		wantRefused(t, "PUT pause from another origin", d.do(http.MethodPut, d.api("rollouts/"+ns+"/plain/pause"), "", h), "origin")
	})
}

// dashboardAccount is a ServiceAccount in ns bound to a ClusterRole with
// rules (a copy of the install's, so that nothing the install or another
// test applies is touched), and a kubeconfig that authenticates as it.
func dashboardAccount(t *testing.T, ns string, rules []rbacv1.PolicyRule) string {
	t.Helper()
	e := framework.Get(t)
	ctx := context.Background()
	const sa = "aviary-dashboard"
	name := "aviary-dashboard-e2e-" + ns
	if out, err := e.Kubectl(ctx, "create", "serviceaccount", sa, "-n", ns); err != nil {
		t.Fatalf("create serviceaccount: %v\n%s", err, out)
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
	}
	if err := e.Client.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Client.Delete(context.Background(), role) })
	if err := e.Client.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Client.Delete(context.Background(), binding) })

	token, err := e.Kubectl(ctx, "create", "token", sa, "-n", ns, "--duration=1h")
	if err != nil {
		t.Fatalf("create a token for %s/%s: %v", ns, sa, err)
	}
	admin, err := clientcmd.LoadFromFile(e.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: strings.TrimSpace(token)}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: sa}
	cfg.CurrentContext = "local"
	path := filepath.Join(t.TempDir(), "dashboard.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
