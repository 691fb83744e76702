package istio

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// seed08VirtualService is the VirtualService of seed 08 (subset-level).
const seed08VirtualService = `
hosts:
- reviews
http:
- route:
  - destination:
      host: reviews
      subset: stable
    weight: 100
  - destination:
      host: reviews
      subset: canary
    weight: 0
`

// hostVirtualService splits by Service host; the canary is named by its
// FQDN, which matches by its first label.
const hostVirtualService = `
hosts:
- app.example.com
http:
- name: primary
  route:
  - destination:
      host: stable-svc
      port:
        number: 8080
    weight: 80
  - destination:
      host: canary-svc.ns.svc.cluster.local
      port:
        number: 8080
    weight: 20
`

func TestApplyWeights(t *testing.T) {
	multi := func(routes ...string) VirtualServiceRef {
		r := single(routes...)
		r.Field = fieldIstio + ".virtualServices[1]"
		return r
	}
	l4 := func(tls []v1alpha1.TLSRoute, tcp []v1alpha1.TCPRoute) VirtualServiceRef {
		r := single()
		r.Spec.TLSRoutes, r.Spec.TCPRoutes = tls, tcp
		return r
	}
	for _, c := range []struct {
		name       string
		spec       string
		ref        VirtualServiceRef
		split      Split
		weight     int32
		additional []v1alpha1.WeightDestination
		want       string
		unchanged  bool
		errField   string
		errMsg     string
	}{
		{
			name: "seed 08 subsets", spec: seed08VirtualService, ref: single(), split: subsetSplit, weight: 10,
			want: `
hosts: [reviews]
http:
- route:
  - {destination: {host: reviews, subset: stable}, weight: 90}
  - {destination: {host: reviews, subset: canary}, weight: 10}
`,
		},
		{
			name: "seed 08 already at the weight", spec: seed08VirtualService, ref: single(), split: subsetSplit, weight: 0,
			want: seed08VirtualService, unchanged: true,
		},
		{
			name: "hosts match by their first label", spec: hostVirtualService, ref: single("primary"), split: hostSplit, weight: 30,
			want: `
hosts: [app.example.com]
http:
- name: primary
  route:
  - {destination: {host: stable-svc, port: {number: 8080}}, weight: 70}
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 30}
`,
		},
		{
			name: "only the named routes", ref: single("primary"), split: hostSplit, weight: 5,
			spec: `
http:
- name: secondary
  route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
- name: primary
  route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
`,
			want: `
http:
- name: secondary
  route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
- name: primary
  route:
  - {destination: {host: stable-svc}, weight: 95}
  - {destination: {host: canary-svc}, weight: 5}
`,
		},
		{
			name: "named route missing from the second VirtualService", ref: multi("primary", "missing"), split: hostSplit, weight: 5,
			spec:     hostVirtualService,
			errField: fieldIstio + ".virtualServices[1].routes[1]", errMsg: `VirtualService ns/vs has no HTTP route named "missing"`,
		},
		{
			name: "no routes named and several unmanaged routes", ref: single(), split: hostSplit.with("header"), weight: 5,
			spec: `
http:
- name: a
  route: [{destination: {host: stable-svc}}, {destination: {host: canary-svc}}]
- name: b
  route: [{destination: {host: stable-svc}}, {destination: {host: canary-svc}}]
`,
			errField: fieldIstio + ".virtualService.routes", errMsg: "has 2 HTTP routes besides the managed routes",
		},
		{
			name: "no routes named: the one unmanaged route, managed routes first and untouched", ref: single(), split: hostSplit.with("header"), weight: 20,
			spec: `
http:
- route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
- name: header
  match: [{headers: {x-canary: {exact: "yes"}}}]
  route:
  - {destination: {host: canary-svc}, weight: 100}
`,
			want: `
http:
- name: header
  match: [{headers: {x-canary: {exact: "yes"}}}]
  route:
  - {destination: {host: canary-svc}, weight: 100}
- route:
  - {destination: {host: stable-svc}, weight: 80}
  - {destination: {host: canary-svc}, weight: 20}
`,
		},
		{
			name: "managed mirror routes are reweighted, others are not", ref: single("primary"), split: hostSplit.with("mirror"), weight: 40,
			spec: `
http:
- name: mirror
  mirror: {host: canary-svc}
  route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
- name: user-mirror
  mirror: {host: canary-svc}
  route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
- name: primary
  route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
`,
			want: `
http:
- name: mirror
  mirror: {host: canary-svc}
  route:
  - {destination: {host: stable-svc}, weight: 60}
  - {destination: {host: canary-svc}, weight: 40}
- name: user-mirror
  mirror: {host: canary-svc}
  route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
- name: primary
  route:
  - {destination: {host: stable-svc}, weight: 60}
  - {destination: {host: canary-svc}, weight: 40}
`,
		},
		{
			name: "TLS by port and SNI hosts, TCP by port", split: hostSplit, weight: 25,
			ref: l4([]v1alpha1.TLSRoute{{Port: 443, SNIHosts: []string{"c.example.com", "b.example.com"}}}, []v1alpha1.TCPRoute{{Port: 3001}}),
			spec: `
tls:
- match: [{port: 443, sniHosts: [a.example.com]}]
  route: [{destination: {host: stable-svc}, weight: 100}, {destination: {host: canary-svc}, weight: 0}]
- match: [{port: 443, sniHosts: [b.example.com]}, {port: 443, sniHosts: [c.example.com]}]
  route: [{destination: {host: stable-svc}, weight: 100}, {destination: {host: canary-svc}, weight: 0}]
tcp:
- match: [{port: 3000}]
  route: [{destination: {host: stable-svc}, weight: 100}, {destination: {host: canary-svc}, weight: 0}]
- match: [{port: 3001}]
  route: [{destination: {host: stable-svc}, weight: 100}, {destination: {host: canary-svc}, weight: 0}]
`,
			want: `
tls:
- match: [{port: 443, sniHosts: [a.example.com]}]
  route: [{destination: {host: stable-svc}, weight: 100}, {destination: {host: canary-svc}, weight: 0}]
- match: [{port: 443, sniHosts: [b.example.com]}, {port: 443, sniHosts: [c.example.com]}]
  route: [{destination: {host: stable-svc}, weight: 75}, {destination: {host: canary-svc}, weight: 25}]
tcp:
- match: [{port: 3000}]
  route: [{destination: {host: stable-svc}, weight: 100}, {destination: {host: canary-svc}, weight: 0}]
- match: [{port: 3001}]
  route: [{destination: {host: stable-svc}, weight: 75}, {destination: {host: canary-svc}, weight: 25}]
`,
		},
		{
			name: "a TLS route on two ports is never selected by one", split: hostSplit, weight: 25,
			ref: l4([]v1alpha1.TLSRoute{{Port: 443}}, nil),
			spec: `
tls:
- match: [{port: 443}, {port: 8443}]
  route: [{destination: {host: stable-svc}}, {destination: {host: canary-svc}}]
`,
			errField: fieldIstio + ".virtualService.tlsRoutes[0]", errMsg: "has no TLS route matching port 443 and sniHosts []",
		},
		{
			name: "TCP selector without a route", split: hostSplit, weight: 25,
			ref:      l4(nil, []v1alpha1.TCPRoute{{Port: 3000}, {Port: 9999}}),
			spec:     "tcp:\n- match: [{port: 3000}]\n  route: [{destination: {host: stable-svc}}, {destination: {host: canary-svc}}]\n",
			errField: fieldIstio + ".virtualService.tcpRoutes[1]", errMsg: "has no TCP route matching port 9999",
		},
		{
			name: "the only TCP route without selectors", ref: single(), split: hostSplit, weight: 50,
			spec: "tcp:\n- route: [{destination: {host: stable-svc}, weight: 100}, {destination: {host: canary-svc}, weight: 0}]\n",
			want: "tcp:\n- route: [{destination: {host: stable-svc}, weight: 50}, {destination: {host: canary-svc}, weight: 50}]\n",
		},
		{
			name: "several TLS routes without selectors", ref: single(), split: hostSplit, weight: 50,
			spec: `
tls:
- match: [{port: 443, sniHosts: [a]}]
  route: [{destination: {host: stable-svc}}, {destination: {host: canary-svc}}]
- match: [{port: 443, sniHosts: [b]}]
  route: [{destination: {host: stable-svc}}, {destination: {host: canary-svc}}]
`,
			errField: fieldIstio + ".virtualService.tlsRoutes", errMsg: "has 2 TLS routes: select the ones to split in tlsRoutes",
		},
		{
			name: "additional destinations: updated, appended by name, others dropped", ref: single(), split: hostSplit, weight: 20,
			additional: []v1alpha1.WeightDestination{{ServiceName: "exp-b", Weight: 10}, {ServiceName: "exp-a", Weight: 5}, {ServiceName: "exp-none", Weight: 0}},
			spec: `
http:
- route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
  - {destination: {host: exp-b.ns.svc.cluster.local}, weight: 0}
  - {destination: {host: old-experiment}, weight: 0}
`,
			want: `
http:
- route:
  - {destination: {host: stable-svc}, weight: 65}
  - {destination: {host: canary-svc}, weight: 20}
  - {destination: {host: exp-b.ns.svc.cluster.local}, weight: 10}
  - {destination: {host: exp-a}, weight: 5}
`,
		},
		{
			name: "the stable weight never goes below 0", ref: single(), split: hostSplit, weight: 90,
			additional: []v1alpha1.WeightDestination{{ServiceName: "exp", Weight: 20}},
			spec:       "http:\n- route: [{destination: {host: stable-svc}, weight: 100}, {destination: {host: canary-svc}, weight: 0}]\n",
			want:       "http:\n- route: [{destination: {host: stable-svc}, weight: 0}, {destination: {host: canary-svc}, weight: 90}, {destination: {host: exp}, weight: 20}]\n",
		},
		{
			name: "additional subsets keep their weight, taken from the stable", ref: single(), weight: 10,
			split: Split{CanarySubset: "canary", StableSubset: "stable", AdditionalSubsets: []string{"preview"}},
			spec: `
http:
- route:
  - {destination: {host: reviews, subset: stable}, weight: 80}
  - {destination: {host: reviews, subset: canary}, weight: 0}
  - {destination: {host: preview, subset: preview}, weight: 20}
`,
			want: `
http:
- route:
  - {destination: {host: reviews, subset: stable}, weight: 70}
  - {destination: {host: reviews, subset: canary}, weight: 10}
  - {destination: {host: preview, subset: preview}, weight: 20}
`,
		},
		{
			name: "no destination for the canary Service", ref: single(), split: hostSplit, weight: 10,
			spec:     "http:\n- route: [{destination: {host: stable-svc}, weight: 100}]\n",
			errField: "spec.strategy.canary.canaryService", errMsg: `HTTP route spec.http[0] of VirtualService ns/vs has no destination for host "canary-svc"`,
		},
		{
			name: "no destination for the stable subset", ref: single("primary"), split: subsetSplit, weight: 10,
			spec:     "http:\n- name: primary\n  route: [{destination: {host: reviews, subset: canary}, weight: 100}]\n",
			errField: fieldIstio + ".destinationRule.stableSubsetName", errMsg: `HTTP route "primary" of VirtualService ns/vs has no destination with subset "stable"`,
		},
		{
			name: "nothing to split", ref: single(), split: hostSplit, weight: 10,
			spec:     "hosts: [a]\n",
			errField: fieldIstio + ".virtualService.name", errMsg: "has no HTTP, TLS or TCP route to split",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := virtualService(t, c.spec)
			changed, err := ApplyWeights(vs, c.ref, c.split, c.weight, c.additional)
			assertSpecError(t, err, c.errField, c.errMsg)
			if c.errField != "" {
				return
			}
			if changed == c.unchanged {
				t.Errorf("changed = %v", changed)
			}
			assertSpec(t, vs, c.want)
			if again, err := ApplyWeights(vs, c.ref, c.split, c.weight, c.additional); err != nil || again {
				t.Errorf("second apply: changed %v, err %v", again, err)
			}
		})
	}
}

