package istio

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// TestRouteSelectorsOfMissingKinds: a route selector of a kind the
// VirtualService has no route of is skipped (and reported by Skipped),
// the others are split; a selector that misses among routes of its kind,
// or a VirtualService left with nothing to split, is still refused.
func TestRouteSelectorsOfMissingKinds(t *testing.T) {
	ref := func(routes []string, tls []v1alpha1.TLSRoute, tcp []v1alpha1.TCPRoute) VirtualServiceRef {
		r := single(routes...)
		r.Spec.TLSRoutes, r.Spec.TCPRoutes = tls, tcp
		return r
	}
	tls443 := []v1alpha1.TLSRoute{{Port: 443, SNIHosts: []string{"app.example.com"}}}
	tcp3306 := []v1alpha1.TCPRoute{{Port: 3306}}
	const tlsOnly = `
tls:
- match: [{port: 443, sniHosts: [app.example.com]}]
  route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
`
	const tcpOnly = `
tcp:
- match: [{port: 3306}]
  route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
`
	const httpOnly = `
http:
- name: primary
  route:
  - {destination: {host: stable-svc}, weight: 100}
  - {destination: {host: canary-svc}, weight: 0}
`
	field := fieldIstio + ".virtualService"
	for _, c := range []struct {
		name     string
		spec     string
		ref      VirtualServiceRef
		want     string // the spec after ApplyWeights at 20
		skipped  []string
		errField string
		errMsg   string
	}{
		{
			name: "HTTP route named, only TLS routes: the TLS routes are split", spec: tlsOnly, ref: ref([]string{"primary"}, tls443, nil),
			want: `
tls:
- match: [{port: 443, sniHosts: [app.example.com]}]
  route:
  - {destination: {host: stable-svc}, weight: 80}
  - {destination: {host: canary-svc}, weight: 20}
`,
			skipped: []string{field + `.routes[0] names HTTP route "primary"`},
		},
		{
			name: "HTTP route named, only TCP routes: the TCP routes are split", spec: tcpOnly, ref: ref([]string{"primary"}, nil, tcp3306),
			want: `
tcp:
- match: [{port: 3306}]
  route:
  - {destination: {host: stable-svc}, weight: 80}
  - {destination: {host: canary-svc}, weight: 20}
`,
			skipped: []string{field + `.routes[0] names HTTP route "primary"`},
		},
		{
			name: "TLS and TCP selectors, only HTTP routes: the HTTP route is split", spec: httpOnly, ref: ref([]string{"primary"}, tls443, tcp3306),
			want: `
http:
- name: primary
  route:
  - {destination: {host: stable-svc}, weight: 80}
  - {destination: {host: canary-svc}, weight: 20}
`,
			skipped: []string{field + ".tlsRoutes[0] selects TLS port 443 and sniHosts [app.example.com]", field + ".tcpRoutes[0] selects TCP port 3306"},
		},
		{
			name: "a missing HTTP route among HTTP routes is refused", spec: httpOnly, ref: ref([]string{"primary", "other"}, nil, nil),
			errField: field + ".routes[1]", errMsg: `has no HTTP route named "other"`,
		},
		{
			name: "a TLS selector matching none of the TLS routes is refused", spec: tlsOnly, ref: ref(nil, []v1alpha1.TLSRoute{{Port: 8443}}, nil),
			errField: field + ".tlsRoutes[0]", errMsg: "has no TLS route matching port 8443",
		},
		{
			name: "nothing left to split is refused, naming the skipped selectors", spec: "hosts: [app.example.com]\n", ref: ref([]string{"primary"}, nil, nil),
			errField: field + ".name", errMsg: `has none of the routes the rollout selects (` + field + `.routes[0] names HTTP route "primary")`,
			skipped: []string{field + `.routes[0] names HTTP route "primary"`},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := virtualService(t, c.spec)
			notes, err := Skipped(vs, c.ref)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(notes) != fmt.Sprint(c.skipped) {
				t.Errorf("Skipped: %q, want %q", notes, c.skipped)
			}
			changed, err := ApplyWeights(vs, c.ref, hostSplit, 20, nil)
			assertSpecError(t, err, c.errField, c.errMsg)
			if c.errField != "" {
				assertSpec(t, vs, c.spec) // left alone
				return
			}
			if !changed {
				t.Error("ApplyWeights reported no change")
			}
			assertSpec(t, vs, c.want)
		})
	}
}

// TestSetWeightWarnsOfSkippedSelectors: the router splits a TLS-only
// VirtualService for a rollout that also names an HTTP route, and warns
// once per update, naming the VirtualService and the route; an update
// that changes nothing does not warn again.
func TestSetWeightWarnsOfSkippedSelectors(t *testing.T) {
	vs := object(t, `
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: vs, namespace: ns}
spec:
  tls:
  - match: [{port: 443, sniHosts: [app.example.com]}]
    route:
    - {destination: {host: stable-svc}, weight: 100}
    - {destination: {host: canary-svc}, weight: 0}
`)
	h := newHarness(vs)
	ro := istioRollout(&v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: "vs", Routes: []string{"primary"},
		TLSRoutes: []v1alpha1.TLSRoute{{Port: 443, SNIHosts: []string{"app.example.com"}}}}})
	r := h.router(ro)
	var warnings []string
	r.Warn = func(reason, msg string) { warnings = append(warnings, reason+": "+msg) }
	if err := r.SetWeight(context.Background(), 25); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], ReasonRouteSelectorSkipped+": VirtualService ns/vs: skipped ") ||
		!strings.Contains(warnings[0], `routes[0] names HTTP route "primary"`) {
		t.Errorf("warnings %q", warnings)
	}
	assertSpec(t, h.get(t, "VirtualService", "ns", "vs"), `
tls:
- match: [{port: 443, sniHosts: [app.example.com]}]
  route:
  - {destination: {host: stable-svc}, weight: 75}
  - {destination: {host: canary-svc}, weight: 25}
`)
	if err := r.SetWeight(context.Background(), 25); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 {
		t.Errorf("an unchanged VirtualService warned again: %q", warnings)
	}
}
