package gatewayapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// ConfigKey is the trafficRouting.plugins key of the argoproj-labs Gateway
// API plugin, whose configuration this router accepts as it is.
const ConfigKey = "argoproj-labs/gatewayAPI"

// ConfigField is the spec path of the configuration, the prefix of every
// field this package names in a SpecError.
const ConfigField = `spec.strategy.canary.trafficRouting.plugins["` + ConfigKey + `"]`

// Label defaults of the plugin, kept so that selectors and dashboards built
// for it keep working.
const (
	DefaultInProgressLabelKey   = "rollouts.argoproj.io/gatewayapi-canary"
	DefaultInProgressLabelValue = "in-progress"
)

// Group is the Gateway API group.
const Group = "gateway.networking.k8s.io"

// Kind is a Gateway API route kind the router can change.
type Kind string

// The route kinds, in the order the router visits them (the plugin's).
const (
	HTTPRoute Kind = "HTTPRoute"
	GRPCRoute Kind = "GRPCRoute"
	TCPRoute  Kind = "TCPRoute"
	TLSRoute  Kind = "TLSRoute"
)

// Kinds are the route kinds in visiting order.
var Kinds = []Kind{HTTPRoute, GRPCRoute, TCPRoute, TLSRoute}

// GroupVersionKind is the version the router reads and writes: v1 for
// HTTPRoute and GRPCRoute, v1alpha2 (experimental channel) for TCPRoute and
// TLSRoute.
func (k Kind) GroupVersionKind() schema.GroupVersionKind {
	v := "v1"
	if k == TCPRoute || k == TLSRoute {
		v = "v1alpha2"
	}
	return schema.GroupVersionKind{Group: Group, Version: v, Kind: string(k)}
}

// headerCapable is whether the kind can carry header (and, for HTTPRoute,
// mirror) rules.
func (k Kind) headerCapable() bool { return k == HTTPRoute || k == GRPCRoute }

// RouteRef is one entry of httpRoutes, grpcRoutes, tcpRoutes or tlsRoutes.
type RouteRef struct {
	// Name of the route.
	Name string `json:"name"`
	// UseHeaderRoutes lets setHeaderRoute and setMirrorRoute steps add
	// rules to this route.
	UseHeaderRoutes bool `json:"useHeaderRoutes,omitempty"`
}

// Config is the plugin's configuration (pkg/plugin/types.go of
// argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi), field for field.
type Config struct {
	// HTTPRoute names one HTTPRoute; header and mirror rules go to it.
	HTTPRoute string `json:"httpRoute,omitempty"`
	// GRPCRoute names one GRPCRoute; header rules go to it.
	GRPCRoute string `json:"grpcRoute,omitempty"`
	// TCPRoute names one TCPRoute.
	TCPRoute string `json:"tcpRoute,omitempty"`
	// TLSRoute names one TLSRoute.
	TLSRoute string `json:"tlsRoute,omitempty"`
	// HTTPRoutes lists HTTPRoutes.
	HTTPRoutes []RouteRef `json:"httpRoutes,omitempty"`
	// GRPCRoutes lists GRPCRoutes.
	GRPCRoutes []RouteRef `json:"grpcRoutes,omitempty"`
	// TCPRoutes lists TCPRoutes (useHeaderRoutes has no effect).
	TCPRoutes []RouteRef `json:"tcpRoutes,omitempty"`
	// TLSRoutes lists TLSRoutes (useHeaderRoutes has no effect).
	TLSRoutes []RouteRef `json:"tlsRoutes,omitempty"`
	// HTTPRouteSelector adds the HTTPRoutes whose labels match; they get
	// weights only, never header or mirror rules.
	HTTPRouteSelector *metav1.LabelSelector `json:"httpRouteSelector,omitempty"`
	// GRPCRouteSelector adds the GRPCRoutes whose labels match.
	GRPCRouteSelector *metav1.LabelSelector `json:"grpcRouteSelector,omitempty"`
	// TCPRouteSelector adds the TCPRoutes whose labels match.
	TCPRouteSelector *metav1.LabelSelector `json:"tcpRouteSelector,omitempty"`
	// TLSRouteSelector adds the TLSRoutes whose labels match.
	TLSRouteSelector *metav1.LabelSelector `json:"tlsRouteSelector,omitempty"`
	// Namespace of the routes; the Rollout's when empty.
	Namespace string `json:"namespace,omitempty"`
	// ConfigMap is where the plugin keeps its managed-rule state. It is
	// accepted and ignored: this router keeps that state in an annotation
	// on each route (AnnotationKey), so no ConfigMap is needed.
	ConfigMap string `json:"configMap,omitempty"`
	// DisableInProgressLabel stops the router labelling routes while a
	// canary has traffic.
	DisableInProgressLabel bool `json:"disableInProgressLabel,omitempty"`
	// InProgressLabelKey overrides DefaultInProgressLabelKey.
	InProgressLabelKey string `json:"inProgressLabelKey,omitempty"`
	// InProgressLabelValue overrides DefaultInProgressLabelValue.
	InProgressLabelValue string `json:"inProgressLabelValue,omitempty"`
}

