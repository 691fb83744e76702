package istio

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// Route kinds, as the keys of a VirtualService spec.
const (
	kindHTTP = "http"
	kindTLS  = "tls"
	kindTCP  = "tcp"
)

// weightTotal is what VirtualService destination weights add up to. Istio
// requires 100 whatever the Rollout's maxTrafficWeight, as upstream assumes.
const weightTotal = 100

// routeTables are a VirtualService's spec.http, spec.tls and spec.tcp.
// Routes are changed in place; only the HTTP list is ever replaced, by
// adding, removing or reordering routes.
type routeTables struct {
	spec           map[string]any
	http, tls, tcp []any
	hasHTTP        bool
}

// readTables reads the route lists of vs, checking that each route is an
// object so that the rest can assert it.
func readTables(vs *unstructured.Unstructured) (*routeTables, error) {
	spec, ok := vs.Object["spec"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("VirtualService %s/%s has no spec object", vs.GetNamespace(), vs.GetName())
	}
	t := &routeTables{spec: spec}
	for _, k := range []struct {
		kind string
		list *[]any
	}{{kindHTTP, &t.http}, {kindTLS, &t.tls}, {kindTCP, &t.tcp}} {
		v, found := spec[k.kind]
		if !found || v == nil {
			continue
		}
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("VirtualService %s/%s: spec.%s is not a list", vs.GetNamespace(), vs.GetName(), k.kind)
		}
		for i, r := range list {
			if _, ok := r.(map[string]any); !ok {
				return nil, fmt.Errorf("VirtualService %s/%s: spec.%s[%d] is not an object", vs.GetNamespace(), vs.GetName(), k.kind, i)
			}
		}
		*k.list = list
		if k.kind == kindHTTP {
			t.hasHTTP = true
		}
	}
	return t, nil
}

// writeHTTP puts the HTTP routes back; a VirtualService without spec.http
// gets one only if a route was added.
func (t *routeTables) writeHTTP() {
	if !t.hasHTTP && len(t.http) == 0 {
		return
	}
	if t.http == nil {
		t.http = []any{}
	}
	t.spec[kindHTTP] = t.http
}

// list is the route list of a kind.
func (t *routeTables) list(kind string) []any {
	switch kind {
	case kindHTTP:
		return t.http
	case kindTLS:
		return t.tls
	default:
		return t.tcp
	}
}

// selected is one route whose destinations get the weights.
type selected struct {
	kind  string
	index int
	// checked routes must have a canary and a stable destination; managed
	// mirror routes are copies and are only reweighted.
	checked bool
}

// describe names a route for messages: by name when it has one.
func describe(kind string, index int, route map[string]any) string {
	if name, _ := route["name"].(string); name != "" && kind == kindHTTP {
		return fmt.Sprintf("HTTP route %q", name)
	}
	return fmt.Sprintf("%s route spec.%s[%d]", strings.ToUpper(kind), kind, index)
}

func routeName(r any) string {
	m, _ := r.(map[string]any)
	name, _ := m["name"].(string)
	return name
}

// selectHTTP picks the HTTP routes to split: those named in routes, or,
// when routes is empty, the only HTTP route that is not a managed route.
// A VirtualService with no HTTP route at all has none to pick, whatever
// routes names (see Skipped).
func selectHTTP(t *routeTables, ref VirtualServiceRef, s Split) ([]int, error) {
	if len(t.http) == 0 {
		return nil, nil
	}
	if len(ref.Spec.Routes) > 0 {
		var out []int
		for i, name := range ref.Spec.Routes {
			idx := slices.IndexFunc(t.http, func(r any) bool { return routeName(r) == name })
			if idx < 0 {
				return nil, &traffic.SpecError{Field: fmt.Sprintf("%s.routes[%d]", ref.Field, i),
					Msg: fmt.Sprintf("VirtualService %s has no HTTP route named %q: give the route that name in spec.http, or correct the name", ref.key(), name)}
			}
			if !slices.Contains(out, idx) {
				out = append(out, idx)
			}
		}
		return out, nil
	}
	var unmanaged []int
	for i, r := range t.http {
		if !slices.Contains(s.ManagedRoutes, routeName(r)) || routeName(r) == "" {
			unmanaged = append(unmanaged, i)
		}
	}
	if len(unmanaged) > 1 {
		return nil, &traffic.SpecError{Field: ref.Field + ".routes",
			Msg: fmt.Sprintf("VirtualService %s has %d HTTP routes besides the managed routes: name the ones to split in routes", ref.key(), len(unmanaged))}
	}
	return unmanaged, nil
}

