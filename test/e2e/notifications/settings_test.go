package notifications

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/notify"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// firstUpdate applies seed 03, subscribes it and takes it to its first
// pause on a new image.
func firstUpdate(t *testing.T, ns string) {
	t.Helper()
	kubectl(t, "apply", "-n", ns, "-f", framework.Example(t, "03-basic-canary.yaml"))
	const name = "rollouts-demo"
	waitPhase(t, ns, name, 60*time.Second, "the first version Healthy", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS != ""
	})
	subscribe(t, ns, name)
	setImage(t, ns, name, "argoproj/rollouts-demo:green")
	waitPhase(t, ns, name, 60*time.Second, "paused at step 1", func(ro *v1alpha1.Rollout) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhasePaused && ro.Status.CurrentStepIndex != nil && *ro.Status.CurrentStepIndex == 1
	})
}

// warnings lists the messages of the Warning Events in ns with reason.
func warnings(t *testing.T, ns, reason string) []string {
	t.Helper()
	list, err := framework.Get(t).Clientset.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=" + reason})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.Type == corev1.EventTypeWarning {
			out = append(out, e.InvolvedObject.Name+": "+e.Message)
		}
	}
	return out
}

// TestMalformedTemplateIsReportedAndRolloutGoesOn: a template that does not
// parse stops no rollout; a Warning Event on the rollout names the key, and
// once the ConfigMap is fixed the notification is sent.
func TestMalformedTemplateIsReportedAndRolloutGoesOn(t *testing.T) {
	ns := framework.Namespace(t)
	rcv := startReceiver(t, 0)
	settings := webhookSettings(rcv.URL, seedPaths)
	good := settings["template.step"]
	settings["template.step"] = strings.Replace(good, "{{.rollout.metadata.name}}", "{{.rollout.metadata.name", 1)
	applySettings(t, ns, settings)
	ctl := startController(t, ns)
	firstUpdate(t, ns)

	framework.Eventually(t, 30*time.Second, "a Warning naming the broken key", func() (bool, string) {
		got := warnings(t, ns, notify.ReasonConfigInvalid)
		for _, w := range got {
			if strings.HasPrefix(w, "rollouts-demo: ") && strings.Contains(w, `key "template.step"`) {
				return true, ""
			}
		}
		return false, fmt.Sprint(got)
	})
	if !strings.Contains(ctl.Output(), `key \"template.step\"`) {
		t.Errorf("the controller's log does not name the key")
	}
	if n := len(rcv.requests("")); n != 0 {
		t.Fatalf("%d notifications sent with a broken template", n)
	}

	// Fixed, the step's notification goes out at once, not after the
	// backoff its failures built up.
	kubectl(t, "patch", "configmap", notify.ConfigMapName, "-n", ns, "--type", "merge",
		"-p", fmt.Sprintf(`{"data":{"template.step":%q}}`, good))
	framework.Eventually(t, 15*time.Second, "the step's notification sent once the template is fixed", func() (bool, string) {
		n := len(rcv.requests("/step"))
		return n == 1 && len(pendingEvents(t, ns)) == 0, fmt.Sprintf("%d sent, pending %v", n, pendingEvents(t, ns))
	})
}

// TestSelfServiceSettingsAndSecretsStayOutOfLogs: with
// --self-service-notification-enabled the settings in the rollout's own
// namespace apply (the controller's namespace has none). The webhook's URL
// takes a token from the namespace's Secret; while the receiver refuses,
// neither the controller's log nor the Events show it.
func TestSelfServiceSettingsAndSecretsStayOutOfLogs(t *testing.T) {
	controllerNS := framework.Namespace(t)
	ns := framework.Namespace(t)
	rcv := startReceiver(t, 2)
	const token = "s3cr3t-t0k3n-9f2c"
	settings := webhookSettings(rcv.URL+"/hooks/$hook-token", seedPaths)
	cs := framework.Get(t).Clientset
	ctx := context.Background()
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: notify.ConfigMapName}, Data: settings}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: notify.SecretName},
		StringData: map[string]string{"hook-token": token}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("POD_NAMESPACE", controllerNS)
	ctl := framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns, "--self-service-notification-enabled")
	firstUpdate(t, ns)

	framework.Eventually(t, 30*time.Second, "the step's notification through the namespace's own settings", func() (bool, string) {
		n := len(rcv.requests("/hooks/" + token + "/step"))
		return n == 1 && len(pendingEvents(t, ns)) == 0, fmt.Sprintf("%d sent (all: %s), pending %v", n, describe(rcv.requests("")), pendingEvents(t, ns))
	})
	if strings.Contains(ctl.Output(), token) {
		t.Errorf("the controller's log shows the Secret's token")
	}
	for _, w := range warnings(t, ns, notify.ReasonSendFailed) {
		if strings.Contains(w, token) {
			t.Errorf("an Event shows the Secret's token: %s", w)
		}
	}
	if len(warnings(t, ns, notify.ReasonSendFailed)) == 0 {
		t.Errorf("no %s Warning while the receiver refused", notify.ReasonSendFailed)
	}
}
