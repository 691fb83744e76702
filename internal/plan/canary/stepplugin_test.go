package canary

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/podhash"
)

func pluginStep(name, config string) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{Plugin: &v1alpha1.PluginStep{Name: name, Config: json.RawMessage(config)}}
}

// pluginUpdate is a canary mid-update at step i of [setWeight 20,
// plugin acme/gate, setWeight 60, plugin acme/check], progressing, with
// the given step plugin statuses.
func pluginUpdate(i int32, statuses ...v1alpha1.StepPluginStatus) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
		weight(20), pluginStep("acme/gate", `{"x":1}`), weight(60), pluginStep("acme/check", `{}`),
	}}
	ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepHash = "old", "new", "steps"
	ro.Status.CurrentStepIndex = &i
	ro.Status.Phase = v1alpha1.RolloutPhaseProgressing
	ro.Status.Canary.StepPluginStatuses = statuses
	return ro
}

func at(t time.Time) *metav1.Time { m := metav1.NewTime(t); return &m }

// gateRun is the Run status of acme/gate at step 1 after n calls, the last
// one ago before t0.
func gateRun(n int32, ago time.Duration, status string) v1alpha1.StepPluginStatus {
	s := v1alpha1.StepPluginStatus{Index: 1, Name: "acme/gate", Operation: v1alpha1.StepPluginOperationRun,
		Phase: v1alpha1.StepPluginPhaseRunning, StartedAt: at(t0.Add(-time.Hour)), Executions: n}
	if n > 0 {
		s.UpdatedAt, s.Backoff = at(t0.Add(-ago)), "30s"
	}
	if status != "" {
		s.Status = json.RawMessage(status)
	}
	return s
}

func answered(index int32, op v1alpha1.StepPluginOperation, a pass.StepPluginAnswer) Observed {
	o := obs(true)
	a.Call.Index, a.Call.Operation = index, op
	o.StepPlugins.Answers = []pass.StepPluginAnswer{a}
	return o
}

func onlyStatus(p Progress) v1alpha1.StepPluginStatus {
	if n := len(p.Status.Canary.StepPluginStatuses); n != 1 {
		panic(n)
	}
	return p.Status.Canary.StepPluginStatuses[0]
}

