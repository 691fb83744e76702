package rollout

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/manager"
	"github.com/aviary-rollouts/aviary/internal/plan/revision"
)

// annotate, as a plan asks for it (revision.Annotation), sends one
// metadata patch when the new ReplicaSet's revision differs from the Rollout's annotation and none when it does
// not; the Rollout's other annotations and its status are left alone.
func TestAnnotateRevisionPatchesOnlyOnChange(t *testing.T) {
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	stored := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Annotations: map[string]string{"team": "payments"}}}
	stored.Status.CurrentPodHash = "abc"
	patches := 0
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stored).WithStatusSubresource(stored).
		WithInterceptorFuncs(interceptor.Funcs{Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			patches++
			return c.Patch(ctx, obj, p, opts...)
		}}).Build()
	r := &Reconciler{Client: c}
	newRS := func(rev string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{v1alpha1.RevisionAnnotation: rev}}}
	}
	ctx := context.Background()
	var ro v1alpha1.Rollout
	for i, step := range []struct {
		rev         string
		wantPatches int
	}{{"1", 1}, {"1", 1}, {"2", 2}, {"2", 2}, {"3", 3}} {
		if err := c.Get(ctx, client.ObjectKeyFromObject(stored), &ro); err != nil {
			t.Fatal(err)
		}
		ro.Status.CurrentPodHash = "decided" // what this reconcile decided, not yet written
		if want, due := revision.Annotation(&ro, newRS(step.rev)); due {
			if err := r.annotate(ctx, &ro, map[string]string{v1alpha1.RevisionAnnotation: want}); err != nil {
				t.Fatal(err)
			}
		}
		if patches != step.wantPatches {
			t.Fatalf("step %d (revision %s): %d patches in all, want %d", i, step.rev, patches, step.wantPatches)
		}
		if ro.Annotations[v1alpha1.RevisionAnnotation] != step.rev || ro.Status.CurrentPodHash != "decided" {
			t.Fatalf("step %d: in memory annotations %v, currentPodHash %q", i, ro.Annotations, ro.Status.CurrentPodHash)
		}
		var live v1alpha1.Rollout
		if err := c.Get(ctx, client.ObjectKeyFromObject(stored), &live); err != nil {
			t.Fatal(err)
		}
		if live.Annotations[v1alpha1.RevisionAnnotation] != step.rev || live.Annotations["team"] != "payments" || live.Status.CurrentPodHash != "abc" {
			t.Fatalf("step %d: stored annotations %v, currentPodHash %q", i, live.Annotations, live.Status.CurrentPodHash)
		}
		if ro.ResourceVersion != live.ResourceVersion {
			t.Fatalf("step %d: resourceVersion %s in memory, %s stored", i, ro.ResourceVersion, live.ResourceVersion)
		}
	}
}
