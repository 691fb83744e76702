package rollout

import (
	"encoding/json"

	"context"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/release"
	"github.com/aviary-rollouts/aviary/internal/traffic"
	"github.com/aviary-rollouts/aviary/internal/traffic/ambassador"
	"github.com/aviary-rollouts/aviary/internal/traffic/apisix"
	"github.com/aviary-rollouts/aviary/internal/traffic/istio"
	"github.com/aviary-rollouts/aviary/internal/traffic/smi"
)

// Event reasons of letting go of objects the spec no longer names.
const (
	// ReasonServiceReleased: a Service the Rollout managed is no longer
	// named by its strategy; its selector's hash pin and managed-by
	// annotation were removed.
	ReasonServiceReleased = "ServiceReleased"
	// ReasonDestinationRuleReleased: the Istio DestinationRule the
	// Rollout managed is no longer named; its subsets' hash labels and
	// managed-by annotation were removed.
	ReasonDestinationRuleReleased = "DestinationRuleReleased"
	// ReasonCanaryIngressDeleted: a canary Ingress the Rollout created for
	// NGINX routing is no longer called for and was deleted.
	ReasonCanaryIngressDeleted = "CanaryIngressDeleted"
	// ReasonTrafficSplitDeleted: a TrafficSplit the Rollout created for SMI
	// routing is no longer called for and was deleted.
	ReasonTrafficSplitDeleted = "TrafficSplitDeleted"
	// ReasonCanaryMappingDeleted: an Ambassador canary Mapping the Rollout
	// created for a Mapping it no longer names was deleted.
	ReasonCanaryMappingDeleted = "CanaryMappingDeleted"
)

