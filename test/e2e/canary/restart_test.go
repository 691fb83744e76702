package canary

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestRestartReplacesEveryPod sends what `kubectl argo rollouts restart`
// sends (spec.restartAt): every pod older than it is evicted and replaced,
// and status.restartedAt echoes it when done.
func TestRestartReplacesEveryPod(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-canary")+"---\n"+strings.ReplaceAll(serviceTemplate, "NAME", "web-stable")+"---\n"+servicesManifest)
	waitForFirstVersion(t, ns, 4)
	before, err := e.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]bool{}
	for _, p := range before.Items {
		old[p.Name] = true
	}
	// Kubernetes times have second precision: make every pod strictly older.
	time.Sleep(1100 * time.Millisecond)
	restartAt := time.Now().UTC().Format(time.RFC3339)
	if out, err := e.Kubectl(ctx, "patch", "rollout", "rollouts-demo", "-n", ns, "--type", "merge",
		"-p", fmt.Sprintf(`{"spec":{"restartAt":%q}}`, restartAt)); err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	framework.Eventually(t, 90*time.Second, "all pods replaced and restartedAt recorded", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		pods, err := e.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		survivors := 0
		for _, p := range pods.Items {
			if old[p.Name] {
				survivors++
			}
		}
		ok := survivors == 0 && ro.Status.RestartedAt != nil && ro.Status.RestartedAt.UTC().Format(time.RFC3339) == restartAt &&
			ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.AvailableReplicas == 4
		return ok, fmt.Sprintf("%d old pods left; %s", survivors, describe(ro, spec, avail))
	})
}

// restartBatchManifest is Argo Rollouts' own restart e2e rollout: 4 replicas,
// maxUnavailable 75%, paused at setWeight 25. Its pods start unready (the
// test turns each one Ready by hand), so the replacements a restart creates
// stay unready and the moment right after the first batch holds still.
const restartBatchManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollout-restart
spec:
  replicas: 4
  selector:
    matchLabels: {app: rollout-restart}
  template:
    metadata:
      labels: {app: rollout-restart}
      annotations: {test.aviary.dev/state: unready}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      maxUnavailable: 75%
      steps:
      - setWeight: 25
      - pause: {}
`

// readyPods turns every unready pod of the namespace Ready and returns how
// many pods it found and how many were Ready already.
func readyPods(t *testing.T, ns string) (total, ready int) {
	t.Helper()
	pods, err := framework.Get(t).Clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		total++
		if p.Annotations[framework.PodStateAnnotation] == string(framework.PodReady) {
			ready++
			continue
		}
		framework.SetPodState(t, ns, p.Name, framework.PodReady)
	}
	return total, ready
}

// TestRestartEvictsOneBatchWithinMaxUnavailable is Argo Rollouts'
// TestRolloutRestart: restarting a 4-replica canary paused at 25% with
// maxUnavailable 75% evicts three pods at once (max(maxUnavailable, 1),
// keeping max(replicas, pods wanted) - 3 = 1 available), so right after the
// restart desired/current/updated/ready/available read 4/4/1/1/1. The
// replacements are held unready, so the count stays there until the test
// lets them become Ready; then the rest is replaced and restartedAt set.
func TestRestartEvictsOneBatchWithinMaxUnavailable(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, restartBatchManifest)
	status := func() (*v1alpha1.Rollout, string) {
		var ro v1alpha1.Rollout
		if err := e.Client.Get(ctx, framework.Key(ns, "rollout-restart"), &ro); err != nil {
			t.Fatal(err)
		}
		s := ro.Status
		return &ro, fmt.Sprintf("phase %s %q, replicas %d/%d/%d/%d/%d (desired/current/updated/ready/available)",
			s.Phase, s.Message, *ro.Spec.Replicas, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas)
	}
	framework.Eventually(t, 60*time.Second, "the first version Healthy with 4 pods", func() (bool, string) {
		total, ready := readyPods(t, ns)
		ro, why := status()
		return total == 4 && ready == 4 && ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.AvailableReplicas == 4, why
	})
	framework.SetRolloutImage(t, ns, "rollout-restart", "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "paused at 25% with 1 canary and 3 stable pods, all available", func() (bool, string) {
		total, ready := readyPods(t, ns)
		ro, why := status()
		s := ro.Status
		ok := total == 4 && ready == 4 && s.Phase == v1alpha1.RolloutPhasePaused && s.Replicas == 4 && s.UpdatedReplicas == 1 && s.AvailableReplicas == 4
		return ok, why
	})
	// Kubernetes times have second precision: make every pod strictly older.
	time.Sleep(1100 * time.Millisecond)
	restartAt := time.Now().UTC().Format(time.RFC3339)
	if out, err := e.Kubectl(ctx, "patch", "rollout", "rollout-restart", "-n", ns, "--type", "merge",
		"-p", fmt.Sprintf(`{"spec":{"restartAt":%q}}`, restartAt)); err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	want := "replicas 4/4/1/1/1"
	framework.Eventually(t, 30*time.Second, "the first batch acted on: "+want, func() (bool, string) {
		_, why := status()
		return strings.Contains(why, want), why
	})
	// It stays there: nothing more may go while the replacements are unready.
	for range 10 {
		time.Sleep(300 * time.Millisecond)
		if _, why := status(); !strings.Contains(why, want) {
			t.Fatalf("after the first batch: %s, want %s", why, want)
		}
	}
	framework.Eventually(t, 90*time.Second, "every pod replaced and restartedAt recorded", func() (bool, string) {
		readyPods(t, ns)
		ro, why := status()
		s := ro.Status
		ok := s.RestartedAt != nil && s.RestartedAt.UTC().Format(time.RFC3339) == restartAt && s.Phase == v1alpha1.RolloutPhasePaused &&
			s.ReadyReplicas == 4 && s.AvailableReplicas == 4
		return ok, why
	})
}

const restartMinReadyManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollout-restart
spec:
  replicas: 4
  minReadySeconds: 3
  selector:
    matchLabels: {app: rollout-restart}
  template:
    metadata:
      labels: {app: rollout-restart}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      maxUnavailable: 1
      steps:
      - setWeight: 50
      - pause: {}
`

