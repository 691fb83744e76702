package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"reflect"
	"testing"

	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	plugins "github.com/aviary-rollouts/aviary/internal/plugin"
	"github.com/aviary-rollouts/aviary/internal/traffic"
	"github.com/aviary-rollouts/aviary/test/plugintest"
)

// name is the test router's name in the ConfigMap and the Rollout.
const name = "aviary-test/router"

// fixture is the test router plugin (test/plugins/trafficrouter, built on
// Argo Rollouts' plugin packages), configured through argo-rollouts-config
// and started by the host, and the file it records its calls in.
type fixture struct {
	host   *plugins.Host
	record string
}

func start(t *testing.T) *fixture {
	t.Helper()
	t.Setenv("TMPDIR", t.TempDir())
	cm, record := plugintest.Configured(t, "rollouts", "trafficRouterPlugins", "trafficrouter", name)
	r := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(cm).Build()
	p, err := plugins.Prepare(context.Background(), r, "rollouts", []plugins.Kind{plugins.TrafficRouter}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return &fixture{host: p.Host(plugins.TrafficRouter), record: record}
}

// router routes ro through the test plugin with the given configuration.
func (f *fixture) router(ro *v1alpha1.Rollout, config string) *Router {
	ro.Spec.Strategy.Canary.TrafficRouting.Plugins[name] = json.RawMessage(config)
	return &Router{Host: f.host, Name: name, Rollout: ro}
}

// call is a line of what the plugin recorded.
type call struct {
	Method      string                       `json:"method"`
	Rollout     string                       `json:"rollout"`
	Weight      *int32                       `json:"weight,omitempty"`
	CanaryHash  string                       `json:"canaryHash,omitempty"`
	StableHash  string                       `json:"stableHash,omitempty"`
	Additional  []v1alpha1.WeightDestination `json:"additional,omitempty"`
	HeaderRoute *v1alpha1.SetHeaderRoute     `json:"headerRoute,omitempty"`
	MirrorRoute *v1alpha1.SetMirrorRoute     `json:"mirrorRoute,omitempty"`
	Received    *v1alpha1.Rollout            `json:"received,omitempty"`
}

func (f *fixture) calls(t *testing.T) []call {
	t.Helper()
	return plugintest.Calls[call](t, f.record)
}

// Every method reaches the plugin with what it was given, in order.
func TestEveryMethod(t *testing.T) {
	f := start(t)
	r := f.router(plugintest.Rollout(t), `{}`)
	ctx := context.Background()
	extra := []v1alpha1.WeightDestination{{Weight: 5, ServiceName: "web-baseline", PodTemplateHash: "5d4c3b2a1"}}
	header := &v1alpha1.SetHeaderRoute{Name: "beta-users", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "x-beta", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}}
	mirror := &v1alpha1.SetMirrorRoute{Name: "mirror-all", Percentage: new(int32(40)), Match: []v1alpha1.RouteMatch{{Method: &v1alpha1.StringMatch{Prefix: "G"}}}}
	for _, step := range []func() error{
		func() error { return r.UpdateHash(ctx, "6b5d8c9f7", "7f9c6d5b4", extra...) },
		func() error { return r.SetWeight(ctx, 200, extra...) },
		func() error { return r.SetWeight(ctx, 0) },
		func() error { return r.SetHeaderRoute(ctx, header) },
		func() error { return r.SetMirrorRoute(ctx, mirror) },
		func() error { return r.RemoveManagedRoutes(ctx) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	want := []call{
		{Method: "UpdateHash", Rollout: "shop/web", CanaryHash: "6b5d8c9f7", StableHash: "7f9c6d5b4", Additional: extra},
		{Method: "SetWeight", Rollout: "shop/web", Weight: new(int32(200)), Additional: extra},
		{Method: "SetWeight", Rollout: "shop/web", Weight: new(int32(0))},
		{Method: "SetHeaderRoute", Rollout: "shop/web", HeaderRoute: header},
		{Method: "SetMirrorRoute", Rollout: "shop/web", MirrorRoute: mirror},
		{Method: "RemoveManagedRoutes", Rollout: "shop/web"},
	}
	if got := f.calls(t); !reflect.DeepEqual(got, want) {
		t.Errorf("the plugin recorded\n%+v\nwant\n%+v", got, want)
	}
	c, err := f.host.Client(name)
	if err != nil {
		t.Fatal(err)
	}
	if typ, err := (RPC{Client: c}).Type(ctx); err != nil || typ != "AviaryTestRouter" {
		t.Errorf("Type = %q, %v", typ, err)
	}
	if r.Type() != name {
		t.Errorf("Router.Type() = %q, want the plugin's name", r.Type())
	}
}

// VerifyWeight's three answers (Argo Rollouts' RpcVerified) become true,
// false and nil.
func TestVerifyWeight(t *testing.T) {
	f := start(t)
	for _, c := range []struct {
		verify string
		want   *bool
	}{
		{"verified", new(true)},
		{"notVerified", new(false)},
		{"", nil},
	} {
		got, err := f.router(plugintest.Rollout(t), `{"verify":"`+c.verify+`"}`).VerifyWeight(context.Background(), 30)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("verify %q: got %v, %v; want %v", c.verify, ptr(got), err, ptr(c.want))
		}
	}
	last := f.calls(t)[2]
	if last.Method != "VerifyWeight" || last.Weight == nil || *last.Weight != 30 {
		t.Errorf("recorded %+v", last)
	}
}

func ptr(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// A plugin's error comes back worded as Argo Rollouts words it.
func TestPluginErrors(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	for method, call := range map[string]func(*Router) error{
		"UpdateHash":          func(r *Router) error { return r.UpdateHash(ctx, "a", "b") },
		"SetWeight":           func(r *Router) error { return r.SetWeight(ctx, 10) },
		"SetHeaderRoute":      func(r *Router) error { return r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "beta-users"}) },
		"SetMirrorRoute":      func(r *Router) error { return r.SetMirrorRoute(ctx, &v1alpha1.SetMirrorRoute{Name: "mirror-all"}) },
		"RemoveManagedRoutes": func(r *Router) error { return r.RemoveManagedRoutes(ctx) },
		"VerifyWeight": func(r *Router) error {
			v, err := r.VerifyWeight(ctx, 10)
			if v == nil || *v {
				t.Errorf("VerifyWeight with an error answered %v, want false as the plugin said", ptr(v))
			}
			return err
		},
	} {
		err := call(f.router(plugintest.Rollout(t), `{"fail":"`+method+`"}`))
		want := map[string]string{
			"UpdateHash": "update hash", "SetWeight": "set weight", "SetHeaderRoute": "set header route",
			"SetMirrorRoute": "set mirror route", "RemoveManagedRoutes": "remove managed routes", "VerifyWeight": "verify weight",
		}[method]
		if want = "failed to " + want + " via plugin: told to fail " + method; err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", method, err, want)
		}
	}
}

