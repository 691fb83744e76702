package canary

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestRoleMetadataFollowsPods checks canaryMetadata/stableMetadata (seed
// 05's `deployment: canary|stable` labels) on live pods: the first version's
// pods are stable, the new version's pods are canary during the update, and
// they are relabelled stable once promoted.
func TestRoleMetadataFollowsPods(t *testing.T) {
	e := framework.Get(t)
	ns, _ := scopedNamespace(t)
	manifest := strings.Replace(servicesManifest, "      steps:\n", `      antiAffinity:
        preferredDuringSchedulingIgnoredDuringExecution: {weight: 50}
      canaryMetadata:
        labels: {deployment: canary}
      stableMetadata:
        labels: {deployment: stable}
      steps:
`, 1)
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-canary")+"---\n"+strings.ReplaceAll(serviceTemplate, "NAME", "web-stable")+"---\n"+manifest)

	roles := func() map[string]map[string]int {
		pods, err := e.Clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]int{}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			h := p.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
			if out[h] == nil {
				out[h] = map[string]int{}
			}
			out[h][p.Labels["deployment"]]++
		}
		return out
	}
	var blue, green string
	framework.Eventually(t, 60*time.Second, "first version's 4 pods labelled stable", func() (bool, string) {
		ro, _, _ := rolloutState(t, ns, "rollouts-demo")
		blue = ro.Status.StableRS
		r := roles()
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && r[blue]["stable"] == 4, fmt.Sprint(r)
	})
	setImage(t, ns, "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "1 canary pod labelled canary, 3 stable pods labelled stable", func() (bool, string) {
		ro, _, _ := rolloutState(t, ns, "rollouts-demo")
		green = ro.Status.CurrentPodHash
		r := roles()
		return green != blue && r[green]["canary"] == 1 && r[blue]["stable"] == 3, fmt.Sprint(r)
	})
	// antiAffinity: the canary's pods prefer nodes without stable pods.
	var rs appsv1.ReplicaSet
	if err := e.Client.Get(context.Background(), framework.Key(ns, "rollouts-demo-"+green), &rs); err != nil {
		t.Fatal(err)
	}
	if aff := rs.Spec.Template.Spec.Affinity; aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 ||
		aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight != 50 ||
		aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.LabelSelector.MatchExpressions[0].Values[0] != blue {
		t.Fatalf("canary ReplicaSet lacks the anti-affinity against %s: %+v", blue, aff)
	}
	patchStatus(t, ns, `{"status":{"promoteFull":true}}`)
	framework.Eventually(t, 60*time.Second, "the promoted pods relabelled stable", func() (bool, string) {
		ro, _, _ := rolloutState(t, ns, "rollouts-demo")
		r := roles()
		return ro.Status.StableRS == green && r[green]["stable"] == 4 && r[green]["canary"] == 0, fmt.Sprint(r)
	})
	framework.Eventually(t, 20*time.Second, "the promoted ReplicaSet without the canary's anti-affinity", func() (bool, string) {
		var rs appsv1.ReplicaSet
		if err := e.Client.Get(context.Background(), framework.Key(ns, "rollouts-demo-"+green), &rs); err != nil {
			return false, err.Error()
		}
		return rs.Spec.Template.Spec.Affinity == nil, fmt.Sprintf("%+v", rs.Spec.Template.Spec.Affinity)
	})
}
