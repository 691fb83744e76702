package rollout

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

// Adoption asks the API server, not the cache, whether the Rollout is
// still there and not being deleted (see aliveLive).
func TestAliveLiveReadsAroundTheCache(t *testing.T) {
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cached := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "old"}}
	deleting := cached.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	deleting.Finalizers = []string{"orphan"}
	recreated := cached.DeepCopy()
	recreated.UID = "new"
	for _, tc := range []struct {
		name string
		live []client.Object
		want bool
	}{
		{"unchanged", []client.Object{cached.DeepCopy()}, true},
		{"being deleted with --cascade=orphan", []client.Object{deleting}, false},
		{"deleted", nil, false},
		{"deleted and created again", []client.Object{recreated}, false},
	} {
		r := &Reconciler{APIReader: fake.NewClientBuilder().WithScheme(scheme).WithObjects(tc.live...).Build()}
		got, err := r.aliveLive(context.Background(), cached)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: aliveLive = %v, want %v", tc.name, got, tc.want)
		}
	}
}