// A Rollout naming a plugin the ConfigMap does not list is a spec problem
// that says what to do; the call never leaves the controller.
func TestNotConfigured(t *testing.T) {
	f := start(t)
	r := &Router{Host: f.host, Name: "acme/other", Rollout: plugintest.Rollout(t)}
	err := r.SetWeight(context.Background(), 10)
	var se *traffic.SpecError
	if !errors.As(err, &se) || se.Field != "spec.strategy.canary.trafficRouting.plugins[acme/other]" ||
		se.Msg != `traffic router plugin "acme/other" is not listed under trafficRouterPlugins in ConfigMap argo-rollouts-config as the controller read it at start: add it there and restart the controller` {
		t.Errorf("got %v", err)
	}
	if _, err := os.Stat(f.record); !os.IsNotExist(err) {
		t.Errorf("the configured plugin was called: %v", err)
	}
	if err := (&Router{Name: name, Rollout: plugintest.Rollout(t)}).SetWeight(context.Background(), 1); !errors.As(err, &se) {
		t.Errorf("without a host: %v", err)
	}
}

// Gob matches struct fields by name: every field of a Rollout reaches a
// plugin built on Argo Rollouts' types intact.
func TestEveryFieldCrossesTheWire(t *testing.T) {
	f := start(t)
	ro := plugintest.Rollout(t)
	r := f.router(ro, `{"echo":true,"nested":{"list":[1,"two",true]}}`)
	if err := r.SetWeight(context.Background(), 200); err != nil {
		t.Fatal(err)
	}
	got := f.calls(t)[0].Received
	if got == nil {
		t.Fatal("nothing echoed")
	}
	plugintest.Same(t, "SetWeight's rollout", got, ro, plugintest.RolloutLost)
}
