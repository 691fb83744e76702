package gatewayapi

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// problem is something wrong with a step's matches: the field below the
// step (e.g. ".setHeaderRoute.match[0].headerValue") and what to do.
type problem struct {
	sub, msg string
}

// stringMatch reads a StringMatch that must set exactly one field, and
// returns which one ("exact", "prefix" or "regex") and its value.
func stringMatch(m *v1alpha1.StringMatch) (kind, value string, ok bool) {
	if m == nil {
		return "", "", false
	}
	n := 0
	for _, c := range []struct{ kind, value string }{{"exact", m.Exact}, {"prefix", m.Prefix}, {"regex", m.Regex}} {
		if c.value != "" {
			kind, value = c.kind, c.value
			n++
		}
	}
	return kind, value, n == 1
}

// headerMatch is a Gateway API header match (the same shape for HTTPRoute
// and GRPCRoute). Gateway API has no prefix header match, so a prefix
// becomes the RegularExpression "^<prefix, quoted>.*", anchored because
// some implementations search rather than match the whole value; this is
// what the plugin writes too.
func headerMatch(name string, v *v1alpha1.StringMatch, sub string) (map[string]any, *problem) {
	if name == "" {
		return nil, &problem{sub, "has no header name: set headerName"}
	}
	kind, value, ok := stringMatch(v)
	if !ok {
		return nil, &problem{sub, fmt.Sprintf("for header %q must set exactly one of exact, prefix or regex", name)}
	}
	m := map[string]any{"name": name, "type": "Exact", "value": value}
	switch kind {
	case "prefix":
		m["type"], m["value"] = "RegularExpression", "^"+regexp.QuoteMeta(value)+".*"
	case "regex":
		m["type"] = "RegularExpression"
	}
	return m, nil
}

// headerMatches converts a setHeaderRoute's matches; all of them must hold
// for a request to go to the canary.
func headerMatches(h *v1alpha1.SetHeaderRoute) ([]any, *problem) {
	out := make([]any, 0, len(h.Match))
	for i, m := range h.Match {
		hm, p := headerMatch(m.HeaderName, m.HeaderValue, fmt.Sprintf(".setHeaderRoute.match[%d].headerValue", i))
		if p != nil {
			return nil, p
		}
		out = append(out, hm)
	}
	return out, nil
}

// httpMethods are the methods Gateway API's HTTPMethod enum allows.
var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// mirrorMatches converts a setMirrorRoute's matches into HTTPRoute matches;
// a request matching any of them is mirrored. Headers are sorted by name
// so the rule, and so the route, is the same on every call.
func mirrorMatches(m *v1alpha1.SetMirrorRoute) ([]any, *problem) {
	out := make([]any, 0, len(m.Match))
	for i, rm := range m.Match {
		sub := fmt.Sprintf(".setMirrorRoute.match[%d]", i)
		hm := map[string]any{}
		if rm.Method != nil {
			kind, value, ok := stringMatch(rm.Method)
			if !ok || kind != "exact" || !slices.Contains(httpMethods, value) {
				return nil, &problem{sub + ".method", "Gateway API matches methods exactly: set exact to one of " + strings.Join(httpMethods, ", ")}
			}
			hm["method"] = value
		}
		path := map[string]any{"type": "PathPrefix", "value": "/"}
		if rm.Path != nil {
			kind, value, ok := stringMatch(rm.Path)
			if !ok {
				return nil, &problem{sub + ".path", "must set exactly one of exact, prefix or regex"}
			}
			if kind != "regex" && !strings.HasPrefix(value, "/") {
				return nil, &problem{sub + ".path", fmt.Sprintf("%q must start with / for an exact or prefix match", value)}
			}
			// Gateway API prefixes match whole path segments: /api
			// matches /api/v1 but not /apiv1.
			path["value"] = value
			path["type"] = map[string]string{"exact": "Exact", "prefix": "PathPrefix", "regex": "RegularExpression"}[kind]
		}
		hm["path"] = path
		names := make([]string, 0, len(rm.Headers))
		for name := range rm.Headers {
			names = append(names, name)
		}
		slices.Sort(names)
		var headers []any
		for _, name := range names {
			v := rm.Headers[name]
			h, p := headerMatch(name, &v, sub+".headers["+name+"]")
			if p != nil {
				return nil, p
			}
			headers = append(headers, h)
		}
		if len(headers) > 0 {
			hm["headers"] = headers
		}
		out = append(out, hm)
	}
	if pc := m.Percentage; pc != nil && (*pc < 0 || *pc > 100) {
		return nil, &problem{".setMirrorRoute.percentage", fmt.Sprintf("%d is not a percentage: use 0 to 100", *pc)}
	}
	return out, nil
}

