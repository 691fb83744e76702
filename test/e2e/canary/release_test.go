package canary

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/rollout"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestServicesNoLongerNamedAreReleased: when a canary's canaryService is
// renamed and its stableService removed, the Services it no longer names
// lose the pod-template hash from their selectors and the managed-by
// annotation (back to what the user wrote), while the newly named canary
// Service is pinned and managed.
func TestServicesNoLongerNamedAreReleased(t *testing.T) {
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-canary")+"---\n"+
		strings.ReplaceAll(serviceTemplate, "NAME", "web-stable")+"---\n"+
		strings.ReplaceAll(serviceTemplate, "NAME", "web-canary-2")+"---\n"+servicesManifest)
	blue := waitForFirstVersion(t, ns, 4)
	framework.Eventually(t, 30*time.Second, "both Services pinned to the first version", func() (bool, string) {
		c, cOwner := serviceHash(t, ns, "web-canary")
		s, sOwner := serviceHash(t, ns, "web-stable")
		return c == blue && s == blue && cOwner == "rollouts-demo" && sOwner == "rollouts-demo", fmt.Sprintf("canary %s (%s), stable %s (%s)", c, cOwner, s, sOwner)
	})

	patch := `[{"op":"replace","path":"/spec/strategy/canary/canaryService","value":"web-canary-2"},{"op":"remove","path":"/spec/strategy/canary/stableService"}]`
	ro := &v1alpha1.Rollout{}
	ro.Namespace, ro.Name = ns, "rollouts-demo"
	if err := framework.Get(t).Client.Patch(context.Background(), ro, client.RawPatch(types.JSONPatchType, []byte(patch))); err != nil {
		t.Fatalf("rename canaryService, remove stableService: %v", err)
	}
	framework.Eventually(t, 60*time.Second, "the old Services released, the new canary Service managed", func() (bool, string) {
		oldC, oldCOwner := serviceHash(t, ns, "web-canary")
		oldS, oldSOwner := serviceHash(t, ns, "web-stable")
		newC, newCOwner := serviceHash(t, ns, "web-canary-2")
		return oldC == "" && oldCOwner == "" && oldS == "" && oldSOwner == "" && newC == blue && newCOwner == "rollouts-demo",
			fmt.Sprintf("web-canary %q (%q), web-stable %q (%q), web-canary-2 %q (%q)", oldC, oldCOwner, oldS, oldSOwner, newC, newCOwner)
	})
	// The user's own selector is kept: only the hash key went.
	svc, err := framework.Get(t).Clientset.CoreV1().Services(ns).Get(context.Background(), "web-canary", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(svc.Spec.Selector) != "map[app:web]" {
		t.Errorf("released web-canary selector %v, want map[app:web]", svc.Spec.Selector)
	}
	if msgs := eventMessages(t, ns, rollout.ReasonServiceReleased); len(msgs) != 2 {
		t.Errorf("want a ServiceReleased event for web-canary and web-stable, got %q", msgs)
	}
}

// TestDeletedRolloutReleasesServices: deleting a rollout releases the
// Services it managed, as Argo Rollouts' Service controller does: their
// selectors go back to exactly what the user wrote.
func TestDeletedRolloutReleasesServices(t *testing.T) {
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-canary")+"---\n"+
		strings.ReplaceAll(serviceTemplate, "NAME", "web-stable")+"---\n"+servicesManifest)
	blue := waitForFirstVersion(t, ns, 4)
	framework.Eventually(t, 30*time.Second, "both Services pinned to the first version", func() (bool, string) {
		c, _ := serviceHash(t, ns, "web-canary")
		s, _ := serviceHash(t, ns, "web-stable")
		return c == blue && s == blue, fmt.Sprintf("canary %s, stable %s", c, s)
	})
	if out, err := framework.Get(t).Kubectl(context.Background(), "delete", "rollout", "rollouts-demo", "-n", ns); err != nil {
		t.Fatalf("delete rollout: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "both Services released", func() (bool, string) {
		var got []string
		for _, name := range []string{"web-canary", "web-stable"} {
			svc, err := framework.Get(t).Clientset.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			got = append(got, fmt.Sprintf("%s %v %q", name, svc.Spec.Selector, svc.Annotations[v1alpha1.ManagedByRolloutsKey]))
		}
		want := `web-canary map[app:web] "" web-stable map[app:web] ""`
		return strings.Join(got, " ") == want, fmt.Sprintf("%v, want %s", got, want)
	})
}