// Weights decoded as floats (by a plain JSON decoder) compare by value.
func TestApplyWeightsFloatWeightsUnchanged(t *testing.T) {
	vs := virtualService(t, seed08VirtualService)
	dests := vs.Object["spec"].(map[string]any)["http"].([]any)[0].(map[string]any)["route"].([]any)
	dests[0].(map[string]any)["weight"] = float64(90)
	dests[1].(map[string]any)["weight"] = float64(10)
	if changed, err := ApplyWeights(vs, single(), subsetSplit, 10, nil); err != nil || changed {
		t.Fatalf("changed %v err %v", changed, err)
	}
}

func TestApplyHeaderRoute(t *testing.T) {
	header := func(name string, m ...v1alpha1.HeaderRoutingMatch) *v1alpha1.SetHeaderRoute {
		return &v1alpha1.SetHeaderRoute{Name: name, Match: m}
	}
	exact := v1alpha1.HeaderRoutingMatch{HeaderName: "x-canary", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}
	const hostWithHeader = hostVirtualService + `
- name: header-route
  match: [{headers: {x-canary: {exact: "yes"}}}]
  route:
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 100}
`
	const wantHostWithHeader = `
hosts: [app.example.com]
http:
- name: header-route
  match: [{headers: {x-canary: {exact: "yes"}}}]
  route:
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 100}
- name: primary
  route:
  - {destination: {host: stable-svc, port: {number: 8080}}, weight: 80}
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 20}
`
	for _, c := range []struct {
		name      string
		spec      string
		ref       VirtualServiceRef
		split     Split
		route     *v1alpha1.SetHeaderRoute
		want      string
		unchanged bool
		errField  string
		errMsg    string
	}{
		{
			name: "added before the weighted route, to the canary's host and port", spec: hostVirtualService, ref: single(),
			split: hostSplit.with("header-route"), route: header("header-route", exact), want: wantHostWithHeader,
		},
		{
			name: "already there", spec: wantHostWithHeader, ref: single("primary"),
			split: hostSplit.with("header-route"), route: header("header-route", exact), want: wantHostWithHeader, unchanged: true,
		},
		{
			name: "replaced: one match entry per condition", spec: hostWithHeader, ref: single(), split: hostSplit.with("header-route"),
			route: header("header-route",
				v1alpha1.HeaderRoutingMatch{HeaderName: "user-agent", HeaderValue: &v1alpha1.StringMatch{Regex: ".*Android.*"}},
				v1alpha1.HeaderRoutingMatch{HeaderName: "x-group", HeaderValue: &v1alpha1.StringMatch{Prefix: "beta"}}),
			want: `
hosts: [app.example.com]
http:
- name: header-route
  match:
  - headers: {user-agent: {regex: ".*Android.*"}}
  - headers: {x-group: {prefix: beta}}
  route:
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 100}
- name: primary
  route:
  - {destination: {host: stable-svc, port: {number: 8080}}, weight: 80}
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 20}
`,
		},
		{
			name: "no match removes it", spec: hostWithHeader, ref: single(), split: hostSplit.with("header-route"),
			route: header("header-route"), want: hostVirtualService,
		},
		{
			name: "removing an absent route changes nothing", spec: hostVirtualService, ref: single(), split: hostSplit.with("header-route"),
			route: header("header-route"), want: hostVirtualService, unchanged: true,
		},
		{
			name: "subset-level: to the canary subset", spec: seed08VirtualService, ref: single(), split: subsetSplit.with("header-route"),
			route: header("header-route", exact),
			want: `
hosts: [reviews]
http:
- name: header-route
  match: [{headers: {x-canary: {exact: "yes"}}}]
  route:
  - {destination: {host: reviews, subset: canary}, weight: 100}
- route:
  - {destination: {host: reviews, subset: stable}, weight: 100}
  - {destination: {host: reviews, subset: canary}, weight: 0}
`,
		},
		{
			name: "managed routes in their listed order", ref: single("primary"), split: hostSplit.with("mirror-route", "header-route"),
			spec: hostVirtualService + `
- name: mirror-route
  mirror: {host: canary-svc}
  route: [{destination: {host: stable-svc}, weight: 100}]
`,
			route: header("header-route", exact),
			want: `
hosts: [app.example.com]
http:
- name: mirror-route
  mirror: {host: canary-svc}
  route: [{destination: {host: stable-svc}, weight: 100}]
- name: header-route
  match: [{headers: {x-canary: {exact: "yes"}}}]
  route:
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 100}
- name: primary
  route:
  - {destination: {host: stable-svc, port: {number: 8080}}, weight: 80}
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 20}
`,
		},
		{
			name: "no HTTP route to copy the canary from", ref: single(), split: hostSplit.with("header-route"), route: header("header-route", exact),
			spec:     "tcp:\n- route: [{destination: {host: stable-svc}}, {destination: {host: canary-svc}}]\n",
			errField: fieldIstio + ".virtualService.routes", errMsg: "has no HTTP route to take the canary destination from",
		},
		{
			name: "no canary destination", ref: single(), split: hostSplit.with("header-route"), route: header("header-route", exact),
			spec:     "http:\n- route: [{destination: {host: stable-svc}, weight: 100}]\n",
			errField: "spec.strategy.canary.canaryService", errMsg: `no destination for host "canary-svc"`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := virtualService(t, c.spec)
			changed, err := ApplyHeaderRoute(vs, c.ref, c.split, c.route)
			assertSpecError(t, err, c.errField, c.errMsg)
			if c.errField != "" {
				return
			}
			if changed == c.unchanged {
				t.Errorf("changed = %v", changed)
			}
			assertSpec(t, vs, c.want)
			if again, err := ApplyHeaderRoute(vs, c.ref, c.split, c.route); err != nil || again {
				t.Errorf("second apply: changed %v, err %v", again, err)
			}
		})
	}
}

