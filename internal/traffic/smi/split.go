// Package smi routes a canary Rollout's traffic through a Service Mesh
// Interface TrafficSplit (split.smi-spec.io), as Argo Rollouts does: the
// Rollout creates and controls one TrafficSplit whose root service is split
// between the canary Service, any experiment Services and the stable
// Service. Objects are handled as unstructured, so the SMI Go module is not
// a dependency.
//
// The pure part (API versions, the desired spec, the patch decision) lives
// in this file; router.go reads and writes the TrafficSplit.
package smi

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// Group is the SMI traffic split API group.
const Group = "split.smi-spec.io"

// Kind is the kind of the object the router manages.
const Kind = "TrafficSplit"

// Resource is the plural resource name, for RBAC rules.
const Resource = "trafficsplits"

// APIVersions are the TrafficSplit versions the router can write, oldest
// first. v1alpha1 (the default) carries weights as resource quantities,
// the later ones as integers.
var APIVersions = []string{"v1alpha1", "v1alpha2", "v1alpha3"}

// totalWeight is what the canary, additional and stable weights add up to.
// Argo Rollouts' SMI router ignores maxTrafficWeight, and so does this one.
const totalWeight = 100

// GVK is the TrafficSplit kind at apiVersion; "" means the default,
// v1alpha1. Any version not in APIVersions is an error.
func GVK(apiVersion string) (schema.GroupVersionKind, error) {
	if apiVersion == "" {
		apiVersion = v1alpha1.DefaultSMIAPIVersion
	}
	if !slices.Contains(APIVersions, apiVersion) {
		return schema.GroupVersionKind{}, fmt.Errorf("unsupported TrafficSplit API version %q: use one of %v", apiVersion, APIVersions)
	}
	return schema.GroupVersionKind{Group: Group, Version: apiVersion, Kind: Kind}, nil
}

// Backend is one Service a TrafficSplit sends traffic to, and its weight.
type Backend struct {
	Service string
	Weight  int32
}

// Spec is the part of a TrafficSplit's spec the router owns: the root
// Service clients call and the backends it is split between. Other spec
// fields (v1alpha3 matches) are left as they are.
type Spec struct {
	Service  string
	Backends []Backend
}

// smiConfig is ro's SMI routing, or an empty one so callers need not check
// each level for nil.
func smiConfig(ro *v1alpha1.Rollout) *v1alpha1.SMITrafficRouting {
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil && c.TrafficRouting.SMI != nil {
		return c.TrafficRouting.SMI
	}
	return &v1alpha1.SMITrafficRouting{}
}

// canaryStrategy is ro's canary strategy, or an empty one.
func canaryStrategy(ro *v1alpha1.Rollout) *v1alpha1.CanaryStrategy {
	if c := ro.Spec.Strategy.Canary; c != nil {
		return c
	}
	return &v1alpha1.CanaryStrategy{}
}

// TrafficSplitName is the TrafficSplit ro manages: smi.trafficSplitName,
// or the Rollout's name when that is unset.
func TrafficSplitName(ro *v1alpha1.Rollout) string {
	if n := smiConfig(ro).TrafficSplitName; n != "" {
		return n
	}
	return ro.Name
}

// RootService is the Service the TrafficSplit splits: smi.rootService, or
// the stable Service when that is unset.
func RootService(ro *v1alpha1.Rollout) string {
	if s := smiConfig(ro).RootService; s != "" {
		return s
	}
	return canaryStrategy(ro).StableService
}

// DesiredSpec is the split ro wants at weight: the canary Service first,
// then each additional destination in order, then the stable Service with
// what is left of 100. Argo Rollouts orders them the same way.
func DesiredSpec(ro *v1alpha1.Rollout, weight int32, additional ...traffic.WeightDestination) Spec {
	c := canaryStrategy(ro)
	backends := make([]Backend, 0, len(additional)+2)
	backends = append(backends, Backend{Service: c.CanaryService, Weight: weight})
	stable := totalWeight - weight
	for _, d := range additional {
		backends = append(backends, Backend{Service: d.ServiceName, Weight: d.Weight})
		stable -= d.Weight
	}
	backends = append(backends, Backend{Service: c.StableService, Weight: stable})
	return Spec{Service: RootService(ro), Backends: backends}
}

