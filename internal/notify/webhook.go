package notify

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	enginehttp "github.com/argoproj/notifications-engine/pkg/util/http"
	"github.com/hashicorp/go-retryablehttp"
	yaml3 "gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// webhook is the engine's webhook service, same options and templates,
// without its request log. The engine posts through go-retryablehttp's
// default client, whose logger writes every request's method and whole URL
// to stderr and cannot be turned off from outside; a webhook URL often
// carries a token (a Slack incoming webhook's does), and secrets never
// appear in Aviary's logs. Measured: one "[DEBUG] POST http://…" line per
// notification in the e2e tests' output before this.
type webhook struct {
	name string
	opts services.WebhookOptions
}

func newWebhook(name string, opts services.WebhookOptions) *webhook {
	// The engine's defaults.
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = time.Second
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = 5 * time.Second
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = 3
	}
	return &webhook{name: name, opts: opts}
}

// Send posts the notification as the engine does: the template's webhook
// entry for this service gives the method, path (appended to the URL) and
// body; without one, a GET with the message as body.
func (w *webhook) Send(n services.Notification, dest services.Destination) error {
	method, target, body := http.MethodGet, w.opts.URL, n.Message
	if t, ok := n.Webhook[dest.Service]; ok {
		body = t.Body
		if t.Method != "" {
			method = t.Method
		}
		if t.Path != "" {
			target = strings.TrimRight(target, "/") + "/" + strings.TrimLeft(t.Path, "/")
		}
	}
	req, err := retryablehttp.NewRequest(method, target, bytes.NewBufferString(body))
	if err != nil {
		return fmt.Errorf("webhook %s: build the request: %w", w.name, err)
	}
	for _, h := range w.opts.Headers {
		req.Header.Set(h.Name, h.Value)
	}
	if w.opts.BasicAuth != nil {
		req.SetBasicAuth(w.opts.BasicAuth.Username, w.opts.BasicAuth.Password)
	}
	c := retryablehttp.NewClient()
	c.Logger = nil
	c.HTTPClient = &http.Client{Transport: enginehttp.NewTransport(target, w.opts.InsecureSkipVerify), Timeout: sendTimeout}
	c.RetryWaitMin, c.RetryWaitMax, c.RetryMax = w.opts.RetryWaitMin, w.opts.RetryWaitMax, w.opts.RetryMax
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %s %s: %w", w.name, method, hostOnly(target), err)
	}
	defer func() { _ = resp.Body.Close() }()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %s: %s %s answered %d: %s", w.name, method, hostOnly(target), resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	return nil
}

// hostOnly is a URL without its path and query, for messages.
func hostOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(the configured URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// useOwnWebhooks puts webhook in place of the engine's for every webhook
// service of the settings cm and secret configure.
func useOwnWebhooks(cfg *api.Config, cm *corev1.ConfigMap, secret *corev1.Secret) error {
	if cm == nil {
		return nil
	}
	for key, raw := range cm.Data {
		parts := strings.Split(key, ".")
		if len(parts) < 2 || parts[0] != "service" || parts[1] != "webhook" || len(parts) > 3 {
			continue
		}
		name := "webhook"
		if len(parts) == 3 {
			name = parts[2]
		}
		resolved, err := withSecrets(raw, secret)
		if err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		var opts services.WebhookOptions
		if err := yaml.Unmarshal(resolved, &opts); err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		cfg.Services[name] = func() (services.NotificationService, error) { return newWebhook(name, opts), nil }
	}
	return nil
}

// secretRef is a reference to a key of the Secret in a service's settings
// ($token), as the engine reads them.
var secretRef = regexp.MustCompile(`[$][\w-]+`)

// withSecrets replaces, in every string value of a service's YAML settings,
// each $key with that key of the Secret; an unknown key stays as written.
func withSecrets(raw string, secret *corev1.Secret) ([]byte, error) {
	var doc yaml3.Node
	if err := yaml3.Unmarshal([]byte(raw), &doc); err != nil {
		return nil, err
	}
	var walk func(*yaml3.Node)
	walk = func(n *yaml3.Node) {
		if n.Kind == yaml3.ScalarNode && n.Tag == "!!str" {
			n.Value = secretRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
				if secret != nil {
					if v, ok := secret.Data[ref[1:]]; ok {
						return string(v)
					}
				}
				return ref
			})
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return yaml3.Marshal(&doc)
}
