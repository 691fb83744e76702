package rollout

import (
	"context"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// annotate writes annotations of the Rollout itself — its revision
// (rollout.argoproj.io/revision, which Argo CD shows) — with one metadata
// merge patch. A plan asks for it before it
// journals the reconcile's decisions and writes status: ro takes the patched
// resourceVersion, so the events are keyed by the version a redo after a
// crash reads, and the write is remembered so an older cached copy is not
// reconciled (and patched) again.
func (r *Reconciler) annotate(ctx context.Context, ro *v1alpha1.Rollout, annotations map[string]string) error {
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return fmt.Errorf("encode annotations of rollout %s/%s: %w", ro.Namespace, ro.Name, err)
	}
	// A fresh object: ro's spec may hold a workloadRef's resolved template,
	// and ro's status must stay the one this reconcile decided from.
	target := &v1alpha1.Rollout{}
	target.Namespace, target.Name = ro.Namespace, ro.Name
	if err := r.Client.Patch(ctx, target, rawMerge(string(body))); err != nil {
		return fmt.Errorf("annotate rollout %s/%s with %v: %w", ro.Namespace, ro.Name, annotations, err)
	}
	if ro.Annotations == nil {
		ro.Annotations = map[string]string{}
	}
	for k, v := range annotations {
		ro.Annotations[k] = v
	}
	ro.ResourceVersion = target.ResourceVersion
	r.writes.record(client.ObjectKeyFromObject(ro), target.ResourceVersion)
	return nil
}
