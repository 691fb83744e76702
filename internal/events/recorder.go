// Package events records Kubernetes Events the way Argo Rollouts does: as
// core/v1 Events, each with its own message. (The events.k8s.io recorder
// folds events with the same reason into one series that keeps only the
// first message, which would hide "Rollout step 2/8 completed" behind
// "step 1/8" — and notifications key off these events.)
package events

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// Component is the events' source, as Argo Rollouts names it.
const Component = "rollouts-controller"

// NewRecorder returns a recorder writing through cs until ctx ends. Its
// writes are informational Events to the client budget: served after the
// controllers' work, with a share that keeps its queue draining
// (clientbudget.EventShare).
func NewRecorder(ctx context.Context, cs typedcorev1.EventsGetter, scheme *runtime.Scheme) record.EventRecorder {
	// The default spam filter allows 25 events per object, then one per
	// five minutes; a rollout with many steps emits more than that, and
	// every step event matters to notifications.
	b := record.NewBroadcaster(record.WithContext(ctx), record.WithCorrelatorOptions(record.CorrelatorOptions{BurstSize: 500, QPS: 1, LRUCacheSize: 512}))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.Events("")})
	go func() { <-ctx.Done(); b.Shutdown() }()
	return b.NewRecorder(scheme, corev1.EventSource{Component: Component})
}
