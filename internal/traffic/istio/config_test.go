package istio

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestParseName(t *testing.T) {
	for _, c := range []struct{ ref, ns, name string }{
		{"vs", "rollout-ns", "vs"},
		{"mesh/vs", "mesh", "vs"},
		{"vs.mesh", "mesh", "vs"},
		{"vs.mesh.svc.cluster.local", "mesh", "vs"},
		{"vs.", "rollout-ns", "vs"},
	} {
		if ns, name := ParseName(c.ref, "rollout-ns"); ns != c.ns || name != c.name {
			t.Errorf("ParseName(%q) = %q, %q; want %q, %q", c.ref, ns, name, c.ns, c.name)
		}
	}
}

// istioRollout is a Rollout in namespace ns with the given Istio routing.
func istioRollout(is *v1alpha1.IstioTrafficRouting, mutate ...func(*v1alpha1.CanaryStrategy)) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "ro", Namespace: "ns"},
		Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			CanaryService: "canary-svc", StableService: "stable-svc",
			TrafficRouting: &v1alpha1.RolloutTrafficRouting{Istio: is},
		}}},
	}
	for _, m := range mutate {
		m(ro.Spec.Strategy.Canary)
	}
	return ro
}

func TestVirtualServices(t *testing.T) {
	vs := func(name string, routes ...string) v1alpha1.IstioVirtualService {
		return v1alpha1.IstioVirtualService{Name: name, Routes: routes}
	}
	for _, c := range []struct {
		name string
		is   *v1alpha1.IstioTrafficRouting
		want []VirtualServiceRef
	}{
		{"none", nil, nil},
		{"single", &v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: "vs", Routes: []string{"primary"}}},
			[]VirtualServiceRef{{Namespace: "ns", Name: "vs", Spec: vs("vs", "primary"), Field: fieldIstio + ".virtualService"}}},
		{"several, in other namespaces too, preferred to virtualService", &v1alpha1.IstioTrafficRouting{
			VirtualService:  &v1alpha1.IstioVirtualService{Name: "ignored"},
			VirtualServices: []v1alpha1.IstioVirtualService{vs("a"), vs("mesh/b"), vs("c.edge")},
		}, []VirtualServiceRef{
			{Namespace: "ns", Name: "a", Spec: vs("a"), Field: fieldIstio + ".virtualServices[0]"},
			{Namespace: "mesh", Name: "b", Spec: vs("mesh/b"), Field: fieldIstio + ".virtualServices[1]"},
			{Namespace: "edge", Name: "c", Spec: vs("c.edge"), Field: fieldIstio + ".virtualServices[2]"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := VirtualServices(istioRollout(c.is)); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestSplitOf(t *testing.T) {
	dr := &v1alpha1.IstioDestinationRule{Name: "reviews", CanarySubsetName: "canary", StableSubsetName: "stable", AdditionalSubsetNames: []string{"preview"}}
	pingPong := func(stable v1alpha1.PingPongType) *v1alpha1.Rollout {
		ro := istioRollout(&v1alpha1.IstioTrafficRouting{}, func(c *v1alpha1.CanaryStrategy) {
			c.CanaryService, c.StableService = "", ""
			c.PingPong = &v1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"}
		})
		ro.Status.Canary.StablePingPong = stable
		return ro
	}
	for _, c := range []struct {
		name string
		ro   *v1alpha1.Rollout
		want Split
	}{
		{"host-level", istioRollout(&v1alpha1.IstioTrafficRouting{}, func(c *v1alpha1.CanaryStrategy) {
			c.TrafficRouting.ManagedRoutes = []v1alpha1.MangedRoutes{{Name: "header"}, {Name: "mirror"}}
		}), Split{CanaryService: "canary-svc", StableService: "stable-svc", ManagedRoutes: []string{"header", "mirror"}}},
		{"subset-level", istioRollout(&v1alpha1.IstioTrafficRouting{DestinationRule: dr}, func(c *v1alpha1.CanaryStrategy) {
			c.CanaryService, c.StableService = "", ""
		}), Split{CanarySubset: "canary", StableSubset: "stable", AdditionalSubsets: []string{"preview"}}},
		{"ping is stable", pingPong(v1alpha1.PPPing), Split{CanaryService: "pong", StableService: "ping"}},
		{"pong is stable", pingPong(v1alpha1.PPPong), Split{CanaryService: "ping", StableService: "pong"}},
		{"no canary strategy", &v1alpha1.Rollout{}, Split{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := SplitOf(c.ro); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestGVKs(t *testing.T) {
	if got := VirtualServiceGVK("").String(); got != "networking.istio.io/v1alpha3, Kind=VirtualService" {
		t.Errorf("default VirtualService GVK %s", got)
	}
	if got := DestinationRuleGVK("v1beta1").String(); got != "networking.istio.io/v1beta1, Kind=DestinationRule" {
		t.Errorf("DestinationRule GVK %s", got)
	}
}
