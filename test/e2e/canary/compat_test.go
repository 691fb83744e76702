package canary

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// kubectlWait runs `kubectl wait --for=condition=<cond> rollout/<name>`,
// as users and CI jobs do, and fails the test if it does not return.
func kubectlWait(t *testing.T, ns, name, cond string) {
	t.Helper()
	out, err := framework.Get(t).Kubectl(context.Background(), "wait", "-n", ns, "--for=condition="+cond, "rollout/"+name, "--timeout=60s")
	if err != nil || !strings.Contains(out, "condition met") {
		ro, spec, avail := rolloutState(t, ns, name)
		t.Fatalf("kubectl wait --for=condition=%s: %v %s\nconditions %+v\n%s", cond, err, out, ro.Status.Conditions, describe(ro, spec, avail))
	}
}

const waitManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 2
  selector:
    matchLabels: {app: waits}
  template:
    metadata:
      labels: {app: waits}
    spec:
      containers: [{name: app, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {}
`

// TestKubectlWaitOnCanaryConditions checks the conditions `kubectl wait`
// users wait on: Healthy and Completed once deployed, Paused at the gate
// (there was no Paused condition at all), Paused=False after promote, and
// Healthy again at the end.
func TestKubectlWaitOnCanaryConditions(t *testing.T) {
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, waitManifest)
	kubectlWait(t, ns, "rollouts-demo", "Healthy=True")
	kubectlWait(t, ns, "rollouts-demo", "Completed=True")
	setImage(t, ns, "argoproj/rollouts-demo:green")
	kubectlWait(t, ns, "rollouts-demo", "Paused")
	kubectlWait(t, ns, "rollouts-demo", "Healthy=False")
	kubectlWait(t, ns, "rollouts-demo", "Completed=False")
	patchStatus(t, ns, `{"status":{"pauseConditions":null}}`)
	kubectlWait(t, ns, "rollouts-demo", "Paused=False")
	kubectlWait(t, ns, "rollouts-demo", "Healthy=True")
	kubectlWait(t, ns, "rollouts-demo", "Completed=True")
}

const storyManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 1
  selector:
    matchLabels: {app: story}
  template:
    metadata:
      labels: {app: story}
    spec:
      containers: [{name: app, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps:
      - setWeight: 50
      - pause: {duration: 3s}
`

// rolloutEvents lists the facts told about the rollout in the order they
// were told (framework.RolloutEvents).
func rolloutEvents(t *testing.T, ns string) []string {
	t.Helper()
	var out []string
	for _, e := range framework.RolloutEvents(t, ns) {
		out = append(out, e.Reason+": "+e.Message)
	}
	return out
}

// before reports whether the first event starting with a comes before the
// first one starting with b after it (both present).
func before(evs []string, a, b string) bool {
	ia := slices.IndexFunc(evs, func(e string) bool { return strings.HasPrefix(e, a) })
	if ia < 0 {
		return false
	}
	return slices.ContainsFunc(evs[ia+1:], func(e string) bool { return strings.HasPrefix(e, b) })
}

// TestEventStoryMatchesArgoRollouts plays Argo Rollouts' own abort, retry
// and promote story (its e2e TestCanaryAbortRetryPromote) and checks the
// events notification triggers and runbooks key off: the story starts with
// RolloutAddedToInformer; RolloutUpdated comes before NewReplicaSetCreated;
// the first revision completes as "Initial deploy"; a retry records no
// RolloutRetry event; a timed pause's RolloutStepCompleted comes before
// RolloutResumed; ScalingReplicaSet says up or down.
func TestEventStoryMatchesArgoRollouts(t *testing.T) {
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, storyManifest)
	blue := waitForFirstVersion(t, ns, 1)
	setImage(t, ns, "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "paused at the 3s pause with one pod each", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		green := ro.Status.CurrentPodHash
		return green != blue && ro.Status.Phase == v1alpha1.RolloutPhasePaused && avail[green] == 1 && avail[blue] == 1, describe(ro, spec, avail)
	})
	patchStatus(t, ns, `{"status":{"abort":true}}`)
	framework.Eventually(t, 30*time.Second, "Degraded", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded, describe(ro, spec, avail)
	})
	patchStatus(t, ns, `{"status":{"abort":false}}`)
	var green string
	framework.Eventually(t, 60*time.Second, "green Healthy after the retry and the timed pause", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		green = ro.Status.CurrentPodHash
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == green && green != blue && spec[blue] == 0, describe(ro, spec, avail)
	})
	var evs []string
	framework.Eventually(t, 10*time.Second, "the story's events", func() (bool, string) {
		evs = rolloutEvents(t, ns)
		return before(evs, "RolloutStepCompleted: Rollout step 2/2 completed", "RolloutCompleted: Rollout completed update to revision 2"), strings.Join(evs, "\n")
	})
	story := strings.Join(evs, "\n")
	if !strings.HasPrefix(evs[0], "RolloutAddedToInformer: Rollout resource added to informer: "+ns+"/rollouts-demo") {
		t.Errorf("the story must start with RolloutAddedToInformer:\n%s", story)
	}
	for _, pair := range [][2]string{
		{"RolloutUpdated: Rollout updated to revision 1", "NewReplicaSetCreated: Created ReplicaSet rollouts-demo-" + blue + " (revision 1)"},
		{"NewReplicaSetCreated: Created ReplicaSet rollouts-demo-" + blue, "RolloutCompleted: Rollout completed update to revision 1 (" + blue + "): Initial deploy"},
		{"RolloutUpdated: Rollout updated to revision 2", "NewReplicaSetCreated: Created ReplicaSet rollouts-demo-" + green + " (revision 2)"},
		{"RolloutStepCompleted: Rollout step 2/2 completed (pause: 3s)", "RolloutResumed: Rollout is resumed"},
		{"RolloutAborted", "ScalingReplicaSet: Scaled up ReplicaSet rollouts-demo-" + green},
	} {
		if !before(evs, pair[0], pair[1]) {
			t.Errorf("want %q before %q:\n%s", pair[0], pair[1], story)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("ScalingReplicaSet: Scaled down ReplicaSet rollouts-demo-%s (revision 1) from 1 to 0", blue),
		"RolloutCompleted: Rollout completed update to revision 2 (" + green + "): Completed all 2 canary steps",
	} {
		if !slices.Contains(evs, want) {
			t.Errorf("missing %q:\n%s", want, story)
		}
	}
	if slices.ContainsFunc(evs, func(e string) bool { return strings.HasPrefix(e, "RolloutRetry") }) {
		t.Errorf("a retry records no RolloutRetry event in Argo Rollouts:\n%s", story)
	}
}

const firstBadManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 4
  progressDeadlineSeconds: 5
  selector:
    matchLabels: {app: bad}
  template:
    metadata:
      labels: {app: bad}
      annotations: {"` + framework.PodStateAnnotation + `": unready}
    spec:
      containers: [{name: app, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      maxSurge: 1
      maxUnavailable: 0
`

// TestUnavailableFirstRevisionIsStable deploys a first revision whose pods
// never become ready (Argo Rollouts' TestRolloutBadToBadUpdate): it is the
// stable one at once, so the second, equally bad, revision surges against
// it within maxSurge 1 / maxUnavailable 0 — one new pod, the first
// revision's four kept — instead of taking every pod.
func TestUnavailableFirstRevisionIsStable(t *testing.T) {
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, firstBadManifest)
	var first string
	framework.Eventually(t, 60*time.Second, "the first revision stable, Degraded by the deadline", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		first = ro.Status.CurrentPodHash
		c := findCondition(ro, v1alpha1.RolloutProgressing)
		ok := first != "" && ro.Status.StableRS == first && ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && c != nil && c.Reason == v1alpha1.TimedOutReason
		return ok, describe(ro, spec, avail)
	})
	setImage(t, ns, "argoproj/rollouts-demo:green")
	framework.Eventually(t, 60*time.Second, "the second revision at 1 pod beside the first revision's 4, Degraded again", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		second := ro.Status.CurrentPodHash
		ok := second != first && ro.Status.StableRS == first && spec[first] == 4 && spec[second] == 1 && ro.Status.Phase == v1alpha1.RolloutPhaseDegraded
		return ok, describe(ro, spec, avail)
	})
	// And it stays that way: nothing takes the first revision's pods.
	time.Sleep(3 * time.Second)
	ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
	if spec[ro.Status.StableRS] != 4 || spec[ro.Status.CurrentPodHash] != 1 {
		t.Fatalf("maxSurge/maxUnavailable broken against the first revision: %s", describe(ro, spec, avail))
	}
}

func findCondition(ro *v1alpha1.Rollout, typ v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	for i := range ro.Status.Conditions {
		if ro.Status.Conditions[i].Type == typ {
			return &ro.Status.Conditions[i]
		}
	}
	return nil
}

// TestProgressDeadlineAbortTurnedOnLate turns progressDeadlineAbort on for
// a rollout already past its deadline: it aborts then (it used to stay
// Degraded with the bad canary up forever).
func TestProgressDeadlineAbortTurnedOnLate(t *testing.T) {
	e := framework.Get(t)
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, strings.Replace(deadlineManifest, "  progressDeadlineAbort: true\n", "", 1))
	blue := waitForFirstVersion(t, ns, 2)
	patch := `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"argoproj/rollouts-demo:green"},
	 {"op":"add","path":"/spec/template/metadata/annotations","value":{"` + framework.PodStateAnnotation + `":"unready"}}]`
	if out, err := e.Kubectl(context.Background(), "patch", "rollout", "rollouts-demo", "-n", ns, "--type", "json", "-p", patch); err != nil {
		t.Fatalf("update with unready pods: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "timed out, not aborted", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		c := findCondition(ro, v1alpha1.RolloutProgressing)
		return c != nil && c.Reason == v1alpha1.TimedOutReason && !ro.Status.Abort && spec[ro.Status.CurrentPodHash] == 1, describe(ro, spec, avail)
	})
	if out, err := e.Kubectl(context.Background(), "patch", "rollout", "rollouts-demo", "-n", ns, "--type", "merge", "-p", `{"spec":{"progressDeadlineAbort":true}}`); err != nil {
		t.Fatalf("turn progressDeadlineAbort on: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "aborted back to the stable version", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		green := ro.Status.CurrentPodHash
		return ro.Status.Abort && ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && spec[green] == 0 && spec[blue] == 2, describe(ro, spec, avail)
	})
}

// TestWorkloadRefWithTemplateIsInvalid sets both workloadRef and a template
// (Argo Rollouts' TestWorkloadRefTemplate): the message says the template
// must be empty, not that the selector does not match it.
func TestWorkloadRefWithTemplateIsInvalid(t *testing.T) {
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 0
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:green"}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rollouts-demo
spec:
  replicas: 1
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  selector:
    matchLabels: {app: other}
  template:
    metadata:
      labels: {app: web}
  strategy:
    canary: {}
`)
	framework.Eventually(t, 30*time.Second, "InvalidSpec: template must be empty", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		c := findCondition(ro, v1alpha1.InvalidSpec)
		return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && c != nil && strings.Contains(c.Message, "template must be empty for workload reference rollout"),
			fmt.Sprintf("%s conditions %+v", describe(ro, spec, avail), ro.Status.Conditions)
	})
}