// Route is a route the configuration names, or a selector that finds
// routes when Name is empty.
type Route struct {
	// Kind of the route.
	Kind Kind
	// Name of the route; empty for a selector.
	Name string
	// HeaderRoutes is whether header and mirror rules go to the route: true
	// for httpRoute and grpcRoute, useHeaderRoutes for list entries, false
	// for routes found by a selector (as in the plugin).
	HeaderRoutes bool
	// Field is the spec path that names the route, for SpecErrors.
	Field string
	// Selector finds routes by label when Name is empty.
	Selector *metav1.LabelSelector
}

// kindFields groups the per-kind fields of Config.
type kindFields struct {
	kind     Kind
	single   string
	list     []RouteRef
	selector *metav1.LabelSelector
	json     string // name of the single field; the list is json+"s"
}

func (c *Config) byKind() []kindFields {
	return []kindFields{
		{HTTPRoute, c.HTTPRoute, c.HTTPRoutes, c.HTTPRouteSelector, "httpRoute"},
		{GRPCRoute, c.GRPCRoute, c.GRPCRoutes, c.GRPCRouteSelector, "grpcRoute"},
		{TCPRoute, c.TCPRoute, c.TCPRoutes, c.TCPRouteSelector, "tcpRoute"},
		{TLSRoute, c.TLSRoute, c.TLSRoutes, c.TLSRouteSelector, "tlsRoute"},
	}
}

// Routes are the named routes, each once, then one entry per selector, in
// the plugin's kind order (HTTP, gRPC, TCP, TLS). A route named twice is
// listed once, with header rules if either entry asks for them.
func (c *Config) Routes() []Route {
	var out []Route
	for _, f := range c.byKind() {
		seen := map[string]int{}
		add := func(name string, header bool, field string) {
			if i, ok := seen[name]; ok {
				out[i].HeaderRoutes = out[i].HeaderRoutes || header
				return
			}
			seen[name] = len(out)
			out = append(out, Route{Kind: f.kind, Name: name, HeaderRoutes: header, Field: field})
		}
		if f.single != "" {
			add(f.single, true, ConfigField+"."+f.json)
		}
		for i, r := range f.list {
			add(r.Name, r.UseHeaderRoutes, fmt.Sprintf("%s.%ss[%d].name", ConfigField, f.json, i))
		}
		if f.selector != nil {
			out = append(out, Route{Kind: f.kind, Selector: f.selector, Field: ConfigField + "." + f.json + "Selector"})
		}
	}
	return out
}

