package apisix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
	"github.com/aviary-rollouts/aviary/internal/traffic/traffictest"
)

// baseRoute has the rollout's rule, another rule it must not touch, and a
// backend of another Service in the rollout's rule.
const baseRoute = `apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata:
  name: web
  namespace: shop
  labels: {team: a}
spec:
  http:
  - name: web-rule
    priority: 3
    match:
      hosts: [web.example.com]
      paths: [/*]
    backends:
    - serviceName: web-stable
      servicePort: 80
      weight: 100
    - serviceName: web-canary
      servicePort: 80
      weight: 0
    - serviceName: web-mirror
      servicePort: 80
      weight: 0
  - name: other
    match:
      paths: [/other]
    backends:
    - serviceName: other
      servicePort: 80
`

func rollout(rules ...string) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-1"}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{CanaryService: "web-canary", StableService: "web-stable",
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{Apisix: &v1alpha1.ApisixTrafficRouting{Route: &v1alpha1.ApisixRoute{Name: "web", Rules: rules}},
			ManagedRoutes: []v1alpha1.MangedRoutes{{Name: "web-header"}}}}
	return ro
}

type fixture struct {
	c      client.Client
	r      *Router
	events []string
}

func newFixture(t *testing.T, ro *v1alpha1.Rollout, objs ...*unstructured.Unstructured) *fixture {
	b := fake.NewClientBuilder()
	for _, o := range objs {
		b = b.WithObjects(o)
	}
	f := &fixture{c: b.Build()}
	f.r = &Router{Client: f.c, Rollout: ro,
		Events: traffic.Events{Recorder: func(reason, msg string) { f.events = append(f.events, reason+": "+msg) },
			Warn: func(reason, msg string) { f.events = append(f.events, "Warning "+reason+": "+msg) }}}
	return f
}

// read is ApisixRoute name's spec as compact JSON, with its owner, or
// "absent".
func (f *fixture) read(t *testing.T, name string) string {
	t.Helper()
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(GVK)
	err := f.c.Get(context.Background(), types.NamespacedName{Namespace: "shop", Name: name}, obj)
	if apierrors.IsNotFound(err) {
		return "absent"
	}
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(obj.Object["spec"])
	if err != nil {
		t.Fatal(err)
	}
	out := string(j)
	if o := metav1.GetControllerOf(obj); o != nil {
		out += " owner=" + o.Kind + "/" + o.Name
	}
	if l := obj.GetLabels(); l != nil {
		out += fmt.Sprintf(" labels=%v", l)
	}
	return out
}

// spec is the expected spec of baseRoute with the rollout's rule's
// stable and canary weights.
func spec(stable, canary int) string {
	return fmt.Sprintf(`{"http":[{"backends":[{"serviceName":"web-stable","servicePort":80,"weight":%d},{"serviceName":"web-canary","servicePort":80,"weight":%d},`+
		`{"serviceName":"web-mirror","servicePort":80,"weight":0}],"match":{"hosts":["web.example.com"],"paths":["/*"]},"name":"web-rule","priority":3},`+
		`{"backends":[{"serviceName":"other","servicePort":80}],"match":{"paths":["/other"]},"name":"other"}]}`, stable, canary)
}

// TestSetWeightEveryWeight: the rollout's rule gets each weight and the
// stable the rest; the other rule, the other backend and the labels stay.
func TestSetWeightEveryWeight(t *testing.T) {
	f := newFixture(t, rollout("web-rule"), traffictest.Object(t, baseRoute))
	for w := int32(0); w <= 100; w += 5 {
		if err := f.r.SetWeight(context.Background(), w); err != nil {
			t.Fatalf("weight %d: %v", w, err)
		}
		if got, want := f.read(t, "web"), spec(100-int(w), int(w))+" labels=map[team:a]"; got != want {
			t.Fatalf("weight %d:\n got %s\nwant %s", w, got, want)
		}
	}
}

// TestRulesDefaultToTheRouteName: without rules, the rule named like the
// ApisixRoute is the one changed.
func TestRulesDefaultToTheRouteName(t *testing.T) {
	f := newFixture(t, rollout(), traffictest.Object(t, strings.Replace(baseRoute, "name: web-rule", "name: web", 1)))
	if err := f.r.SetWeight(context.Background(), 40); err != nil {
		t.Fatal(err)
	}
	if got, want := f.read(t, "web"), strings.Replace(spec(60, 40), `"name":"web-rule"`, `"name":"web"`, 1)+" labels=map[team:a]"; got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestSpecErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		ro    *v1alpha1.Rollout
		route string
		field string
		want  string
	}{
		{"missing route", rollout("web-rule"), "", field + ".name", `ApisixRoute "web" not found in namespace "shop"`},
		{"missing rule", rollout("nope"), baseRoute, field + ".rules", `ApisixRoute "web" has no HTTP rule named "nope"`},
		{"no canary backend", rollout("other"), baseRoute, field + ".rules", `HTTP rule "other" has no backend with serviceName "web-canary"`},
		{"no http", rollout("web-rule"), "apiVersion: apisix.apache.org/v2\nkind: ApisixRoute\nmetadata: {name: web, namespace: shop}\nspec: {}\n",
			field + ".rules", `ApisixRoute "web" has no spec.http rules`},
	} {
		var objs []*unstructured.Unstructured
		if c.route != "" {
			objs = append(objs, traffictest.Object(t, c.route))
		}
		f := newFixture(t, c.ro, objs...)
		err := f.r.SetWeight(context.Background(), 10)
		var se *traffic.SpecError
		if !errors.As(err, &se) || se.Field != c.field || !strings.Contains(se.Msg, c.want) {
			t.Errorf("%s: error %v, want a SpecError on %s containing %q", c.name, err, c.field, c.want)
		}
	}
}

