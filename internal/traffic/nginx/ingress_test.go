package nginx

import (
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// rollout is a canary Rollout routed by nginx, shaped like the seeds:
// canaryService/stableService and an nginx block edited by each case.
func rollout(name, canarySvc, stableSvc string, edit func(*v1alpha1.RolloutTrafficRouting)) *v1alpha1.Rollout {
	tr := &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{}}
	if edit != nil {
		edit(tr)
	}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: "ro-uid"},
		Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			CanaryService:  canarySvc,
			StableService:  stableSvc,
			TrafficRouting: tr,
		}}},
	}
}

// path is an HTTP path to a Service port.
func path(p, svc string, port networkingv1.ServiceBackendPort) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{
		Path:     p,
		PathType: ptr.To(networkingv1.PathTypePrefix),
		Backend:  networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: port}},
	}
}

func rule(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}
}

// seed04Ingress is the stable Ingress of seed 04 (ingressClassName nginx).
func seed04Ingress() *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "rollouts-demo-stable", Namespace: "ns"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To("nginx"),
			Rules:            []networkingv1.IngressRule{rule("rollouts-demo.local", path("/", "rollouts-demo-stable", networkingv1.ServiceBackendPort{Number: 80}))},
		},
	}
}

// seed05Ingress is the stable Ingress of seed 05 (legacy class annotation).
func seed05Ingress() *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Name: "canary-demo", Namespace: "ns",
			Labels:      map[string]string{"app": "canary-demo"},
			Annotations: map[string]string{"kubernetes.io/ingress.class": "nginx", "other.io/x": "not copied"},
		},
		Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{rule("canary.auto", path("/", "canary-demo", networkingv1.ServiceBackendPort{Name: "http"}))},
		},
	}
}

func TestCanaryIngressName(t *testing.T) {
	long := strings.Repeat("a", 300)
	cases := []struct {
		name, rollout, stable, want string
	}{
		{"seed 04", "rollouts-demo", "rollouts-demo-stable", "rollouts-demo-rollouts-demo-stable-canary"},
		{"seed 05", "canary-demo", "canary-demo", "canary-demo-canary-demo-canary"},
		{"exactly at the limit", strings.Repeat("r", 100), strings.Repeat("s", 145), strings.Repeat("r", 100) + "-" + strings.Repeat("s", 145) + "-canary"},
		{"too long is cut before the suffix", "ro", long, "ro-" + strings.Repeat("a", 243) + "-canary"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := CanaryIngressName(tc.rollout, tc.stable)
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if len(got) > 253 {
				t.Fatalf("name is %d characters", len(got))
			}
		})
	}
}

func TestDesiredCanaryIngressAnnotations(t *testing.T) {
	cases := []struct {
		name   string
		ro     *v1alpha1.Rollout
		stable *networkingv1.Ingress
		weight int32
		want   map[string]string
	}{
		{
			name:   "seed 04: weight only, class by ingressClassName",
			ro:     rollout("rollouts-demo", "rollouts-demo-canary", "rollouts-demo-stable", func(tr *v1alpha1.RolloutTrafficRouting) { tr.Nginx.StableIngress = "rollouts-demo-stable" }),
			stable: seed04Ingress(),
			weight: 5,
			want: map[string]string{
				"nginx.ingress.kubernetes.io/canary":        "true",
				"nginx.ingress.kubernetes.io/canary-weight": "5",
			},
		},
		{
			name: "seed 05: additional annotation prefixed, ingress.class copied, nothing else",
			ro: rollout("canary-demo", "canary-demo-canary", "canary-demo", func(tr *v1alpha1.RolloutTrafficRouting) {
				tr.Nginx.StableIngress = "canary-demo"
				tr.Nginx.AdditionalIngressAnnotations = map[string]string{"canary-by-header": "X-Canary"}
			}),
			stable: seed05Ingress(),
			weight: 20,
			want: map[string]string{
				"kubernetes.io/ingress.class":                  "nginx",
				"nginx.ingress.kubernetes.io/canary-by-header": "X-Canary",
				"nginx.ingress.kubernetes.io/canary":           "true",
				"nginx.ingress.kubernetes.io/canary-weight":    "20",
			},
		},
		{
			name: "custom prefix; an already-prefixed key is not prefixed twice",
			ro: rollout("r", "c", "s", func(tr *v1alpha1.RolloutTrafficRouting) {
				tr.Nginx.AnnotationPrefix = "custom.nginx.io"
				tr.Nginx.AdditionalIngressAnnotations = map[string]string{"canary-by-cookie": "beta", "custom.nginx.io/load-balance": "ewma"}
			}),
			stable: ingress("i", rule("h", path("/", "s", port80))),
			weight: 0,
			want: map[string]string{
				"custom.nginx.io/canary-by-cookie": "beta",
				"custom.nginx.io/load-balance":     "ewma",
				"custom.nginx.io/canary":           "true",
				"custom.nginx.io/canary-weight":    "0",
			},
		},
		{
			name: "canaryIngressAnnotations override additional ones, and canary/weight override both",
			ro: rollout("r", "c", "s", func(tr *v1alpha1.RolloutTrafficRouting) {
				tr.Nginx.AdditionalIngressAnnotations = map[string]string{"canary-by-header": "X-A", "canary-weight": "99"}
				tr.Nginx.CanaryIngressAnnotations = map[string]string{"nginx.ingress.kubernetes.io/canary-by-header": "X-B", "example.com/team": "web", "nginx.ingress.kubernetes.io/canary": "false"}
			}),
			stable: ingress("i", rule("h", path("/", "s", port80))),
			weight: 30,
			want: map[string]string{
				"nginx.ingress.kubernetes.io/canary-by-header": "X-B",
				"example.com/team":                          "web",
				"nginx.ingress.kubernetes.io/canary":        "true",
				"nginx.ingress.kubernetes.io/canary-weight": "30",
			},
		},
		{
			name:   "maxTrafficWeight adds canary-weight-total",
			ro:     rollout("r", "c", "s", func(tr *v1alpha1.RolloutTrafficRouting) { tr.MaxTrafficWeight = ptr.To[int32](1000) }),
			stable: ingress("i", rule("h", path("/", "s", port80))),
			weight: 250,
			want: map[string]string{
				"nginx.ingress.kubernetes.io/canary":              "true",
				"nginx.ingress.kubernetes.io/canary-weight":       "250",
				"nginx.ingress.kubernetes.io/canary-weight-total": "1000",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DesiredCanaryIngress(tc.ro, tc.stable, tc.weight)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got.Annotations, tc.want) {
				t.Fatalf("annotations\n got %v\nwant %v", got.Annotations, tc.want)
			}
			if len(got.Labels) != 0 {
				t.Fatalf("labels must not be copied: %v", got.Labels)
			}
		})
	}
}

