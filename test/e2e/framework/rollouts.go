package framework

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// SetRolloutImage sends the JSON patch `kubectl argo rollouts set image`
// sends, replacing the first container's image.
func SetRolloutImage(t testing.TB, ns, name, image string) {
	t.Helper()
	patch := fmt.Appendf(nil, `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, image)
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := Get(t).Client.Patch(context.Background(), ro, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		t.Fatalf("set image of rollout %s/%s: %v", ns, name, err)
	}
}

// PatchRolloutStatus sends a merge patch to the status subresource, as the
// plugin's promote ({"status":{"pauseConditions":null}}), abort and retry do.
func PatchRolloutStatus(t testing.TB, ns, name, patch string) {
	t.Helper()
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := Get(t).Client.Status().Patch(context.Background(), ro, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("patch status of rollout %s/%s with %s: %v", ns, name, patch, err)
	}
}