// l4Selector is a tlsRoutes or tcpRoutes entry (TCP ones have no hosts).
type l4Selector struct {
	port     int64
	sniHosts []string
}

// selectL4 picks the TLS or TCP routes to split: those matching each
// selector in want (at least one each), or, with no selectors, the only
// route of that kind. A VirtualService with no route of that kind has none
// to pick, whatever want says (see Skipped).
func selectL4(kind string, routes []any, ref VirtualServiceRef, want []l4Selector) ([]int, error) {
	specField, what := ".tlsRoutes", "port and sniHosts"
	if kind == kindTCP {
		specField, what = ".tcpRoutes", "port"
	}
	if len(routes) == 0 {
		return nil, nil
	}
	if len(want) == 0 {
		if len(routes) > 1 {
			return nil, &traffic.SpecError{Field: ref.Field + specField,
				Msg: fmt.Sprintf("VirtualService %s has %d %s routes: select the ones to split in %s by %s", ref.key(), len(routes), strings.ToUpper(kind), specField[1:], what)}
		}
		if len(routes) == 1 {
			return []int{0}, nil
		}
		return nil, nil
	}
	var out []int
	for i, w := range want {
		found := false
		for idx, r := range routes {
			port, hosts, ok := l4Match(r.(map[string]any))
			if !ok || port != w.port || (kind == kindTLS && !sameSet(hosts, w.sniHosts)) {
				continue
			}
			found = true
			if !slices.Contains(out, idx) {
				out = append(out, idx)
			}
		}
		if !found {
			desc := fmt.Sprintf("port %d", w.port)
			if kind == kindTLS {
				desc += fmt.Sprintf(" and sniHosts %v", w.sniHosts)
			}
			return nil, &traffic.SpecError{Field: fmt.Sprintf("%s%s[%d]", ref.Field, specField, i),
				Msg: fmt.Sprintf("VirtualService %s has no %s route matching %s: correct the selector to match one route's match entries", ref.key(), strings.ToUpper(kind), desc)}
		}
	}
	return out, nil
}

// l4Match reads the port and SNI hosts a TLS or TCP route matches on. A
// route whose match entries name more than one port cannot be selected by
// a single port, so ok is false for it; no port reads as 0.
func l4Match(route map[string]any) (port int64, sniHosts []string, ok bool) {
	ports := map[int64]bool{}
	seen := map[string]bool{}
	matches, _ := route["match"].([]any)
	for _, m := range matches {
		mm, _ := m.(map[string]any)
		p, _ := toInt64(mm["port"])
		ports[p] = true
		hosts, _ := mm["sniHosts"].([]any)
		for _, h := range hosts {
			if hs, _ := h.(string); !seen[hs] {
				seen[hs] = true
				sniHosts = append(sniHosts, hs)
			}
		}
	}
	if len(ports) > 1 {
		return 0, nil, false
	}
	for p := range ports {
		port = p
	}
	return port, sniHosts, true
}