// stepField is the spec path of the step holding the header or mirror
// route, found by pointer or else by name, for SpecErrors.
func stepField(ro *v1alpha1.Rollout, h *v1alpha1.SetHeaderRoute, m *v1alpha1.SetMirrorRoute) string {
	steps := ro.Spec.Strategy.Canary.Steps
	for _, byName := range []bool{false, true} {
		for i, s := range steps {
			hit := (h != nil && s.SetHeaderRoute != nil && (s.SetHeaderRoute == h || byName && s.SetHeaderRoute.Name == h.Name)) ||
				(m != nil && s.SetMirrorRoute != nil && (s.SetMirrorRoute == m || byName && s.SetMirrorRoute.Name == m.Name))
			if hit {
				return fmt.Sprintf("spec.strategy.canary.steps[%d]", i)
			}
		}
	}
	return "spec.strategy.canary.steps"
}

// headerTargets says whether any configured route takes header rules
// (an HTTPRoute or GRPCRoute) and whether any takes mirror rules (an
// HTTPRoute).
func headerTargets(cfg *Config) (header, mirror bool) {
	for _, r := range cfg.Routes() {
		if r.HeaderRoutes && r.Kind.headerCapable() {
			header = true
			mirror = mirror || r.Kind == HTTPRoute
		}
	}
	return header, mirror
}

const (
	noHeaderTarget = "no route takes header rules: name an HTTPRoute or GRPCRoute with httpRoute or grpcRoute, or set useHeaderRoutes: true on an httpRoutes or grpcRoutes entry (routes found by a selector get weights only)"
	noMirrorTarget = "no HTTPRoute takes mirror rules: name one with httpRoute, or set useHeaderRoutes: true on an httpRoutes entry (routes found by a selector get weights only)"
)

// Validate checks a Rollout's Gateway API configuration and the header
// and mirror steps that will use it, without reading the cluster. It
// returns nil when the Rollout does not use this router. The router makes
// the same checks and returns them as SpecErrors.
func Validate(ro *v1alpha1.Rollout) field.ErrorList {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		return nil
	}
	raw, ok := c.TrafficRouting.Plugins[ConfigKey]
	if !ok {
		return nil
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		var se *traffic.SpecError
		if errors.As(err, &se) {
			return field.ErrorList{field.Invalid(field.NewPath(se.Field), field.OmitValueType{}, se.Msg)}
		}
		return field.ErrorList{field.InternalError(field.NewPath(ConfigField), err)}
	}
	header, mirror := headerTargets(cfg)
	var errs field.ErrorList
	for i, s := range c.Steps {
		sp := fmt.Sprintf("spec.strategy.canary.steps[%d]", i)
		if h := s.SetHeaderRoute; h != nil && len(h.Match) > 0 {
			if !header {
				errs = append(errs, field.Forbidden(field.NewPath(sp+".setHeaderRoute"), noHeaderTarget))
			}
			if _, p := headerMatches(h); p != nil {
				errs = append(errs, field.Invalid(field.NewPath(sp+p.sub), field.OmitValueType{}, p.msg))
			}
		}
		if m := s.SetMirrorRoute; m != nil && len(m.Match) > 0 {
			if !mirror {
				errs = append(errs, field.Forbidden(field.NewPath(sp+".setMirrorRoute"), noMirrorTarget))
			}
			if _, p := mirrorMatches(m); p != nil {
				errs = append(errs, field.Invalid(field.NewPath(sp+p.sub), field.OmitValueType{}, p.msg))
			}
		}
	}
	return errs
}
