package gatewayapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

const (
	owner      = "ns/app"
	routeField = ConfigField + ".httpRoute"
)

var (
	svc     = services{canary: "app-canary", stable: "app-stable", namespace: "ns"}
	managed = []string{"header", "mirror"}
)

// ref is a backendRef to a Service; kv adds fields (weight, namespace, ...).
func ref(name string, port int64, kv ...any) map[string]any {
	m := map[string]any{"name": name, "port": port}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func prefix(path string) map[string]any {
	return map[string]any{"path": map[string]any{"type": "PathPrefix", "value": path}}
}

// rule is a route rule with matches (nil for none) and backendRefs.
func rule(matches []any, refs ...map[string]any) map[string]any {
	r := map[string]any{}
	if matches != nil {
		r["matches"] = matches
	}
	var l []any
	for _, x := range refs {
		l = append(l, x)
	}
	r["backendRefs"] = l
	return r
}

func route(kind Kind, rules ...map[string]any) map[string]any {
	var l []any
	for _, r := range rules {
		l = append(l, r)
	}
	gvk := kind.GroupVersionKind()
	return map[string]any{
		"apiVersion": gvk.GroupVersion().String(), "kind": gvk.Kind,
		"metadata": map[string]any{"name": "web", "namespace": "ns"},
		"spec":     map[string]any{"rules": l},
	}
}

func rulesOf(obj map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range items(asMap(obj["spec"])["rules"]) {
		out = append(out, asMap(r))
	}
	return out
}

// weights maps each backendRef's name to its weight (nil when unset).
func weights(rule map[string]any) map[string]any {
	out := map[string]any{}
	for _, r := range items(rule["backendRefs"]) {
		out[str(asMap(r), "name")] = asMap(r)["weight"]
	}
	return out
}

func annotation(obj map[string]any) map[string]ownerState {
	v, ok := (&unstructured.Unstructured{Object: obj}).GetAnnotations()[AnnotationKey]
	if !ok {
		return nil
	}
	var out map[string]ownerState
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		panic(err)
	}
	return out
}

// run applies f to obj as the Rollout owner would.
func run(t *testing.T, kind Kind, obj map[string]any, f func(*routeDoc) error) {
	t.Helper()
	if err := edit(kind, obj, routeField, owner, managed, f); err != nil {
		t.Fatal(err)
	}
}

// stored is obj as the API server would store and return it: decoded from
// JSON (integers as int64) with the CRD defaults the router leaves out.
// It applies the defaults itself rather than through normalize, so the
// tests check normalize against the CRDs, not against itself.
func stored(t *testing.T, kind Kind, obj map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	for _, r := range rulesOf(u.Object) {
		for _, x := range items(r["backendRefs"]) {
			for k, v := range map[string]any{"group": "", "kind": "Service", "weight": int64(1)} {
				if _, ok := asMap(x)[k]; !ok {
					asMap(x)[k] = v
				}
			}
		}
		for _, m := range items(r["matches"]) {
			for _, h := range items(asMap(m)["headers"]) {
				if _, ok := asMap(h)["type"]; !ok {
					asMap(h)["type"] = "Exact"
				}
			}
		}
		if kind == HTTPRoute && r["matches"] == nil {
			r["matches"] = []any{prefix("/")}
		}
	}
	return u.Object
}

