// Package plugin runs Argo Rollouts plugins as Argo Rollouts runs them: the
// controller's ConfigMap argo-rollouts-config lists them (config.go), the
// controller fetches each binary into a private directory at start,
// refusing one whose sha256 does not match (fetch.go), and starts it with
// hashicorp/go-plugin under Argo's handshake, speaking net/rpc to it
// (host.go). What each kind of plugin is asked over RPC lives with its
// user: internal/metricprovider/plugin for metric providers.
package plugin

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// ConfigMapName is the controller's ConfigMap, in its own namespace.
const ConfigMapName = "argo-rollouts-config"

// Kind is a kind of plugin, spelled as Argo Rollouts spells its plugin
// types.
type Kind string

// The kinds of plugin, in the order Argo Rollouts lists them.
const (
	TrafficRouter  Kind = "TrafficRouter"
	MetricProvider Kind = "MetricProvider"
	Step           Kind = "Step"
)

// Kinds are every kind, in Argo Rollouts' order.
var Kinds = []Kind{TrafficRouter, MetricProvider, Step}

// Key is the ConfigMap key listing the kind's plugins.
func (k Kind) Key() string {
	switch k {
	case TrafficRouter:
		return "trafficRouterPlugins"
	case MetricProvider:
		return "metricProviderPlugins"
	case Step:
		return "stepPlugins"
	}
	return ""
}

// cookie is the handshake's magic cookie value for the kind's plugins, and
// dispense the name they serve their RPC object under: a plugin binary
// checks both, so they are Argo Rollouts' exactly.
func (k Kind) cookie() string {
	switch k {
	case TrafficRouter:
		return "trafficrouter"
	case MetricProvider:
		return "metricprovider"
	case Step:
		return "step"
	}
	return ""
}

func (k Kind) dispense() string {
	switch k {
	case TrafficRouter:
		return "RpcTrafficRouterPlugin"
	case MetricProvider:
		return "RpcMetricProviderPlugin"
	case Step:
		return "RpcStepPlugin"
	}
	return ""
}

// Item is one plugin of the ConfigMap, with Argo Rollouts' field names.
type Item struct {
	// Name is "<owner>/<name>": what rollouts and templates call the
	// plugin, and where its binary is kept.
	Name string `json:"name"`
	// Location is a file:// path or an http(s):// URL.
	Location string `json:"location"`
	// Sha256 is the binary's checksum in hex; when set, a binary that does
	// not match is refused.
	Sha256 string `json:"sha256"`
	// Disabled turns a step plugin off.
	Disabled bool `json:"disabled"`
	// Args are the binary's command-line arguments.
	Args []string `json:"args"`
	// HeadersFrom name Secrets in the controller's namespace whose keys
	// and values are sent as headers when downloading the binary.
	HeadersFrom []HeadersFrom `json:"headersFrom"`

	Kind Kind `json:"-"`
}

// HeadersFrom names a Secret of download headers.
type HeadersFrom struct {
	SecretRef SecretRef `json:"secretRef"`
}

// SecretRef names a Secret in the controller's namespace.
type SecretRef struct {
	Name string `json:"name"`
}

// Config is the plugins the ConfigMap lists, every kind, in Argo Rollouts'
// order.
type Config struct {
	Items []Item
}

// Of is the plugins of one kind.
func (c Config) Of(k Kind) []Item {
	var out []Item
	for _, it := range c.Items {
		if it.Kind == k {
			out = append(out, it)
		}
	}
	return out
}

// nameRE is Argo Rollouts' rule for plugin names: a GitHub owner and
// repository, which also name the directory and file the binary is kept in.
var nameRE = regexp.MustCompile(`^([a-zA-Z0-9\-]+)/([a-zA-Z0-9_\-.]+)$`)

// Parse reads the plugin lists of the ConfigMap's data. Every list must
// parse, as Argo Rollouts requires at start, whatever kinds this build
// runs.
func Parse(data map[string]string) (Config, error) {
	var c Config
	seen := map[string]Kind{}
	for _, k := range Kinds {
		var items []Item
		if err := yaml.Unmarshal([]byte(data[k.Key()]), &items); err != nil {
			return Config{}, fmt.Errorf("ConfigMap %s, key %s: %w", ConfigMapName, k.Key(), err)
		}
		for i := range items {
			it := &items[i]
			it.Kind = k
			where := fmt.Sprintf("ConfigMap %s, key %s, plugin %q", ConfigMapName, k.Key(), it.Name)
			if err := it.validate(); err != nil {
				return Config{}, fmt.Errorf("%s: %w", where, err)
			}
			// Two entries of one name would share one binary file.
			if other, dup := seen[it.Name]; dup {
				return Config{}, fmt.Errorf("%s: the name is also listed under %s; give each plugin a name of its own", where, other.Key())
			}
			seen[it.Name] = k
		}
		c.Items = append(c.Items, items...)
	}
	return c, nil
}

func (it Item) validate() error {
	if !nameRE.MatchString(it.Name) {
		return fmt.Errorf("name must be <owner>/<name> (letters, digits and '-'; the name also '_' and '.')")
	}
	u, err := url.ParseRequestURI(it.Location)
	if err != nil {
		return fmt.Errorf("location %q is not a URL: use file:///path/to/binary or https://host/path", it.Location)
	}
	if !slices.Contains([]string{"file", "http", "https"}, u.Scheme) {
		return fmt.Errorf("location has scheme %q: use file://, http:// or https://", u.Scheme)
	}
	// Argo Rollouts compares a checksum of any other length against a
	// value no file can have: say so instead of failing at the download.
	if it.Sha256 != "" {
		if b, err := hex.DecodeString(it.Sha256); err != nil || len(b) != 32 {
			return fmt.Errorf("sha256 must be 64 hexadecimal digits (sha256sum's output), got %q", it.Sha256)
		}
	}
	for _, h := range it.HeadersFrom {
		if h.SecretRef.Name == "" {
			return fmt.Errorf("headersFrom: each entry needs secretRef.name")
		}
	}
	return nil
}

// Load reads the ConfigMap from namespace through r (the API server: the
// controller reads it before its caches start). No ConfigMap is no plugins.
func Load(ctx context.Context, r client.Reader, namespace string) (Config, error) {
	var cm corev1.ConfigMap
	err := r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ConfigMapName}, &cm)
	if apierrors.IsNotFound(err) {
		return Config{}, nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("read ConfigMap %s/%s: %w", namespace, ConfigMapName, err)
	}
	return Parse(cm.Data)
}