// sameSet reports whether a and b hold the same strings, ignoring order
// and repeats.
func sameSet(a, b []string) bool {
	in := func(x []string) map[string]bool {
		m := map[string]bool{}
		for _, s := range x {
			m[s] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	if len(ma) != len(mb) {
		return false
	}
	for s := range ma {
		if !mb[s] {
			return false
		}
	}
	return true
}

// selectRoutes picks every route SetWeight reweights: the selected HTTP,
// TLS and TCP routes, then the managed mirror routes, which carry a copy
// of the weighted destinations.
func selectRoutes(t *routeTables, ref VirtualServiceRef, s Split) ([]selected, error) {
	var out []selected
	httpIdx, err := selectHTTP(t, ref, s)
	if err != nil {
		return nil, err
	}
	for _, i := range httpIdx {
		out = append(out, selected{kind: kindHTTP, index: i, checked: true})
	}
	tlsSel := make([]l4Selector, len(ref.Spec.TLSRoutes))
	for i, r := range ref.Spec.TLSRoutes {
		tlsSel[i] = l4Selector{port: r.Port, sniHosts: r.SNIHosts}
	}
	tlsIdx, err := selectL4(kindTLS, t.tls, ref, tlsSel)
	if err != nil {
		return nil, err
	}
	for _, i := range tlsIdx {
		out = append(out, selected{kind: kindTLS, index: i, checked: true})
	}
	tcpSel := make([]l4Selector, len(ref.Spec.TCPRoutes))
	for i, r := range ref.Spec.TCPRoutes {
		tcpSel[i] = l4Selector{port: r.Port}
	}
	tcpIdx, err := selectL4(kindTCP, t.tcp, ref, tcpSel)
	if err != nil {
		return nil, err
	}
	for _, i := range tcpIdx {
		out = append(out, selected{kind: kindTCP, index: i, checked: true})
	}
	if len(out) == 0 {
		msg := fmt.Sprintf("VirtualService %s has no HTTP, TLS or TCP route to split: add a route with destinations for the stable and canary", ref.key())
		if notes := skipped(t, ref); len(notes) > 0 {
			msg = fmt.Sprintf("VirtualService %s has none of the routes the rollout selects (%s): add them to the VirtualService with destinations for the stable and canary, or correct the selectors",
				ref.key(), strings.Join(notes, "; "))
		}
		return nil, &traffic.SpecError{Field: ref.Field + ".name", Msg: msg}
	}
	for i, r := range t.http {
		m := r.(map[string]any)
		if _, mirror := m["mirror"]; mirror && routeName(r) != "" && slices.Contains(s.ManagedRoutes, routeName(r)) && !slices.Contains(httpIdx, i) {
			out = append(out, selected{kind: kindHTTP, index: i})
		}
	}
	return out, nil
}

// skipped lists the route selectors of ref that select nothing because
// vs has no route of their kind at all, each as "<field> <what>": the HTTP
// route names of routes without spec.http, tlsRoutes without spec.tls,
// tcpRoutes without spec.tcp. Argo Rollouts only checks the selectors of
// the kinds a VirtualService has, so these are skipped, not refused.
func skipped(t *routeTables, ref VirtualServiceRef) []string {
	var out []string
	if len(t.http) == 0 {
		for i, name := range ref.Spec.Routes {
			out = append(out, fmt.Sprintf("%s.routes[%d] names HTTP route %q", ref.Field, i, name))
		}
	}
	if len(t.tls) == 0 {
		for i, r := range ref.Spec.TLSRoutes {
			out = append(out, fmt.Sprintf("%s.tlsRoutes[%d] selects TLS port %d and sniHosts %v", ref.Field, i, r.Port, r.SNIHosts))
		}
	}
	if len(t.tcp) == 0 {
		for i, r := range ref.Spec.TCPRoutes {
			out = append(out, fmt.Sprintf("%s.tcpRoutes[%d] selects TCP port %d", ref.Field, i, r.Port))
		}
	}
	return out
}

// Skipped says which of ref's route selectors find no route in vs because
// vs has no route of that kind at all (no spec.http for routes, no
// spec.tls for tlsRoutes, no spec.tcp for tcpRoutes). ApplyWeights splits
// the routes the other selectors find and ignores these, as Argo Rollouts
// does, so existing objects keep working; the caller should warn. It is
// empty when every selector can be checked against vs.
func Skipped(vs *unstructured.Unstructured, ref VirtualServiceRef) ([]string, error) {
	t, err := readTables(vs)
	if err != nil {
		return nil, err
	}
	return skipped(t, ref), nil
}

// destination reads a route destination's host (up to the first dot, as
// Service names are matched) and subset.
func destination(d map[string]any) (host, subset string) {
	dest, _ := d["destination"].(map[string]any)
	host, _ = dest["host"].(string)
	subset, _ = dest["subset"].(string)
	switch i := strings.Index(host, "."); {
	case i > 0:
		host = host[:i]
	case i == 0:
		host = ""
	}
	return host, subset
}

// role is what a destination is to the split.
type role int

const (
	roleOther role = iota
	roleCanary
	roleStable
)

// roleOf matches a destination by Service host first, then by subset, the
// order Argo Rollouts uses when a Rollout has both Services and subsets.
func (s Split) roleOf(d map[string]any) role {
	host, subset := destination(d)
	switch {
	case host == "":
		return roleOther
	case host == s.CanaryService || (subset != "" && subset == s.CanarySubset):
		return roleCanary
	case host == s.StableService || (subset != "" && subset == s.StableSubset):
		return roleStable
	}
	return roleOther
}

// checkDestinations makes sure a weighted route has somewhere to send the
// canary's and the stable's share: subsets with a destinationRule, hosts
// without.
func checkDestinations(dests []any, ref VirtualServiceRef, s Split, label string) error {
	var canary, stable bool
	for _, d := range dests {
		host, subset := destination(d.(map[string]any))
		if s.subsetLevel() {
			canary = canary || (s.CanarySubset != "" && subset == s.CanarySubset)
			stable = stable || (s.StableSubset != "" && subset == s.StableSubset)
		} else {
			canary = canary || (s.CanaryService != "" && host == s.CanaryService)
			stable = stable || (s.StableService != "" && host == s.StableService)
		}
	}
	missing := func(which, field, name string) error {
		if s.subsetLevel() {
			return &traffic.SpecError{Field: fieldIstio + ".destinationRule." + field,
				Msg: fmt.Sprintf("%s of VirtualService %s has no destination with subset %q: add one for the destinationRule's host with that subset (weight 0 will do), or correct the %s subset name", label, ref.key(), name, which)}
		}
		return &traffic.SpecError{Field: "spec.strategy.canary." + field,
			Msg: fmt.Sprintf("%s of VirtualService %s has no destination for host %q: add a destination for the %s Service (weight 0 will do), or correct the Service name", label, ref.key(), name, which)}
	}
	switch {
	case !canary && s.subsetLevel():
		return missing("canary", "canarySubsetName", s.CanarySubset)
	case !stable && s.subsetLevel():
		return missing("stable", "stableSubsetName", s.StableSubset)
	case !canary:
		return missing("canary", "canaryService", s.CanaryService)
	case !stable:
		return missing("stable", "stableService", s.StableService)
	}
	return nil
}

// routeDestinations is a route's destination list; every entry must be
// an object.
func routeDestinations(route map[string]any, label string) ([]any, error) {
	v, found := route["route"]
	if !found || v == nil {
		return nil, nil
	}
	dests, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: route is not a list", label)
	}
	for i, d := range dests {
		if _, ok := d.(map[string]any); !ok {
			return nil, fmt.Errorf("%s: route[%d] is not an object", label, i)
		}
	}
	return dests, nil
}

// splitDestinations gives a route's destinations their weights: the
// canary weight, each additional destination (by Service name) its own,
// the stable the rest of 100 less what the additional subsets keep. As in
// Argo Rollouts, any other destination is dropped, and an additional
// destination not present yet is added, here in Service-name order so the
// result does not depend on map order.
func splitDestinations(dests []any, s Split, weight int32, additional []v1alpha1.WeightDestination) []any {
	byService := map[string]v1alpha1.WeightDestination{}
	stable := int64(weightTotal - weight)
	for _, a := range additional {
		byService[a.ServiceName] = a
		stable -= int64(a.Weight)
	}
	for _, d := range dests {
		if _, subset := destination(d.(map[string]any)); subset != "" && slices.Contains(s.AdditionalSubsets, subset) {
			w, _ := toInt64(d.(map[string]any)["weight"])
			stable -= w
		}
	}
	stable = max(stable, 0)

	out := make([]any, 0, len(dests)+len(additional))
	for _, d := range dests {
		m := d.(map[string]any)
		host, subset := destination(m)
		switch s.roleOf(m) {
		case roleCanary:
			m["weight"] = int64(weight)
		case roleStable:
			m["weight"] = stable
		default:
			a, isAdditional := byService[host]
			switch {
			case host == "":
				// Left alone: nothing to match it on.
			case isAdditional:
				m["weight"] = int64(a.Weight)
				delete(byService, host)
			case subset != "" && slices.Contains(s.AdditionalSubsets, subset):
				// Keeps its weight; the stable gave it up above.
			default:
				continue
			}
		}
		out = append(out, m)
	}
	names := make([]string, 0, len(byService))
	for name, a := range byService {
		// A destination that would get no traffic is not worth adding.
		if a.Weight != 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, map[string]any{
			"destination": map[string]any{"host": name},
			"weight":      int64(byService[name].Weight),
		})
	}
	return out
}

