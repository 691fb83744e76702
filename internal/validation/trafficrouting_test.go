package validation

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func routed(tr *v1alpha1.RolloutTrafficRouting) *v1alpha1.Rollout {
	ro := valid()
	c := ro.Spec.Strategy.Canary
	c.CanaryService, c.StableService = "web-canary", "web"
	tr.ManagedRoutes = []v1alpha1.MangedRoutes{{Name: "hdr"}, {Name: "mirror"}}
	c.TrafficRouting = tr
	return ro
}

func TestTrafficRouting(t *testing.T) {
	max := int32(1000)
	header := v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "hdr"}}
	mirror := v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "mirror"}}
	nginx := &v1alpha1.NginxTrafficRouting{StableIngress: "web"}
	istioVS := &v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: "web"}}
	traefik := &v1alpha1.TraefikTrafficRouting{WeightedTraefikServiceName: "web"}
	albR := &v1alpha1.ALBTrafficRouting{Ingress: "web", ServicePort: 80}
	prefixHeader := v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "hdr", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "h", HeaderValue: &v1alpha1.StringMatch{Prefix: "a"}}}}}
	exactHeader := v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "hdr", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "h", HeaderValue: &v1alpha1.StringMatch{Exact: "a"}}}}}
	weighted := v1alpha1.CanaryStep{Experiment: docExperiment()}
	weighted.Experiment.Templates[1].Weight = new(int32(10))
	cases := []struct {
		name  string
		tr    *v1alpha1.RolloutTrafficRouting
		steps []v1alpha1.CanaryStep
		want  string
	}{
		{"nginx", &v1alpha1.RolloutTrafficRouting{Nginx: nginx}, nil, ""},
		{"nginx header route", &v1alpha1.RolloutTrafficRouting{Nginx: nginx}, []v1alpha1.CanaryStep{header}, ""},
		{"nginx max weight", &v1alpha1.RolloutTrafficRouting{Nginx: nginx, MaxTrafficWeight: &max}, nil, ""},
		{"no router", &v1alpha1.RolloutTrafficRouting{}, nil, "spec.strategy.canary.trafficRouting: Required value: configure a traffic router"},
		{"nginx without ingress", &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{}}, nil,
			"spec.strategy.canary.trafficRouting.nginx.stableIngress: Required value"},
		{"nginx with both", &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "a", StableIngresses: []string{"b"}}}, nil,
			"spec.strategy.canary.trafficRouting.nginx.stableIngresses: Forbidden: set stableIngress or stableIngresses, not both"},
		{"alb", &v1alpha1.RolloutTrafficRouting{ALB: albR}, []v1alpha1.CanaryStep{exactHeader, weighted}, ""},
		{"alb ingresses", &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingresses: []string{"a", "b"}, ServicePort: 80, RootService: "root"}}, nil, ""},
		{"alb without ingress", &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{ServicePort: 80}}, nil,
			"spec.strategy.canary.trafficRouting.alb.ingress: Required value"},
		{"alb with both", &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "a", Ingresses: []string{"b"}, ServicePort: 80}}, nil,
			"spec.strategy.canary.trafficRouting.alb.ingresses: Forbidden: set ingress or ingresses, not both"},
		{"alb without port", &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "a"}}, nil,
			"spec.strategy.canary.trafficRouting.alb.servicePort: Required value"},
		{"alb stickiness", &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "a", ServicePort: 80, StickinessConfig: &v1alpha1.StickinessConfig{Enabled: true}}}, nil,
			"spec.strategy.canary.trafficRouting.alb.stickinessConfig.durationSeconds: Invalid value: 0"},
		{"alb prefix header", &v1alpha1.RolloutTrafficRouting{ALB: albR}, []v1alpha1.CanaryStep{prefixHeader},
			"spec.strategy.canary.steps[0].setHeaderRoute.match[0].headerValue: Invalid value"},
		{"alb mirror", &v1alpha1.RolloutTrafficRouting{ALB: albR}, []v1alpha1.CanaryStep{mirror},
			"spec.strategy.canary.trafficRouting.alb cannot mirror requests"},
		{"alb ping-pong", &v1alpha1.RolloutTrafficRouting{ALB: &v1alpha1.ALBTrafficRouting{Ingress: "web", ServicePort: 80, RootService: "web"}}, nil, ""},
		{"alb ping-pong without root service", &v1alpha1.RolloutTrafficRouting{ALB: albR}, nil,
			"spec.strategy.canary.trafficRouting.alb.rootService: Required value: with pingPong"},
		{"nginx ping-pong", &v1alpha1.RolloutTrafficRouting{Nginx: nginx}, nil,
			"spec.strategy.canary.pingPong: Forbidden: ping-pong Services work with the alb and istio traffic routers only"},
		{"istio ping-pong", &v1alpha1.RolloutTrafficRouting{Istio: istioVS}, nil, ""},
		{"istio experiment weight", &v1alpha1.RolloutTrafficRouting{Istio: istioVS}, []v1alpha1.CanaryStep{weighted}, ""},
		{"smi experiment weight", &v1alpha1.RolloutTrafficRouting{SMI: &v1alpha1.SMITrafficRouting{}}, []v1alpha1.CanaryStep{weighted}, ""},
		{"nginx experiment weight", &v1alpha1.RolloutTrafficRouting{Nginx: nginx}, []v1alpha1.CanaryStep{weighted},
			"spec.strategy.canary.steps[0].experiment.templates[1].weight: Forbidden: spec.strategy.canary.trafficRouting.nginx cannot route to an experiment template's Service"},
		{"traefik experiment weight", &v1alpha1.RolloutTrafficRouting{Traefik: traefik}, []v1alpha1.CanaryStep{weighted},
			"spec.strategy.canary.steps[0].experiment.templates[1].weight: Forbidden: spec.strategy.canary.trafficRouting.traefik cannot route"},
		{"nginx experiment without weight", &v1alpha1.RolloutTrafficRouting{Nginx: nginx}, []v1alpha1.CanaryStep{{Experiment: docExperiment()}}, ""},
		{"nginx mirror", &v1alpha1.RolloutTrafficRouting{Nginx: nginx}, []v1alpha1.CanaryStep{mirror},
			"spec.strategy.canary.steps[0].setMirrorRoute: Forbidden: spec.strategy.canary.trafficRouting.nginx cannot mirror requests"},
		{"istio header and mirror", &v1alpha1.RolloutTrafficRouting{Istio: istioVS}, []v1alpha1.CanaryStep{header, mirror}, ""},
		{"istio max weight", &v1alpha1.RolloutTrafficRouting{Istio: istioVS, MaxTrafficWeight: &max}, nil,
			"spec.strategy.canary.trafficRouting.maxTrafficWeight: Forbidden: spec.strategy.canary.trafficRouting.istio weights are out of 100"},
		{"istio without virtual service", &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{}}, nil,
			"spec.strategy.canary.trafficRouting.istio.virtualService: Required value"},
		{"istio unnamed virtual service", &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{VirtualServices: []v1alpha1.IstioVirtualService{{Name: "a"}, {}}}}, nil,
			"spec.strategy.canary.trafficRouting.istio.virtualServices[1].name: Required value"},
		{"istio same subsets", &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{VirtualService: istioVS.VirtualService,
			DestinationRule: &v1alpha1.IstioDestinationRule{Name: "web", CanarySubsetName: "v", StableSubsetName: "v"}}}, nil,
			`spec.strategy.canary.trafficRouting.istio.destinationRule.stableSubsetName: Invalid value: "v": must differ from canarySubsetName`},
		{"istio subset missing", &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{VirtualService: istioVS.VirtualService,
			DestinationRule: &v1alpha1.IstioDestinationRule{Name: "web", CanarySubsetName: "canary"}}}, nil,
			"spec.strategy.canary.trafficRouting.istio.destinationRule.stableSubsetName: Required value"},
		{"traefik header", &v1alpha1.RolloutTrafficRouting{Traefik: traefik}, []v1alpha1.CanaryStep{header},
			"spec.strategy.canary.steps[0].setHeaderRoute: Forbidden: spec.strategy.canary.trafficRouting.traefik cannot route by header"},
		{"traefik without service", &v1alpha1.RolloutTrafficRouting{Traefik: &v1alpha1.TraefikTrafficRouting{}}, nil,
			"spec.strategy.canary.trafficRouting.traefik.weightedTraefikServiceName: Required value"},
		{"gateway api", &v1alpha1.RolloutTrafficRouting{Plugins: map[string]json.RawMessage{"argoproj-labs/gatewayAPI": json.RawMessage(`{"httpRoute":"web"}`)}},
			[]v1alpha1.CanaryStep{header, mirror}, ""},
		{"gateway api bad config", &v1alpha1.RolloutTrafficRouting{Plugins: map[string]json.RawMessage{"argoproj-labs/gatewayAPI": json.RawMessage(`{"httpRoutes":"web"}`)}},
			nil, `spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"]`},
		{"other plugin", &v1alpha1.RolloutTrafficRouting{Plugins: map[string]json.RawMessage{"argoproj-labs/contour": json.RawMessage(`{"anything": ["it", "reads"]}`)}},
			[]v1alpha1.CanaryStep{header, mirror}, ""},
		{"nginx and smi header", &v1alpha1.RolloutTrafficRouting{Nginx: nginx, SMI: &v1alpha1.SMITrafficRouting{}}, []v1alpha1.CanaryStep{header},
			"spec.strategy.canary.trafficRouting.smi cannot route by header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ro := routed(c.tr)
			if strings.Contains(c.name, "ping-pong") {
				ro.Spec.Strategy.Canary.PingPong = &v1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"}
			}
			ro.Spec.Strategy.Canary.Steps = append(c.steps, ro.Spec.Strategy.Canary.Steps...)
			errs := trafficRouting(ro, fieldPathCanary(), Options{})
			switch {
			case c.want == "" && len(errs) > 0:
				t.Fatalf("want valid, got %v", errs.ToAggregate())
			case c.want != "" && (len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), c.want)):
				t.Fatalf("want an error containing %q, got %v", c.want, errs.ToAggregate())
			}
		})
	}
}