func TestApplyMirrorRoute(t *testing.T) {
	pct := func(p int32) *int32 { return &p }
	get := v1alpha1.RouteMatch{
		Method:  &v1alpha1.StringMatch{Exact: "GET"},
		Path:    &v1alpha1.StringMatch{Prefix: "/api"},
		Headers: map[string]v1alpha1.StringMatch{"x-debug": {Exact: "1"}},
	}
	for _, c := range []struct {
		name      string
		spec      string
		split     Split
		route     *v1alpha1.SetMirrorRoute
		want      string
		unchanged bool
		errField  string
		errMsg    string
	}{
		{
			name: "prepended, copying the weighted route, 100% by default", spec: hostVirtualService, split: hostSplit.with("mirror-route"),
			route: &v1alpha1.SetMirrorRoute{Name: "mirror-route", Match: []v1alpha1.RouteMatch{get}},
			want: `
hosts: [app.example.com]
http:
- name: mirror-route
  match:
  - method: {exact: GET}
    uri: {prefix: /api}
    headers: {x-debug: {exact: "1"}}
  route:
  - {destination: {host: stable-svc, port: {number: 8080}}, weight: 80}
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 20}
  mirror: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}
  mirrorPercentage: {value: 100}
- name: primary
  route:
  - {destination: {host: stable-svc, port: {number: 8080}}, weight: 80}
  - {destination: {host: canary-svc.ns.svc.cluster.local, port: {number: 8080}}, weight: 20}
`,
		},
		{
			name: "subset-level, a percentage, after the header route it follows in managedRoutes",
			spec: `
hosts: [reviews]
http:
- name: header-route
  match: [{headers: {x-canary: {exact: "yes"}}}]
  route: [{destination: {host: reviews, subset: canary}, weight: 100}]
- route:
  - {destination: {host: reviews, subset: stable}, weight: 90}
  - {destination: {host: reviews, subset: canary}, weight: 10}
`,
			split: subsetSplit.with("header-route", "mirror-route"),
			route: &v1alpha1.SetMirrorRoute{Name: "mirror-route", Percentage: pct(25), Match: []v1alpha1.RouteMatch{
				{Path: &v1alpha1.StringMatch{Regex: "^/v2"}}, {Method: &v1alpha1.StringMatch{Exact: "POST"}}}},
			want: `
hosts: [reviews]
http:
- name: header-route
  match: [{headers: {x-canary: {exact: "yes"}}}]
  route: [{destination: {host: reviews, subset: canary}, weight: 100}]
- name: mirror-route
  match: [{uri: {regex: ^/v2}}, {method: {exact: POST}}]
  route:
  - {destination: {host: reviews, subset: stable}, weight: 90}
  - {destination: {host: reviews, subset: canary}, weight: 10}
  mirror: {host: reviews, subset: canary}
  mirrorPercentage: {value: 25}
- route:
  - {destination: {host: reviews, subset: stable}, weight: 90}
  - {destination: {host: reviews, subset: canary}, weight: 10}
`,
		},
		{
			name: "no match removes it", split: hostSplit.with("mirror-route"), route: &v1alpha1.SetMirrorRoute{Name: "mirror-route"},
			spec: hostVirtualService + `
- name: mirror-route
  mirror: {host: canary-svc}
  route: [{destination: {host: stable-svc}, weight: 100}]
`,
			want: hostVirtualService,
		},
		{
			name: "removing an absent route changes nothing", spec: hostVirtualService, split: hostSplit.with("mirror-route"),
			route: &v1alpha1.SetMirrorRoute{Name: "mirror-route", Match: []v1alpha1.RouteMatch{}}, want: hostVirtualService, unchanged: true,
		},
		{
			name: "no canary subset to mirror to", split: subsetSplit.with("mirror-route"),
			route:    &v1alpha1.SetMirrorRoute{Name: "mirror-route", Match: []v1alpha1.RouteMatch{get}},
			spec:     "http:\n- route: [{destination: {host: reviews, subset: stable}, weight: 100}]\n",
			errField: fieldIstio + ".destinationRule.canarySubsetName", errMsg: `no destination with subset "canary"`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := virtualService(t, c.spec)
			changed, err := ApplyMirrorRoute(vs, single(), c.split, c.route)
			assertSpecError(t, err, c.errField, c.errMsg)
			if c.errField != "" {
				return
			}
			if changed == c.unchanged {
				t.Errorf("changed = %v", changed)
			}
			assertSpec(t, vs, c.want)
			if again, err := ApplyMirrorRoute(vs, single(), c.split, c.route); err != nil || again {
				t.Errorf("second apply: changed %v, err %v", again, err)
			}
		})
	}
}

