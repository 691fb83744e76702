// Package notifications runs subscribed rollouts end to end on the local
// cluster, with real HTTP receivers standing in for the services the
// notifications engine sends to: a webhook, and a Slack-compatible API.
package notifications

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/internal/notify"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// request is one notification a receiver accepted.
type request struct {
	Path string
	Body map[string]any
	At   time.Time
}

// receiver is a local HTTP server recording what it accepts; it answers 500
// to the first failFirst requests.
type receiver struct {
	URL string

	mu        sync.Mutex
	accepted  []request
	refused   int
	failFirst int
}

func startReceiver(t *testing.T, failFirst int) *receiver {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{URL: "http://" + l.Addr().String(), failFirst: failFirst}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	raw, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refused < r.failFirst {
		r.refused++
		http.Error(w, "receiver down", http.StatusInternalServerError)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		body = map[string]any{"unparsed": string(raw)}
	}
	r.accepted = append(r.accepted, request{Path: req.URL.Path, Body: body, At: time.Now()})
	w.WriteHeader(http.StatusOK)
}

// requests are those accepted on path (all when "").
func (r *receiver) requests(path string) []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []request
	for _, q := range r.accepted {
		if path == "" || q.Path == path {
			out = append(out, q)
		}
	}
	return out
}

// webhookSettings is a notification ConfigMap with one webhook service,
// "receiver", posting to url, and a template and trigger for each reason
// given: trigger on-<kebab reason> sends template <path> to /<path>, whose
// body names the rollout, the recipient and the service type. retryMax 1 (one retry, after 1 s)
// keeps the engine's own retries short, so that Aviary's are exercised.
func webhookSettings(url string, paths map[string]string) map[string]string {
	data := map[string]string{
		"service.webhook.receiver": fmt.Sprintf("url: %s\nretryMax: 1\n", url),
	}
	for reason, path := range paths {
		data["trigger."+notify.TriggerFor(reason)] = fmt.Sprintf("- send: [%s]\n", path)
		data["template."+path] = fmt.Sprintf(`webhook:
  receiver:
    method: POST
    path: /%s
    body: |
      {"rollout": "{{.rollout.metadata.name}}", "recipient": "{{.recipient}}", "service": "{{.serviceType}}", "phase": "{{.rollout.status.phase}}", "step": "{{.rollout.status.currentStepIndex}}"}
`, path)
	}
	return data
}

// applySettings writes the notification ConfigMap (and an empty Secret)
// into ns.
func applySettings(t *testing.T, ns string, data map[string]string) {
	t.Helper()
	cs := framework.Get(t).Clientset
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: notify.ConfigMapName, Namespace: ns}, Data: data}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create %s: %v", notify.ConfigMapName, err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: notify.SecretName, Namespace: ns}}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create %s: %v", notify.SecretName, err)
	}
}

// startController runs a controller scoped to ns whose own namespace, where
// it reads the notification settings, is ns too.
func startController(t *testing.T, ns string, extra ...string) *framework.Controller {
	t.Helper()
	t.Setenv("POD_NAMESPACE", ns)
	return framework.StartController(t, append([]string{"--leader-elect=false", "--namespaced", "--namespace", ns}, extra...)...)
}

// counts is how many facts with each reason were told about the rollout.
func counts(t *testing.T, ns, rollout string, reasons ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, e := range framework.RolloutEvents(t, ns) {
		if e.Object == rollout && (len(reasons) == 0 || slices.Contains(reasons, e.Reason)) {
			out[e.Reason]++
		}
	}
	return out
}

// pendingEvents lists the Events in ns still owing notifications.
func pendingEvents(t *testing.T, ns string) []string {
	t.Helper()
	list, err := framework.Get(t).Clientset.CoreV1().Events(ns).List(context.Background(),
		metav1.ListOptions{LabelSelector: events.NotifyPendingLabel + "=true"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Name+" ("+e.Reason+")")
	}
	return out
}

func describe(reqs []request) string {
	var b strings.Builder
	for _, q := range reqs {
		fmt.Fprintf(&b, "%s %v; ", q.Path, q.Body)
	}
	return b.String()
}
