package notifications

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	crclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// crashRollout is one of the crash test's rollouts: two fast pods, a
// three-step canary, selected by the ConfigMap's default subscription
// through its label.
func crashRollout(ns string, i int) *v1alpha1.Rollout {
	name := fmt.Sprintf("notified-%02d", i)
	labels := map[string]string{"app": name}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"notify": "yes"}},
		Spec: v1alpha1.RolloutSpec{
			Replicas: new(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"test.aviary.dev/fast": "true"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "argoproj/rollouts-demo:blue"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
				{SetWeight: new(int32(50))},
				{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromInt32(1))}},
				{SetWeight: new(int32(100))},
			}}},
		},
	}
}

// TestNotificationsSurviveKills: twenty rollouts subscribed by the
// ConfigMap's default subscription walk their steps while the controller is
// killed (SIGKILL) at random moments and started again. Every step and
// completion the Events tell reaches the receiver, and none twice unless a
// kill fell right after the receiver accepted it, before the controller
// could record that (the documented limit, docs/notifications.md).
func TestNotificationsSurviveKills(t *testing.T) {
	const n = 20
	ns := framework.Namespace(t)
	rcv := startReceiver(t, 0)
	settings := webhookSettings(rcv.URL, map[string]string{stepCompleted: "step", completed: "completed"})
	settings["subscriptions"] = "- recipients: [receiver:everyone]\n  triggers: [on-rollout-step-completed, on-rollout-completed]\n  selector: notify=yes\n"
	applySettings(t, ns, settings)

	var mu sync.Mutex
	var starts []time.Time
	start := func() *framework.Controller {
		mu.Lock()
		starts = append(starts, time.Now())
		mu.Unlock()
		return startController(t, ns)
	}
	ctl := start()
	e := framework.Get(t)
	ctx := context.Background()
	for i := range n {
		if err := e.Client.Create(ctx, crashRollout(ns, i)); err != nil {
			t.Fatal(err)
		}
	}
	healthyOn := func(image string) func() (bool, string) {
		return func() (bool, string) {
			var list v1alpha1.RolloutList
			if err := e.Client.List(ctx, &list, crclient.InNamespace(ns)); err != nil {
				return false, err.Error()
			}
			done := 0
			for _, ro := range list.Items {
				if ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Spec.Template.Spec.Containers[0].Image == image &&
					ro.Status.StableRS == ro.Status.CurrentPodHash && ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation) {
					done++
				}
			}
			pending := pendingEvents(t, ns)
			return done == n && len(pending) == 0, fmt.Sprintf("%d of %d Healthy on %s, %d Events pending", done, n, image, len(pending))
		}
	}
	framework.Eventually(t, 90*time.Second, "every rollout Healthy on its first version", healthyOn("argoproj/rollouts-demo:blue"))
	for i := range n {
		setImage(t, ns, fmt.Sprintf("notified-%02d", i), "argoproj/rollouts-demo:green")
	}
	ks := framework.NewKillSchedule(t)
	ctl = ks.Until(t, ctl, start, 8, 4*time.Minute, func() {}, healthyOn("argoproj/rollouts-demo:green"))
	_ = ctl // settled: every rollout done and no Event owing a notification, so none is still to come

	// What the Events told, per rollout and reason, against what arrived.
	told := map[string]int{}
	for _, ev := range framework.RolloutEvents(t, ns) {
		if ev.Reason == stepCompleted || ev.Reason == completed {
			told[ev.Object+" "+ev.Reason]++
		}
	}
	got := map[string][]time.Time{}
	for _, q := range rcv.requests("") {
		reason := map[string]string{"/step": stepCompleted, "/completed": completed}[q.Path]
		got[fmt.Sprint(q.Body["rollout"])+" "+reason] = append(got[fmt.Sprint(q.Body["rollout"])+" "+reason], q.At)
	}
	mu.Lock()
	restarts := append([]time.Time(nil), starts[1:]...)
	mu.Unlock()
	var missing, unexplained, explained []string
	keys := make([]string, 0, len(told))
	for k := range told {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		arrived := got[k]
		switch {
		case len(arrived) < told[k]:
			missing = append(missing, fmt.Sprintf("%s: %d of %d", k, len(arrived), told[k]))
		case len(arrived) > told[k]:
			// A copy is explained by a kill in the moment after an
			// earlier one arrived, before the record of it landed: the
			// restart follows the kill by at most 0.5 s (KillSchedule),
			// and the record takes one Event patch, which a loaded
			// machine (CI) can hold for seconds; so the copy's
			// predecessor arrived at most 5 s before a restart.
			// Facts of one rollout and reason (its first version's
			// completion and its update's) share a key, so any of its
			// arrivals may be the one copied: the copies are explained
			// when as many arrivals came just before a restart.
			extra, candidates := len(arrived)-told[k], 0
			for _, at := range arrived {
				if killedSoonAfter(at, restarts, 5*time.Second) {
					candidates++
				}
			}
			if extra <= candidates {
				for range extra {
					explained = append(explained, k)
				}
			} else {
				unexplained = append(unexplained, fmt.Sprintf("%s: %d, told %d (arrived %s; restarts %s)", k, len(arrived), told[k], stamps(arrived), stamps(restarts)))
			}
		}
	}
	if len(told) != 2*n {
		t.Errorf("Events told steps or completions of %d rollouts, want %d: %v", len(told)/2, n, told)
	}
	if len(missing) > 0 {
		t.Errorf("notifications lost: %s", strings.Join(missing, "; "))
	}
	if len(unexplained) > 0 {
		t.Errorf("notifications sent twice with no kill to explain it: %s", strings.Join(unexplained, "; "))
	}
	t.Logf("%d notifications for %d facts told; %d copies after a kill right after delivery: %v",
		len(rcv.requests("")), sum(told), len(explained), explained)
}

func killedSoonAfter(at time.Time, restarts []time.Time, within time.Duration) bool {
	for _, r := range restarts {
		if r.After(at) && r.Sub(at) <= within {
			return true
		}
	}
	return false
}

func stamps(ts []time.Time) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Format("15:04:05.000"))
	}
	return strings.Join(out, " ")
}

func sum(m map[string]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}