// The mirror route copies the destinations, so a later weight change must
// not leak into it through shared maps, and SetWeight then moves both.
func TestMirrorRouteFollowsSetWeight(t *testing.T) {
	vs := virtualService(t, seed08VirtualService)
	s := subsetSplit.with("mirror-route")
	route := &v1alpha1.SetMirrorRoute{Name: "mirror-route", Match: []v1alpha1.RouteMatch{{Method: &v1alpha1.StringMatch{Exact: "GET"}}}}
	if _, err := ApplyMirrorRoute(vs, single(), s, route); err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyWeights(vs, single(), s, 30, nil); err != nil {
		t.Fatal(err)
	}
	assertSpec(t, vs, `
hosts: [reviews]
http:
- name: mirror-route
  match: [{method: {exact: GET}}]
  route:
  - {destination: {host: reviews, subset: stable}, weight: 70}
  - {destination: {host: reviews, subset: canary}, weight: 30}
  mirror: {host: reviews, subset: canary}
  mirrorPercentage: {value: 100}
- route:
  - {destination: {host: reviews, subset: stable}, weight: 70}
  - {destination: {host: reviews, subset: canary}, weight: 30}
`)
}

func TestRemoveRoutes(t *testing.T) {
	const managed = `
http:
- name: header-route
  route: [{destination: {host: canary-svc}, weight: 100}]
- name: mirror-route
  mirror: {host: canary-svc}
  route: [{destination: {host: stable-svc}, weight: 100}]
- name: primary
  route: [{destination: {host: stable-svc}, weight: 100}]
- route: [{destination: {host: other}, weight: 100}]
`
	for _, c := range []struct {
		name    string
		spec    string
		names   []string
		want    string
		changed bool
	}{
		{name: "every managed route", spec: managed, names: []string{"header-route", "mirror-route"}, changed: true, want: `
http:
- name: primary
  route: [{destination: {host: stable-svc}, weight: 100}]
- route: [{destination: {host: other}, weight: 100}]
`},
		{name: "none there", spec: "http:\n- name: primary\n  route: [{destination: {host: stable-svc}}]\n", names: []string{"header-route"},
			want: "http:\n- name: primary\n  route: [{destination: {host: stable-svc}}]\n"},
		{name: "no HTTP routes", spec: "tcp:\n- route: [{destination: {host: stable-svc}}]\n", names: []string{"header-route"},
			want: "tcp:\n- route: [{destination: {host: stable-svc}}]\n"},
		{name: "an empty name never matches an unnamed route", spec: "http:\n- route: [{destination: {host: a}}]\n", names: []string{""},
			want: "http:\n- route: [{destination: {host: a}}]\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := virtualService(t, c.spec)
			changed, err := RemoveRoutes(vs, c.names)
			if err != nil || changed != c.changed {
				t.Fatalf("changed %v err %v", changed, err)
			}
			assertSpec(t, vs, c.want)
		})
	}
}