// availablePods counts the namespace's pods that are not terminating and
// have been Ready for longer than minReady, as a ReplicaSet counts them.
func availablePods(t *testing.T, ns string, minReady time.Duration) (available, total int) {
	t.Helper()
	pods, err := framework.Get(t).Clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		total++
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && c.LastTransitionTime.Add(minReady).Before(now) {
				available++
			}
		}
	}
	return available, total
}

// TestRestartWaitsForMinReadySeconds restarts a 4-replica canary with
// maxUnavailable 1 and minReadySeconds 3: a replacement counts only once it
// has been Ready for 3 seconds, so the pods available never drop below
// 4 - 1 = 3 while every pod is replaced, one at a time.
func TestRestartWaitsForMinReadySeconds(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, restartMinReadyManifest)
	framework.Eventually(t, 60*time.Second, "the first version Healthy with 4 pods available", func() (bool, string) {
		var ro v1alpha1.Rollout
		if err := e.Client.Get(ctx, framework.Key(ns, "rollout-restart"), &ro); err != nil {
			return false, err.Error()
		}
		avail, total := availablePods(t, ns, 3*time.Second)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.AvailableReplicas == 4 && avail == 4 && total == 4,
			fmt.Sprintf("phase %s, available %d, pods %d/%d available", ro.Status.Phase, ro.Status.AvailableReplicas, avail, total)
	})
	time.Sleep(1100 * time.Millisecond)
	restartAt := time.Now().UTC().Format(time.RFC3339)
	if out, err := e.Kubectl(ctx, "patch", "rollout", "rollout-restart", "-n", ns, "--type", "merge",
		"-p", fmt.Sprintf(`{"spec":{"restartAt":%q}}`, restartAt)); err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	lowest := 4
	framework.Eventually(t, 120*time.Second, "every pod replaced and restartedAt recorded", func() (bool, string) {
		var ro v1alpha1.Rollout
		if err := e.Client.Get(ctx, framework.Key(ns, "rollout-restart"), &ro); err != nil {
			return false, err.Error()
		}
		avail, total := availablePods(t, ns, 3*time.Second)
		if avail < lowest {
			lowest = avail
			t.Logf("%s: %d of %d pods available", time.Now().Format("15:04:05.000"), avail, total)
		}
		if lowest < 3 {
			t.Fatalf("only %d pods available during the restart, want at least 3 (replicas 4 - maxUnavailable 1)", lowest)
		}
		done := ro.Status.RestartedAt != nil && ro.Status.RestartedAt.UTC().Format(time.RFC3339) == restartAt
		return done && avail == 4, fmt.Sprintf("restartedAt %v, %d of %d pods available", ro.Status.RestartedAt, avail, total)
	})
	old, err := e.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range old.Items {
		if p.CreationTimestamp.UTC().Format(time.RFC3339) < restartAt {
			t.Errorf("pod %s (created %s) was not replaced", p.Name, p.CreationTimestamp.UTC().Format(time.RFC3339))
		}
	}
}

