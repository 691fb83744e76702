package gatewayapi

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// services are the Rollout's canary and stable Services.
type services struct {
	canary, stable string
	// namespace is the Rollout's, where the Services live.
	namespace string
}

// refers reports whether a backendRef of a route in routeNS points at the
// Service name in the Rollout's namespace: a core Service (group and kind
// unset or "" and "Service") whose namespace, or else the route's, is the
// Rollout's.
func (s services) refers(ref map[string]any, routeNS, name string) bool {
	if ref == nil || str(ref, "name") != name || str(ref, "group") != "" {
		return false
	}
	if k, ok := ref["kind"]; ok && k != "Service" {
		return false
	}
	ns := str(ref, "namespace")
	if ns == "" {
		ns = routeNS
	}
	return ns == "" || ns == s.namespace
}

// weighted reports whether rule splits traffic between the Rollout's
// Services: its backendRefs name both the canary and the stable Service.
// Such rules are the ones the router weights and derives managed rules
// from; the plugin picks the same ones.
func (s services) weighted(rule map[string]any, routeNS string) bool {
	var canary, stable bool
	for _, r := range items(rule["backendRefs"]) {
		canary = canary || s.refers(asMap(r), routeNS, s.canary)
		stable = stable || s.refers(asMap(r), routeNS, s.stable)
	}
	return canary && stable
}

// canaryRef is the first backendRef of rule that names the canary Service.
func (s services) canaryRef(rule map[string]any, routeNS string) map[string]any {
	for _, r := range items(rule["backendRefs"]) {
		if s.refers(asMap(r), routeNS, s.canary) {
			return asMap(r)
		}
	}
	return nil
}

// noWeightedRule is the SpecError for a route with nothing to split.
func (d *routeDoc) noWeightedRule(s services) error {
	return &traffic.SpecError{Field: d.field, Msg: fmt.Sprintf(
		"%s %q in namespace %q has no rule whose backendRefs name both the canary Service %q and the stable Service %q of namespace %q: "+
			"add both to the rule that should be split, e.g. backendRefs: [{name: %s, port: 80}, {name: %s, port: 80}]",
		d.kind, d.name(), d.namespace(), s.canary, s.stable, s.namespace, s.stable, s.canary)}
}

// userWeighted are the user's rules that split between the Services.
func (d *routeDoc) userWeighted(s services) []map[string]any {
	var out []map[string]any
	for _, sl := range d.slots {
		if sl.owner == "" && s.weighted(sl.rule, d.namespace()) {
			out = append(out, sl.rule)
		}
	}
	return out
}

// weightSpec is what SetWeight asks of a route.
type weightSpec struct {
	svc            services
	canary, stable int64
	// additional are experiment Services with their weights.
	additional []traffic.WeightDestination
	// ports are the additional Services' ports, for backendRefs the router
	// adds.
	ports map[string]int64
	// labelKey and labelValue are the in-progress label; no key means the
	// label is disabled.
	labelKey, labelValue string
}

// setWeights gives every rule that splits between the canary and stable
// Services (the user's, and owner's mirror rules, which copy them) the
// canary weight, the stable weight and each experiment Service's weight,
// adding a backendRef for an experiment Service the rule lacks and
// removing those owner added once the experiment no longer asks for them.
// It records whether the canary has traffic and sets or removes the
// in-progress label accordingly. A route with no such rule is a SpecError.
func setWeights(d *routeDoc, owner string, w weightSpec) error {
	if len(d.userWeighted(w.svc)) == 0 {
		return d.noWeightedRule(w.svc)
	}
	st := d.state(owner)
	routeNS := d.namespace()
	want := map[string]int64{}
	for _, a := range w.additional {
		want[a.ServiceName] = int64(a.Weight)
	}
	added := map[string]bool{}
	for _, sl := range d.slots {
		if (sl.owner != "" && sl.owner != owner) || !w.svc.weighted(sl.rule, routeNS) {
			continue
		}
		present := map[string]bool{}
		var refs []any
		for _, r := range items(sl.rule["backendRefs"]) {
			ref := asMap(r)
			name := str(ref, "name")
			switch {
			case w.svc.refers(ref, routeNS, w.svc.canary):
				ref["weight"] = w.canary
			case w.svc.refers(ref, routeNS, w.svc.stable):
				ref["weight"] = w.stable
			case w.svc.refers(ref, routeNS, name):
				if wt, ok := want[name]; ok {
					ref["weight"], present[name] = wt, true
				} else if slices.Contains(st.Backends, name) {
					continue // an experiment backend this Rollout added; the experiment is over
				}
			}
			refs = append(refs, r)
		}
		for _, a := range w.additional {
			if present[a.ServiceName] {
				continue
			}
			port, ok := w.ports[a.ServiceName]
			if !ok {
				return fmt.Errorf("%s %s: no port known for experiment Service %q", d.kind, d.name(), a.ServiceName)
			}
			ref := map[string]any{"group": "", "kind": "Service", "name": a.ServiceName, "port": port, "weight": int64(a.Weight)}
			if routeNS != "" && routeNS != w.svc.namespace {
				ref["namespace"] = w.svc.namespace
			}
			refs = append(refs, ref)
			added[a.ServiceName] = true
		}
		sl.rule["backendRefs"] = refs
	}
	var backends []string
	for name := range want {
		if added[name] || slices.Contains(st.Backends, name) {
			backends = append(backends, name)
		}
	}
	st.Backends = backends
	if w.labelKey == "" {
		st.InProgress = false
		return nil
	}
	st.InProgress = w.canary > 0
	// Reference-counted like the plugin: the label stays while any Rollout
	// sharing the route has canary traffic.
	u := unstructured.Unstructured{Object: d.obj}
	labels := u.GetLabels()
	switch {
	case d.anyInProgress() && labels[w.labelKey] != w.labelValue:
		if labels == nil {
			labels = map[string]string{}
		}
		labels[w.labelKey] = w.labelValue
		u.SetLabels(labels)
	case !d.anyInProgress():
		if _, ok := labels[w.labelKey]; ok {
			delete(labels, w.labelKey)
			if len(labels) == 0 {
				labels = nil
			}
			u.SetLabels(labels)
		}
	}
	return nil
}