// LabelKey is the in-progress label key, or "" when the label is disabled.
func (c *Config) LabelKey() string {
	switch {
	case c.DisableInProgressLabel:
		return ""
	case c.InProgressLabelKey != "":
		return c.InProgressLabelKey
	}
	return DefaultInProgressLabelKey
}

// LabelValue is the in-progress label value.
func (c *Config) LabelValue() string {
	if c.InProgressLabelValue != "" {
		return c.InProgressLabelValue
	}
	return DefaultInProgressLabelValue
}

// configError is a SpecError on the configuration or one of its fields.
func configError(sub, format string, args ...any) *traffic.SpecError {
	return &traffic.SpecError{Field: ConfigField + sub, Msg: fmt.Sprintf(format, args...)}
}

const supportedFields = "httpRoute, grpcRoute, tcpRoute, tlsRoute, httpRoutes, grpcRoutes, tcpRoutes, tlsRoutes, " +
	"httpRouteSelector, grpcRouteSelector, tcpRouteSelector, tlsRouteSelector, namespace, configMap, " +
	"disableInProgressLabel, inProgressLabelKey, inProgressLabelValue"

// ParseConfig decodes and checks the plugin configuration. Every problem is
// a *traffic.SpecError whose Field starts with ConfigField: unknown fields
// (a typo would otherwise be ignored and the route left alone), no route at
// all, empty names, selectors that are invalid or match everything, and
// label keys or values Kubernetes would reject.
func ParseConfig(raw json.RawMessage) (*Config, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, configError("", "is empty: name the routes to split, e.g. {\"httpRoute\": \"<HTTPRoute name>\"}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if strings.HasPrefix(msg, "unknown field") {
			return nil, configError("", "has %s: the supported fields are %s", msg, supportedFields)
		}
		return nil, configError("", "is not a valid configuration: %s", msg)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, configError("", "has data after the configuration object: remove it")
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) check() error {
	named := false
	for _, f := range c.byKind() {
		if f.single != "" {
			named = true
			if err := checkName(f.single, "."+f.json); err != nil {
				return err
			}
		}
		for i, r := range f.list {
			named = true
			if err := checkName(r.Name, fmt.Sprintf(".%ss[%d].name", f.json, i)); err != nil {
				return err
			}
		}
		if f.selector == nil {
			continue
		}
		named = true
		sub := "." + f.json + "Selector"
		sel, err := metav1.LabelSelectorAsSelector(f.selector)
		if err != nil {
			return configError(sub, "is not a valid label selector: %v", err)
		}
		if sel.Empty() {
			return configError(sub, "is empty and would select every %s in the namespace: give it matchLabels or matchExpressions", f.kind)
		}
	}
	if !named {
		return configError("", "names no route: set httpRoute, grpcRoute, tcpRoute or tlsRoute, one of their lists (httpRoutes, ...), or a route selector (httpRouteSelector, ...)")
	}
	if c.Namespace != "" {
		if errs := validation.IsDNS1123Label(c.Namespace); len(errs) > 0 {
			return configError(".namespace", "%q is not a namespace name: %s", c.Namespace, strings.Join(errs, "; "))
		}
	}
	if c.InProgressLabelKey != "" {
		if errs := validation.IsQualifiedName(c.InProgressLabelKey); len(errs) > 0 {
			return configError(".inProgressLabelKey", "%q is not a valid label key: %s", c.InProgressLabelKey, strings.Join(errs, "; "))
		}
	}
	if c.InProgressLabelValue != "" {
		if errs := validation.IsValidLabelValue(c.InProgressLabelValue); len(errs) > 0 {
			return configError(".inProgressLabelValue", "%q is not a valid label value: %s", c.InProgressLabelValue, strings.Join(errs, "; "))
		}
	}
	return nil
}

func checkName(name, sub string) error {
	if name == "" {
		return configError(sub, "is empty: give the route's name")
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return configError(sub, "%q is not a route name: %s", name, strings.Join(errs, "; "))
	}
	return nil
}
