package gatewayapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/internal/traffic"
)

func TestParseConfigRoutes(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "demo"}}
	for _, c := range []struct {
		name string
		raw  string
		want []Route
	}{
		{"single HTTPRoute takes header rules", `{"httpRoute": "web"}`, []Route{
			{Kind: HTTPRoute, Name: "web", HeaderRoutes: true, Field: ConfigField + ".httpRoute"},
		}},
		{"every kind, in the plugin's order", `{"tlsRoute": "t", "tcpRoute": "c", "grpcRoute": "g", "httpRoute": "h"}`, []Route{
			{Kind: HTTPRoute, Name: "h", HeaderRoutes: true, Field: ConfigField + ".httpRoute"},
			{Kind: GRPCRoute, Name: "g", HeaderRoutes: true, Field: ConfigField + ".grpcRoute"},
			{Kind: TCPRoute, Name: "c", HeaderRoutes: true, Field: ConfigField + ".tcpRoute"},
			{Kind: TLSRoute, Name: "t", HeaderRoutes: true, Field: ConfigField + ".tlsRoute"},
		}},
		{"list entries take header rules only when asked", `{"httpRoutes": [{"name": "a"}, {"name": "b", "useHeaderRoutes": true}]}`, []Route{
			{Kind: HTTPRoute, Name: "a", Field: ConfigField + ".httpRoutes[0].name"},
			{Kind: HTTPRoute, Name: "b", HeaderRoutes: true, Field: ConfigField + ".httpRoutes[1].name"},
		}},
		{"a route named twice is listed once, with header rules if either asks", `{"grpcRoute": "g", "grpcRoutes": [{"name": "g"}, {"name": "x"}, {"name": "x", "useHeaderRoutes": true}]}`, []Route{
			{Kind: GRPCRoute, Name: "g", HeaderRoutes: true, Field: ConfigField + ".grpcRoute"},
			{Kind: GRPCRoute, Name: "x", HeaderRoutes: true, Field: ConfigField + ".grpcRoutes[1].name"},
		}},
		{"selectors come after the named routes of their kind", `{"httpRouteSelector": {"matchLabels": {"app": "demo"}}, "httpRoute": "h", "tcpRouteSelector": {"matchLabels": {"app": "demo"}}}`, []Route{
			{Kind: HTTPRoute, Name: "h", HeaderRoutes: true, Field: ConfigField + ".httpRoute"},
			{Kind: HTTPRoute, Selector: sel, Field: ConfigField + ".httpRouteSelector"},
			{Kind: TCPRoute, Selector: sel, Field: ConfigField + ".tcpRouteSelector"},
		}},
		{"plugin-only fields are accepted", `{"httpRoute": "h", "namespace": "edge", "configMap": "argo-gatewayapi-configmap", "disableInProgressLabel": true}`, []Route{
			{Kind: HTTPRoute, Name: "h", HeaderRoutes: true, Field: ConfigField + ".httpRoute"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig(json.RawMessage(c.raw))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Routes(); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("routes\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name, raw, field, msg string
	}{
		{"missing", ``, ConfigField, "is empty"},
		{"null", `null`, ConfigField, "is empty"},
		{"no route", `{}`, ConfigField, "names no route"},
		{"only an empty list", `{"httpRoutes": []}`, ConfigField, "names no route"},
		{"unknown field", `{"httpRoute": "h", "mirrorMode": "rule"}`, ConfigField, `unknown field "mirrorMode": the supported fields are`},
		{"typo", `{"httpRoutee": "h"}`, ConfigField, `unknown field "httpRoutee"`},
		{"unknown field in a list entry", `{"httpRoutes": [{"name": "h", "headers": true}]}`, ConfigField, `unknown field "headers"`},
		{"wrong type", `{"httpRoute": ["h"]}`, ConfigField, "is not a valid configuration"},
		{"not an object", `"h"`, ConfigField, "is not a valid configuration"},
		{"trailing data", `{"httpRoute": "h"} {}`, ConfigField, "data after the configuration"},
		{"empty list name", `{"tcpRoutes": [{"name": "a"}, {"name": ""}]}`, ConfigField + ".tcpRoutes[1].name", "is empty"},
		{"invalid name", `{"tlsRoute": "Not_A_Name"}`, ConfigField + ".tlsRoute", `"Not_A_Name" is not a route name`},
		{"selector matching everything", `{"grpcRouteSelector": {}}`, ConfigField + ".grpcRouteSelector", "would select every GRPCRoute"},
		{"invalid selector", `{"httpRouteSelector": {"matchExpressions": [{"key": "app", "operator": "Near"}]}}`, ConfigField + ".httpRouteSelector", "not a valid label selector"},
		{"bad namespace", `{"httpRoute": "h", "namespace": "Edge"}`, ConfigField + ".namespace", "not a namespace name"},
		{"bad label key", `{"httpRoute": "h", "inProgressLabelKey": "a/b/c"}`, ConfigField + ".inProgressLabelKey", "not a valid label key"},
		{"bad label value", `{"httpRoute": "h", "inProgressLabelValue": "in progress"}`, ConfigField + ".inProgressLabelValue", "not a valid label value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig(json.RawMessage(c.raw))
			var se *traffic.SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a SpecError", err)
			}
			if se.Field != c.field || !strings.Contains(se.Msg, c.msg) {
				t.Fatalf("got %q: %q, want field %q and a message containing %q", se.Field, se.Msg, c.field, c.msg)
			}
		})
	}
}

func TestConfigField(t *testing.T) {
	if want := `spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"]`; ConfigField != want {
		t.Fatalf("ConfigField %s, want %s", ConfigField, want)
	}
}

func TestLabel(t *testing.T) {
	for _, c := range []struct {
		cfg        Config
		key, value string
	}{
		{Config{}, DefaultInProgressLabelKey, DefaultInProgressLabelValue},
		{Config{InProgressLabelKey: "example.com/canary", InProgressLabelValue: "yes"}, "example.com/canary", "yes"},
		{Config{DisableInProgressLabel: true, InProgressLabelKey: "example.com/canary"}, "", DefaultInProgressLabelValue},
	} {
		if k, v := c.cfg.LabelKey(), c.cfg.LabelValue(); k != c.key || v != c.value {
			t.Errorf("%+v: label %q=%q, want %q=%q", c.cfg, k, v, c.key, c.value)
		}
	}
}

func TestGroupVersionKind(t *testing.T) {
	for k, want := range map[Kind]string{
		HTTPRoute: "gateway.networking.k8s.io/v1, Kind=HTTPRoute",
		GRPCRoute: "gateway.networking.k8s.io/v1, Kind=GRPCRoute",
		TCPRoute:  "gateway.networking.k8s.io/v1alpha2, Kind=TCPRoute",
		TLSRoute:  "gateway.networking.k8s.io/v1alpha2, Kind=TLSRoute",
	} {
		if got := k.GroupVersionKind().String(); got != want {
			t.Errorf("%s: %s, want %s", k, got, want)
		}
	}
}
