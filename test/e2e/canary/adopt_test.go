package canary

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestOrphanedReplicaSetsAreAdoptedNotRecreated deletes a healthy Rollout
// with --cascade=orphan and applies it again: the new Rollout object must
// adopt the same ReplicaSet (same hash, same name) and keep every pod.
func TestOrphanedReplicaSetsAreAdoptedNotRecreated(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns, _ := scopedNamespace(t)
	all := strings.ReplaceAll(serviceTemplate, "NAME", "web-canary") + "---\n" + strings.ReplaceAll(serviceTemplate, "NAME", "web-stable") + "---\n" + servicesManifest
	applyYAML(t, ns, all)
	hash := waitForFirstVersion(t, ns, 4)
	podNames := func() []string {
		pods, err := e.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range pods.Items {
			names = append(names, p.Name)
		}
		slices.Sort(names)
		return names
	}
	before := podNames()
	if out, err := e.Kubectl(ctx, "delete", "rollout", "rollouts-demo", "-n", ns, "--cascade=orphan"); err != nil {
		t.Fatalf("delete --cascade=orphan: %v\n%s", err, out)
	}
	applyYAML(t, ns, all)
	framework.Eventually(t, 60*time.Second, "the recreated Rollout healthy on the adopted ReplicaSet", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		var rs appsv1.ReplicaSet
		if err := e.Client.Get(ctx, framework.Key(ns, "rollouts-demo-"+hash), &rs); err != nil {
			return false, err.Error()
		}
		owner := metav1.GetControllerOf(&rs)
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == hash && len(spec) == 1 &&
			owner != nil && owner.UID == ro.UID
		return ok, fmt.Sprintf("owner %v; %s", owner, describe(ro, spec, avail))
	})
	if after := podNames(); !slices.Equal(before, after) {
		t.Errorf("pods were recreated: before %v, after %v", before, after)
	}
}