func TestSetWeights(t *testing.T) {
	other := ref("other", 80, "weight", int64(5))
	for _, c := range []struct {
		name           string
		kind           Kind
		rules          []map[string]any
		canary, stable int64
		want           []map[string]any // weights per rule
		err            string
	}{
		{"one rule", HTTPRoute, []map[string]any{rule(nil, ref("app-stable", 80), ref("app-canary", 80))}, 20, 80,
			[]map[string]any{{"app-stable": int64(80), "app-canary": int64(20)}}, ""},
		{"every rule that names both, and nothing else", HTTPRoute, []map[string]any{
			rule([]any{prefix("/a")}, ref("app-stable", 80, "weight", int64(100)), ref("app-canary", 80, "weight", int64(0))),
			rule([]any{prefix("/b")}, ref("app-stable", 80, "weight", int64(1))),
			rule([]any{prefix("/c")}, other),
			rule([]any{prefix("/d")}, ref("app-canary", 8080), other, ref("app-stable", 8080)),
		}, 30, 70, []map[string]any{
			{"app-stable": int64(70), "app-canary": int64(30)},
			{"app-stable": int64(1)},
			{"other": int64(5)},
			{"app-stable": int64(70), "app-canary": int64(30), "other": int64(5)},
		}, ""},
		{"GRPCRoute", GRPCRoute, []map[string]any{rule(nil, ref("app-stable", 9090), ref("app-canary", 9090))}, 1, 99,
			[]map[string]any{{"app-stable": int64(99), "app-canary": int64(1)}}, ""},
		{"TCPRoute", TCPRoute, []map[string]any{rule(nil, ref("app-stable", 5432), ref("app-canary", 5432))}, 50, 50,
			[]map[string]any{{"app-stable": int64(50), "app-canary": int64(50)}}, ""},
		{"TLSRoute", TLSRoute, []map[string]any{rule(nil, ref("app-canary", 443), ref("app-stable", 443))}, 0, 100,
			[]map[string]any{{"app-stable": int64(100), "app-canary": int64(0)}}, ""},
		{"maxTrafficWeight 1000", HTTPRoute, []map[string]any{rule(nil, ref("app-stable", 80), ref("app-canary", 80))}, 250, 750,
			[]map[string]any{{"app-stable": int64(750), "app-canary": int64(250)}}, ""},
		{"explicit core group, kind and own namespace count", HTTPRoute, []map[string]any{rule(nil,
			ref("app-stable", 80, "group", "", "kind", "Service", "namespace", "ns"), ref("app-canary", 80))}, 10, 90,
			[]map[string]any{{"app-stable": int64(90), "app-canary": int64(10)}}, ""},
		{"a Service of another namespace is not the canary", HTTPRoute, []map[string]any{rule(nil,
			ref("app-stable", 80), ref("app-canary", 80, "namespace", "other"))}, 10, 90, nil,
			`has no rule whose backendRefs name both the canary Service "app-canary" and the stable Service "app-stable" of namespace "ns"`},
		{"another kind is not a Service", HTTPRoute, []map[string]any{rule(nil,
			ref("app-stable", 80), ref("app-canary", 80, "group", "multicluster.x-k8s.io", "kind", "ServiceImport"))}, 10, 90, nil, "has no rule"},
		{"no rule", HTTPRoute, nil, 10, 90, nil, `HTTPRoute "web" in namespace "ns" has no rule`},
	} {
		t.Run(c.name, func(t *testing.T) {
			obj := route(c.kind, c.rules...)
			err := edit(c.kind, obj, routeField, owner, managed, func(d *routeDoc) error {
				return setWeights(d, owner, weightSpec{svc: svc, canary: c.canary, stable: c.stable})
			})
			if c.err != "" {
				var se *traffic.SpecError
				if !errors.As(err, &se) || se.Field != routeField || !strings.Contains(se.Msg, c.err) {
					t.Fatalf("error %v, want a SpecError on %s containing %q", err, routeField, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []map[string]any
			for _, r := range rulesOf(obj) {
				got = append(got, weights(r))
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("weights\n got %v\nwant %v", got, c.want)
			}
			if a := annotation(obj); a != nil {
				t.Fatalf("annotation %v with nothing to record", a)
			}
		})
	}
}

func TestSetWeightsExperiment(t *testing.T) {
	obj := route(HTTPRoute,
		rule(nil, ref("app-stable", 80), ref("app-canary", 80), ref("users-exp", 80, "weight", int64(0))),
		rule([]any{prefix("/other")}, ref("elsewhere", 80)))
	step := func(canary, stable int64, additional ...traffic.WeightDestination) {
		t.Helper()
		run(t, HTTPRoute, obj, func(d *routeDoc) error {
			return setWeights(d, owner, weightSpec{svc: svc, canary: canary, stable: stable, additional: additional,
				ports: map[string]int64{"exp-a": 8080, "exp-b": 9090, "users-exp": 80}})
		})
	}
	step(10, 70, traffic.WeightDestination{ServiceName: "exp-a", Weight: 10}, traffic.WeightDestination{ServiceName: "users-exp", Weight: 10})
	r := rulesOf(obj)[0]
	if want := map[string]any{"app-stable": int64(70), "app-canary": int64(10), "users-exp": int64(10), "exp-a": int64(10)}; !reflect.DeepEqual(weights(r), want) {
		t.Fatalf("weights %v, want %v", weights(r), want)
	}
	if added := asMap(items(r["backendRefs"])[3]); !reflect.DeepEqual(added, map[string]any{
		"group": "", "kind": "Service", "name": "exp-a", "port": int64(8080), "weight": int64(10)}) {
		t.Fatalf("added backendRef %v", added)
	}
	if st := annotation(obj)[owner]; !reflect.DeepEqual(st.Backends, []string{"exp-a"}) {
		t.Fatalf("recorded backends %v: only the one added, not the user's users-exp", st.Backends)
	}
	if len(weights(rulesOf(obj)[1])) != 1 {
		t.Fatalf("rule without the Services changed: %v", rulesOf(obj)[1])
	}

	step(20, 70, traffic.WeightDestination{ServiceName: "exp-b", Weight: 10})
	if want := map[string]any{"app-stable": int64(70), "app-canary": int64(20), "users-exp": int64(10), "exp-b": int64(10)}; !reflect.DeepEqual(weights(rulesOf(obj)[0]), want) {
		t.Fatalf("next experiment: weights %v, want %v (exp-a removed, users-exp kept)", weights(rulesOf(obj)[0]), want)
	}

	step(0, 100)
	if want := map[string]any{"app-stable": int64(100), "app-canary": int64(0), "users-exp": int64(10)}; !reflect.DeepEqual(weights(rulesOf(obj)[0]), want) {
		t.Fatalf("experiment over: weights %v, want %v", weights(rulesOf(obj)[0]), want)
	}
	if a := annotation(obj); a != nil {
		t.Fatalf("annotation %v after the experiment", a)
	}
}

func TestSetWeightsNeedsPorts(t *testing.T) {
	obj := route(HTTPRoute, rule(nil, ref("app-stable", 80), ref("app-canary", 80)))
	err := edit(HTTPRoute, obj, routeField, owner, managed, func(d *routeDoc) error {
		return setWeights(d, owner, weightSpec{svc: svc, canary: 10, stable: 80, additional: []traffic.WeightDestination{{ServiceName: "exp", Weight: 10}}})
	})
	if err == nil || !strings.Contains(err.Error(), `no port known for experiment Service "exp"`) {
		t.Fatalf("error %v", err)
	}
}

func TestInProgressLabel(t *testing.T) {
	const key, value = DefaultInProgressLabelKey, DefaultInProgressLabelValue
	for _, c := range []struct {
		name      string
		labels    map[string]any
		others    string // another Rollout's state in the annotation
		weight    int64
		key       string
		want      map[string]string
		wantOwner bool // whether this Rollout is recorded in progress
	}{
		{"canary traffic sets it", map[string]any{"team": "a"}, "", 10, key, map[string]string{"team": "a", key: value}, true},
		{"weight 0 removes it", map[string]any{"team": "a", key: value}, "", 0, key, map[string]string{"team": "a"}, false},
		{"weight 0 with no label", nil, "", 0, key, nil, false},
		{"custom key", nil, "", 5, "example.com/canary", map[string]string{"example.com/canary": value}, true},
		{"disabled leaves labels alone", map[string]any{key: value}, "", 0, "", map[string]string{key: value}, false},
		{"kept while another Rollout sharing the route has traffic", map[string]any{key: value}, `{"ns/other":{"inProgress":true}}`, 0, key,
			map[string]string{key: value}, false},
		{"removed once no Rollout has traffic", map[string]any{key: value}, `{"ns/other":{"rules":{"h":["x"]}}}`, 0, key, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			obj := route(HTTPRoute, rule(nil, ref("app-stable", 80), ref("app-canary", 80)))
			meta := asMap(obj["metadata"])
			if c.labels != nil {
				meta["labels"] = c.labels
			}
			if c.others != "" {
				meta["annotations"] = map[string]any{AnnotationKey: c.others}
			}
			run(t, HTTPRoute, obj, func(d *routeDoc) error {
				return setWeights(d, owner, weightSpec{svc: svc, canary: c.weight, stable: 100 - c.weight, labelKey: c.key, labelValue: value})
			})
			if got := (&unstructured.Unstructured{Object: obj}).GetLabels(); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("labels %v, want %v", got, c.want)
			}
			if got := annotation(obj)[owner].InProgress; got != c.wantOwner {
				t.Fatalf("recorded in progress %v, want %v", got, c.wantOwner)
			}
		})
	}
}

var xCanary = []any{map[string]any{"name": "X-Canary", "type": "Exact", "value": "yes"}}

func TestSetHeaderRule(t *testing.T) {
	canaryRef := map[string]any{"name": "app-canary", "port": int64(8080), "kind": "Service"}
	for _, c := range []struct {
		name  string
		kind  Kind
		rules []map[string]any
		want  []any // the managed rules, in order
	}{
		{"HTTP: the source's matches with the headers added", HTTPRoute, []map[string]any{{
			"name": "main",
			"matches": []any{
				map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/api"}, "method": "GET",
					"headers":     []any{map[string]any{"name": "X-Env", "value": "prod"}, map[string]any{"name": "x-canary", "value": "no"}},
					"queryParams": []any{map[string]any{"name": "debug", "value": "1"}}},
				prefix("/v2"),
			},
			"filters":     []any{map[string]any{"type": "RequestHeaderModifier", "requestHeaderModifier": map[string]any{"set": []any{map[string]any{"name": "a", "value": "b"}}}}},
			"timeouts":    map[string]any{"request": "10s"},
			"backendRefs": []any{ref("app-stable", 8080, "weight", int64(90)), map[string]any{"name": "app-canary", "port": int64(8080), "kind": "Service", "weight": int64(10)}},
		}}, []any{map[string]any{
			"matches": []any{
				map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/api"}, "method": "GET",
					"headers":     []any{map[string]any{"name": "X-Env", "value": "prod"}, xCanary[0]},
					"queryParams": []any{map[string]any{"name": "debug", "value": "1"}}},
				map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/v2"}, "headers": xCanary},
			},
			"filters":     []any{map[string]any{"type": "RequestHeaderModifier", "requestHeaderModifier": map[string]any{"set": []any{map[string]any{"name": "a", "value": "b"}}}}},
			"timeouts":    map[string]any{"request": "10s"},
			"backendRefs": []any{canaryRef},
		}}},
		{"HTTP: a source matching everything", HTTPRoute, []map[string]any{rule(nil, ref("app-stable", 8080), canaryRef)},
			[]any{map[string]any{"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}, "headers": xCanary}},
				"backendRefs": []any{canaryRef}}}},
		{"HTTP: one rule per splitting rule, others ignored", HTTPRoute, []map[string]any{
			rule([]any{prefix("/a")}, ref("app-stable", 8080), canaryRef),
			rule([]any{prefix("/b")}, ref("other", 80)),
			rule([]any{prefix("/c")}, canaryRef, ref("app-stable", 8080)),
		}, []any{
			map[string]any{"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/a"}, "headers": xCanary}}, "backendRefs": []any{canaryRef}},
			map[string]any{"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/c"}, "headers": xCanary}}, "backendRefs": []any{canaryRef}},
		}},
		{"GRPC: the method is kept", GRPCRoute, []map[string]any{rule(
			[]any{map[string]any{"method": map[string]any{"service": "shop.Cart", "method": "Add"}}}, ref("app-stable", 9090), canaryRef)},
			[]any{map[string]any{"matches": []any{map[string]any{"method": map[string]any{"service": "shop.Cart", "method": "Add"}, "headers": xCanary}},
				"backendRefs": []any{canaryRef}}}},
		{"GRPC: a source matching everything", GRPCRoute, []map[string]any{rule(nil, ref("app-stable", 9090), canaryRef)},
			[]any{map[string]any{"matches": []any{map[string]any{"headers": xCanary}}, "backendRefs": []any{canaryRef}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			obj := route(c.kind, c.rules...)
			original := rulesOf(stored(t, c.kind, obj))
			run(t, c.kind, obj, func(d *routeDoc) error { return setHeaderRule(d, owner, "header", svc, xCanary) })
			got := rulesOf(obj)
			if len(got) != len(c.want)+len(c.rules) {
				t.Fatalf("%d rules, want %d managed then %d user rules: %v", len(got), len(c.want), len(c.rules), got)
			}
			for i, w := range c.want {
				if !reflect.DeepEqual(got[i], w) {
					t.Errorf("managed rule %d\n got %v\nwant %v", i, got[i], w)
				}
			}
			if ids := annotation(obj)[owner].Rules["header"]; len(ids) != len(c.want) {
				t.Fatalf("recorded %v for %d rules", ids, len(c.want))
			}

			// The same step again (every reconcile) changes nothing, even on
			// the object as the API server stored it.
			obj = stored(t, c.kind, obj)
			before := fingerprint(c.kind, obj)
			run(t, c.kind, obj, func(d *routeDoc) error { return setHeaderRule(d, owner, "header", svc, xCanary) })
			if fingerprint(c.kind, obj) != before {
				t.Fatalf("repeating the step changed the route:\n%s\n%s", before, fingerprint(c.kind, obj))
			}

			// Other headers replace the rules rather than adding more.
			other := []any{map[string]any{"name": "X-Beta", "type": "RegularExpression", "value": "^1"}}
			run(t, c.kind, obj, func(d *routeDoc) error { return setHeaderRule(d, owner, "header", svc, other) })
			if got := rulesOf(obj); len(got) != len(c.want)+len(c.rules) {
				t.Fatalf("replaced: %d rules, want %d", len(got), len(c.want)+len(c.rules))
			}

			// No match removes them, leaving the user's rules as they were.
			run(t, c.kind, obj, func(d *routeDoc) error { return setHeaderRule(d, owner, "header", svc, nil) })
			if got := rulesOf(obj); !reflect.DeepEqual(got, original) {
				t.Fatalf("after removal\n got %v\nwant %v", got, original)
			}
			if a := annotation(obj); a != nil {
				t.Fatalf("annotation left: %v", a)
			}
		})
	}
}

