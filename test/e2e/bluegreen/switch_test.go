package bluegreen

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/rollout"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// toCanaryPatch switches the rollout to a canary without Services, pausing
// at 50%, and changes the template in the same edit.
const toCanaryPatch = `{"spec":{"strategy":{"blueGreen":null,"canary":{"steps":[{"setWeight":50},{"pause":{}}]}},` +
	`"template":{"spec":{"containers":[{"name":"web","image":"` + greenImage + `"}]}}}}`

// services reads each Service's whole selector and managed-by annotation.
func (f *fixture) services(names ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		var svc corev1.Service
		if err := f.c.Get(context.Background(), framework.Key(f.ns, n), &svc); err != nil {
			return nil, err
		}
		out[n] = fmt.Sprintf("selector %v managed-by %q", svc.Spec.Selector, svc.Annotations[v1alpha1.ManagedByRolloutsKey])
	}
	return out, nil
}

// TestBlueGreenToCanaryReleasesServices: a blue-green rollout switched to
// a canary (blueGreen removed, canary steps added, template changed in one
// edit) lets go of the active and preview Services it no longer names:
// their selectors lose the pod-template hash, back to exactly what the
// user wrote ({app: web}), and the managed-by annotation goes, while the
// canary pauses at 50% with one new pod of two (as Argo Rollouts' e2e
// TestBlueGreenToCanary has it: replicas 2, updated 1, ready and
// available 2).
func TestBlueGreenToCanaryReleasesServices(t *testing.T) {
	f := newFixture(t, "web", 2)
	f.deploy(manifest())
	pinned, err := f.services(f.active, f.preview)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before the switch: %v", pinned)

	ro := &v1alpha1.Rollout{}
	ro.Namespace, ro.Name = f.ns, f.name
	if err := f.c.Patch(context.Background(), ro, client.RawPatch(types.MergePatchType, []byte(toCanaryPatch))); err != nil {
		t.Fatalf("switch to canary: %v", err)
	}
	want := fmt.Sprintf("selector map[app:web] managed-by %q", "")
	framework.Eventually(t, 90*time.Second, "paused at 50% with both Services released", func() (bool, string) {
		s := f.snap()
		svcs, err := f.services(f.active, f.preview)
		if err != nil {
			return false, err.Error()
		}
		st := s.ro.Status
		counts := fmt.Sprintf("%d,%d,%d,%d,%d", *s.ro.Spec.Replicas, st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas)
		return s.current() && st.Phase == v1alpha1.RolloutPhasePaused && counts == "2,2,1,2,2" && svcs[f.active] == want && svcs[f.preview] == want,
			fmt.Sprintf("counts desired,current,updated,ready,available %s (want 2,2,1,2,2); services %v (want %s); %s", counts, svcs, want, s)
	})
	var events corev1.EventList
	if err := f.c.List(context.Background(), &events, client.InNamespace(f.ns)); err != nil {
		t.Fatal(err)
	}
	released := map[string]bool{}
	for _, e := range events.Items {
		if e.Reason == rollout.ReasonServiceReleased {
			released[e.Message] = true
		}
	}
	if len(released) != 2 {
		t.Errorf("want one ServiceReleased event for each of %s and %s, got %v", f.active, f.preview, released)
	}
}

// TestRemovedPreviewServiceIsReleased: taking previewService out of a
// blue-green rollout releases that Service and keeps the active one.
func TestRemovedPreviewServiceIsReleased(t *testing.T) {
	f := newFixture(t, "web", 2)
	blue := f.deploy(manifest())
	ro := &v1alpha1.Rollout{}
	ro.Namespace, ro.Name = f.ns, f.name
	if err := f.c.Patch(context.Background(), ro, client.RawPatch(types.JSONPatchType, []byte(`[{"op":"remove","path":"/spec/strategy/blueGreen/previewService"}]`))); err != nil {
		t.Fatalf("remove previewService: %v", err)
	}
	framework.Eventually(t, 60*time.Second, "the preview Service released, the active one kept", func() (bool, string) {
		svcs, err := f.services(f.active, f.preview)
		if err != nil {
			return false, err.Error()
		}
		keep := fmt.Sprintf("selector map[app:web %s:%s] managed-by %q", v1alpha1.DefaultRolloutUniqueLabelKey, blue, f.name)
		free := fmt.Sprintf("selector map[app:web] managed-by %q", "")
		return svcs[f.active] == keep && svcs[f.preview] == free, fmt.Sprintf("%v; want active %s, preview %s", svcs, keep, free)
	})
}
