// Package appmesh routes a canary's traffic through AWS App Mesh, as Argo
// Rollouts does: the canary and stable VirtualNodes select the canary and
// stable pods by their pod-template hash (spec.podSelector.matchLabels),
// and the VirtualRouter behind the VirtualService weighs the two nodes in
// its routes' weightedTargets.
package appmesh

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// Group is App Mesh's API group; the version is --appmesh-crd-version.
const Group = "appmesh.k8s.aws"

// DefaultVersion is the App Mesh CRD version used unless told otherwise.
const DefaultVersion = "v1beta2"

// Placeholder hashes, as Argo Rollouts writes them, when a node has no
// ReplicaSet of its own to select: App Mesh's admission webhook refuses
// two VirtualNodes with the same pod selector.
const (
	PlaceholderStableHash = "stable-hash"
	PlaceholderCanaryHash = "canary-hash"
)

// RouteTypes are the route kinds whose weighted targets are split, in the
// order a route is searched for one.
var RouteTypes = []string{"httpRoute", "tcpRoute", "http2Route", "grpcRoute"}

const field = "spec.strategy.canary.trafficRouting.appMesh"

// Event reasons: the not-found ones as Argo Rollouts names them (the kind
// then NotFound), the others Aviary's.
const (
	ReasonVirtualServiceNotFound = "VirtualServiceNotFound"
	ReasonVirtualRouterNotFound  = "VirtualRouterNotFound"
	ReasonVirtualNodeNotFound    = "VirtualNodeNotFound"
	ReasonUpdateError            = "VirtualRouterUpdateError"
	ReasonWeightUpdated          = "VirtualRouterWeightUpdated"
)

var notFound = map[string]string{"VirtualService": ReasonVirtualServiceNotFound, "VirtualRouter": ReasonVirtualRouterNotFound, "VirtualNode": ReasonVirtualNodeNotFound}

// Router pins the rollout's VirtualNodes to hashes and weighs them in the
// VirtualRouter.
type Router struct {
	traffic.WeightsOnly
	Client  client.Client
	Rollout *v1alpha1.Rollout
	traffic.Events
	// Version is the App Mesh CRD version; "" is DefaultVersion.
	Version string
}

var _ traffic.Router = (*Router)(nil)

// Type names the router.
func (r *Router) Type() string { return traffic.TypeAppMesh }

func (r *Router) gvk(kind string) schema.GroupVersionKind {
	v := r.Version
	if v == "" {
		v = DefaultVersion
	}
	return schema.GroupVersionKind{Group: Group, Version: v, Kind: kind}
}

// get reads an App Mesh object; missing, it is a SpecError at path saying
// what to do.
func (r *Router) get(ctx context.Context, kind, ns, name, path, fix string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(r.gvk(kind))
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj)
	if apierrors.IsNotFound(err) {
		r.Warning(notFound[kind], fmt.Sprintf("%s `%s` not found in namespace `%s`", kind, name, ns))
		return nil, &traffic.SpecError{Field: path, Msg: fmt.Sprintf("%s %q not found in namespace %q: %s", kind, name, ns, fix)}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", kind, name, err)
	}
	return obj, nil
}

// UpdateHash points the stable VirtualNode at the stable hash and the
// canary one at the canary hash, with the placeholders when a hash is
// missing or the two are the same, and marks both as the rollout's.
func (r *Router) UpdateHash(ctx context.Context, canaryHash, stableHash string, _ ...traffic.WeightDestination) error {
	group := r.Rollout.Spec.Strategy.Canary.TrafficRouting.AppMesh.VirtualNodeGroup
	if group == nil || group.StableVirtualNodeRef == nil || group.CanaryVirtualNodeRef == nil {
		return &traffic.SpecError{Field: field + ".virtualNodeGroup", Msg: "name the canary and stable VirtualNodes (canaryVirtualNodeRef, stableVirtualNodeRef)"}
	}
	canaryHash, stableHash = Hashes(canaryHash, stableHash)
	if err := r.pin(ctx, group.StableVirtualNodeRef.Name, field+".virtualNodeGroup.stableVirtualNodeRef.name", stableHash); err != nil {
		return err
	}
	return r.pin(ctx, group.CanaryVirtualNodeRef.Name, field+".virtualNodeGroup.canaryVirtualNodeRef.name", canaryHash)
}