func TestSetHeaderRuleNoSource(t *testing.T) {
	obj := route(HTTPRoute, rule(nil, ref("app-stable", 80)))
	err := edit(HTTPRoute, obj, routeField, owner, managed, func(d *routeDoc) error { return setHeaderRule(d, owner, "header", svc, xCanary) })
	var se *traffic.SpecError
	if !errors.As(err, &se) || se.Field != routeField || !strings.Contains(se.Msg, "has no rule whose backendRefs name both") {
		t.Fatalf("error %v", err)
	}
	// Removing needs no source.
	if err := edit(HTTPRoute, obj, routeField, owner, managed, func(d *routeDoc) error { return setHeaderRule(d, owner, "header", svc, nil) }); err != nil {
		t.Fatal(err)
	}
}

// TestManagedRulesSurviveRestart checks that a controller that has lost
// all memory finds its rules from the route alone, whatever the user or
// the API server did to the route in between, and never takes a user rule
// for one of its own.
func TestManagedRulesSurviveRestart(t *testing.T) {
	user := []map[string]any{
		rule([]any{prefix("/")}, ref("app-stable", 80, "weight", int64(100)), ref("app-canary", 80, "weight", int64(0))),
		rule([]any{prefix("/static")}, ref("cdn", 80)),
	}
	setup := func(t *testing.T) map[string]any {
		obj := route(HTTPRoute, user...)
		run(t, HTTPRoute, obj, func(d *routeDoc) error { return setHeaderRule(d, owner, "header", svc, xCanary) })
		mirror, _ := mirrorMatches(mirrorStep(nil))
		run(t, HTTPRoute, obj, func(d *routeDoc) error { return setMirrorRule(d, owner, "mirror", svc, mirror, nil) })
		return stored(t, HTTPRoute, obj) // a fresh read after the restart
	}
	userRules := func(t *testing.T) []map[string]any {
		obj := route(HTTPRoute, user...)
		return rulesOf(stored(t, HTTPRoute, obj))
	}
	for _, c := range []struct {
		name   string
		meddle func(obj map[string]any)
		want   func(t *testing.T) []map[string]any
	}{
		{"untouched", func(map[string]any) {}, userRules},
		{"user reordered the rules", func(obj map[string]any) {
			rules := items(asMap(obj["spec"])["rules"])
			rules[0], rules[3] = rules[3], rules[0]
		}, func(t *testing.T) []map[string]any {
			u := userRules(t)
			return []map[string]any{u[1], u[0]}
		}},
		{"user edited a rule and added one", func(obj map[string]any) {
			spec := asMap(obj["spec"])
			rules := items(spec["rules"])
			asMap(rules[3])["timeouts"] = map[string]any{"request": "5s"}
			spec["rules"] = append(rules, rule([]any{prefix("/new")}, ref("new", 80, "group", "", "kind", "Service", "weight", int64(1))))
		}, func(t *testing.T) []map[string]any {
			u := userRules(t)
			u[1]["timeouts"] = map[string]any{"request": "5s"}
			return append(u, rule([]any{prefix("/new")}, ref("new", 80, "group", "", "kind", "Service", "weight", int64(1))))
		}},
		{"someone moved the weights in the mirror rule", func(obj map[string]any) {
			for _, r := range items(asMap(items(asMap(obj["spec"])["rules"])[1])["backendRefs"]) {
				asMap(r)["weight"] = int64(50)
			}
		}, userRules},
		{"a GitOps sync put back the user's rules but kept the annotation", func(obj map[string]any) {
			rules := items(asMap(obj["spec"])["rules"])
			asMap(obj["spec"])["rules"] = rules[2:]
		}, userRules},
		{"user copied a managed rule into a rule of their own", func(obj map[string]any) {
			rules := items(asMap(obj["spec"])["rules"])
			mine := deepCopy(asMap(rules[0]))
			asMap(items(mine["matches"])[0])["path"] = map[string]any{"type": "Exact", "value": "/mine"}
			asMap(obj["spec"])["rules"] = append(rules, mine)
		}, func(t *testing.T) []map[string]any {
			u := userRules(t)
			obj := setup(t)
			mine := deepCopy(rulesOf(obj)[0])
			asMap(items(mine["matches"])[0])["path"] = map[string]any{"type": "Exact", "value": "/mine"}
			return append(u, mine)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			obj := setup(t)
			c.meddle(obj)
			run(t, HTTPRoute, obj, func(d *routeDoc) error { d.drop(owner, ""); return nil })
			if got, want := rulesOf(obj), c.want(t); !reflect.DeepEqual(got, want) {
				t.Fatalf("after RemoveManagedRoutes\n got %v\nwant %v", got, want)
			}
			if a := annotation(obj); a != nil {
				t.Fatalf("annotation left: %v", a)
			}
		})
	}
}