// ApplyWeights sets the weights of the routes ref selects in vs (and of
// the managed mirror routes), then puts the managed routes first. It
// changes vs in place and reports whether anything changed; on error vs is
// left as it was. A route or destination the spec names but vs lacks is a
// *traffic.SpecError.
func ApplyWeights(vs *unstructured.Unstructured, ref VirtualServiceRef, s Split, weight int32, additional []v1alpha1.WeightDestination) (bool, error) {
	t, err := readTables(vs)
	if err != nil {
		return false, err
	}
	before, err := json.Marshal(t.spec)
	if err != nil {
		return false, fmt.Errorf("encode VirtualService %s: %w", ref.key(), err)
	}
	sel, err := selectRoutes(t, ref, s)
	if err != nil {
		return false, err
	}
	// Every route is checked before any changes, so that an error leaves
	// vs as it was.
	dests := make([][]any, len(sel))
	for i, r := range sel {
		route := t.list(r.kind)[r.index].(map[string]any)
		label := describe(r.kind, r.index, route)
		if dests[i], err = routeDestinations(route, fmt.Sprintf("VirtualService %s: %s", ref.key(), label)); err != nil {
			return false, err
		}
		if r.checked {
			if err := checkDestinations(dests[i], ref, s, label); err != nil {
				return false, err
			}
		}
	}
	for i, r := range sel {
		t.list(r.kind)[r.index].(map[string]any)["route"] = splitDestinations(dests[i], s, weight, additional)
	}
	t.http = orderRoutes(t.http, s.ManagedRoutes)
	t.writeHTTP()
	return changedSince(before, t.spec, ref)
}