// With the argoproj-labs/gatewayAPI plugin listed in argo-rollouts-config
// its binary routes, and the configuration is its own to check: the
// built-in router's checks step aside.
func TestGatewayAPIPluginChecksItsOwnConfiguration(t *testing.T) {
	ro := routed(&v1alpha1.RolloutTrafficRouting{Plugins: map[string]json.RawMessage{"argoproj-labs/gatewayAPI": json.RawMessage(`{"httpRoutes":"web","newerField":true}`)}})
	if errs := trafficRouting(ro, fieldPathCanary(), Options{}); len(errs) == 0 {
		t.Error("the built-in router accepted a configuration it cannot read")
	}
	if errs := trafficRouting(ro, fieldPathCanary(), Options{GatewayAPIPlugin: true}); len(errs) > 0 {
		t.Errorf("with the plugin listed: %v", errs.ToAggregate())
	}
}

func fieldPathCanary() *field.Path { return field.NewPath("spec", "strategy", "canary") }

func TestPingPongServices(t *testing.T) {
	for _, c := range []struct {
		pp   v1alpha1.PingPongSpec
		want string
	}{
		{v1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"}, ""},
		{v1alpha1.PingPongSpec{PongService: "pong"}, "spec.strategy.canary.pingPong.pingService: Required value"},
		{v1alpha1.PingPongSpec{PingService: "ping"}, "spec.strategy.canary.pingPong.pongService: Required value"},
		{v1alpha1.PingPongSpec{PingService: "svc", PongService: "svc"}, `spec.strategy.canary.pingPong.pongService: Invalid value: "svc": must differ from pingService`},
	} {
		ro := routed(&v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: "web"}}})
		ro.Spec.Strategy.Canary.PingPong = &c.pp
		errs := trafficRouting(ro, fieldPathCanary(), Options{})
		switch {
		case c.want == "" && len(errs) > 0:
			t.Errorf("%+v: want valid, got %v", c.pp, errs.ToAggregate())
		case c.want != "" && (len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), c.want)):
			t.Errorf("%+v: want %q, got %v", c.pp, c.want, errs.ToAggregate())
		}
	}
}
