package istio

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/services"
)

// Group is the Istio networking API group.
const Group = "networking.istio.io"

// fieldIstio is the spec path of the Rollout's Istio configuration.
const fieldIstio = "spec.strategy.canary.trafficRouting.istio"

// VirtualServiceGVK is the VirtualService kind at the given API version
// (v1alpha1.DefaultIstioAPIVersion when empty).
func VirtualServiceGVK(version string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: Group, Version: versionOrDefault(version), Kind: "VirtualService"}
}

// DestinationRuleGVK is the DestinationRule kind at the given API version
// (v1alpha1.DefaultIstioAPIVersion when empty).
func DestinationRuleGVK(version string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: Group, Version: versionOrDefault(version), Kind: "DestinationRule"}
}

func versionOrDefault(v string) string {
	if v == "" {
		return v1alpha1.DefaultIstioAPIVersion
	}
	return v
}

// Split says which VirtualService destinations are the canary's and the
// stable's, and which routes the Rollout manages.
type Split struct {
	// CanaryService and StableService match a destination whose host,
	// up to its first dot, is the Service name.
	CanaryService, StableService string
	// CanarySubset and StableSubset match a destination's subset; they are
	// set only with a destinationRule (subset-level splitting).
	CanarySubset, StableSubset string
	// AdditionalSubsets are destinationRule.additionalSubsetNames: their
	// destinations keep their weight, and the stable gives it up.
	AdditionalSubsets []string
	// ManagedRoutes are the trafficRouting.managedRoutes names, highest
	// precedence first.
	ManagedRoutes []string
}

// subsetLevel reports whether destinations are told apart by subset.
func (s Split) subsetLevel() bool { return s.CanarySubset != "" || s.StableSubset != "" }

// SplitOf reads a Rollout's Split. With pingPong and neither canaryService
// nor stableService, the ping and pong Services take those roles, the one
// status.canary.stablePingPong names being stable, as Argo Rollouts does.
func SplitOf(ro *v1alpha1.Rollout) Split {
	var s Split
	c := ro.Spec.Strategy.Canary
	if c == nil {
		return s
	}
	s.StableService, s.CanaryService = services.ForRouter(ro, false)
	tr := c.TrafficRouting
	if tr == nil {
		return s
	}
	for _, m := range tr.ManagedRoutes {
		s.ManagedRoutes = append(s.ManagedRoutes, m.Name)
	}
	if tr.Istio != nil && tr.Istio.DestinationRule != nil {
		dr := tr.Istio.DestinationRule
		s.CanarySubset, s.StableSubset, s.AdditionalSubsets = dr.CanarySubsetName, dr.StableSubsetName, dr.AdditionalSubsetNames
	}
	return s
}

// VirtualServiceRef is one VirtualService a Rollout names, with its
// namespace resolved.
type VirtualServiceRef struct {
	// Namespace and Name locate the VirtualService.
	Namespace, Name string
	// Spec is the Rollout's entry for it: which routes to split.
	Spec v1alpha1.IstioVirtualService
	// Field is the spec path of the entry, for error messages, e.g.
	// spec.strategy.canary.trafficRouting.istio.virtualServices[1].
	Field string
}

// key is namespace/name, for messages.
func (r VirtualServiceRef) key() string { return r.Namespace + "/" + r.Name }

// VirtualServices resolves the VirtualServices a Rollout names: the
// virtualServices list when set (as Argo Rollouts prefers it), else
// virtualService. It is empty without Istio routing.
func VirtualServices(ro *v1alpha1.Rollout) []VirtualServiceRef {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil || c.TrafficRouting.Istio == nil {
		return nil
	}
	is := c.TrafficRouting.Istio
	var out []VirtualServiceRef
	add := func(v v1alpha1.IstioVirtualService, field string) {
		ns, name := ParseName(v.Name, ro.Namespace)
		out = append(out, VirtualServiceRef{Namespace: ns, Name: name, Spec: v, Field: field})
	}
	if is.VirtualServices != nil {
		for i, v := range is.VirtualServices {
			add(v, fmt.Sprintf("%s.virtualServices[%d]", fieldIstio, i))
		}
	} else if is.VirtualService != nil {
		add(*is.VirtualService, fieldIstio+".virtualService")
	}
	return out
}

// ParseName splits a VirtualService reference into namespace and name.
// It accepts "namespace/name" and, as Argo Rollouts documents it,
// "name.namespace" (everything after a second dot is ignored, as upstream
// does); a bare name is in defaultNamespace.
func ParseName(ref, defaultNamespace string) (namespace, name string) {
	if ns, n, ok := strings.Cut(ref, "/"); ok {
		return ns, n
	}
	fields := strings.Split(ref, ".")
	if len(fields) >= 2 && fields[1] != "" {
		return fields[1], fields[0]
	}
	return defaultNamespace, fields[0]
}