// A plugin step's Run, from its first visit to its end: the status first,
// then the call, then the answer recorded as Argo Rollouts records it.
func TestPluginStepRun(t *testing.T) {
	gateCall := &pass.CallStepPlugin{Index: 1, Name: "acme/gate", Operation: v1alpha1.StepPluginOperationRun, Config: json.RawMessage(`{"x":1}`)}
	ran := func(phase v1alpha1.StepPluginPhase, msg, backoff, status string, finished bool) v1alpha1.StepPluginStatus {
		s := gateRun(1, 0, status)
		s.Phase, s.Message, s.Backoff = phase, msg, v1alpha1.DurationString(backoff)
		if finished {
			s.FinishedAt = at(t0)
		}
		return s
	}
	cases := []struct {
		name    string
		ro      *v1alpha1.Rollout
		obs     Observed
		call    *pass.CallStepPlugin
		status  *v1alpha1.StepPluginStatus
		index   int32
		requeue time.Duration
		events  []rules.Event
	}{
		{name: "first visit writes the status before any call", ro: pluginUpdate(1), obs: obs(true),
			status: &v1alpha1.StepPluginStatus{Index: 1, Name: "acme/gate", Operation: v1alpha1.StepPluginOperationRun, Phase: v1alpha1.StepPluginPhaseRunning, StartedAt: at(t0)},
			index:  1, events: []rules.Event{{Reason: rules.ReasonStepPluginTransition, Message: "Step plugin acme/gate (step 2) transitioned to Running"}}},
		{name: "then the plugin is called", ro: pluginUpdate(1, gateRun(0, 0, "")), obs: obs(true), call: gateCall, index: 1},
		{name: "after its backoff it is called with its state", ro: pluginUpdate(1, gateRun(1, 31*time.Second, `{"n":1}`)), obs: obs(true),
			call: &pass.CallStepPlugin{Index: 1, Name: "acme/gate", Operation: v1alpha1.StepPluginOperationRun, Config: json.RawMessage(`{"x":1}`), Status: json.RawMessage(`{"n":1}`)}, index: 1},
		{name: "within its backoff it waits", ro: pluginUpdate(1, gateRun(1, 10*time.Second, `{"n":1}`)), obs: obs(true),
			index: 1, requeue: 25 * time.Second},
		{name: "running, a short requeueAfter is 30s", ro: pluginUpdate(1, gateRun(0, 0, "")),
			obs:    answered(1, v1alpha1.StepPluginOperationRun, pass.StepPluginAnswer{Phase: "Running", Message: "1 of 2", RequeueAfter: 5 * time.Second, Status: json.RawMessage(`{"n":1}`)}),
			status: new(ran("Running", "1 of 2", "30s", `{"n":1}`, false)), index: 1, requeue: 35 * time.Second},
		{name: "running, a longer requeueAfter is kept", ro: pluginUpdate(1, gateRun(0, 0, "")),
			obs:    answered(1, v1alpha1.StepPluginOperationRun, pass.StepPluginAnswer{Phase: "Running", RequeueAfter: 15 * time.Second, Status: json.RawMessage(`{"n":1}`)}),
			status: new(ran("Running", "", "15s", `{"n":1}`, false)), index: 1, requeue: 20 * time.Second},
		{name: "successful completes the step", ro: pluginUpdate(1, gateRun(0, 0, "")),
			obs:    answered(1, v1alpha1.StepPluginOperationRun, pass.StepPluginAnswer{Phase: "Successful", Message: "done", Status: json.RawMessage(`{"n":2}`)}),
			status: new(ran("Successful", "done", "", `{"n":2}`, true)), index: 2,
			events: []rules.Event{{Reason: rules.ReasonStepCompleted, Message: "Rollout step 2/4 completed (plugin: acme/gate)"}}},
		{name: "an error keeps the state and backs off", ro: pluginUpdate(1, gateRun(1, 31*time.Second, `{"n":1}`)),
			obs:    answered(1, v1alpha1.StepPluginOperationRun, pass.StepPluginAnswer{Err: "Run rpc call error: unexpected EOF"}),
			status: &v1alpha1.StepPluginStatus{Index: 1, Name: "acme/gate", Operation: "Run", Phase: "Error", Message: "Run rpc call error: unexpected EOF", StartedAt: at(t0.Add(-time.Hour)), UpdatedAt: at(t0), Backoff: "30s", Executions: 2, Status: json.RawMessage(`{"n":1}`)},
			index:  1, requeue: 35 * time.Second,
			events: []rules.Event{{Warning: true, Reason: rules.ReasonStepPluginTransition, Message: "Step plugin acme/gate (step 2) transitioned to Error"}}},
		{name: "a phase the protocol lacks is an error", ro: pluginUpdate(1, gateRun(0, 0, "")),
			obs:    answered(1, v1alpha1.StepPluginOperationRun, pass.StepPluginAnswer{Phase: "Pending", Status: json.RawMessage(`{"n":1}`)}),
			status: new(ran("Error", "could not validate rpc phase: phase 'Pending' is not valid", "30s", "", false)), index: 1, requeue: 35 * time.Second,
			events: []rules.Event{{Warning: true, Reason: rules.ReasonStepPluginTransition, Message: "Step plugin acme/gate (step 2) transitioned to Error"}}},
		{name: "not progressing, the plugin is left alone", ro: func() *v1alpha1.Rollout {
			ro := pluginUpdate(1, gateRun(1, time.Hour, `{}`))
			ro.Status.Phase = v1alpha1.RolloutPhaseDegraded
			return ro
		}(), obs: obs(true), index: 1},
		{name: "a disabled plugin's step completes uncalled", ro: pluginUpdate(1), obs: func() Observed {
			o := obs(true)
			o.StepPlugins.Disabled = []string{"acme/gate"}
			return o
		}(), status: &v1alpha1.StepPluginStatus{Index: 1, Name: "acme/gate", Operation: "Run", Disabled: true}, index: 2,
			events: []rules.Event{{Reason: rules.ReasonStepCompleted, Message: "Rollout step 2/4 completed (plugin: acme/gate)"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Advance(c.ro, c.obs, t0)
			if !reflect.DeepEqual(p.Call, c.call) {
				t.Errorf("call %+v, want %+v", p.Call, c.call)
			}
			if c.status != nil {
				if got := onlyStatus(p); !reflect.DeepEqual(got, *c.status) {
					t.Errorf("status\n%+v\nwant\n%+v", got, *c.status)
				}
			}
			if *p.Status.CurrentStepIndex != c.index || p.RequeueAfter != c.requeue || p.Status.Abort {
				t.Errorf("index %d requeue %s abort %v, want %d %s false", *p.Status.CurrentStepIndex, p.RequeueAfter, p.Status.Abort, c.index, c.requeue)
			}
			if !reflect.DeepEqual(p.Events, c.events) {
				t.Errorf("events %+v, want %+v", p.Events, c.events)
			}
		})
	}
}

// A Failed Run aborts the update with the plugin's message.
func TestPluginStepFailedAborts(t *testing.T) {
	p := Advance(pluginUpdate(1, gateRun(0, 0, "")), answered(1, v1alpha1.StepPluginOperationRun, pass.StepPluginAnswer{Phase: "Failed", Message: "gate closed"}), t0)
	if !p.Status.Abort || *p.Status.CurrentStepIndex != 0 || onlyStatus(p).Phase != v1alpha1.StepPluginPhaseFailed {
		t.Fatalf("abort %v index %d status %+v", p.Status.Abort, *p.Status.CurrentStepIndex, onlyStatus(p))
	}
	want := []rules.Event{
		{Warning: true, Reason: rules.ReasonStepPluginTransition, Message: "Step plugin acme/gate (step 2) transitioned to Failed"},
		{Warning: true, Reason: rules.ReasonAborted, Message: "Rollout aborted update to revision 2: Step Plugin 2 (acme/gate) failed: gate closed"},
	}
	if !reflect.DeepEqual(p.Events, want) {
		t.Errorf("events %+v", p.Events)
	}
	cond := rules.FindCondition(p.Status.Conditions, v1alpha1.RolloutProgressing)
	if cond == nil || cond.Status != corev1.ConditionFalse || cond.Reason != v1alpha1.RolloutAbortedReason {
		t.Errorf("progressing %+v", cond)
	}
}

// Once the abort is written, each plugin step that ran (Running or
// Successful, not Failed) is asked to revert, latest first, once.
func TestPluginStepsAbort(t *testing.T) {
	gate := gateRun(2, time.Minute, `{"n":2}`)
	gate.Phase = v1alpha1.StepPluginPhaseSuccessful
	check := v1alpha1.StepPluginStatus{Index: 3, Name: "acme/check", Operation: "Run", Phase: "Running", Executions: 1, Status: json.RawMessage(`{"c":1}`)}
	aborted := func(statuses ...v1alpha1.StepPluginStatus) *v1alpha1.Rollout {
		ro := pluginUpdate(0, statuses...)
		ro.Status.Abort, ro.Status.AbortedAt = true, at(t0.Add(-time.Second))
		ro.Status.Phase = v1alpha1.RolloutPhaseDegraded
		return ro
	}
	ro := aborted(gate, check)
	p := Advance(ro, obs(true), t0)
	want := &pass.CallStepPlugin{Index: 3, Name: "acme/check", Operation: "Abort", Config: json.RawMessage(`{}`), Status: json.RawMessage(`{"c":1}`)}
	if !reflect.DeepEqual(p.Call, want) {
		t.Fatalf("first call %+v", p.Call)
	}
	o := answered(3, "Abort", pass.StepPluginAnswer{Phase: "Running", Message: "still going"})
	p = Advance(ro, o, t0)
	want = &pass.CallStepPlugin{Index: 1, Name: "acme/gate", Operation: "Abort", Config: json.RawMessage(`{"x":1}`), Status: json.RawMessage(`{"n":2}`)}
	if !reflect.DeepEqual(p.Call, want) {
		t.Fatalf("second call %+v", p.Call)
	}
	o.StepPlugins.Answers = append(o.StepPlugins.Answers, pass.StepPluginAnswer{Call: pass.CallStepPlugin{Index: 1, Operation: "Abort"}, Phase: "Successful", Message: "reverted"})
	p = Advance(ro, o, t0)
	if p.Call != nil {
		t.Fatalf("a third call %+v", p.Call)
	}
	got := p.Status.Canary.StepPluginStatuses
	wantStatuses := []v1alpha1.StepPluginStatus{gate, check,
		{Index: 3, Name: "acme/check", Operation: "Abort", Phase: "Failed", Message: "still going", StartedAt: at(t0), FinishedAt: at(t0)},
		{Index: 1, Name: "acme/gate", Operation: "Abort", Phase: "Successful", Message: "reverted", StartedAt: at(t0), FinishedAt: at(t0)},
	}
	if !reflect.DeepEqual(got, wantStatuses) {
		t.Errorf("statuses\n%+v\nwant\n%+v", got, wantStatuses)
	}
	wantEvents := []rules.Event{
		{Warning: true, Reason: rules.ReasonStepPluginTransition, Message: "Step plugin acme/check (step 4) aborted (Failed)"},
		{Reason: rules.ReasonStepPluginTransition, Message: "Step plugin acme/gate (step 2) aborted (Successful)"},
	}
	if !reflect.DeepEqual(p.Events, wantEvents) {
		t.Errorf("events %+v", p.Events)
	}
	// Written, they are not asked again.
	ro.Status.Canary.StepPluginStatuses = got
	if p = Advance(ro, obs(true), t0); p.Call != nil || len(p.Events) != 0 {
		t.Errorf("asked again: %+v %+v", p.Call, p.Events)
	}
	// A failed Run is not reverted; nor is anything before the abort is written.
	failed := gate
	failed.Phase = v1alpha1.StepPluginPhaseFailed
	if p = Advance(aborted(failed), obs(true), t0); p.Call != nil {
		t.Errorf("a failed Run was aborted: %+v", p.Call)
	}
	ro = aborted(gate)
	ro.Status.AbortedAt = nil
	if p = Advance(ro, obs(true), t0); p.Call != nil || !p.Status.Abort {
		t.Errorf("Abort called before the abort was written: %+v", p.Call)
	}
}

// Promoted in full, the step left running is terminated, once.
func TestPluginStepTerminatedOnFullPromotion(t *testing.T) {
	ro := pluginUpdate(1, gateRun(1, time.Second, `{"n":1}`))
	ro.Status.PromoteFull = true
	p := Advance(ro, obs(false), t0)
	want := &pass.CallStepPlugin{Index: 1, Name: "acme/gate", Operation: "Terminate", Config: json.RawMessage(`{"x":1}`), Status: json.RawMessage(`{"n":1}`)}
	if !reflect.DeepEqual(p.Call, want) {
		t.Fatalf("call %+v", p.Call)
	}
	p = Advance(ro, answered(1, "Terminate", pass.StepPluginAnswer{Phase: "Successful", Message: "stopped"}), t0)
	got := p.Status.Canary.StepPluginStatuses
	if p.Call != nil || len(got) != 2 || got[1].Operation != "Terminate" || got[1].Phase != "Successful" || got[1].Message != "stopped" ||
		*p.Status.CurrentStepIndex != 4 {
		t.Fatalf("call %+v statuses %+v index %d", p.Call, got, *p.Status.CurrentStepIndex)
	}
	if want := "Step plugin acme/gate (step 2) terminated (Successful)"; !hasEvent(p, rules.ReasonStepPluginTransition, want) {
		t.Errorf("events %+v", p.Events)
	}
	ro.Status.Canary.StepPluginStatuses = got
	if p = Advance(ro, obs(false), t0); p.Call != nil {
		t.Errorf("terminated twice: %+v", p.Call)
	}
}

// A retried update starts its plugin steps afresh; a new revision drops
// the statuses too.
func TestPluginStatusesCleared(t *testing.T) {
	done := gateRun(2, time.Minute, `{}`)
	done.Phase = v1alpha1.StepPluginPhaseSuccessful
	ro := pluginUpdate(0, done)
	ro.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: v1alpha1.RolloutAbortedReason}}
	if p := Advance(ro, obs(false), t0); len(p.Status.Canary.StepPluginStatuses) != 0 {
		t.Errorf("retry kept %+v", p.Status.Canary.StepPluginStatuses)
	}
	ro = pluginUpdate(1, gateRun(1, time.Second, `{}`))
	o := obs(false)
	o.NewHash = "newer"
	if p := Advance(ro, o, t0); len(p.Status.Canary.StepPluginStatuses) != 0 || p.Call != nil {
		t.Errorf("new revision kept %+v, call %+v", p.Status.Canary.StepPluginStatuses, p.Call)
	}
	// Mid-update at a running first step, nothing is cleared.
	ro = pluginUpdate(0, gateRun(1, time.Second, `{}`))
	ro.Spec.Strategy.Canary.Steps[0] = pluginStep("acme/gate", `{}`)
	ro.Status.Canary.StepPluginStatuses[0].Index = 0
	if p := Advance(ro, obs(false), t0); len(p.Status.Canary.StepPluginStatuses) != 1 {
		t.Errorf("a running step 0 lost its status")
	}
}

