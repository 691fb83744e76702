package rollout

import (
	"context"
	"fmt"

	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// dropInjectedAntiAffinity patches a stable ReplicaSet's template free of the
// anti-affinity it was given as a canary.
func (r *Reconciler) dropInjectedAntiAffinity(ctx context.Context, rs *appsv1.ReplicaSet) error {
	orig := rs.DeepCopy()
	if !roles.WithoutInjectedAntiAffinity(&rs.Spec.Template.Spec) {
		return nil
	}
	if err := r.Client.Patch(ctx, rs, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("remove canary anti-affinity from stable ReplicaSet %s: %w", rs.Name, err)
	}
	return nil
}
