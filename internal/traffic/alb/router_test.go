package alb

import (
	"context"
	"errors"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

func ingress(name, backend string, annotations map[string]string) *networkingv1.Ingress {
	pt := networkingv1.PathTypeImplementationSpecific
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Annotations: annotations},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/*", PathType: &pt, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: backend, Port: networkingv1.ServiceBackendPort{Name: useAnnotation}}}}},
		}}}}},
	}
}

type harness struct {
	c       client.Client
	patches []string
	events  []string
}

func newHarness(objs ...client.Object) *harness {
	h := &harness{}
	h.c = fake.NewClientBuilder().WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			data, _ := p.Data(obj)
			h.patches = append(h.patches, string(data))
			return c.Patch(ctx, obj, p, opts...)
		},
	}).Build()
	return h
}

func (h *harness) router(ro *v1alpha1.Rollout) *Router {
	return &Router{Client: h.c, Rollout: ro, Recorder: func(reason, _ string) { h.events = append(h.events, reason) }}
}

func (h *harness) get(t *testing.T, name string) *networkingv1.Ingress {
	t.Helper()
	var ing networkingv1.Ingress
	if err := h.c.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: name}, &ing); err != nil {
		t.Fatal(err)
	}
	return &ing
}

const action30 = `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary","ServicePort":"80","Weight":30},{"ServiceName":"stable","ServicePort":"80","Weight":70}]}}`

// TestSetWeightEveryIngress: each listed Ingress gets the action under the
// root Service's key and the managed annotation; foreign annotations stay;
// a second call with the same weight sends nothing.
func TestSetWeightEveryIngress(t *testing.T) {
	ro := albRollout(func(a *v1alpha1.ALBTrafficRouting) {
		a.Ingress = ""
		a.Ingresses = []string{"one", "two"}
		a.RootService = "root"
	})
	h := newHarness(ingress("one", "root", map[string]string{"kept": "yes"}), ingress("two", "root", nil))
	r := h.router(ro)
	if err := r.SetWeight(context.Background(), 30); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"one", "two"} {
		a := h.get(t, name).Annotations
		if a["alb.ingress.kubernetes.io/actions.root"] != action30 {
			t.Errorf("%s action %s", name, a["alb.ingress.kubernetes.io/actions.root"])
		}
		if got := a[ManagedAnnotations]; got != `{"ro":["alb.ingress.kubernetes.io/actions.root"]}` {
			t.Errorf("%s managed %s", name, got)
		}
	}
	if h.get(t, "one").Annotations["kept"] != "yes" {
		t.Error("a foreign annotation was dropped")
	}
	if len(h.patches) != 2 || len(h.events) != 2 || h.events[0] != PatchingReason {
		t.Fatalf("patches %v events %v", h.patches, h.events)
	}
	if err := r.SetWeight(context.Background(), 30); err != nil {
		t.Fatal(err)
	}
	if len(h.patches) != 2 {
		t.Errorf("an unchanged weight patched again: %v", h.patches[2:])
	}
}

func TestSetWeightSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		objs  []client.Object
		field string
	}{
		{"missing ingress", nil, "spec.strategy.canary.trafficRouting.alb.ingress"},
		{"no path to the root service", []client.Object{ingress("ingress", "elsewhere", nil)}, "spec.strategy.canary.trafficRouting.alb.ingress"},
		{"managed annotation not JSON", []client.Object{ingress("ingress", "stable", map[string]string{ManagedAnnotations: "ro:x"})}, "spec.strategy.canary.trafficRouting.alb.ingress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := newHarness(tc.objs...).router(albRollout(nil)).SetWeight(context.Background(), 10)
			var se *traffic.SpecError
			if !errors.As(err, &se) || se.Field != tc.field {
				t.Fatalf("error %v, want a SpecError on %s", err, tc.field)
			}
		})
	}
}

// TestHeaderRoute adds the route's annotations and a use-annotation path
// ahead of the others, ordered by managedRoutes, and removes them again.
func TestHeaderRoute(t *testing.T) {
	ro := albRollout(nil)
	ro.Spec.Strategy.Canary.TrafficRouting.ManagedRoutes = []v1alpha1.MangedRoutes{{Name: "first"}, {Name: "second"}}
	h := newHarness(ingress("ingress", "stable", nil))
	r := h.router(ro)
	ctx := context.Background()
	match := []v1alpha1.HeaderRoutingMatch{{HeaderName: "x-canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}
	if err := r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "second", Match: match}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "first", Match: match}); err != nil {
		t.Fatal(err)
	}
	ing := h.get(t, "ingress")
	var backends []string
	for _, p := range ing.Spec.Rules[0].HTTP.Paths {
		backends = append(backends, p.Backend.Service.Name+":"+p.Backend.Service.Port.Name)
	}
	if got := strings.Join(backends, ","); got != "first:use-annotation,second:use-annotation,stable:use-annotation" {
		t.Errorf("paths %s", got)
	}
	a := ing.Annotations
	if a["alb.ingress.kubernetes.io/conditions.first"] != `[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"x-canary","values":["yes"]}}]` ||
		a["alb.ingress.kubernetes.io/actions.first"] != `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary","ServicePort":"80","Weight":100}]}}` {
		t.Errorf("route annotations %v", a)
	}
	if got := a[ManagedAnnotations]; got != `{"ro":["alb.ingress.kubernetes.io/actions.second","alb.ingress.kubernetes.io/conditions.second","alb.ingress.kubernetes.io/actions.first","alb.ingress.kubernetes.io/conditions.first"]}` {
		t.Errorf("managed %s", got)
	}
	if err := r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "second"}); err != nil {
		t.Fatal(err)
	}
	if ing := h.get(t, "ingress"); len(ing.Spec.Rules[0].HTTP.Paths) != 2 || ing.Annotations["alb.ingress.kubernetes.io/actions.second"] != "" {
		t.Errorf("route second not removed: %v %v", ing.Spec.Rules[0].HTTP.Paths, ing.Annotations)
	}
	if err := r.RemoveManagedRoutes(ctx); err != nil {
		t.Fatal(err)
	}
	ing = h.get(t, "ingress")
	if len(ing.Spec.Rules[0].HTTP.Paths) != 1 || ing.Annotations[ManagedAnnotations] != `{"ro":[]}` || len(ing.Annotations) != 1 {
		t.Errorf("managed routes not removed: %v %v", ing.Spec.Rules[0].HTTP.Paths, ing.Annotations)
	}
}