// changedSince compares spec with its encoding before the change. JSON is
// the comparison because numbers read back from the API server and the
// ones written here may differ in Go type but not in value.
func changedSince(before []byte, spec map[string]any, ref VirtualServiceRef) (bool, error) {
	after, err := json.Marshal(spec)
	if err != nil {
		return false, fmt.Errorf("encode VirtualService %s: %w", ref.key(), err)
	}
	return string(before) != string(after), nil
}

// orderRoutes puts the HTTP routes named in managed first, in managed's
// order, then the others in their order, so a header or mirror route is
// matched before the catch-all route it would otherwise be shadowed by.
func orderRoutes(routes []any, managed []string) []any {
	if len(managed) == 0 || len(routes) == 0 {
		return routes
	}
	out := make([]any, 0, len(routes))
	for i, name := range managed {
		if slices.Contains(managed[:i], name) {
			continue
		}
		for _, r := range routes {
			if name != "" && routeName(r) == name {
				out = append(out, r)
			}
		}
	}
	for _, r := range routes {
		if routeName(r) == "" || !slices.Contains(managed, routeName(r)) {
			out = append(out, r)
		}
	}
	return out
}

// named refuses a header or mirror route without a name: it could not be
// told apart from the user's unnamed routes, and removing it would remove
// them.
func named(step, name string) error {
	if name != "" {
		return nil
	}
	return &traffic.SpecError{Field: "spec.strategy.canary.steps[]." + step + ".name",
		Msg: "a " + step + " step needs a name: name the route and list the name in trafficRouting.managedRoutes"}
}