// Hashes are the hashes the canary and stable VirtualNodes select.
func Hashes(canary, stable string) (string, string) {
	if stable == "" {
		stable = PlaceholderStableHash
	}
	if canary == "" || canary == stable {
		canary = PlaceholderCanaryHash
	}
	return canary, stable
}

func (r *Router) pin(ctx context.Context, name, path, hash string) error {
	node, err := r.get(ctx, "VirtualNode", r.Rollout.Namespace, name, path, "create it or correct the name")
	if err != nil {
		return err
	}
	next := Pin(node, r.Rollout.Name, hash)
	if reflect.DeepEqual(next.Object, node.Object) {
		return nil
	}
	if err := r.Client.Update(ctx, next); err != nil {
		return fmt.Errorf("update VirtualNode %s: %w", name, err)
	}
	return nil
}

// Pin is node selecting the pods of hash, marked as the rollout's.
func Pin(node *unstructured.Unstructured, rollout, hash string) *unstructured.Unstructured {
	next := node.DeepCopy()
	ann := next.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[v1alpha1.ManagedByRolloutsKey] = rollout
	next.SetAnnotations(ann)
	labels, _, _ := unstructured.NestedMap(next.Object, "spec", "podSelector", "matchLabels")
	if labels == nil {
		labels = map[string]any{}
	}
	labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	_ = unstructured.SetNestedMap(next.Object, labels, "spec", "podSelector", "matchLabels")
	return next
}

// SetWeight gives the canary VirtualNode weight and the stable one the
// rest in the VirtualRouter's routes, updating it only when they change.
func (r *Router) SetWeight(ctx context.Context, weight int32, _ ...traffic.WeightDestination) error {
	am := r.Rollout.Spec.Strategy.Canary.TrafficRouting.AppMesh
	if am.VirtualService == nil || am.VirtualService.Name == "" {
		return &traffic.SpecError{Field: field + ".virtualService.name", Msg: "name the VirtualService whose VirtualRouter splits the traffic"}
	}
	if am.VirtualNodeGroup == nil || am.VirtualNodeGroup.StableVirtualNodeRef == nil || am.VirtualNodeGroup.CanaryVirtualNodeRef == nil {
		return &traffic.SpecError{Field: field + ".virtualNodeGroup", Msg: "name the canary and stable VirtualNodes (canaryVirtualNodeRef, stableVirtualNodeRef)"}
	}
	vsField := field + ".virtualService.name"
	vs, err := r.get(ctx, "VirtualService", r.Rollout.Namespace, am.VirtualService.Name, vsField, "create it or correct the name")
	if err != nil {
		return err
	}
	ref, found, _ := unstructured.NestedMap(vs.Object, "spec", "provider", "virtualRouter", "virtualRouterRef")
	name, _ := ref["name"].(string)
	if !found || name == "" {
		return &traffic.SpecError{Field: vsField, Msg: fmt.Sprintf("VirtualService %q has no spec.provider.virtualRouter.virtualRouterRef: give it a VirtualRouter to split the traffic", vs.GetName())}
	}
	ns, _ := ref["namespace"].(string)
	if ns == "" {
		ns = vs.GetNamespace()
	}
	vr, err := r.get(ctx, "VirtualRouter", ns, name, vsField, fmt.Sprintf("create the VirtualRouter VirtualService %q names", vs.GetName()))
	if err != nil {
		return err
	}
	next := vr.DeepCopy()
	if err := SetWeights(next, am.VirtualService.Routes, r.Rollout.Namespace, am.VirtualNodeGroup.CanaryVirtualNodeRef.Name,
		am.VirtualNodeGroup.StableVirtualNodeRef.Name, weight); err != nil {
		return &traffic.SpecError{Field: field + ".virtualService.routes", Msg: err.Error()}
	}
	if reflect.DeepEqual(next.Object, vr.Object) {
		return nil
	}
	if err := r.Client.Update(ctx, next); err != nil {
		r.Warning(ReasonUpdateError, fmt.Sprintf("Error updating VirtualRouter %q: %v", vr.GetName(), err))
		return fmt.Errorf("update VirtualRouter %s: %w", vr.GetName(), err)
	}
	r.Record(ReasonWeightUpdated, fmt.Sprintf("VirtualRouter %s: canary VirtualNode at %d, stable at %d", vr.GetName(), weight, 100-weight))
	return nil
}

