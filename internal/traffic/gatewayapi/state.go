package gatewayapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// AnnotationKey is the route annotation in which the router records, for
// each Rollout using the route, what it changed there: the rules it added
// for header and mirror steps, the experiment backends it added, and
// whether the canary has traffic (for the in-progress label). Keeping it on
// the route itself, rather than in the plugin's ConfigMap, means a
// restarted controller finds its rules again and a route shared by several
// Rollouts keeps each one's changes apart. Its value is JSON:
//
//	{"<namespace>/<rollout>": {"rules": {"<managed route>": ["<rule id>", ...]},
//	                           "backends": ["<Service>", ...], "inProgress": true}}
//
// A rule id is a hash of the rule's content with Gateway API's defaults
// filled in, so a managed rule is recognised by what it is, never by its
// position: a rule the user adds, reorders or edits is never taken for a
// managed one and never deleted.
const AnnotationKey = "rollouts.aviary.dev/gatewayapi"

// ownerState is one Rollout's entry in AnnotationKey.
type ownerState struct {
	// Rules maps a managed route name to the ids of the rules added for it,
	// in order.
	Rules map[string][]string `json:"rules,omitempty"`
	// Backends are experiment Services the router added to weighted rules
	// (and so removes when the experiment ends).
	Backends []string `json:"backends,omitempty"`
	// InProgress is whether the canary has traffic.
	InProgress bool `json:"inProgress,omitempty"`
}

func (s *ownerState) empty() bool {
	return len(s.Rules) == 0 && len(s.Backends) == 0 && !s.InProgress
}

// slot is one rule of a route and who added it.
type slot struct {
	rule map[string]any
	// owner is the Rollout ("namespace/name") that added the rule, or ""
	// for the user's own rules.
	owner string
	// name is the managed route (setHeaderRoute or setMirrorRoute name).
	name string
}

// routeDoc is a route's rules, each tagged with who added it, and the
// state of every Rollout using it.
type routeDoc struct {
	kind   Kind
	field  string // spec path naming the route, for SpecErrors
	obj    map[string]any
	slots  []slot
	owners map[string]*ownerState
}

// decodeRoute reads obj's rules and AnnotationKey, and attributes to each
// Rollout the rules whose ids it recorded. An id with no matching rule
// (the user removed it) is forgotten at the next write.
func decodeRoute(kind Kind, obj map[string]any, field string) (*routeDoc, error) {
	d := &routeDoc{kind: kind, field: field, obj: obj, owners: map[string]*ownerState{}}
	u := unstructured.Unstructured{Object: obj}
	raw, found, err := unstructured.NestedFieldNoCopy(obj, "spec", "rules")
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", kind, u.GetName(), err)
	}
	list, ok := raw.([]any)
	if found && raw != nil && !ok {
		return nil, fmt.Errorf("%s %s: spec.rules is not a list", kind, u.GetName())
	}
	ids := make([]string, len(list))
	for i, r := range list {
		rule, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s %s: spec.rules[%d] is not an object", kind, u.GetName(), i)
		}
		d.slots = append(d.slots, slot{rule: rule})
		ids[i] = ruleID(kind, rule)
	}
	if v, ok := u.GetAnnotations()[AnnotationKey]; ok {
		err := json.Unmarshal([]byte(v), &d.owners)
		if err == nil && d.owners == nil {
			err = errors.New("it is null")
		}
		if err != nil {
			return nil, &traffic.SpecError{Field: field, Msg: fmt.Sprintf(
				"%s %q has an unreadable annotation %s (%v): delete the annotation; the rules it listed are then kept as the route's own",
				kind, u.GetName(), AnnotationKey, err)}
		}
	}
	// Claim in a fixed order so that two Rollouts recording the same id
	// (identical rules) each get one.
	for _, owner := range slices.Sorted(maps.Keys(d.owners)) {
		st := d.owners[owner]
		if st == nil {
			st = &ownerState{}
			d.owners[owner] = st
		}
		for _, name := range slices.Sorted(maps.Keys(st.Rules)) {
			for _, id := range st.Rules[name] {
				for i := range d.slots {
					if d.slots[i].owner == "" && ids[i] == id {
						d.slots[i].owner, d.slots[i].name = owner, name
						break
					}
				}
			}
		}
	}
	return d, nil
}

// state is owner's entry, created if missing.
func (d *routeDoc) state(owner string) *ownerState {
	st := d.owners[owner]
	if st == nil {
		st = &ownerState{}
		d.owners[owner] = st
	}
	return st
}