// removeRoute drops the HTTP routes called name.
func removeRoute(routes []any, name string) []any {
	return slices.DeleteFunc(slices.Clone(routes), func(r any) bool { return routeName(r) == name })
}

// canaryTarget is where header and mirror routes send requests: the host,
// subset and port of the canary destination of the first weighted HTTP
// route, so they reach the canary exactly as the weighted route does.
// It also returns that route's destinations, which a mirror route copies.
func canaryTarget(t *routeTables, ref VirtualServiceRef, s Split) (dest map[string]any, weighted []any, err error) {
	idx, err := selectHTTP(t, ref, s)
	if err != nil {
		return nil, nil, err
	}
	if len(idx) == 0 {
		return nil, nil, &traffic.SpecError{Field: ref.Field + ".routes",
			Msg: fmt.Sprintf("VirtualService %s has no HTTP route to take the canary destination from: header and mirror routes need an HTTP route with stable and canary destinations", ref.key())}
	}
	route := t.http[idx[0]].(map[string]any)
	label := describe(kindHTTP, idx[0], route)
	dests, err := routeDestinations(route, fmt.Sprintf("VirtualService %s: %s", ref.key(), label))
	if err != nil {
		return nil, nil, err
	}
	if err := checkDestinations(dests, ref, s, label); err != nil {
		return nil, nil, err
	}
	for _, d := range dests {
		m := d.(map[string]any)
		if s.roleOf(m) != roleCanary {
			continue
		}
		src, _ := m["destination"].(map[string]any)
		dest = map[string]any{"host": src["host"]}
		for _, k := range []string{"subset", "port"} {
			if v, ok := src[k]; ok && v != nil {
				dest[k] = deepCopy(v)
			}
		}
		return dest, dests, nil
	}
	// checkDestinations found one by host or subset; roleOf matches the same.
	return nil, nil, fmt.Errorf("VirtualService %s: %s: canary destination not found", ref.key(), label)
}

