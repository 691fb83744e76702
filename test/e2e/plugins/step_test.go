package plugins

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
	"github.com/aviary-rollouts/aviary/test/plugintest"
)

const stepPlugin = "aviary-test/step"

// stepManifest is a basic canary whose steps are STEPS.
const stepManifest = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      steps:
STEPS`

// pluginStepYAML is a steps entry running the test step plugin with config.
func pluginStepYAML(config string) string {
	return fmt.Sprintf("      - plugin:\n          name: %s\n          config: %s\n", stepPlugin, config)
}

// stepCall is a line of what the step plugin recorded.
type stepCall struct {
	Method string          `json:"method"`
	Step   *int32          `json:"step,omitempty"`
	Config json.RawMessage `json:"config,omitempty"`
	Status json.RawMessage `json:"status,omitempty"`
}

func (c stepCall) String() string {
	step := "-"
	if c.Step != nil {
		step = fmt.Sprint(*c.Step)
	}
	return fmt.Sprintf("%s@%s(%s)", c.Method, step, c.Status)
}

// deployStepped deploys the first version with steps, then updates it.
func deployStepped(t *testing.T, ns, steps string) {
	t.Helper()
	apply(t, ns, strings.Replace(stepManifest, "STEPS", steps, 1))
	waitHealthy(t, ns)
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
}

// runStatus is the Run status of the plugin step at index, nil if none.
func runStatus(ro *v1alpha1.Rollout, index int32) *v1alpha1.StepPluginStatus {
	for i, s := range ro.Status.Canary.StepPluginStatuses {
		if s.Index == index && s.Operation == v1alpha1.StepPluginOperationRun {
			return &ro.Status.Canary.StepPluginStatuses[i]
		}
	}
	return nil
}

// A plugin step is Running, called again after the requeue it asks for
// with the state it kept, then Successful; the update completes.
func TestStepPlugin(t *testing.T) {
	t.Parallel()
	ns, record, _ := setup(t, "stepPlugins", "step", stepPlugin)
	deployStepped(t, ns, "      - setWeight: 50\n"+pluginStepYAML(`{"calls": 2, "requeueAfter": "11s"}`))
	framework.Eventually(t, time.Minute, "the plugin step Running", func() (bool, string) {
		ro := getRollout(t, ns)
		s := runStatus(ro, 1)
		return s != nil && s.Phase == v1alpha1.StepPluginPhaseRunning && s.Executions == 1 && s.Message == "call 1 of 2" &&
			s.Backoff == "11s" && string(s.Status) == `{"calls":1}`, describe(ro)
	})
	ro := waitCompleted(t, ns, 2*time.Minute)
	s := runStatus(ro, 1)
	if s == nil || s.Phase != v1alpha1.StepPluginPhaseSuccessful || s.Executions != 2 || s.Message != "done after 2 calls" || s.FinishedAt == nil ||
		s.Name != stepPlugin || s.StartedAt == nil || s.UpdatedAt == nil || s.UpdatedAt.Sub(s.StartedAt.Time) < 11*time.Second {
		t.Errorf("the step's status: %s", describe(ro))
	}
	got := fmt.Sprint(plugintest.Calls[stepCall](t, record))
	if want := "[Run@1() Run@1({\"calls\":1})]"; got != want {
		t.Errorf("the plugin was called %s, want %s", got, want)
	}
	if msgs := framework.RolloutEventMessages(t, ns, "StepPluginTransition"); !reflect.DeepEqual(msgs, []string{"Step plugin aviary-test/step (step 2) transitioned to Running"}) {
		t.Errorf("StepPluginTransition events %q", msgs)
	}
}

// A failing plugin step aborts the update with the plugin's message; the
// plugin step that had succeeded before it is asked to revert (Abort), the
// failed one is not.
func TestStepPluginFailureAborts(t *testing.T) {
	t.Parallel()
	ns, record, _ := setup(t, "stepPlugins", "step", stepPlugin)
	deployStepped(t, ns, pluginStepYAML(`{"calls": 1}`)+"      - setWeight: 50\n"+pluginStepYAML(`{"fail": "the gate said no"}`))
	framework.Eventually(t, 2*time.Minute, "the update aborted and the first plugin step reverted", func() (bool, string) {
		ro := getRollout(t, ns)
		var aborted *v1alpha1.StepPluginStatus
		for i, s := range ro.Status.Canary.StepPluginStatuses {
			if s.Operation == v1alpha1.StepPluginOperationAbort {
				aborted = &ro.Status.Canary.StepPluginStatuses[i]
			}
		}
		return ro.Status.Abort && ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && aborted != nil && aborted.Index == 0 &&
			aborted.Phase == v1alpha1.StepPluginPhaseSuccessful && aborted.Message == "reverted", describe(ro)
	})
	ro := getRollout(t, ns)
	if !strings.Contains(ro.Status.Message, "Step Plugin 3 (aviary-test/step) failed: the gate said no") || ro.Status.StableRS == ro.Status.CurrentPodHash {
		t.Errorf("the abort: %s", describe(ro))
	}
	if s := runStatus(ro, 2); s == nil || s.Phase != v1alpha1.StepPluginPhaseFailed || s.Message != "the gate said no" {
		t.Errorf("the failed step's status: %s", describe(ro))
	}
	// Told once each, the abort last: Run of step 0 and 2, Abort of 0 with
	// step 0's state. (A currentStepIndex of 0 reaches the plugin unset:
	// gob sends no zero value, under Argo Rollouts as here.)
	// The status records each answer after the call, so the record holds
	// the calls by now; wait only for the file's last line, not for time.
	var cs []stepCall
	framework.Eventually(t, 10*time.Second, "the plugin's record of three calls", func() (bool, string) {
		cs = plugintest.Calls[stepCall](t, record)
		return len(cs) >= 3, fmt.Sprint(cs)
	})
	if got, want := fmt.Sprint(cs), "[Run@-() Run@2() Abort@-({\"calls\":1})]"; got != want {
		t.Errorf("the plugin was called %s, want %s", got, want)
	}
	msgs := framework.RolloutEventMessages(t, ns, "StepPluginTransition")
	want := []string{"Step plugin aviary-test/step (step 1) transitioned to Running", "Step plugin aviary-test/step (step 3) transitioned to Running",
		"Step plugin aviary-test/step (step 3) transitioned to Failed", "Step plugin aviary-test/step (step 1) aborted (Successful)"}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("StepPluginTransition events %q, want %q", msgs, want)
	}
}

// A controller killed while a plugin step runs resumes it exactly: the
// next controller calls the plugin with the state the status kept, and
// the step ends after the calls it asked for in all, not more.
func TestStepPluginResumesAfterKill(t *testing.T) {
	t.Parallel()
	ns, record, ctrl := setup(t, "stepPlugins", "step", stepPlugin)
	deployStepped(t, ns, "      - setWeight: 50\n"+pluginStepYAML(`{"calls": 3, "requeueAfter": "11s"}`))
	framework.Eventually(t, time.Minute, "the plugin step called once", func() (bool, string) {
		ro := getRollout(t, ns)
		s := runStatus(ro, 1)
		return s != nil && s.Executions == 1, describe(ro)
	})
	started := runStatus(getRollout(t, ns), 1).StartedAt
	ctrl.Kill()
	start(t, ns)
	ro := waitCompleted(t, ns, 2*time.Minute)
	s := runStatus(ro, 1)
	if s == nil || s.Phase != v1alpha1.StepPluginPhaseSuccessful || s.Executions != 3 || !s.StartedAt.Equal(started) {
		t.Errorf("the step's status (started %v): %s", started, describe(ro))
	}
	got := fmt.Sprint(plugintest.Calls[stepCall](t, record))
	if want := `[Run@1() Run@1({"calls":1}) Run@1({"calls":2})]`; got != want {
		t.Errorf("the plugin was called %s, want %s", got, want)
	}
}

// `promote --full` during a plugin step still running completes the update
// and asks the plugin to Terminate it, once, with the state it kept.
func TestStepPluginTerminatedOnFullPromotion(t *testing.T) {
	t.Parallel()
	ns, record, _ := setup(t, "stepPlugins", "step", stepPlugin)
	deployStepped(t, ns, "      - setWeight: 50\n"+pluginStepYAML(`{"calls": 5, "requeueAfter": "10m"}`))
	framework.Eventually(t, time.Minute, "the plugin step Running", func() (bool, string) {
		ro := getRollout(t, ns)
		s := runStatus(ro, 1)
		return s != nil && s.Executions == 1, describe(ro)
	})
	framework.PatchRolloutStatus(t, ns, "web", `{"status":{"promoteFull":true}}`)
	ro := waitCompleted(t, ns, time.Minute)
	framework.Eventually(t, 30*time.Second, "the step terminated", func() (bool, string) {
		ro = getRollout(t, ns)
		for _, s := range ro.Status.Canary.StepPluginStatuses {
			if s.Operation == v1alpha1.StepPluginOperationTerminate {
				return s.Index == 1 && s.Phase == v1alpha1.StepPluginPhaseSuccessful && s.Message == "terminated", describe(ro)
			}
		}
		return false, describe(ro)
	})
	var calls []stepCall
	framework.Eventually(t, 10*time.Second, "the plugin's record of two calls", func() (bool, string) {
		calls = plugintest.Calls[stepCall](t, record)
		return len(calls) >= 2, fmt.Sprint(calls)
	})
	got := fmt.Sprint(calls)
	if want := `[Run@1() Terminate@1({"calls":1})]`; got != want {
		t.Errorf("the plugin was called %s, want %s", got, want)
	}
}
