package notifications

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/notify"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const (
	stepCompleted = "RolloutStepCompleted"
	completed     = "RolloutCompleted"
	aborted       = "RolloutAborted"
)

// seedPaths routes the three triggers of the webhook tests to paths of
// their own.
var seedPaths = map[string]string{stepCompleted: "step", completed: "completed", aborted: "aborted"}

// subscribe sends the patch `kubectl annotate` sends: the rollout
// subscribes the receiver to the three triggers.
func subscribe(t *testing.T, ns, name string) {
	t.Helper()
	args := []string{"annotate", "rollout", name, "-n", ns}
	for reason := range seedPaths {
		args = append(args, fmt.Sprintf("notifications.argoproj.io/subscribe.%s.receiver=ops-%s", triggerOf(reason), name))
	}
	if out, err := framework.Get(t).Kubectl(context.Background(), args...); err != nil {
		t.Fatalf("subscribe: %v\n%s", err, out)
	}
}

func triggerOf(reason string) string {
	return map[string]string{stepCompleted: "on-rollout-step-completed", completed: "on-rollout-completed", aborted: "on-rollout-aborted"}[reason]
}

func rolloutOf(t *testing.T, ns, name string) *v1alpha1.Rollout {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := framework.Get(t).Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &ro); err != nil {
		t.Fatal(err)
	}
	return &ro
}

func kubectl(t *testing.T, args ...string) {
	t.Helper()
	if out, err := framework.Get(t).Kubectl(context.Background(), args...); err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
}

// setImage and patchStatus send what `kubectl argo rollouts set image`,
// promote and abort send.
func setImage(t *testing.T, ns, name, image string) {
	t.Helper()
	kubectl(t, "patch", "rollout", name, "-n", ns, "--type", "json",
		"-p", fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, image))
}

func patchStatus(t *testing.T, ns, name, patch string) {
	t.Helper()
	kubectl(t, "patch", "rollout", name, "-n", ns, "--subresource=status", "--type", "merge", "-p", patch)
}

func waitPhase(t *testing.T, ns, name string, timeout time.Duration, what string, ok func(*v1alpha1.Rollout) bool) {
	t.Helper()
	framework.Eventually(t, timeout, what, func() (bool, string) {
		ro := rolloutOf(t, ns, name)
		idx := "nil"
		if ro.Status.CurrentStepIndex != nil {
			idx = fmt.Sprint(*ro.Status.CurrentStepIndex)
		}
		return ok(ro), fmt.Sprintf("phase %s %q step %s", ro.Status.Phase, ro.Status.Message, idx)
	})
}