// TestRestartCountsMissingPodsAgainstTheBatch restarts the same rollout
// while a ResourceQuota holds it at 3 of its 4 pods. The pod that cannot be
// created counts as unavailable, as Argo Rollouts counts it (available must
// stay at max(replicas, pods wanted) - 3 = 1), so only two pods go in the
// first batch and one stays ready; the replacements are held unready, so
// nothing more goes until the test lets them become Ready.
func TestRestartCountsMissingPodsAgainstTheBatch(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: three-pods\nspec:\n  hard: {pods: \"3\"}\n")
	framework.Eventually(t, 30*time.Second, "the quota counted", func() (bool, string) {
		q, err := e.Clientset.CoreV1().ResourceQuotas(ns).Get(ctx, "three-pods", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		_, ok := q.Status.Used[corev1.ResourcePods]
		return ok, fmt.Sprint(q.Status)
	})
	applyYAML(t, ns, restartBatchManifest)
	framework.Eventually(t, 60*time.Second, "3 of 4 pods up and available", func() (bool, string) {
		total, ready := readyPods(t, ns)
		var ro v1alpha1.Rollout
		if err := e.Client.Get(ctx, framework.Key(ns, "rollout-restart"), &ro); err != nil {
			return false, err.Error()
		}
		return total == 3 && ready == 3 && ro.Status.AvailableReplicas == 3, fmt.Sprintf("pods %d, ready %d, rollout available %d", total, ready, ro.Status.AvailableReplicas)
	})
	time.Sleep(1100 * time.Millisecond)
	restartAt := time.Now().UTC()
	if out, err := e.Kubectl(ctx, "patch", "rollout", "rollout-restart", "-n", ns, "--type", "merge",
		"-p", fmt.Sprintf(`{"spec":{"restartAt":%q}}`, restartAt.Format(time.RFC3339))); err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	// Pods created before the restart that are still Ready and not going.
	oldReady := func() (int, string) {
		pods, err := e.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, all := 0, []string{}
		for _, p := range pods.Items {
			old := p.CreationTimestamp.Time.Before(restartAt.Truncate(time.Second))
			ready := false
			for _, c := range p.Status.Conditions {
				ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
			}
			if old && ready && p.DeletionTimestamp == nil {
				n++
			}
			all = append(all, fmt.Sprintf("%s old=%v ready=%v terminating=%v", p.Name, old, ready, p.DeletionTimestamp != nil))
		}
		return n, strings.Join(all, "; ")
	}
	framework.Eventually(t, 30*time.Second, "the first batch evicted", func() (bool, string) {
		n, why := oldReady()
		return n < 3, why
	})
	time.Sleep(time.Second) // the rest of the batch, had there been more
	for range 10 {
		if n, why := oldReady(); n != 1 {
			t.Fatalf("after the first batch %d old pods are ready, want 1 (two evicted of three, the missing fourth counted): %s", n, why)
		}
		time.Sleep(300 * time.Millisecond)
	}
	framework.Eventually(t, 90*time.Second, "every pod replaced and restartedAt recorded", func() (bool, string) {
		readyPods(t, ns)
		n, why := oldReady()
		var ro v1alpha1.Rollout
		if err := e.Client.Get(ctx, framework.Key(ns, "rollout-restart"), &ro); err != nil {
			return false, err.Error()
		}
		done := ro.Status.RestartedAt != nil && ro.Status.RestartedAt.UTC().Format(time.RFC3339) == restartAt.Format(time.RFC3339)
		return done && n == 0, fmt.Sprintf("restartedAt %v; %s", ro.Status.RestartedAt, why)
	})
}

// TestRestartInTheFutureWaits sends what `kubectl argo rollouts restart
// --in 6s` sends: a restartAt ahead of now. No pod is evicted before it;
// then every pod is replaced, without waiting for a periodic recheck.
func TestRestartInTheFutureWaits(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-canary")+"---\n"+strings.ReplaceAll(serviceTemplate, "NAME", "web-stable")+"---\n"+servicesManifest)
	waitForFirstVersion(t, ns, 4)
	before, err := e.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]bool{}
	for _, p := range before.Items {
		old[p.Name] = true
	}
	at := time.Now().Add(6 * time.Second).Truncate(time.Second)
	if out, err := e.Kubectl(ctx, "patch", "rollout", "rollouts-demo", "-n", ns, "--type", "merge",
		"-p", fmt.Sprintf(`{"spec":{"restartAt":%q}}`, at.UTC().Format(time.RFC3339))); err != nil {
		t.Fatalf("restart: %v\n%s", err, out)
	}
	survivors := func() int {
		pods, err := e.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range pods.Items {
			if old[p.Name] && p.DeletionTimestamp == nil {
				n++
			}
		}
		return n
	}
	for time.Until(at) > 500*time.Millisecond {
		if n := survivors(); n != 4 {
			t.Fatalf("%s before restartAt: %d of 4 old pods left, want all 4", time.Until(at).Round(time.Millisecond), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Well within the 30 s recheck: the restart is due at restartAt.
	framework.Eventually(t, 20*time.Second, "all pods replaced and restartedAt recorded", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		n := survivors()
		ok := n == 0 && ro.Status.RestartedAt != nil && ro.Status.RestartedAt.Time.Equal(at) && ro.Status.AvailableReplicas == 4
		return ok, fmt.Sprintf("%d old pods left; %s", n, describe(ro, spec, avail))
	})
}
