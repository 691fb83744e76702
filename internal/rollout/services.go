package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/services"
)

// invalidSpec is a problem with a Rollout's spec or the objects it names,
// worded for the user: which field, which value, what to do.
type invalidSpec struct{ msg string }

func (e *invalidSpec) Error() string { return e.msg }

// serviceRef is one Service field of the strategy and the ReplicaSet it
// should select now.
type serviceRef struct {
	field  string
	name   string
	target *appsv1.ReplicaSet
}

// stableServiceField is the canary's stable Service field, the key of its
// selection in reconcileServices' result.
const stableServiceField = "spec.strategy.canary.stableService"

func canaryServiceRefs(ro *v1alpha1.Rollout, rs roles.Roles) []serviceRef {
	c := ro.Spec.Strategy.Canary
	canaryTarget, stable := services.Canary(ro, rs)
	return []serviceRef{
		{field: "spec.strategy.canary.canaryService", name: c.CanaryService, target: canaryTarget},
		{field: stableServiceField, name: c.StableService, target: stable},
	}
}

// reconcileServices points each referenced Service's selector at its
// target's pod-template hash when services.ShouldSwitch allows, reporting
// whether it switched any and the hash each Service (by field) selects
// afterwards. A missing Service is an *invalidSpec. First it lets go of
// what the spec no longer names (releaseUnreferenced).
func (r *Reconciler) reconcileServices(ctx context.Context, ro *v1alpha1.Rollout, refs []serviceRef) (bool, map[string]string, error) {
	if err := r.releaseUnreferenced(ctx, ro); err != nil {
		return false, nil, err
	}
	switched := false
	selected := map[string]string{}
	for _, ref := range refs {
		if ref.name == "" {
			continue
		}
		var svc corev1.Service
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: ref.name}, &svc); err != nil {
			if apierrors.IsNotFound(err) {
				return false, nil, &invalidSpec{fmt.Sprintf("%s: service %q not found in namespace %q: create the Service or correct the name", ref.field, ref.name, ro.Namespace)}
			}
			return false, nil, fmt.Errorf("read service %s/%s: %w", ro.Namespace, ref.name, err)
		}
		if owner := svc.Annotations[v1alpha1.ManagedByRolloutsKey]; owner != "" && owner != ro.Name {
			return false, nil, &invalidSpec{fmt.Sprintf("%s: service %q is already managed by rollout %q: give each rollout its own Services", ref.field, ref.name, owner)}
		}
		current := svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
		selected[ref.field] = current
		if ref.target == nil {
			continue
		}
		target := services.Target{
			Hash:      ref.target.Labels[v1alpha1.DefaultRolloutUniqueLabelKey],
			Replicas:  roles.SpecReplicas(ref.target),
			Available: ref.target.Status.AvailableReplicas,
		}
		if !services.ShouldSwitch(current, svc.Annotations[v1alpha1.ManagedByRolloutsKey] != "", target) {
			continue
		}
		patch := fmt.Sprintf(`{"spec":{"selector":{%q:%q}}}`, v1alpha1.DefaultRolloutUniqueLabelKey, target.Hash)
		if svc.Annotations[v1alpha1.ManagedByRolloutsKey] == "" {
			patch = fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}},"spec":{"selector":{%q:%q}}}`,
				v1alpha1.ManagedByRolloutsKey, ro.Name, v1alpha1.DefaultRolloutUniqueLabelKey, target.Hash)
		}
		if err := r.Client.Patch(ctx, &svc, client.RawPatch(types.StrategicMergePatchType, []byte(patch))); err != nil {
			return false, nil, fmt.Errorf("switch service %s/%s to %s: %w", ro.Namespace, ref.name, target.Hash, err)
		}
		r.event(ro, false, "SwitchService", fmt.Sprintf("Switched selector for service '%s' from '%s' to '%s'", ref.name, current, target.Hash))
		switched = true
		selected[ref.field] = target.Hash
	}
	return switched, selected, nil
}
