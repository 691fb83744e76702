package rollout

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/manager"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// TestRefusedReplicaSetIsError: a new ReplicaSet the API server refuses
// sets the Progressing condition False with reason ReplicaSetCreateError
// (rollout_info's phase Error, as in Argo Rollouts) and records one Warning
// event for that refusal; the create is still an error, retried. A
// conflict or a name taken is not a refusal.
func TestRefusedReplicaSetIsError(t *testing.T) {
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	gr := schema.GroupResource{Group: "apps", Resource: "replicasets"}
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, "web-5cfb94d6c5",
		field.ErrorList{field.Invalid(field.NewPath("spec", "template", "spec", "containers").Index(0).Child("name"), "Not_A_Label", "a lowercase RFC 1123 label")})
	quota := apierrors.NewForbidden(gr, "web-5cfb94d6c5", errors.New("exceeded quota: rs, requested: count/replicasets.apps=1, used: count/replicasets.apps=1, limited: count/replicasets.apps=1"))
	for _, tc := range []struct {
		name    string
		refusal error
		want    bool
	}{
		{"invalid template", invalid, true},
		{"quota", quota, true},
		{"conflict", apierrors.NewConflict(gr, "web-5cfb94d6c5", errors.New("changed")), false},
	} {
		ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u"}}
		ro.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: v1alpha1.RolloutUpdatedReason}}
		c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ro.DeepCopy()).WithStatusSubresource(&v1alpha1.Rollout{}).
			WithInterceptorFuncs(interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				if _, ok := obj.(*appsv1.ReplicaSet); ok {
					return tc.refusal
				}
				return c.Create(ctx, obj, opts...)
			}}).Build()
		events := record.NewFakeRecorder(10)
		r := &Reconciler{Client: c, Recorder: events}
		r.Now = func() time.Time { return time.Unix(1800000000, 0) }
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-5cfb94d6c5", Namespace: "shop"}}
		for attempt := 0; attempt < 2; attempt++ {
			var cur v1alpha1.Rollout
			if err := c.Get(context.Background(), client.ObjectKeyFromObject(ro), &cur); err != nil {
				t.Fatal(err)
			}
			err := r.createPlanned(context.Background(), &applying{ro: &cur, sets: map[string]*appsv1.ReplicaSet{}}, pass.CreateReplicaSet{ReplicaSet: rs})
			if !errors.Is(err, tc.refusal) {
				t.Fatalf("%s: createPlanned = %v, want the refusal, to retry", tc.name, err)
			}
		}
		var got v1alpha1.Rollout
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(ro), &got); err != nil {
			t.Fatal(err)
		}
		cond := rules.FindCondition(got.Status.Conditions, v1alpha1.RolloutProgressing)
		wantMsg := `Failed to create new replica set "web-5cfb94d6c5": ` + tc.refusal.Error()
		if tc.want {
			if cond.Status != corev1.ConditionFalse || cond.Reason != v1alpha1.FailedRSCreateReason || cond.Message != wantMsg {
				t.Errorf("%s: Progressing %s/%s %q, want False/ReplicaSetCreateError %q", tc.name, cond.Status, cond.Reason, cond.Message, wantMsg)
			}
			if n := len(events.Events); n != 1 {
				t.Errorf("%s: %d events for two refused attempts, want 1", tc.name, n)
			} else if e := <-events.Events; !strings.HasPrefix(e, "Warning ReplicaSetCreateError "+wantMsg) {
				t.Errorf("%s: event %q", tc.name, e)
			}
		} else if cond.Reason != v1alpha1.RolloutUpdatedReason || len(events.Events) != 0 {
			t.Errorf("%s: Progressing %s with %d events, want it untouched and no event", tc.name, cond.Reason, len(events.Events))
		}
	}
}