// releaseService removes the hash selector key and the managed-by
// annotation of Service ns/name, as the cache saw it at resourceVersion.
// The resourceVersion makes the patch fail rather than undo a change made
// since (a repeat within one reconcile, or a user's edit): that, or the
// Service gone, reports false, and the next reconcile looks again.
func (r *Reconciler) releaseService(ctx context.Context, ns, name, resourceVersion string) (bool, error) {
	patch := fmt.Sprintf(`{"metadata":{"resourceVersion":%q,"annotations":{%q:null}},"spec":{"selector":{%q:null}}}`,
		resourceVersion, v1alpha1.ManagedByRolloutsKey, v1alpha1.DefaultRolloutUniqueLabelKey)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	err := r.Client.Patch(ctx, svc, rawMerge(patch))
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// releaseAfterDeletion releases the Services still marked as managed by
// the Rollout key names once it is gone, as Argo Rollouts' Service
// controller does. The cache only holds this controller's Rollouts (its
// instance id), so a live read must confirm that no Rollout of that name
// exists before a Service marked with the name is touched: it may be
// another instance's, or one re-created under the same name.
func (r *Reconciler) releaseAfterDeletion(ctx context.Context, key types.NamespacedName) error {
	var list corev1.ServiceList
	if err := r.Client.List(ctx, &list, client.InNamespace(key.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list services of namespace %s: %w", key.Namespace, err)
	}
	versions := map[string]string{}
	var held []release.Object
	for i := range list.Items {
		svc := &list.Items[i]
		if owner := svc.Annotations[v1alpha1.ManagedByRolloutsKey]; owner == key.Name {
			held = append(held, release.Object{Name: svc.Name, Holder: owner})
			versions[svc.Name] = svc.ResourceVersion
		}
	}
	names := release.Unreferenced(key.Name, nil, held)
	if len(names) == 0 || r.APIReader == nil {
		return nil
	}
	var live v1alpha1.Rollout
	if err := r.APIReader.Get(ctx, key, &live); !apierrors.IsNotFound(err) {
		if err != nil {
			return fmt.Errorf("read rollout %s before releasing its services: %w", key, err)
		}
		return nil // it exists: not ours to release
	}
	for _, name := range names {
		released, err := r.releaseService(ctx, key.Namespace, name, versions[name])
		if err != nil {
			return fmt.Errorf("release service %s/%s of deleted rollout %s: %w", key.Namespace, name, key.Name, err)
		}
		if released && r.Log != nil {
			r.logFor(key.Namespace, key.Name).InfoContext(ctx, "released service of deleted rollout: hash selector and managed-by annotation removed",
				"service", name)
		}
	}
	return nil
}

// routerChecked remembers, by Rollout UID, the trafficRouting spec (JSON)
// for which the uncached router objects (DestinationRules, TrafficSplits)
// were last checked, so they are listed once per change of what the
// rollout routes through — not at every update of its template, which was
// two uncached lists per rollout and wave. It is an optimisation, not
// state: after a restart each routed Rollout is checked once more. Rollout
// UIDs are unique in the cluster, so reconcilers in one process can share
// it.
var routerChecked sync.Map // types.UID → string

// releaseRouterObjects releases the DestinationRule ro manages but no
// longer names, and deletes the TrafficSplits, Ambassador canary Mappings
// and APISIX header route ApisixRoutes it controls but no longer uses.
// Only a Rollout that routes traffic now, through any router (it may have
// come from one of those), or did until now (status.canary.weights still
// set), is looked at. A routed Rollout is looked at from the first
// reconcile that sees it: waiting for its weights, which appear a status
// write later, put the look in whichever reconcile came next — after a
// restart, sometimes in the middle of the next update.
func (r *Reconciler) releaseRouterObjects(ctx context.Context, ro *v1alpha1.Rollout) error {
	var tr *v1alpha1.RolloutTrafficRouting
	if c := ro.Spec.Strategy.Canary; c != nil {
		tr = c.TrafficRouting
	}
	if tr == nil && ro.Status.Canary.Weights == nil {
		return nil
	}
	routing, err := json.Marshal(tr)
	if err != nil {
		return fmt.Errorf("encode the traffic routing of rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	if seen, ok := routerChecked.Load(ro.UID); ok && seen.(string) == string(routing) {
		return nil
	}
	released, err := istio.ReleaseDestinationRules(ctx, r.Client, r.IstioAPIVersion, ro)
	for _, name := range released {
		r.event(ro, false, ReasonDestinationRuleReleased, fmt.Sprintf("Released DestinationRule '%s': the rollout no longer names it, so its subsets no longer pin %s and it is no longer marked %s",
			name, v1alpha1.DefaultRolloutUniqueLabelKey, v1alpha1.ManagedByRolloutsKey))
	}
	if err := r.tolerateRouterList(ctx, ro, "DestinationRules the rollout no longer names", "destinationrules.networking.istio.io", err); err != nil {
		return err
	}
	deleted, err := smi.DeleteUnused(ctx, r.Client, r.SMIAPIVersion, ro)
	for _, name := range deleted {
		r.event(ro, false, ReasonTrafficSplitDeleted, fmt.Sprintf("Deleted TrafficSplit '%s': the rollout's SMI routing no longer uses it", name))
	}
	if err := r.tolerateRouterList(ctx, ro, "TrafficSplits the rollout no longer uses", "trafficsplits.split.smi-spec.io", err); err != nil {
		return err
	}
	mappings, err := ambassador.GVK(r.ambassadorAPIVersion())
	if err != nil {
		return err
	}
	// Mappings and ApisixRoutes are looked for only while the rollout
	// routes through that router or once its routing is removed, so a
	// rollout on another router lists nothing more. (Switching straight
	// from one of them to another router leaves its objects: docs/traffic.md.)
	for _, c := range []struct {
		look     bool
		gvk      schema.GroupVersionKind
		named    []string
		reason   string
		what     string
		resource string
	}{
		{tr == nil || tr.Ambassador != nil, mappings, ambassador.Named(ro), ReasonCanaryMappingDeleted, "canary Mappings the rollout no longer uses", strings.ToLower(mappings.Kind) + "s." + mappings.Group},
		{tr == nil || tr.Apisix != nil, apisix.GVK, apisix.Named(ro), apisix.ReasonDeleted, "header route ApisixRoutes the rollout no longer lists", "apisixroutes.apisix.apache.org"},
	} {
		if !c.look {
			continue
		}
		deleted, err := traffic.DeleteUnused(ctx, r.Client, c.gvk, ro, c.named)
		for _, name := range deleted {
			r.event(ro, false, c.reason, fmt.Sprintf("Deleted %s '%s': the rollout's routing no longer uses it", c.gvk.Kind, name))
		}
		if err := r.tolerateRouterList(ctx, ro, c.what, c.resource, err); err != nil {
			return err
		}
	}
	routerChecked.Store(ro.UID, string(routing))
	return nil
}

// tolerateRouterList passes on err, but for a kind the cluster does not
// serve (nothing to clean up) and a missing permission (an install without
// it: routing works, only this clean-up cannot, and a log line says so
// instead of retrying forever).
func (r *Reconciler) tolerateRouterList(ctx context.Context, ro *v1alpha1.Rollout, what, resource string, err error) error {
	switch {
	case err == nil, meta.IsNoMatchError(err):
		return nil
	case apierrors.IsForbidden(err):
		if r.Log != nil {
			r.logFor(ro.Namespace, ro.Name).WarnContext(ctx, "cannot look for "+what+": grant list and delete (update for DestinationRules) on "+resource+" (dist/install.yaml does)",
				"error", err.Error())
		}
		return nil
	}
	return fmt.Errorf("clean up %s of rollout %s/%s: %w", what, ro.Namespace, ro.Name, err)
}

// ambassadorAPIVersion is the Mappings' apiVersion the router uses.
func (r *Reconciler) ambassadorAPIVersion() string {
	if r.AmbassadorAPIVersion == "" {
		return v1alpha1.DefaultAmbassadorAPIVersion
	}
	return r.AmbassadorAPIVersion
}