func mirrorStep(percent *int32) *v1alpha1.SetMirrorRoute {
	return &v1alpha1.SetMirrorRoute{Name: "mirror", Match: []v1alpha1.RouteMatch{{Method: &v1alpha1.StringMatch{Exact: "POST"}}}, Percentage: percent}
}

func TestManagedRuleOrder(t *testing.T) {
	obj := route(HTTPRoute, rule([]any{prefix("/")}, ref("app-stable", 80), ref("app-canary", 80)))
	mirror, _ := mirrorMatches(mirrorStep(nil))
	byName := func(name string, headers []any) func(d *routeDoc) error {
		return func(d *routeDoc) error { return setHeaderRule(d, owner, name, svc, headers) }
	}
	// Added in the opposite order to managedRoutes, plus one no longer listed.
	run(t, HTTPRoute, obj, func(d *routeDoc) error { return setMirrorRule(d, owner, "mirror", svc, mirror, nil) })
	run(t, HTTPRoute, obj, byName("unlisted", []any{map[string]any{"name": "U", "type": "Exact", "value": "1"}}))
	run(t, HTTPRoute, obj, byName("header", xCanary))
	// Another Rollout's rule on the same route sits between ours and the user's.
	d, err := decodeRoute(HTTPRoute, obj, routeField)
	if err != nil {
		t.Fatal(err)
	}
	theirs := rule([]any{prefix("/theirs")}, ref("their-canary", 80))
	d.slots = append(d.slots, slot{rule: theirs, owner: "ns/other", name: "h"})
	if err := d.write(); err != nil {
		t.Fatal(err)
	}
	run(t, HTTPRoute, obj, func(*routeDoc) error { return nil })

	var got []string
	for _, r := range rulesOf(obj) {
		switch {
		case asMap(r["matches"].([]any)[0])["method"] == "POST":
			got = append(got, "mirror")
		case len(items(asMap(items(r["matches"])[0])["headers"])) > 0:
			got = append(got, str(asMap(items(asMap(items(r["matches"])[0])["headers"])[0]), "name"))
		case reflect.DeepEqual(r, theirs):
			got = append(got, "theirs")
		default:
			got = append(got, "user")
		}
	}
	if want := []string{"X-Canary", "mirror", "U", "theirs", "user"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("rule order %v, want %v", got, want)
	}

	// Removing ours leaves the other Rollout's rule and record alone.
	run(t, HTTPRoute, obj, func(d *routeDoc) error { d.drop(owner, ""); return nil })
	if rules := rulesOf(obj); len(rules) != 2 || !reflect.DeepEqual(rules[0], theirs) {
		t.Fatalf("rules %v", rules)
	}
	if a := annotation(obj); len(a) != 1 || len(a["ns/other"].Rules["h"]) != 1 {
		t.Fatalf("annotation %v", a)
	}
}