// namespace is the route's namespace.
func (d *routeDoc) namespace() string {
	return (&unstructured.Unstructured{Object: d.obj}).GetNamespace()
}

// name is the route's name.
func (d *routeDoc) name() string {
	return (&unstructured.Unstructured{Object: d.obj}).GetName()
}

// drop removes owner's rules for the managed route name, or all of
// owner's rules when name is "".
func (d *routeDoc) drop(owner, name string) {
	d.slots = slices.DeleteFunc(d.slots, func(s slot) bool {
		return s.owner == owner && (name == "" || s.name == name)
	})
}

// order puts owner's managed rules first, in managedRoutes order (the
// first listed first), then other Rollouts' managed rules, then the
// user's rules, each group otherwise in its current order.
//
// Gateway API does not pick the first matching rule: the most specific
// match wins (exact path, then longest prefix, method, most headers, most
// query parameters), and list order only breaks ties within a route. A
// header rule copies its source rule's matches and adds headers, so it is
// more specific and wins wherever it sits; a mirror rule's matches are the
// step's own. Putting managed rules first makes them win the remaining
// ties, as managed routes take precedence over the user's routes in Argo
// Rollouts, and orders them among themselves as managedRoutes does.
func (d *routeDoc) order(owner string, managedRoutes []string) {
	rank := func(s slot) int {
		switch {
		case s.owner == "":
			return len(managedRoutes) + 2
		case s.owner != owner:
			return len(managedRoutes) + 1
		}
		if i := slices.Index(managedRoutes, s.name); i >= 0 {
			return i
		}
		return len(managedRoutes) // not listed any more: after the listed ones
	}
	slices.SortStableFunc(d.slots, func(a, b slot) int {
		if c := rank(a) - rank(b); c != 0 {
			return c
		}
		if a.owner == owner && b.owner == owner {
			return strings.Compare(a.name, b.name)
		}
		return 0
	})
}

// write stores the rules and the annotation back into the object,
// recomputing the rule ids from the rules as they now are.
func (d *routeDoc) write() error {
	rules := make([]any, len(d.slots))
	for _, st := range d.owners {
		st.Rules = nil
	}
	for i, s := range d.slots {
		rules[i] = s.rule
		if s.owner == "" {
			continue
		}
		st := d.state(s.owner)
		if st.Rules == nil {
			st.Rules = map[string][]string{}
		}
		st.Rules[s.name] = append(st.Rules[s.name], ruleID(d.kind, s.rule))
	}
	if err := unstructured.SetNestedField(d.obj, rules, "spec", "rules"); err != nil {
		return fmt.Errorf("%s %s: set spec.rules: %w", d.kind, d.name(), err)
	}
	for owner, st := range d.owners {
		slices.Sort(st.Backends)
		if st.empty() {
			delete(d.owners, owner)
		}
	}
	u := unstructured.Unstructured{Object: d.obj}
	ann := u.GetAnnotations()
	if len(d.owners) == 0 {
		delete(ann, AnnotationKey)
	} else {
		v, err := json.Marshal(d.owners)
		if err != nil {
			return fmt.Errorf("%s %s: encode annotation: %w", d.kind, d.name(), err)
		}
		if ann == nil {
			ann = map[string]string{}
		}
		ann[AnnotationKey] = string(v)
	}
	if len(ann) == 0 {
		ann = nil
	}
	u.SetAnnotations(ann)
	return nil
}

// anyInProgress is whether some Rollout using the route has canary traffic.
func (d *routeDoc) anyInProgress() bool {
	for _, st := range d.owners {
		if st.InProgress {
			return true
		}
	}
	return false
}