// setHeaderRule replaces owner's rules for the managed route name with one
// rule per user rule that splits between the Services, sending requests
// that match both that rule and the headers to the canary alone. With no
// headers it only removes them.
//
// Each rule is a copy of its source (filters, timeouts and all) so the
// canary is reached the same way; its matches are the source's with the
// header conditions added (a source condition on the same header is
// replaced), or the headers alone when the source matches everything; its
// only backendRef is the source's canary backendRef, port included.
func setHeaderRule(d *routeDoc, owner, name string, s services, headers []any) error {
	d.drop(owner, name)
	if headers == nil {
		return nil
	}
	sources := d.userWeighted(s)
	if len(sources) == 0 {
		return d.noWeightedRule(s)
	}
	for _, src := range sources {
		rule := deepCopy(src)
		delete(rule, "name") // rule names must be unique within a route
		canary := deepCopy(s.canaryRef(src, d.namespace()))
		delete(canary, "weight")
		rule["backendRefs"] = []any{canary}
		matches := items(src["matches"])
		if len(matches) == 0 {
			m := map[string]any{}
			if d.kind == HTTPRoute {
				m["path"] = map[string]any{"type": "PathPrefix", "value": "/"}
			}
			matches = []any{m}
		}
		var out []any
		for _, m := range matches {
			mm := deepCopy(asMap(m))
			mm["headers"] = mergeHeaders(items(mm["headers"]), headers)
			out = append(out, mm)
		}
		rule["matches"] = out
		d.slots = append(d.slots, slot{rule: rule, owner: owner, name: name})
	}
	return nil
}

// mergeHeaders is existing with ours added; an existing condition on a
// header ours names is dropped, since Gateway API allows one per header.
func mergeHeaders(existing, ours []any) []any {
	var out []any
	for _, h := range existing {
		if !slices.ContainsFunc(ours, func(o any) bool { return strings.EqualFold(str(asMap(o), "name"), str(asMap(h), "name")) }) {
			out = append(out, h)
		}
	}
	for _, h := range ours {
		out = append(out, deepCopy(asMap(h)))
	}
	return out
}

// setMirrorRule replaces owner's rule for the managed route name with one
// that sends requests matching matches where the first splitting user rule
// sends them (a copy of its backendRefs, which SetWeight keeps weighted)
// and mirrors them to the canary Service: a RequestMirror filter to the
// canary backendRef's Service and port, with percent unless it is 100 or
// unset. The source's other filters are kept, except path rewrites and
// redirects that replace a prefix match, which are only valid with the
// source's own path match. With no matches it only removes the rule.
func setMirrorRule(d *routeDoc, owner, name string, s services, matches []any, percent *int32) error {
	d.drop(owner, name)
	if matches == nil {
		return nil
	}
	sources := d.userWeighted(s)
	if len(sources) == 0 {
		return d.noWeightedRule(s)
	}
	src := sources[0]
	rule := deepCopy(src)
	delete(rule, "name")
	rule["matches"] = deepCopy(matches)
	var refs []any
	for _, r := range items(rule["backendRefs"]) {
		ref := asMap(r)
		if f := withoutPrefixRewrites(items(ref["filters"])); f != nil {
			ref["filters"] = f
		} else {
			delete(ref, "filters")
		}
		refs = append(refs, ref)
	}
	rule["backendRefs"] = refs
	canary := s.canaryRef(src, d.namespace())
	target := map[string]any{"group": "", "kind": "Service", "name": s.canary}
	for _, k := range []string{"namespace", "port"} {
		if v, ok := canary[k]; ok {
			target[k] = v
		}
	}
	mirror := map[string]any{"backendRef": target}
	if percent != nil && *percent != 100 {
		mirror["percent"] = int64(*percent)
	}
	rule["filters"] = append(withoutPrefixRewrites(items(rule["filters"])), map[string]any{"type": "RequestMirror", "requestMirror": mirror})
	d.slots = append(d.slots, slot{rule: rule, owner: owner, name: name})
	return nil
}

// withoutPrefixRewrites drops URLRewrite and RequestRedirect filters whose
// path is a ReplacePrefixMatch.
func withoutPrefixRewrites(filters []any) []any {
	var out []any
	for _, f := range filters {
		fm := asMap(f)
		var spec map[string]any
		switch str(fm, "type") {
		case "URLRewrite":
			spec = asMap(fm["urlRewrite"])
		case "RequestRedirect":
			spec = asMap(fm["requestRedirect"])
		}
		if str(asMap(spec["path"]), "type") == "ReplacePrefixMatch" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// edit applies f to the route obj on behalf of owner, then writes the
// rules back in managedRoutes order with the annotation updated.
func edit(kind Kind, obj map[string]any, field, owner string, managedRoutes []string, f func(*routeDoc) error) error {
	d, err := decodeRoute(kind, obj, field)
	if err != nil {
		return err
	}
	if err := f(d); err != nil {
		return err
	}
	d.order(owner, managedRoutes)
	return d.write()
}
