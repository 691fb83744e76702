package notify

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	corev1 "k8s.io/api/core/v1"
)

// TestWebhookSendsAsTheEngine: the settings of a webhook service (with a
// Secret reference), a template's method, path and body, headers and basic
// auth reach the server; a refusal is an error that names the host alone.
func TestWebhookSendsAsTheEngine(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+string(body)+" "+r.Header.Get("X-Team")+" "+user+":"+pass)
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/refuse") {
			http.Error(w, "nope", http.StatusForbidden)
		}
	}))
	defer srv.Close()

	cm := &corev1.ConfigMap{Data: map[string]string{
		"service.webhook.hook": "url: " + srv.URL + "/hooks/$token\nheaders:\n- name: X-Team\n  value: web\nbasicAuth:\n  username: bot\n  password: $password\nretryMax: 1\n",
		"service.slack":        "token: x",
	}}
	secret := &corev1.Secret{Data: map[string][]byte{"token": []byte("T0K3N"), "password": []byte("pw")}}
	cfg, err := api.ParseConfig(cm, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := useOwnWebhooks(cfg, cm, secret); err != nil {
		t.Fatal(err)
	}
	svc, err := cfg.Services["hook"]()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := svc.(*webhook); !ok {
		t.Fatalf("service hook is %T, want Aviary's webhook", svc)
	}
	n := services.Notification{Webhook: services.WebhookNotifications{"hook": {Method: "POST", Path: "/step", Body: `{"a":1}`}}}
	if err := svc.Send(n, services.Destination{Service: "hook"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Send(services.Notification{Message: "plain"}, services.Destination{Service: "hook"}); err != nil {
		t.Fatal(err)
	}
	refused := services.Notification{Webhook: services.WebhookNotifications{"hook": {Method: "PUT", Path: "refuse"}}}
	err = svc.Send(refused, services.Destination{Service: "hook"})
	if err == nil || !strings.Contains(err.Error(), "answered 403") || strings.Contains(err.Error(), "T0K3N") || strings.Contains(err.Error(), "/hooks") {
		t.Errorf("refusal error %v: want the status and the host, not the URL's path", err)
	}
	want := []string{
		`POST /hooks/T0K3N/step {"a":1} web bot:pw`,
		`GET /hooks/T0K3N plain web bot:pw`,
		`PUT /hooks/T0K3N/refuse  web bot:pw`,
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWithSecretsLeavesUnknownReferences(t *testing.T) {
	out, err := withSecrets("url: https://x/$known/$unknown\nretryMax: 2\n", &corev1.Secret{Data: map[string][]byte{"known": []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "https://x/v/$unknown") || !strings.Contains(string(out), "retryMax: 2") {
		t.Errorf("got %s", out)
	}
}