var port80 = networkingv1.ServiceBackendPort{Number: 80}

func ingress(name string, rules ...networkingv1.IngressRule) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: networkingv1.IngressSpec{Rules: rules}}
}

func TestDesiredCanaryIngressSpecAndOwner(t *testing.T) {
	ro := rollout("rollouts-demo", "rollouts-demo-canary", "rollouts-demo-stable", nil)
	stable := seed04Ingress()
	stable.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"rollouts-demo.local"}, SecretName: "tls"}}
	stable.Spec.Rules = append(stable.Spec.Rules,
		rule("other.local", path("/", "other-svc", port80)),
		rule("mixed.local", path("/a", "rollouts-demo-stable", port80), path("/b", "other-svc", port80)),
		networkingv1.IngressRule{Host: "no-http.local"},
	)
	before := stable.DeepCopy()

	got, err := DesiredCanaryIngress(ro, stable, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stable, before) {
		t.Fatal("the stable Ingress must not be modified")
	}
	if got.Name != "rollouts-demo-rollouts-demo-stable-canary" || got.Namespace != "ns" {
		t.Fatalf("name %s/%s", got.Namespace, got.Name)
	}
	wantOwner := metav1.OwnerReference{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "rollouts-demo", UID: "ro-uid", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
	if len(got.OwnerReferences) != 1 || !reflect.DeepEqual(got.OwnerReferences[0], wantOwner) {
		t.Fatalf("owner references %+v", got.OwnerReferences)
	}
	if !reflect.DeepEqual(got.Spec.TLS, stable.Spec.TLS) || got.Spec.IngressClassName == nil || *got.Spec.IngressClassName != "nginx" {
		t.Fatalf("tls %v class %v", got.Spec.TLS, got.Spec.IngressClassName)
	}
	wantRules := []networkingv1.IngressRule{
		rule("rollouts-demo.local", path("/", "rollouts-demo-canary", port80)),
		rule("mixed.local", path("/a", "rollouts-demo-canary", port80), path("/b", "other-svc", port80)),
	}
	if !reflect.DeepEqual(got.Spec.Rules, wantRules) {
		t.Fatalf("rules\n got %+v\nwant %+v", got.Spec.Rules, wantRules)
	}
}