// stringMatch is an Istio StringMatch with the fields set in m.
func stringMatch(m *v1alpha1.StringMatch) map[string]any {
	out := map[string]any{}
	if m == nil {
		return out
	}
	for k, v := range map[string]string{"exact": m.Exact, "prefix": m.Prefix, "regex": m.Regex} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// ApplyHeaderRoute replaces the HTTP route named route.Name in vs with one
// that sends requests matching any of its header conditions to the
// canary, or, when route has no match, just removes it; then it puts the
// managed routes first. It changes vs in place and reports whether
// anything changed; on error vs is left as it was.
func ApplyHeaderRoute(vs *unstructured.Unstructured, ref VirtualServiceRef, s Split, route *v1alpha1.SetHeaderRoute) (bool, error) {
	if route == nil {
		return false, nil
	}
	return setManagedRoute(vs, ref, s, "setHeaderRoute", route.Name, len(route.Match) > 0, func(dest map[string]any, _ []any) map[string]any {
		// One match entry per condition, as Argo Rollouts writes them:
		// Istio ORs the entries, so any one condition sends a request to
		// the canary.
		matches := make([]any, 0, len(route.Match))
		for _, m := range route.Match {
			matches = append(matches, map[string]any{"headers": map[string]any{m.HeaderName: stringMatch(m.HeaderValue)}})
		}
		return map[string]any{
			"name":  route.Name,
			"match": matches,
			"route": []any{map[string]any{"destination": dest, "weight": int64(weightTotal)}},
		}
	})
}

// ApplyMirrorRoute replaces the HTTP route named route.Name in vs with one
// that sends matching requests where the weighted route sends them and
// mirrors route's percentage of them to the canary, or, when route has no
// match, just removes it; then it puts the managed routes first. It
// changes vs in place and reports whether anything changed; on error vs is
// left as it was.
func ApplyMirrorRoute(vs *unstructured.Unstructured, ref VirtualServiceRef, s Split, route *v1alpha1.SetMirrorRoute) (bool, error) {
	if route == nil {
		return false, nil
	}
	return setManagedRoute(vs, ref, s, "setMirrorRoute", route.Name, len(route.Match) > 0, func(dest map[string]any, weighted []any) map[string]any {
		matches := make([]any, 0, len(route.Match))
		for _, m := range route.Match {
			entry := map[string]any{}
			if m.Method != nil {
				entry["method"] = stringMatch(m.Method)
			}
			if m.Path != nil {
				entry["uri"] = stringMatch(m.Path)
			}
			if len(m.Headers) > 0 {
				headers := map[string]any{}
				for h, v := range m.Headers {
					headers[h] = stringMatch(&v)
				}
				entry["headers"] = headers
			}
			matches = append(matches, entry)
		}
		return map[string]any{
			"name":             route.Name,
			"match":            matches,
			"route":            deepCopy(weighted),
			"mirror":           dest,
			"mirrorPercentage": map[string]any{"value": float64(route.PercentageOrDefault())},
		}
	})
}

// setManagedRoute removes the HTTP route name from vs and, when add is
// set, puts the route build makes (given the canary destination and the
// weighted destinations) in its place; then the managed routes go first,
// in managedRoutes order (where the new route lands before that does not
// matter: validation requires it to be a managed route). step names the
// kind of step in errors.
func setManagedRoute(vs *unstructured.Unstructured, ref VirtualServiceRef, s Split, step, name string, add bool,
	build func(dest map[string]any, weighted []any) map[string]any) (bool, error) {
	if err := named(step, name); err != nil {
		return false, err
	}
	t, err := readTables(vs)
	if err != nil {
		return false, err
	}
	before, err := json.Marshal(t.spec)
	if err != nil {
		return false, fmt.Errorf("encode VirtualService %s: %w", ref.key(), err)
	}
	t.http = removeRoute(t.http, name)
	if add {
		dest, weighted, err := canaryTarget(t, ref, s)
		if err != nil {
			return false, err
		}
		t.http = append(t.http, build(dest, weighted))
	}
	t.http = orderRoutes(t.http, s.ManagedRoutes)
	t.writeHTTP()
	return changedSince(before, t.spec, ref)
}

// RemoveRoutes drops the HTTP routes of vs named in names, in place, and
// reports whether there were any.
func RemoveRoutes(vs *unstructured.Unstructured, names []string) (bool, error) {
	t, err := readTables(vs)
	if err != nil {
		return false, err
	}
	n := len(t.http)
	t.http = slices.DeleteFunc(slices.Clone(t.http), func(r any) bool {
		return routeName(r) != "" && slices.Contains(names, routeName(r))
	})
	if len(t.http) == n {
		return false, nil
	}
	t.writeHTTP()
	return true, nil
}

// deepCopy copies the maps and lists of a JSON-like value; scalars are
// shared, being immutable.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}

// toInt64 reads a JSON number whatever Go type the decoder chose.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case float64:
		return int64(n), true
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64()
		return int64(f), err == nil
	}
	return 0, false
}