// TestWebhookStepsCompletionAndAbort walks seed 03 through its eight steps
// to completion, then a second update to its first pause and an abort, with
// the rollout subscribed to on-rollout-step-completed, on-rollout-completed
// and on-rollout-aborted on a webhook: the receiver gets one request per
// step completed, one for the completion and one for the abort, each with
// its template rendered, and no Event is left owing a notification.
func TestWebhookStepsCompletionAndAbort(t *testing.T) {
	ns := framework.Namespace(t)
	rcv := startReceiver(t, 0)
	applySettings(t, ns, webhookSettings(rcv.URL, seedPaths))
	ctl := startController(t, ns)
	kubectl(t, "apply", "-n", ns, "-f", framework.Example(t, "03-basic-canary.yaml"))
	const name = "rollouts-demo"
	waitPhase(t, ns, name, 60*time.Second, "the first version Healthy", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS != ""
	})
	subscribe(t, ns, name)
	before := counts(t, ns, name)

	setImage(t, ns, name, "argoproj/rollouts-demo:green")
	waitPhase(t, ns, name, 60*time.Second, "paused at step 1", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1
	})
	patchStatus(t, ns, name, `{"status":{"pauseConditions":null}}`)
	waitPhase(t, ns, name, 120*time.Second, "green Healthy after the eight steps", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 8
	})
	setImage(t, ns, name, "argoproj/rollouts-demo:yellow")
	waitPhase(t, ns, name, 60*time.Second, "the second update paused at step 1", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1
	})
	patchStatus(t, ns, name, `{"status":{"abort":true}}`)
	waitPhase(t, ns, name, 60*time.Second, "aborted", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded
	})

	after := counts(t, ns, name)
	want := map[string]int{}
	for reason := range seedPaths {
		want[reason] = after[reason] - before[reason]
	}
	// Eight steps, then the second update's first; one completion; one
	// abort: what the Events tell is what the receiver must get.
	if want[stepCompleted] != 9 || want[completed] != 1 || want[aborted] != 1 {
		t.Fatalf("the Events told %v since the subscription, want 9 step completions, 1 completion, 1 abort", want)
	}
	framework.Eventually(t, 30*time.Second, "every notification delivered once", func() (bool, string) {
		ok := true
		var got []string
		for reason, path := range seedPaths {
			n := len(rcv.requests("/" + path))
			ok = ok && n >= want[reason]
			got = append(got, fmt.Sprintf("%s %d of %d", path, n, want[reason]))
		}
		return ok && len(pendingEvents(t, ns)) == 0, fmt.Sprint(got, " pending ", pendingEvents(t, ns))
	})
	// No Event owes anything any more, so nothing more will be sent: what
	// arrived is all there is.
	for reason, path := range seedPaths {
		if n := len(rcv.requests("/" + path)); n != want[reason] {
			t.Errorf("%s: %d requests, want exactly %d: %s", path, n, want[reason], describe(rcv.requests("/"+path)))
		}
	}
	for _, q := range rcv.requests("") {
		if q.Body["rollout"] != name || q.Body["recipient"] != "ops-"+name || q.Body["service"] != "receiver" {
			t.Errorf("request %s not rendered from its template: %v", q.Path, q.Body)
		}
	}
	// Argo Rollouts' metrics count them.
	body, err := framework.HTTPGet("http://" + ctl.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf(`notification_send_success{name="%s",namespace="%s",reason="RolloutStepCompleted",type="Normal"} 9`, name, ns),
		fmt.Sprintf(`notification_send_success{name="%s",namespace="%s",reason="RolloutCompleted",type="Normal"} 1`, name, ns),
		fmt.Sprintf(`notification_send_success{name="%s",namespace="%s",reason="RolloutAborted",type="Warning"} 1`, name, ns),
		fmt.Sprintf(`notification_send_count{name="%s",namespace="%s"} 11`, name, ns),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "notification_send_error{") {
		t.Errorf("/metrics counts send errors where none happened")
	}
	// Each renders the Rollout its decision was made from, as Argo
	// Rollouts renders the one its event was recorded with: a step's
	// notification has the index of the step completed, not of the next.
	var steps []string
	for _, q := range rcv.requests("/step") {
		steps = append(steps, fmt.Sprint(q.Body["step"]))
	}
	slices.Sort(steps)
	if want := []string{"0", "0", "1", "2", "3", "4", "5", "6", "7"}; !slices.Equal(steps, want) {
		t.Errorf("step notifications rendered step indexes %v, want %v (eight steps, then the second update's first)", steps, want)
	}
}

// TestFailingReceiverIsRetriedWithoutBlocking: a receiver answering 500
// to its first requests gets each notification once it recovers, and the
// rollout goes on meanwhile.
func TestFailingReceiverIsRetriedWithoutBlocking(t *testing.T) {
	ns := framework.Namespace(t)
	// The engine tries twice per send (retryMax 1): six refusals fail
	// three of Aviary's attempts.
	rcv := startReceiver(t, 6)
	applySettings(t, ns, webhookSettings(rcv.URL, seedPaths))
	startController(t, ns)
	const name = "rollouts-demo"
	firstUpdate(t, ns)
	// The rollout went on while its notification was still refused.
	if n := len(rcv.requests("/step")); n != 0 {
		t.Fatalf("the step's notification arrived (%d) before the rollout paused, through a receiver refusing its first 6 requests", n)
	}
	framework.Eventually(t, 60*time.Second, "the step's notification delivered after the receiver recovered", func() (bool, string) {
		return len(rcv.requests("/step")) >= 1 && len(pendingEvents(t, ns)) == 0,
			fmt.Sprintf("%d delivered, pending %v", len(rcv.requests("/step")), pendingEvents(t, ns))
	})
	if n := len(rcv.requests("/step")); n != 1 {
		t.Errorf("%d step notifications, want exactly 1", n)
	}
	rcv.mu.Lock()
	refused := rcv.refused
	rcv.mu.Unlock()
	if refused != 6 {
		t.Errorf("the receiver refused %d requests, want 6", refused)
	}
	// Users see the failures on the rollout.
	list, err := framework.Get(t).Clientset.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=" + notify.ReasonSendFailed})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) == 0 || list.Items[0].InvolvedObject.Name != name || list.Items[0].Type != "Warning" {
		t.Errorf("no Warning %s Event on the rollout: %+v", notify.ReasonSendFailed, list.Items)
	}
}
