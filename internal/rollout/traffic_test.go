package rollout

import (
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plugin"
	"github.com/aviary-rollouts/aviary/internal/traffic/gatewayapi"
	routerplugin "github.com/aviary-rollouts/aviary/internal/traffic/plugin"
)

// Plugins route after the built-in routers, by name; the Gateway API is
// the built-in router unless argo-rollouts-config lists its plugin.
func TestPluginRouters(t *testing.T) {
	ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{
			Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "web"},
			Plugins: map[string]json.RawMessage{
				"zeta/router": json.RawMessage(`{}`), gatewayapi.ConfigKey: json.RawMessage(`{"httpRoute":"web"}`), "acme/alpha": json.RawMessage(`{}`),
			},
		},
	}}}}
	host := func(names ...string) *plugin.Host {
		var bins []plugin.Binary
		for _, n := range names {
			bins = append(bins, plugin.Binary{Item: plugin.Item{Name: n, Kind: plugin.TrafficRouter}})
		}
		return plugin.NewHost(plugin.TrafficRouter, bins, slog.New(slog.DiscardHandler))
	}
	for _, c := range []struct {
		name  string
		host  *plugin.Host
		types []string
		built bool
	}{
		{"no plugins configured", nil, []string{"Nginx", "acme/alpha", "GatewayAPI", "zeta/router"}, true},
		{"others configured", host("acme/alpha", "zeta/router"), []string{"Nginx", "acme/alpha", "GatewayAPI", "zeta/router"}, true},
		{"gatewayAPI listed", host("acme/alpha", gatewayapi.ConfigKey, "zeta/router"), []string{"Nginx", "acme/alpha", gatewayapi.ConfigKey, "zeta/router"}, false},
	} {
		r := &Reconciler{TrafficPlugins: c.host}
		rs := r.routers(ro, nil, nil)
		var types []string
		for _, rt := range rs {
			types = append(types, rt.Type())
		}
		if !reflect.DeepEqual(types, c.types) {
			t.Errorf("%s: routers %v, want %v", c.name, types, c.types)
		}
		_, built := rs[2].(*gatewayapi.Router)
		_, external := rs[2].(*routerplugin.Router)
		if built != c.built || external == c.built {
			t.Errorf("%s: the Gateway API router is %T", c.name, rs[2])
		}
	}
}
