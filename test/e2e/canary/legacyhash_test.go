package canary

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/podhash"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestLegacyHashMatchesKubernetes checks LegacyPodTemplateHash against the
// real kube-controller-manager: the pod-template-hash of a Deployment's
// ReplicaSet is that hash of the Deployment's template.
func TestLegacyHashMatchesKubernetes(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	labels := map[string]string{"app": "legacy"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: ns}, Spec: appsv1.DeploymentSpec{
		Replicas: new(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "argoproj/rollouts-demo:blue", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}}},
	}}
	if err := e.Client.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "the Deployment's ReplicaSet hash to equal LegacyPodTemplateHash", func() (bool, string) {
		var list appsv1.ReplicaSetList
		if err := e.Client.List(ctx, &list, client.InNamespace(ns)); err != nil || len(list.Items) != 1 {
			return false, fmt.Sprintf("%d ReplicaSets (%v)", len(list.Items), err)
		}
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return false, err.Error()
		}
		got, want := podhash.LegacyPodTemplateHash(&dep.Spec.Template, dep.Status.CollisionCount), list.Items[0].Labels["pod-template-hash"]
		return got == want, fmt.Sprintf("computed %s, kube-controller-manager %s", got, want)
	})
}

// TestLegacyHashReplicaSetIsKept starts the controller on a Rollout whose
// running ReplicaSet carries the Kubernetes-style hash an old Argo Rollouts
// gave it: the controller adopts it as the current version instead of
// creating a new ReplicaSet and replacing the pods.
func TestLegacyHashReplicaSetIsKept(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-canary")+"---\n"+strings.ReplaceAll(serviceTemplate, "NAME", "web-stable")+"---\n"+servicesManifest)
	var ro v1alpha1.Rollout
	if err := e.Client.Get(ctx, framework.Key(ns, "rollouts-demo"), &ro); err != nil {
		t.Fatal(err)
	}
	legacy := podhash.LegacyPodTemplateHash(&ro.Spec.Template, nil)
	tmpl := ro.Spec.Template.DeepCopy()
	tmpl.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = legacy
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rollouts-demo-" + legacy, Namespace: ns,
		Labels:      map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: legacy},
		Annotations: map[string]string{v1alpha1.RevisionAnnotation: "1"}},
		Spec: appsv1.ReplicaSetSpec{Replicas: new(int32(4)), Template: *tmpl,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: legacy}}}}
	if err := e.Client.Create(ctx, rs); err != nil {
		t.Fatal(err)
	}
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	framework.Eventually(t, 60*time.Second, "Healthy on the legacy-hash ReplicaSet, no new ReplicaSet", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == legacy && ro.Status.CurrentPodHash == legacy &&
			len(spec) == 1 && avail[legacy] == 4
		return ok, describe(ro, spec, avail)
	})
	if got := eventMessages(t, ns, "NewReplicaSetCreated"); len(got) != 0 {
		t.Errorf("a ReplicaSet was created: %v", got)
	}
}
