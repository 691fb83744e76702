package smi

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// NamedTrafficSplits are the TrafficSplits ro's spec calls for: its SMI
// routing's (TrafficSplitName), none without SMI routing.
func NamedTrafficSplits(ro *v1alpha1.Rollout) []string {
	if c := ro.Spec.Strategy.Canary; c == nil || c.TrafficRouting == nil || c.TrafficRouting.SMI == nil {
		return nil
	}
	return []string{TrafficSplitName(ro)}
}

// DeleteUnused lists the TrafficSplits in ro's namespace (at apiVersion,
// v1alpha1 when empty) and deletes those ro controls that its spec no
// longer calls for (internal/plan/release decides): a TrafficSplit left
// behind keeps splitting the root Service's traffic at its last weights.
// It returns the names deleted; the list's error is returned as it is, so
// the caller can tell a cluster without SMI (a no-match error) from a
// failure.
func DeleteUnused(ctx context.Context, c client.Client, apiVersion string, ro *v1alpha1.Rollout) ([]string, error) {
	gvk, err := GVK(apiVersion)
	if err != nil {
		return nil, err
	}
	return traffic.DeleteUnused(ctx, c, gvk, ro, NamedTrafficSplits(ro))
}