func TestSetMirrorRule(t *testing.T) {
	rewrite := map[string]any{"type": "URLRewrite", "urlRewrite": map[string]any{"path": map[string]any{"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}
	hostRewrite := map[string]any{"type": "URLRewrite", "urlRewrite": map[string]any{"hostname": "internal"}}
	headers := map[string]any{"type": "RequestHeaderModifier", "requestHeaderModifier": map[string]any{"add": []any{map[string]any{"name": "a", "value": "b"}}}}
	source := map[string]any{
		"name":    "main",
		"matches": []any{prefix("/api")},
		"filters": []any{rewrite, headers},
		"backendRefs": []any{
			ref("app-stable", 80, "weight", int64(80)),
			ref("app-canary", 8080, "weight", int64(20), "filters", []any{rewrite, hostRewrite}),
		},
	}
	target := map[string]any{"group": "", "kind": "Service", "name": "app-canary", "port": int64(8080)}
	for _, c := range []struct {
		name    string
		percent *int32
		mirror  map[string]any
	}{
		{"percentage unset", nil, map[string]any{"backendRef": target}},
		{"percentage 100", ptr.To[int32](100), map[string]any{"backendRef": target}},
		{"percentage 30", ptr.To[int32](30), map[string]any{"backendRef": target, "percent": int64(30)}},
		{"percentage 0", ptr.To[int32](0), map[string]any{"backendRef": target, "percent": int64(0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			obj := route(HTTPRoute, deepCopy(source), rule([]any{prefix("/b")}, ref("other", 80)))
			matches, p := mirrorMatches(mirrorStep(c.percent))
			if p != nil {
				t.Fatal(p)
			}
			run(t, HTTPRoute, obj, func(d *routeDoc) error { return setMirrorRule(d, owner, "mirror", svc, matches, c.percent) })
			want := map[string]any{
				"matches": []any{map[string]any{"method": "POST", "path": map[string]any{"type": "PathPrefix", "value": "/"}}},
				"filters": []any{headers, map[string]any{"type": "RequestMirror", "requestMirror": c.mirror}},
				"backendRefs": []any{
					ref("app-stable", 80, "weight", int64(80)),
					ref("app-canary", 8080, "weight", int64(20), "filters", []any{hostRewrite}),
				},
			}
			rules := rulesOf(obj)
			if len(rules) != 3 || !reflect.DeepEqual(rules[0], want) {
				t.Fatalf("mirror rule\n got %v\nwant %v", rules[0], want)
			}
			if !reflect.DeepEqual(rules[1], source) {
				t.Fatalf("source rule changed: %v", rules[1])
			}

			// Later weights reach the mirror rule too, and it stays ours.
			run(t, HTTPRoute, obj, func(d *routeDoc) error {
				return setWeights(d, owner, weightSpec{svc: svc, canary: 50, stable: 50})
			})
			for _, i := range []int{0, 1} {
				if w := weights(rulesOf(obj)[i]); w["app-canary"] != int64(50) || w["app-stable"] != int64(50) {
					t.Fatalf("rule %d weights %v", i, w)
				}
			}
			obj = stored(t, HTTPRoute, obj)
			run(t, HTTPRoute, obj, func(d *routeDoc) error { return setMirrorRule(d, owner, "mirror", svc, nil, nil) })
			if rules := rulesOf(obj); len(rules) != 2 {
				t.Fatalf("after removal: %v", rules)
			}
			if a := annotation(obj); a != nil {
				t.Fatalf("annotation left: %v", a)
			}
		})
	}
}

func TestCorruptAnnotation(t *testing.T) {
	for _, v := range []string{"{not json", "null", `["a"]`} {
		obj := route(HTTPRoute, rule(nil, ref("app-stable", 80), ref("app-canary", 80)))
		asMap(obj["metadata"])["annotations"] = map[string]any{AnnotationKey: v}
		err := edit(HTTPRoute, obj, routeField, owner, managed, func(d *routeDoc) error { d.drop(owner, ""); return nil })
		var se *traffic.SpecError
		if !errors.As(err, &se) || se.Field != routeField || !strings.Contains(se.Msg, `HTTPRoute "web" has an unreadable annotation `+AnnotationKey) ||
			!strings.Contains(se.Msg, "delete the annotation") {
			t.Errorf("%s: error %v", v, err)
		}
	}
}

func TestFingerprintIgnoresDefaults(t *testing.T) {
	bare := route(HTTPRoute, rule(nil, ref("app-stable", 80), ref("app-canary", 80)), map[string]any{
		"matches": []any{map[string]any{"headers": []any{map[string]any{"name": "a", "value": "b"}}}}, "filters": []any{},
		"backendRefs": []any{ref("x", 80)}})
	if a, b := fingerprint(HTTPRoute, bare), fingerprint(HTTPRoute, stored(t, HTTPRoute, bare)); a != b {
		t.Fatalf("defaults change the fingerprint:\n%s\n%s", a, b)
	}
	changed := stored(t, HTTPRoute, bare)
	asMap(items(rulesOf(changed)[0]["backendRefs"])[0])["weight"] = int64(2)
	if fingerprint(HTTPRoute, bare) == fingerprint(HTTPRoute, changed) {
		t.Fatal("a weight change does not change the fingerprint")
	}
}

func TestReanchor(t *testing.T) {
	sent := route(HTTPRoute, rule([]any{prefix("/")}, ref("app-stable", 80), ref("app-canary", 80)))
	matches, _ := mirrorMatches(mirrorStep(ptr.To[int32](10)))
	run(t, HTTPRoute, sent, func(d *routeDoc) error { return setMirrorRule(d, owner, "mirror", svc, matches, ptr.To[int32](10)) })

	same := stored(t, HTTPRoute, sent)
	if changed, err := reanchor(HTTPRoute, sent, same); err != nil || changed {
		t.Fatalf("stored as sent: changed %v err %v", changed, err)
	}

	// A server whose CRD has no mirror percent prunes it.
	pruned := stored(t, HTTPRoute, sent)
	for _, f := range items(rulesOf(pruned)[0]["filters"]) {
		delete(asMap(asMap(f)["requestMirror"]), "percent")
	}
	if d, _ := decodeRoute(HTTPRoute, pruned, routeField); d.slots[0].owner != "" {
		t.Fatal("the pruned rule still matches the recorded id; the test proves nothing")
	}
	changed, err := reanchor(HTTPRoute, sent, pruned)
	if err != nil || !changed {
		t.Fatalf("pruned: changed %v err %v", changed, err)
	}
	d, err := decodeRoute(HTTPRoute, pruned, routeField)
	if err != nil || d.slots[0].owner != owner || d.slots[0].name != "mirror" || d.slots[1].owner != "" {
		t.Fatalf("after reanchor: %+v %v", d, err)
	}
}