func TestDesiredCanaryIngressNoRule(t *testing.T) {
	ro := rollout("r", "c", "stable-svc", nil)
	_, err := DesiredCanaryIngress(ro, ingress("web", rule("h", path("/", "other", port80))), 10)
	want := `spec.strategy.canary.trafficRouting.nginx.stableIngress: ingress "web" has no rules using service "stable-svc" backend: add a path whose backend is the stable Service`
	var se *traffic.SpecError
	if !errors.As(err, &se) || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestStableIngresses(t *testing.T) {
	cases := []struct {
		name string
		edit func(*v1alpha1.RolloutTrafficRouting)
		want []string
	}{
		{"single", func(tr *v1alpha1.RolloutTrafficRouting) { tr.Nginx.StableIngress = "a" }, []string{"a"}},
		{"several", func(tr *v1alpha1.RolloutTrafficRouting) { tr.Nginx.StableIngresses = []string{"a", "b"} }, []string{"a", "b"}},
		{"none", nil, nil},
		{"no nginx", func(tr *v1alpha1.RolloutTrafficRouting) { tr.Nginx = nil }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := StableIngresses(rollout("r", "c", "s", tc.edit)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSeveralStableIngressesEachGetTheirCanary(t *testing.T) {
	ro := rollout("r", "c", "s", func(tr *v1alpha1.RolloutTrafficRouting) { tr.Nginx.StableIngresses = []string{"public", "internal"} })
	for _, name := range StableIngresses(ro) {
		got, err := DesiredCanaryIngress(ro, ingress(name, rule(name+".example", path("/", "s", port80))), 40)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "r-"+name+"-canary" || got.Spec.Rules[0].Host != name+".example" || got.Annotations["nginx.ingress.kubernetes.io/canary-weight"] != "40" {
			t.Fatalf("%s: %s %+v %v", name, got.Name, got.Spec.Rules, got.Annotations)
		}
	}
}

func TestHeaderRouteAnnotations(t *testing.T) {
	const p = "nginx.ingress.kubernetes.io"
	match := func(name string, v *v1alpha1.StringMatch) *v1alpha1.SetHeaderRoute {
		return &v1alpha1.SetHeaderRoute{Name: "h", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: name, HeaderValue: v}, {HeaderName: "ignored", HeaderValue: &v1alpha1.StringMatch{Exact: "x"}}}}
	}
	cases := []struct {
		name  string
		route *v1alpha1.SetHeaderRoute
		want  map[string]string
	}{
		{"nil", nil, nil},
		{"no match removes", &v1alpha1.SetHeaderRoute{Name: "h"}, nil},
		{"exact", match("X-Canary", &v1alpha1.StringMatch{Exact: "yes"}), map[string]string{p + "/canary-by-header": "X-Canary", p + "/canary-by-header-value": "yes"}},
		{"regex", match("X-Canary", &v1alpha1.StringMatch{Regex: "ye[sp]"}), map[string]string{p + "/canary-by-header": "X-Canary", p + "/canary-by-header-pattern": "ye[sp]"}},
		{"prefix", match("X-Version", &v1alpha1.StringMatch{Prefix: "v1.2"}), map[string]string{p + "/canary-by-header": "X-Version", p + "/canary-by-header-pattern": `^v1\.2.*`}},
		{"no value", match("X-Canary", nil), map[string]string{p + "/canary-by-header": "X-Canary"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := HeaderRouteAnnotations(p, tc.route); !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWithHeaderRoute(t *testing.T) {
	const p = "x.io"
	desired := map[string]string{p + "/canary-by-header": "X-Spec", p + "/canary-by-header-value": "always", p + "/canary": "true"}
	route := &v1alpha1.SetHeaderRoute{Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X-Route", HeaderValue: &v1alpha1.StringMatch{Regex: "a.*"}}}}
	got := WithHeaderRoute(desired, p, route)
	want := map[string]string{p + "/canary-by-header": "X-Route", p + "/canary-by-header-pattern": "a.*", p + "/canary": "true"}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if desired[p+"/canary-by-header"] != "X-Spec" {
		t.Fatal("the input map must not be modified")
	}
	if got := WithHeaderRoute(desired, p, nil); !maps.Equal(got, desired) {
		t.Fatalf("no route keeps the spec's header annotations: %v", got)
	}
}

func TestMergeAnnotations(t *testing.T) {
	keys := HeaderRouteKeys("n.io")
	cases := []struct {
		name                string
		live, desired, want map[string]string
		drop                []string
	}{
		{
			name:    "foreign annotations survive, desired wins collisions",
			live:    map[string]string{"rancher.io/x": "1", "n.io/canary-weight": "5"},
			desired: map[string]string{"n.io/canary-weight": "50"},
			want:    map[string]string{"rancher.io/x": "1", "n.io/canary-weight": "50"},
		},
		{
			name:    "header keys no longer wanted are removed",
			live:    map[string]string{"n.io/canary-by-header": "X", "n.io/canary-by-header-value": "v", "other": "o"},
			desired: map[string]string{"n.io/canary": "true"},
			drop:    keys,
			want:    map[string]string{"n.io/canary": "true", "other": "o"},
		},
		{
			name:    "header keys the desired object sets are kept even when dropped",
			live:    map[string]string{"n.io/canary-by-header": "X"},
			desired: map[string]string{"n.io/canary-by-header": "Y"},
			drop:    keys,
			want:    map[string]string{"n.io/canary-by-header": "Y"},
		},
		{
			name: "nil maps",
			want: map[string]string{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := MergeAnnotations(tc.live, tc.desired, tc.drop); !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