// headerSpec is the header route's spec: the rollout's rule with the
// canary alone at 100, priority 4 and the expressions; the other rule as
// in the base.
func headerSpec(exprs string) string {
	return `{"http":[{"backends":[{"serviceName":"web-canary","servicePort":80,"weight":100},{"serviceName":"web-mirror","servicePort":80,"weight":0}],` +
		`"match":{"exprs":` + exprs + `,"hosts":["web.example.com"],"paths":["/*"]},"name":"web-rule","priority":4},` +
		`{"backends":[{"serviceName":"other","servicePort":80}],"match":{"paths":["/other"]},"name":"other"}]} owner=Rollout/web labels=map[team:a]`
}

// TestHeaderRoute: a header route is created as its own ApisixRoute, kept
// as the match changes, follows the weights of nothing, and goes when
// its step has no match or the managed routes are removed.
func TestHeaderRoute(t *testing.T) {
	f := newFixture(t, rollout("web-rule"), traffictest.Object(t, baseRoute))
	ctx := context.Background()
	match := func(v v1alpha1.StringMatch) *v1alpha1.SetHeaderRoute {
		return &v1alpha1.SetHeaderRoute{Name: "web-header", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X-Canary", HeaderValue: &v}}}
	}
	for _, step := range []struct {
		route *v1alpha1.SetHeaderRoute
		want  string
	}{
		{match(v1alpha1.StringMatch{Exact: "yes"}), headerSpec(`[{"op":"Equal","subject":{"name":"X-Canary","scope":"Header"},"value":"yes"}]`)},
		{match(v1alpha1.StringMatch{Exact: "yes"}), headerSpec(`[{"op":"Equal","subject":{"name":"X-Canary","scope":"Header"},"value":"yes"}]`)},
		{match(v1alpha1.StringMatch{Regex: "y.s"}), headerSpec(`[{"op":"RegexMatch","subject":{"name":"X-Canary","scope":"Header"},"value":"y.s"}]`)},
		{match(v1alpha1.StringMatch{Prefix: "v1.2"}), headerSpec(`[{"op":"RegexMatch","subject":{"name":"X-Canary","scope":"Header"},"value":"^v1\\.2.*"}]`)},
		{&v1alpha1.SetHeaderRoute{Name: "web-header"}, "absent"},
		{&v1alpha1.SetHeaderRoute{Name: "web-header"}, "absent"},
		{match(v1alpha1.StringMatch{Exact: "yes"}), headerSpec(`[{"op":"Equal","subject":{"name":"X-Canary","scope":"Header"},"value":"yes"}]`)},
	} {
		if err := f.r.SetHeaderRoute(ctx, step.route); err != nil {
			t.Fatalf("%+v: %v", step.route, err)
		}
		if got := f.read(t, "web-header"); got != step.want {
			t.Fatalf("%+v:\n got %s\nwant %s", step.route, got, step.want)
		}
		// The weights on the user's route are the router's other job.
		if err := f.r.SetWeight(ctx, 20); err != nil {
			t.Fatal(err)
		}
		if got := f.read(t, "web"); got != spec(80, 20)+" labels=map[team:a]" {
			t.Fatalf("base route: %s", got)
		}
	}
	if err := f.r.RemoveManagedRoutes(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.read(t, "web-header"); got != "absent" {
		t.Errorf("after RemoveManagedRoutes: %s", got)
	}
	want := []string{"ApisixRouteCreated: Created ApisixRoute web-header for header route web-header", "ApisixRouteDeleted: Deleted ApisixRoute web-header",
		"ApisixRouteCreated: Created ApisixRoute web-header for header route web-header", "ApisixRouteDeleted: Deleted ApisixRoute web-header"}
	if strings.Join(f.events, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(f.events, "\n"), strings.Join(want, "\n"))
	}
}

// TestHeaderRouteNotOurs: an ApisixRoute of the header route's name that
// the rollout does not own is neither changed nor deleted.
func TestHeaderRouteNotOurs(t *testing.T) {
	theirs := traffictest.Object(t, strings.Replace(baseRoute, "name: web\n", "name: web-header\n", 1))
	f := newFixture(t, rollout("web-rule"), traffictest.Object(t, baseRoute), theirs)
	before := f.read(t, "web-header")
	err := f.r.SetHeaderRoute(context.Background(), &v1alpha1.SetHeaderRoute{Name: "web-header",
		Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X", HeaderValue: &v1alpha1.StringMatch{Exact: "1"}}}})
	var se *traffic.SpecError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, `ApisixRoute "web-header" already exists and is not the rollout's`) {
		t.Errorf("error %v", err)
	}
	if err := f.r.RemoveManagedRoutes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.read(t, "web-header"); got != before {
		t.Errorf("their ApisixRoute changed:\n%s\nwas\n%s", got, before)
	}
}
