package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/dashboard/view"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// plainRollout is a canary with no controller behind it in these tests:
// the API answers from what the API server holds, and a refused request
// must leave it exactly as it was.
const plainRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: plain
spec:
  replicas: 1
  selector:
    matchLabels: {app: plain}
  template:
    metadata:
      labels: {app: plain}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
`

func applyPlain(t *testing.T, ns string) {
	t.Helper()
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(plainRollout), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

// startPlain is a namespace with the plain rollout and a dashboard on it.
func startPlain(t *testing.T) (string, *dashboard) {
	t.Helper()
	ns := framework.Namespace(t)
	applyPlain(t, ns)
	return ns, startDashboard(t, ns, "0")
}

func getPlain(t *testing.T, ns string) *v1alpha1.Rollout {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, "plain"), &ro); err != nil {
		t.Fatal(err)
	}
	return &ro
}

// wantRefused checks a 403 whose JSON body says why.
func wantRefused(t *testing.T, what string, r reply, why string) {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	if r.Status != http.StatusForbidden {
		t.Errorf("%s: status %d, want 403 (body %s)", what, r.Status, r.Body)
		return
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || !strings.Contains(body.Error, why) {
		t.Errorf("%s: body %s, want JSON {\"error\": ...} mentioning %q", what, r.Body, why)
	}
}

func TestDashboardSecurity(t *testing.T) {
	t.Parallel()
	ns, d := startPlain(t)
	token := d.token()
	before := getPlain(t, ns)
	ro := d.api("rollouts/" + ns + "/plain/")

	t.Run("every action needs the page's token", func(t *testing.T) {
		for _, path := range []string{"promote", "abort", "retry", "restart", "pause", "set/web/argoproj/rollouts-demo/green", "undo/0"} {
			wantRefused(t, "PUT "+path+" without a token", d.do(http.MethodPut, ro+path, `{"full":true}`, nil), "X-CSRF-Token")
			wantRefused(t, "PUT "+path+" with a wrong token", d.do(http.MethodPut, ro+path, `{"full":true}`,
				map[string]string{"X-CSRF-Token": strings.Repeat("0", len(token))}), "X-CSRF-Token")
		}
		after := getPlain(t, ns)
		if after.Generation != before.Generation || after.Spec.Paused || after.Spec.RestartAt != nil || after.Status.Abort ||
			after.Spec.Template.Spec.Containers[0].Image != "argoproj/rollouts-demo:blue" {
			t.Errorf("refused requests changed the rollout: generation %d→%d, paused %v, restartAt %v, abort %v, image %s",
				before.Generation, after.Generation, after.Spec.Paused, after.Spec.RestartAt, after.Status.Abort, after.Spec.Template.Spec.Containers[0].Image)
		}
	})

	t.Run("a foreign Origin is refused even with the token", func(t *testing.T) {
		wantRefused(t, "PUT pause from another origin", d.do(http.MethodPut, ro+"pause", "",
			map[string]string{"X-CSRF-Token": token, "Origin": "http://evil.example.com"}), "origin")
		if getPlain(t, ns).Spec.Paused {
			t.Error("the refused pause paused the rollout")
		}
	})

	t.Run("the token makes an action work", func(t *testing.T) {
		// Last, since it changes the rollout the other subtests expect untouched.
		r := d.do(http.MethodPut, ro+"pause", "", map[string]string{"X-CSRF-Token": token, "Origin": "http://" + d.Addr})
		if r.Status != http.StatusOK {
			t.Fatalf("PUT pause with the token: %d %s", r.Status, r.Body)
		}
		if !getPlain(t, ns).Spec.Paused {
			t.Error("PUT pause answered 200 but the rollout is not paused")
		}
	})

	t.Run("a foreign Host is refused", func(t *testing.T) {
		// A page on evil.example.com whose name was rebound to 127.0.0.1
		// sends exactly this.
		for _, host := range []string{"evil.example.com", "evil.example.com:" + d.Port(), "127.0.0.1.evil.example.com"} {
			wantRefused(t, "GET the page for Host "+host, d.do(http.MethodGet, d.URL+"/", "", map[string]string{"Host": host}), "host")
			wantRefused(t, "GET the list for Host "+host, d.do(http.MethodGet, d.api("rollouts/"+ns+"/info"), "", map[string]string{"Host": host}), "host")
		}
		for _, host := range []string{"localhost:" + d.Port(), "127.0.0.1:" + d.Port(), "[::1]:" + d.Port()} {
			if r := d.do(http.MethodGet, d.api("version"), "", map[string]string{"Host": host}); r.Status != http.StatusOK {
				t.Errorf("GET version for Host %s: %d %s, want 200", host, r.Status, r.Body)
			}
		}
	})

	t.Run("it listens on loopback only", func(t *testing.T) {
		if host, _, _ := net.SplitHostPort(d.Addr); host != "127.0.0.1" {
			t.Errorf("it announced %s, want 127.0.0.1 by default", d.URL)
		}
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			t.Fatal(err)
		}
		tried := 0
		for _, a := range addrs {
			ip, ok := a.(*net.IPNet)
			if !ok || ip.IP.IsLoopback() || ip.IP.IsLinkLocalUnicast() {
				continue
			}
			tried++
			target := net.JoinHostPort(ip.IP.String(), d.Port())
			if c, err := net.DialTimeout("tcp", target, 2*time.Second); err == nil {
				c.Close()
				t.Errorf("connected to %s: the dashboard must not listen beyond loopback by default", target)
			}
		}
		t.Logf("checked %d non-loopback addresses of this machine (%v)", tried, addrs)
	})
}

func TestDashboardAPI(t *testing.T) {
	t.Parallel()
	ns, d := startPlain(t)

	var version map[string]string
	d.getJSON("version", &version)
	if version["rolloutsVersion"] == "" {
		t.Errorf("version: %v, want a rolloutsVersion", version)
	}
	var nsInfo struct {
		Namespace           string   `json:"namespace"`
		AvailableNamespaces []string `json:"availableNamespaces"`
	}
	d.getJSON("namespace", &nsInfo)
	if nsInfo.Namespace != ns || !slices.Contains(nsInfo.AvailableNamespaces, ns) {
		t.Errorf("namespace: %+v, want %s, among the available ones", nsInfo, ns)
	}
	var list struct {
		Rollouts []view.Summary `json:"rollouts"`
	}
	d.getJSON("rollouts/"+ns+"/info", &list)
	if len(list.Rollouts) != 1 || list.Rollouts[0].Name != "plain" || list.Rollouts[0].Namespace != ns || list.Rollouts[0].StepCount != 2 {
		t.Errorf("list: %+v, want the one rollout plain with 2 steps", list.Rollouts)
	}
	var detail view.Detail
	d.getJSON("rollouts/"+ns+"/plain/info", &detail)
	if detail.Name != "plain" || len(detail.Steps) != 2 || len(detail.Containers) != 1 || detail.Containers[0].Image != "argoproj/rollouts-demo:blue" {
		t.Errorf("detail: %+v, want plain with 2 steps and its container", detail)
	}
	if r := d.do(http.MethodGet, d.api("rollouts/"+ns+"/nothing/info"), "", nil); r.Status != http.StatusNotFound {
		t.Errorf("detail of a missing rollout: %d %s, want 404", r.Status, r.Body)
	}

	t.Run("the list watch streams the list", func(t *testing.T) {
		event, data := firstEvent(t, d.api("rollouts/"+ns+"/info/watch"))
		var got struct {
			Rollouts []view.Summary `json:"rollouts"`
		}
		if err := json.Unmarshal([]byte(data), &got); event != "message" || err != nil || len(got.Rollouts) != 1 || got.Rollouts[0].Name != "plain" {
			t.Errorf("first event %q %s (%v), want a message with the list", event, data, err)
		}
	})
	t.Run("the detail watch of a missing rollout streams an error", func(t *testing.T) {
		event, data := firstEvent(t, d.api("rollouts/"+ns+"/nothing/info/watch"))
		var got struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &got); event != "error" || err != nil || got.Error == "" {
			t.Errorf("first event %q %s (%v), want an error event with {\"error\": ...}", event, data, err)
		}
	})
}

// firstEvent reads the first Server-Sent Event of a stream.
func firstEvent(t *testing.T, url string) (event, data string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("GET %s: %d %s, want 200 text/event-stream", url, resp.StatusCode, ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		case line == "" && (event != "" || data != ""):
			return event, data
		}
	}
	t.Fatalf("GET %s: the stream ended without an event: %v", url, fmt.Sprint(sc.Err()))
	return "", ""
}
