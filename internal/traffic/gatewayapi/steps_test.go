package gatewayapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestHeaderMatches(t *testing.T) {
	hdr := func(name string, m *v1alpha1.StringMatch) v1alpha1.HeaderRoutingMatch {
		return v1alpha1.HeaderRoutingMatch{HeaderName: name, HeaderValue: m}
	}
	for _, c := range []struct {
		name    string
		match   []v1alpha1.HeaderRoutingMatch
		want    []any
		problem string
	}{
		{"exact", []v1alpha1.HeaderRoutingMatch{hdr("X-Canary", &v1alpha1.StringMatch{Exact: "yes"})},
			[]any{map[string]any{"name": "X-Canary", "type": "Exact", "value": "yes"}}, ""},
		{"regex", []v1alpha1.HeaderRoutingMatch{hdr("X-User", &v1alpha1.StringMatch{Regex: "^(a|b)$"})},
			[]any{map[string]any{"name": "X-User", "type": "RegularExpression", "value": "^(a|b)$"}}, ""},
		{"prefix becomes an anchored, quoted regular expression", []v1alpha1.HeaderRoutingMatch{hdr("X-Ver", &v1alpha1.StringMatch{Prefix: "v1.2+"})},
			[]any{map[string]any{"name": "X-Ver", "type": "RegularExpression", "value": `^v1\.2\+.*`}}, ""},
		{"all conditions kept in order", []v1alpha1.HeaderRoutingMatch{
			hdr("B", &v1alpha1.StringMatch{Exact: "1"}), hdr("A", &v1alpha1.StringMatch{Exact: "2"})},
			[]any{map[string]any{"name": "B", "type": "Exact", "value": "1"}, map[string]any{"name": "A", "type": "Exact", "value": "2"}}, ""},
		{"no value", []v1alpha1.HeaderRoutingMatch{hdr("X", nil)}, nil, ".setHeaderRoute.match[0].headerValue: for header \"X\" must set exactly one"},
		{"two values", []v1alpha1.HeaderRoutingMatch{hdr("A", &v1alpha1.StringMatch{Exact: "1"}), hdr("X", &v1alpha1.StringMatch{Exact: "a", Regex: "b"})},
			nil, ".setHeaderRoute.match[1].headerValue: for header \"X\" must set exactly one"},
		{"no name", []v1alpha1.HeaderRoutingMatch{hdr("", &v1alpha1.StringMatch{Exact: "a"})}, nil, "set headerName"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, p := headerMatches(&v1alpha1.SetHeaderRoute{Name: "h", Match: c.match})
			if c.problem != "" {
				if p == nil || !strings.Contains(p.sub+": "+p.msg, c.problem) {
					t.Fatalf("problem %+v, want %q", p, c.problem)
				}
				return
			}
			if p != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v %+v, want %v", got, p, c.want)
			}
		})
	}
}

func TestMirrorMatches(t *testing.T) {
	root := map[string]any{"type": "PathPrefix", "value": "/"}
	for _, c := range []struct {
		name    string
		mirror  v1alpha1.SetMirrorRoute
		want    []any
		problem string
	}{
		{"method", v1alpha1.SetMirrorRoute{Match: []v1alpha1.RouteMatch{{Method: &v1alpha1.StringMatch{Exact: "POST"}}}},
			[]any{map[string]any{"method": "POST", "path": root}}, ""},
		{"paths", v1alpha1.SetMirrorRoute{Match: []v1alpha1.RouteMatch{
			{Path: &v1alpha1.StringMatch{Exact: "/a"}}, {Path: &v1alpha1.StringMatch{Prefix: "/b"}}, {Path: &v1alpha1.StringMatch{Regex: ".*/c"}}}},
			[]any{
				map[string]any{"path": map[string]any{"type": "Exact", "value": "/a"}},
				map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/b"}},
				map[string]any{"path": map[string]any{"type": "RegularExpression", "value": ".*/c"}},
			}, ""},
		{"headers sorted by name", v1alpha1.SetMirrorRoute{Match: []v1alpha1.RouteMatch{{Headers: map[string]v1alpha1.StringMatch{
			"b": {Prefix: "x"}, "a": {Exact: "1"}, "c": {Regex: "y+"}}}}},
			[]any{map[string]any{"path": root, "headers": []any{
				map[string]any{"name": "a", "type": "Exact", "value": "1"},
				map[string]any{"name": "b", "type": "RegularExpression", "value": "^x.*"},
				map[string]any{"name": "c", "type": "RegularExpression", "value": "y+"},
			}}}, ""},
		{"an empty match mirrors everything", v1alpha1.SetMirrorRoute{Match: []v1alpha1.RouteMatch{{}}}, []any{map[string]any{"path": root}}, ""},
		{"method by regex", v1alpha1.SetMirrorRoute{Match: []v1alpha1.RouteMatch{{Method: &v1alpha1.StringMatch{Regex: "GET|POST"}}}},
			nil, ".setMirrorRoute.match[0].method: Gateway API matches methods exactly"},
		{"unknown method", v1alpha1.SetMirrorRoute{Match: []v1alpha1.RouteMatch{{}, {Method: &v1alpha1.StringMatch{Exact: "get"}}}},
			nil, ".setMirrorRoute.match[1].method"},
		{"relative path", v1alpha1.SetMirrorRoute{Match: []v1alpha1.RouteMatch{{Path: &v1alpha1.StringMatch{Prefix: "api"}}}},
			nil, `.setMirrorRoute.match[0].path: "api" must start with /`},
		{"empty path", v1alpha1.SetMirrorRoute{Match: []v1alpha1.RouteMatch{{Path: &v1alpha1.StringMatch{}}}},
			nil, ".setMirrorRoute.match[0].path: must set exactly one"},
		{"bad header", v1alpha1.SetMirrorRoute{Match: []v1alpha1.RouteMatch{{Headers: map[string]v1alpha1.StringMatch{"x": {}}}}},
			nil, ".setMirrorRoute.match[0].headers[x]"},
		{"percentage", v1alpha1.SetMirrorRoute{Match: []v1alpha1.RouteMatch{{}}, Percentage: ptr.To[int32](101)},
			nil, ".setMirrorRoute.percentage: 101 is not a percentage"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, p := mirrorMatches(&c.mirror)
			if c.problem != "" {
				if p == nil || !strings.Contains(p.sub+": "+p.msg, c.problem) {
					t.Fatalf("problem %+v, want %q", p, c.problem)
				}
				return
			}
			if p != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v %+v\nwant %v", got, p, c.want)
			}
		})
	}
}