// encodeWeight is w as apiVersion writes it. v1alpha1 weights are
// resource.Quantity strings, and Argo Rollouts writes whole units ("5"),
// not milli-units ("5000m"); later versions take a plain integer. Zero is
// written too: the SMI schema requires every backend to have a weight.
func encodeWeight(w int32, apiVersion string) any {
	if apiVersion == "v1alpha1" {
		return resource.NewQuantity(int64(w), resource.DecimalExponent).String()
	}
	return int64(w)
}

// backendsValue is s.Backends in the unstructured form apiVersion takes.
func (s Spec) backendsValue(apiVersion string) []any {
	out := make([]any, len(s.Backends))
	for i, b := range s.Backends {
		out[i] = map[string]any{"service": b.Service, "weight": encodeWeight(b.Weight, apiVersion)}
	}
	return out
}

// NewTrafficSplit is the TrafficSplit ro creates: named name, in ro's
// namespace, controlled by ro, with spec s encoded for gvk's version.
func NewTrafficSplit(ro *v1alpha1.Rollout, gvk schema.GroupVersionKind, name string, s Spec) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"service":  s.Service,
			"backends": s.backendsValue(gvk.Version),
		},
	}}
	obj.SetGroupVersionKind(gvk)
	obj.SetName(name)
	obj.SetNamespace(ro.Namespace)
	obj.SetOwnerReferences([]metav1.OwnerReference{
		*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind(v1alpha1.RolloutKind)),
	})
	return obj
}

// SpecPatch is the JSON merge patch that brings live's spec.service and
// spec.backends to desired, encoded for apiVersion, or nil when both
// already match. Only the fields that differ are in the patch; a merge
// patch replaces the backends list whole. Weights are compared by value,
// so a v1alpha1 "5000m" matches 5 and causes no write.
func SpecPatch(live *unstructured.Unstructured, desired Spec, apiVersion string) ([]byte, error) {
	spec := map[string]any{}
	if svc, ok, _ := unstructured.NestedFieldNoCopy(live.Object, "spec", "service"); !ok || svc != desired.Service {
		spec["service"] = desired.Service
	}
	backends, _, _ := unstructured.NestedFieldNoCopy(live.Object, "spec", "backends")
	if !backendsMatch(backends, desired.Backends, apiVersion) {
		spec["backends"] = desired.backendsValue(apiVersion)
	}
	if len(spec) == 0 {
		return nil, nil
	}
	data, err := json.Marshal(map[string]any{"spec": spec})
	if err != nil {
		return nil, fmt.Errorf("encode TrafficSplit %s patch: %w", live.GetName(), err)
	}
	return data, nil
}

// backendsMatch reports whether the live backends list is want: the same
// Services in the same order with equal weights. Keys other than service
// and weight in a live entry are not compared.
func backendsMatch(live any, want []Backend, apiVersion string) bool {
	list, ok := live.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for i, item := range list {
		entry, ok := item.(map[string]any)
		if !ok || entry["service"] != want[i].Service {
			return false
		}
		w, ok := entry["weight"]
		if !ok || !weightEquals(w, want[i].Weight, apiVersion) {
			return false
		}
	}
	return true
}

// weightEquals reports whether a live weight means want under apiVersion.
// v1alpha1 weights are quantities, which the SMI types decode from a
// string or a number alike; later versions are integers, so a string
// there is a mismatch that a patch will correct.
func weightEquals(live any, want int32, apiVersion string) bool {
	if apiVersion == "v1alpha1" {
		q, ok := quantity(live)
		return ok && q.Cmp(*resource.NewQuantity(int64(want), resource.DecimalExponent)) == 0
	}
	switch v := live.(type) {
	case int64:
		return v == int64(want)
	case float64:
		return v == math.Trunc(v) && v == float64(want)
	}
	return false
}

// quantity parses a live v1alpha1 weight.
func quantity(v any) (resource.Quantity, bool) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case int64:
		return *resource.NewQuantity(v, resource.DecimalExponent), true
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return resource.Quantity{}, false
	}
	q, err := resource.ParseQuantity(s)
	return q, err == nil
}