// ruleID identifies a rule by its content with Gateway API's defaults
// filled in, so the rule the API server stores (defaulted) has the id of
// the rule the router sent. The rule name is left out, since servers
// without rule names drop it, and so are backend weights, which SetWeight
// moves in mirror rules and someone editing the route might too.
func ruleID(kind Kind, rule map[string]any) string {
	n := normalize(kind, rule)
	delete(n, "name")
	for _, ref := range items(n["backendRefs"]) {
		delete(asMap(ref), "weight")
	}
	b, _ := json.Marshal(n) // maps of JSON values always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// normalize is a copy of rule with the defaults the Gateway API CRDs apply
// filled in and empty lists and objects removed, so two rules that the
// API server would store the same way compare equal.
func normalize(kind Kind, rule map[string]any) map[string]any {
	r, _ := toJSON(rule).(map[string]any)
	if r == nil {
		r = map[string]any{}
	}
	if kind == HTTPRoute {
		matches := items(r["matches"])
		if len(matches) == 0 {
			matches = []any{map[string]any{}}
		}
		for _, m := range matches {
			mm := asMap(m)
			path := asMap(mm["path"])
			if path == nil {
				path = map[string]any{}
				mm["path"] = path
			}
			setDefault(path, "type", "PathPrefix")
			setDefault(path, "value", "/")
			for _, h := range items(mm["headers"]) {
				setDefault(asMap(h), "type", "Exact")
			}
			for _, q := range items(mm["queryParams"]) {
				setDefault(asMap(q), "type", "Exact")
			}
		}
		r["matches"] = matches
	}
	if kind == GRPCRoute {
		for _, m := range items(r["matches"]) {
			mm := asMap(m)
			if method := asMap(mm["method"]); method != nil {
				setDefault(method, "type", "Exact")
			}
			for _, h := range items(mm["headers"]) {
				setDefault(asMap(h), "type", "Exact")
			}
		}
	}
	normalizeFilters(r)
	for _, ref := range items(r["backendRefs"]) {
		rm := asMap(ref)
		setDefault(rm, "group", "")
		setDefault(rm, "kind", "Service")
		setDefault(rm, "weight", float64(1))
		normalizeFilters(rm)
	}
	if out, ok := prune(r).(map[string]any); ok {
		return out
	}
	return map[string]any{}
}

func normalizeFilters(m map[string]any) {
	for _, f := range items(m["filters"]) {
		if rm := asMap(asMap(f)["requestMirror"]); rm != nil {
			if ref := asMap(rm["backendRef"]); ref != nil {
				setDefault(ref, "group", "")
				setDefault(ref, "kind", "Service")
			}
		}
	}
}

// toJSON is a deep copy of v as encoding/json decodes it (numbers become
// float64), so int64 from the API server and from the router compare equal.
func toJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}

// prune drops nulls and empty lists and objects, which Gateway API treats
// as unset.
func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e = prune(e); e == nil {
				delete(t, k)
			} else {
				t[k] = e
			}
		}
		if len(t) == 0 {
			return nil
		}
	case []any:
		out := t[:0]
		for _, e := range t {
			if e = prune(e); e != nil {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return v
}

func setDefault(m map[string]any, key string, v any) {
	if m == nil {
		return
	}
	if _, ok := m[key]; !ok {
		m[key] = v
	}
}

// fingerprint is what the router may change on a route (labels,
// annotations, normalised rules), to decide whether to write.
func fingerprint(kind Kind, obj map[string]any) string {
	u := unstructured.Unstructured{Object: obj}
	rules, _, _ := unstructured.NestedFieldNoCopy(obj, "spec", "rules")
	var norm []any
	for _, r := range items(rules) {
		if m := asMap(r); m != nil {
			norm = append(norm, normalize(kind, m))
		} else {
			norm = append(norm, r)
		}
	}
	b, _ := json.Marshal(map[string]any{"labels": u.GetLabels(), "annotations": u.GetAnnotations(), "rules": norm})
	return string(b)
}

// reanchor re-records the ids of the managed rules in stored, the object
// the API server returned for the update of sent. If the server changed a
// managed rule in a way normalize does not model (a field its CRD version
// prunes, a mutating webhook), the ids written in sent no longer match, so
// they are recomputed from the stored rules, which are in the same order.
// It reports whether stored's annotation changed and needs writing.
func reanchor(kind Kind, sent, stored map[string]any) (bool, error) {
	ds, err := decodeRoute(kind, sent, "")
	if err != nil {
		return false, err
	}
	rules, _, _ := unstructured.NestedFieldNoCopy(stored, "spec", "rules")
	list := items(rules)
	if len(list) != len(ds.slots) {
		return false, nil
	}
	before := fingerprint(kind, stored)
	d := &routeDoc{kind: kind, obj: stored, owners: ds.owners}
	for i, s := range ds.slots {
		rule := asMap(list[i])
		if rule == nil {
			return false, nil
		}
		d.slots = append(d.slots, slot{rule: rule, owner: s.owner, name: s.name})
	}
	if err := d.write(); err != nil {
		return false, err
	}
	return fingerprint(kind, stored) != before, nil
}

func items(v any) []any {
	l, _ := v.([]any)
	return l
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// deepCopy copies a rule, or part of one, from an unstructured object.
func deepCopy[T map[string]any | []any](v T) T {
	return runtime.DeepCopyJSONValue(v).(T)
}