// rolloutWith is a canary Rollout using the Gateway API router with config.
func rolloutWith(config string, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Name, ro.Namespace = "app", "ns"
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{
		CanaryService: "app-canary", StableService: "app-stable", Steps: steps,
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{
			Plugins:       map[string]json.RawMessage{ConfigKey: json.RawMessage(config)},
			ManagedRoutes: []v1alpha1.MangedRoutes{{Name: "header"}, {Name: "mirror"}},
		},
	}
	return ro
}

func TestValidate(t *testing.T) {
	header := v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "header",
		Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X-Canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}}}
	mirror := v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "mirror", Match: []v1alpha1.RouteMatch{{}}}}
	weight := v1alpha1.CanaryStep{SetWeight: ptr.To[int32](10)}
	for _, c := range []struct {
		name   string
		ro     *v1alpha1.Rollout
		errors []string
	}{
		{"not this router", &v1alpha1.Rollout{}, nil},
		{"valid", rolloutWith(`{"httpRoute": "web"}`, weight, header, mirror), nil},
		{"header and mirror removal needs no target", rolloutWith(`{"tcpRoute": "db"}`,
			v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "header"}},
			v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "mirror"}}), nil},
		{"bad config", rolloutWith(`{"httpRoute": "web", "mode": 1}`, header), []string{
			ConfigField + `: Invalid value: has unknown field "mode"`}},
		{"selector routes take no header rules", rolloutWith(`{"httpRouteSelector": {"matchLabels": {"a": "b"}}}`, weight, header), []string{
			"spec.strategy.canary.steps[1].setHeaderRoute: Forbidden: no route takes header rules"}},
		{"a GRPCRoute takes header rules but not mirror rules", rolloutWith(`{"grpcRoute": "rpc"}`, header, mirror), []string{
			"spec.strategy.canary.steps[1].setMirrorRoute: Forbidden: no HTTPRoute takes mirror rules"}},
		{"list entries must opt in", rolloutWith(`{"httpRoutes": [{"name": "web"}]}`, header, mirror), []string{
			"spec.strategy.canary.steps[0].setHeaderRoute: Forbidden", "spec.strategy.canary.steps[1].setMirrorRoute: Forbidden"}},
		{"bad matches", rolloutWith(`{"httpRoute": "web"}`,
			v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "header", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X"}}}},
			v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "mirror", Match: []v1alpha1.RouteMatch{{Method: &v1alpha1.StringMatch{Prefix: "G"}}}}}),
			[]string{"spec.strategy.canary.steps[0].setHeaderRoute.match[0].headerValue: Invalid value", "spec.strategy.canary.steps[1].setMirrorRoute.match[0].method: Invalid value"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := Validate(c.ro)
			if len(errs) != len(c.errors) {
				t.Fatalf("errors %v, want %d: %v", errs, len(c.errors), c.errors)
			}
			for i, e := range errs {
				if !strings.HasPrefix(e.Error(), c.errors[i]) {
					t.Errorf("error %d: %q, want it to start with %q", i, e.Error(), c.errors[i])
				}
			}
		})
	}
}

func TestStepField(t *testing.T) {
	h := &v1alpha1.SetHeaderRoute{Name: "h"}
	m := &v1alpha1.SetMirrorRoute{Name: "m"}
	ro := rolloutWith(`{}`, v1alpha1.CanaryStep{SetWeight: ptr.To[int32](1)}, v1alpha1.CanaryStep{SetHeaderRoute: h},
		v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m"}}, v1alpha1.CanaryStep{SetMirrorRoute: m})
	for _, c := range []struct {
		got, want string
	}{
		{stepField(ro, h, nil), "spec.strategy.canary.steps[1]"},
		{stepField(ro, &v1alpha1.SetHeaderRoute{Name: "h"}, nil), "spec.strategy.canary.steps[1]"},
		{stepField(ro, nil, m), "spec.strategy.canary.steps[3]"}, // the same pointer beats the same name
		{stepField(ro, nil, &v1alpha1.SetMirrorRoute{Name: "other"}), "spec.strategy.canary.steps"},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}
