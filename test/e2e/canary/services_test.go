package canary

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const servicesManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      canaryService: web-canary
      stableService: web-stable
      steps:
      - setWeight: 25
      - pause: {}
`

const serviceTemplate = `apiVersion: v1
kind: Service
metadata:
  name: NAME
spec:
  selector: {app: web}
  ports: [{port: 80}]
`

func serviceHash(t *testing.T, ns, name string) (string, string) {
	t.Helper()
	svc, err := framework.Get(t).Clientset.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return "", err.Error()
	}
	return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey], svc.Annotations[v1alpha1.ManagedByRolloutsKey]
}

func applyYAML(t *testing.T, ns, manifest string) {
	t.Helper()
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

// TestCanaryAndStableServicesFollowTheirReplicaSets checks the selector
// pinning: both Services start on the first version; during an update the
// canary Service selects the new pods and the stable Service the old; an
// abort points the canary Service back at stable.
func TestCanaryAndStableServicesFollowTheirReplicaSets(t *testing.T) {
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-canary")+"---\n"+strings.ReplaceAll(serviceTemplate, "NAME", "web-stable")+"---\n"+servicesManifest)

	want := func(what, canary, stable string) {
		framework.Eventually(t, 60*time.Second, what, func() (bool, string) {
			c, cOwner := serviceHash(t, ns, "web-canary")
			s, sOwner := serviceHash(t, ns, "web-stable")
			return c == canary && s == stable && cOwner == "rollouts-demo" && sOwner == "rollouts-demo",
				"canary svc " + c + " (" + cOwner + "), stable svc " + s + " (" + sOwner + ")"
		})
	}
	blue := waitForFirstVersion(t, ns, 4)
	want("both Services on the first version", blue, blue)

	setImage(t, ns, "argoproj/rollouts-demo:green")
	var green string
	framework.Eventually(t, 60*time.Second, "paused with one canary pod", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		green = ro.Status.CurrentPodHash
		return ro.Status.Phase == v1alpha1.RolloutPhasePaused && avail[green] == 1, describe(ro, spec, avail)
	})
	want("canary Service on the new pods, stable on the old", green, blue)

	patchStatus(t, ns, `{"status":{"abort":true}}`)
	want("after abort both Services on stable", blue, blue)
}

// TestMissingServiceIsInvalidSpec names the missing Service in the
// Rollout's status and recovers once it exists.
func TestMissingServiceIsInvalidSpec(t *testing.T) {
	e := framework.Get(t)
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-canary")+"---\n"+servicesManifest)
	framework.Eventually(t, 30*time.Second, "Degraded with InvalidSpec naming the Service", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		ok := ro.Status.Phase == v1alpha1.RolloutPhaseDegraded &&
			strings.Contains(ro.Status.Message, `InvalidSpec: spec.strategy.canary.stableService: service "web-stable" not found in namespace "`+ns+`"`)
		return ok, describe(ro, spec, avail)
	})
	events, err := e.Clientset.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=InvalidSpec"})
	if err != nil || len(events.Items) == 0 || events.Items[0].Type != corev1.EventTypeWarning {
		t.Fatalf("want a Warning event with reason InvalidSpec, got %v (err %v)", events, err)
	}
	applyYAML(t, ns, strings.ReplaceAll(serviceTemplate, "NAME", "web-stable"))
	framework.Eventually(t, 60*time.Second, "Healthy once the Service exists", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy, describe(ro, spec, avail)
	})
}
