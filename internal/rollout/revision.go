package rollout

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// recordRevision writes the new ReplicaSet's revision onto the Rollout's
// rollout.argoproj.io/revision annotation (Argo CD shows it as the
// rollout's revision) with one metadata merge patch, only when it changes
// (revision.Annotation decides). finish calls it before it journals the
// reconcile's decisions and writes status: ro takes the patched
// resourceVersion, so the events are keyed by the version a redo after a
// crash reads, and the write is remembered so an older cached copy is not
// reconciled (and patched) again.
func (r *Reconciler) recordRevision(ctx context.Context, ro *v1alpha1.Rollout, want string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, v1alpha1.RevisionAnnotation, want)
	// A fresh object: ro's spec may hold a workloadRef's resolved template,
	// and ro's status must stay the one this reconcile decided from.
	target := &v1alpha1.Rollout{}
	target.Namespace, target.Name = ro.Namespace, ro.Name
	if err := r.Client.Patch(ctx, target, rawMerge(patch)); err != nil {
		return fmt.Errorf("record revision %s on rollout %s/%s: %w", want, ro.Namespace, ro.Name, err)
	}
	if ro.Annotations == nil {
		ro.Annotations = map[string]string{}
	}
	ro.Annotations[v1alpha1.RevisionAnnotation] = want
	ro.ResourceVersion = target.ResourceVersion
	r.writes.record(client.ObjectKeyFromObject(ro), target.ResourceVersion)
	return nil
}