// SetWeights sets, in the VirtualRouter's routes named in routes (all of
// them when none are named), the weight of the weighted target for the
// canary VirtualNode and the stable's to the rest of 100; a split route
// without both is an error. Targets are the
// rollout's when their virtualNodeRef is in its namespace (ns, also when
// it has none); other targets keep their weights.
func SetWeights(vr *unstructured.Unstructured, routes []string, ns, canary, stable string, weight int32) error {
	list, found, err := unstructured.NestedSlice(vr.Object, "spec", "routes")
	if err != nil || !found {
		return fmt.Errorf("VirtualRouter %q has no spec.routes: add a route whose weightedTargets are the canary and stable VirtualNodes", vr.GetName())
	}
	seen := map[string]bool{}
	for i, item := range list {
		route, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("VirtualRouter %q: spec.routes[%d] is not an object", vr.GetName(), i)
		}
		name, _ := route["name"].(string)
		if len(routes) > 0 && !slices.Contains(routes, name) {
			continue
		}
		seen[name] = true
		kind, rule := routeRule(route)
		if rule == nil {
			return fmt.Errorf("VirtualRouter %q: route %q has none of %v", vr.GetName(), name, RouteTypes)
		}
		targets, found, _ := unstructured.NestedSlice(rule, "action", "weightedTargets")
		if !found {
			return fmt.Errorf("VirtualRouter %q: route %q has no %s.action.weightedTargets", vr.GetName(), name, kind)
		}
		has := map[string]bool{}
		for _, t := range targets {
			target, ok := t.(map[string]any)
			if !ok {
				continue
			}
			node, _ := target["virtualNodeRef"].(map[string]any)
			nodeName, _ := node["name"].(string)
			nodeNS, _ := node["namespace"].(string)
			if nodeNS != "" && nodeNS != ns {
				continue
			}
			switch nodeName {
			case canary:
				target["weight"] = int64(weight)
			case stable:
				target["weight"] = int64(100 - weight)
			}
			has[nodeName] = true
		}
		for _, node := range []string{canary, stable} {
			if !has[node] {
				return fmt.Errorf("VirtualRouter %q: route %q has no weighted target for VirtualNode %q: list both the canary and stable VirtualNodes in its weightedTargets",
					vr.GetName(), name, node)
			}
		}
		if err := unstructured.SetNestedSlice(rule, targets, "action", "weightedTargets"); err != nil {
			return err
		}
		route[kind] = rule
	}
	for _, want := range routes {
		if !seen[want] {
			return fmt.Errorf("VirtualRouter %q has no route named %q: give the route that name in spec.routes, or correct the routes", vr.GetName(), want)
		}
	}
	return unstructured.SetNestedSlice(vr.Object, list, "spec", "routes")
}

// routeRule is the first of RouteTypes a route has, and its kind.
func routeRule(route map[string]any) (string, map[string]any) {
	for _, kind := range RouteTypes {
		if rule, ok := route[kind].(map[string]any); ok {
			return kind, rule
		}
	}
	return "", nil
}