// TestWorkloadRefToInlineTemplate moves a workloadRef rollout to an inline
// template: status.workloadObservedGeneration goes with the reference.
func TestWorkloadRefToInlineTemplate(t *testing.T) {
	e := framework.Get(t)
	ns, _ := scopedNamespace(t)
	applyYAML(t, ns, framework.Testdata(t, "workloadref.yaml"))
	framework.Eventually(t, 60*time.Second, "Healthy from the Deployment's template", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.WorkloadObservedGeneration != "", describe(ro, spec, avail)
	})
	patch := `{"spec":{"workloadRef":null,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"argoproj/rollouts-demo:blue"}]}}}}`
	if out, err := e.Kubectl(context.Background(), "patch", "rollout", "rollouts-demo", "-n", ns, "--type", "merge", "-p", patch); err != nil {
		t.Fatalf("switch to an inline template: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "no workloadObservedGeneration on an inline-template rollout", func() (bool, string) {
		ro, spec, avail := rolloutState(t, ns, "rollouts-demo")
		return ro.Status.WorkloadObservedGeneration == "" && ro.Status.ObservedGeneration == strconv.FormatInt(ro.Generation, 10),
			fmt.Sprintf("workloadObservedGeneration %q; %s", ro.Status.WorkloadObservedGeneration, describe(ro, spec, avail))
	})
}