// A plan that calls a step plugin holds the call alone; with the answer,
// the plan records it and carries on (here: the step completes).
func TestPlanCallsAStepPluginAlone(t *testing.T) {
	v1 := planRollout()
	stableRS := replicaSetOf(v1, "1", 2)
	stableHash := stableRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	ro := planRollout()
	ro.Spec.Template.Spec.Containers[0].Image = "web:2"
	ro.Spec.Strategy.Canary.Steps = []v1alpha1.CanaryStep{{SetWeight: new(int32(50))}, pluginStep("acme/gate", `{}`), {Pause: &v1alpha1.RolloutPause{}}}
	ro.Status.StableRS, ro.Status.CurrentPodHash = stableHash, podhash.PodTemplateHash(&ro.Spec.Template, nil)
	ro.Status.CurrentStepHash = podhash.StepHash(ro.Spec.Strategy.Canary.Steps)
	ro.Status.CurrentStepIndex = new(int32(1))
	ro.Status.Phase = v1alpha1.RolloutPhaseProgressing
	ro.Status.Canary.StepPluginStatuses = []v1alpha1.StepPluginStatus{{Index: 1, Name: "acme/gate", Operation: "Run", Phase: "Running", StartedAt: at(planNow)}}
	ro.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "2"}
	o := pass.Observed{Rollout: ro, ReplicaSets: []*appsv1.ReplicaSet{stableRS, replicaSetOf(ro, "2", 1)}, Now: planNow,
		Services: map[string]*corev1.Service{"web-canary": planService("web-canary", ro.Status.CurrentPodHash), "web-stable": planService("web-stable", stableHash)}}
	p := Plan(o)
	call, ok := p.StepPluginCall()
	if !ok || call.Name != "acme/gate" || call.Operation != v1alpha1.StepPluginOperationRun || call.Index != 1 {
		t.Fatalf("plan:\n%s", describe(p))
	}
	o.StepPlugins.Answers = []pass.StepPluginAnswer{{Call: call, Phase: "Successful", Message: "open"}}
	p = Plan(o)
	if _, ok := p.StepPluginCall(); ok {
		t.Fatalf("called again:\n%s", describe(p))
	}
	got := describe(p)
	if want := "journal RolloutNotCompleted,RolloutStepCompleted,RolloutPaused\nstatus step 2 paused true phase Paused"; !strings.Contains(got, want) {
		t.Errorf("plan:\n%s\nwant it to end with\n%s", got, want)
	}
	st := p.Steps[len(p.Steps)-1].(pass.WriteStatus).Status
	if s := st.Canary.StepPluginStatuses; len(s) != 1 || s[0].Phase != "Successful" || s[0].Message != "open" || s[0].Executions != 1 {
		t.Errorf("statuses %+v", s)
	}
}