func TestOrderRoutes(t *testing.T) {
	routes := func(names ...string) []any {
		out := make([]any, len(names))
		for i, n := range names {
			out[i] = map[string]any{"name": n, "i": int64(i)}
			if n == "" {
				out[i] = map[string]any{"i": int64(i)}
			}
		}
		return out
	}
	names := func(rs []any) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = routeName(r)
		}
		return out
	}
	for _, c := range []struct {
		name    string
		in      []string
		managed []string
		want    []string
	}{
		{"no managed routes", []string{"b", "", "a"}, nil, []string{"b", "", "a"}},
		{"managed first in listed order", []string{"primary", "a", "", "b"}, []string{"b", "a"}, []string{"b", "a", "primary", ""}},
		{"managed names not present", []string{"", "primary"}, []string{"header"}, []string{"", "primary"}},
		{"a repeated managed name moves once", []string{"x", "a"}, []string{"a", "a"}, []string{"a", "x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := names(orderRoutes(routes(c.in...), c.managed)); !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// Objects Istio's schema would reject still get a plain error naming the
// place, never a panic or a write.
func TestMalformedVirtualService(t *testing.T) {
	for _, c := range []struct {
		name, spec, want string
	}{
		{"http is not a list", "http: {route: []}", "VirtualService ns/vs: spec.http is not a list"},
		{"a route is not an object", "http: [primary]", "VirtualService ns/vs: spec.http[0] is not an object"},
		{"destinations are not a list", "http: [{route: {host: a}}]", "VirtualService ns/vs: HTTP route spec.http[0]: route is not a list"},
		{"a destination is not an object", "http: [{name: p, route: [a]}]", `VirtualService ns/vs: HTTP route "p": route[0] is not an object`},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := virtualService(t, c.spec)
			_, err := ApplyWeights(vs, single(), hostSplit, 10, nil)
			if se := (*traffic.SpecError)(nil); err == nil || errors.As(err, &se) || err.Error() != c.want {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
	noSpec := virtualService(t, "{}")
	delete(noSpec.Object, "spec")
	if _, err := RemoveRoutes(noSpec, []string{"a"}); err == nil || err.Error() != "VirtualService ns/vs has no spec object" {
		t.Errorf("error %v", err)
	}
}

// A destination host that starts with a dot names no Service, so it is
// left as it is rather than dropped.
func TestUnnamedHostKept(t *testing.T) {
	vs := virtualService(t, "http:\n- route: [{destination: {host: stable-svc}}, {destination: {host: canary-svc}}, {destination: {host: .odd}, weight: 3}]\n")
	if _, err := ApplyWeights(vs, single(), hostSplit, 10, nil); err != nil {
		t.Fatal(err)
	}
	assertSpec(t, vs, "http:\n- route: [{destination: {host: stable-svc}, weight: 90}, {destination: {host: canary-svc}, weight: 10}, {destination: {host: .odd}, weight: 3}]\n")
}

func TestToInt64(t *testing.T) {
	for _, c := range []struct {
		in   any
		want int64
		ok   bool
	}{
		{int64(7), 7, true}, {7, 7, true}, {int32(7), 7, true}, {float64(7), 7, true},
		{json.Number("7"), 7, true}, {json.Number("7.0"), 7, true}, {json.Number("x"), 0, false},
		{"7", 0, false}, {nil, 0, false},
	} {
		if got, ok := toInt64(c.in); got != c.want || ok != c.ok {
			t.Errorf("toInt64(%#v) = %d, %v", c.in, got, ok)
		}
	}
}

// A nameless header or mirror route would match the user's unnamed
// routes, so it is refused before anything is removed.
func TestUnnamedManagedRouteRefused(t *testing.T) {
	vs := virtualService(t, seed08VirtualService)
	_, err := ApplyHeaderRoute(vs, single(), subsetSplit, &v1alpha1.SetHeaderRoute{})
	assertSpecError(t, err, "spec.strategy.canary.steps[].setHeaderRoute.name", "needs a name")
	_, err = ApplyMirrorRoute(vs, single(), subsetSplit, &v1alpha1.SetMirrorRoute{})
	assertSpecError(t, err, "spec.strategy.canary.steps[].setMirrorRoute.name", "needs a name")
	assertSpec(t, vs, seed08VirtualService)
	if changed, err := ApplyHeaderRoute(vs, single(), subsetSplit, nil); changed || err != nil {
		t.Errorf("nil route: changed %v err %v", changed, err)
	}
	if changed, err := ApplyMirrorRoute(vs, single(), subsetSplit, nil); changed || err != nil {
		t.Errorf("nil route: changed %v err %v", changed, err)
	}
}

// An error in one selected route leaves the others untouched too.
func TestApplyWeightsErrorLeavesObjectAlone(t *testing.T) {
	const spec = `
http:
- name: a
  route: [{destination: {host: stable-svc}, weight: 100}, {destination: {host: canary-svc}, weight: 0}]
- name: b
  route: [{destination: {host: stable-svc}, weight: 100}]
`
	vs := virtualService(t, spec)
	_, err := ApplyWeights(vs, single("a", "b"), hostSplit, 10, nil)
	assertSpecError(t, err, "spec.strategy.canary.canaryService", `HTTP route "b"`)
	assertSpec(t, vs, spec)
}
