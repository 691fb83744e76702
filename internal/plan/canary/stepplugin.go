package canary

import (
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

// Step plugins are run as Argo Rollouts runs them (rollout/stepplugin.go):
// each operation on a plugin step — Run, Terminate, Abort — is recorded in
// status.canary.stepPluginStatuses, the plugin's own state with it, and a
// Run that is not done is called again after its backoff. The planner
// decides every call (pass.CallStepPlugin) and what the answer changes;
// the shell only makes the call.

// Argo Rollouts' step plugin timings: a Running Run is called again after
// the plugin's requeueAfter when it is longer than minRequeue, else after
// defaultRequeue; an erroring one after errorBackoff. A requeue comes
// backoffDelay after the backoff is due.
const (
	minRequeue     = 10 * time.Second
	defaultRequeue = 30 * time.Second
	errorBackoff   = 30 * time.Second
	backoffDelay   = 5 * time.Second
)

// Messages of the StepPluginTransition events, Argo Rollouts' own.
const (
	pluginRunMessage       = "Step plugin %s (step %d) transitioned to %s"
	pluginAbortMessage     = "Step plugin %s (step %d) aborted (%s)"
	pluginTerminateMessage = "Step plugin %s (step %d) terminated (%s)"
)

// plugins is the step plugin state one decision works on: the statuses
// as planned so far (st), the Rollout as observed, the clock.
type plugins struct {
	ro  *v1alpha1.Rollout
	st  *v1alpha1.RolloutStatus
	in  pass.StepPlugins
	now time.Time
}

// answer is this reconcile's answer to op at step index, nil if not asked.
func (p plugins) answer(index int32, op v1alpha1.StepPluginOperation) *pass.StepPluginAnswer {
	for i := range p.in.Answers {
		if c := p.in.Answers[i].Call; c.Index == index && c.Operation == op {
			return &p.in.Answers[i]
		}
	}
	return nil
}

// find is the status of op at step index, by the step's plugin name when
// name is set, nil if none.
func find(statuses []v1alpha1.StepPluginStatus, index int32, name string, op v1alpha1.StepPluginOperation) *v1alpha1.StepPluginStatus {
	for i := range statuses {
		if s := &statuses[i]; s.Index == index && s.Operation == op && (name == "" || s.Name == name) {
			return s
		}
	}
	return nil
}

// record puts s in the planned statuses, replacing the one of its step and
// operation (keeping the order), and tells a change of phase as Argo
// Rollouts does: a successful Run and a disabled plugin are told by the
// step's completion instead; a Failed or Error phase is a warning.
func (p plugins) record(s v1alpha1.StepPluginStatus) []rules.Event {
	old := find(p.st.Canary.StepPluginStatuses, s.Index, "", s.Operation)
	changed := old == nil || old.Phase != s.Phase
	if old != nil {
		*old = s
	} else {
		p.st.Canary.StepPluginStatuses = append(p.st.Canary.StepPluginStatuses, s)
	}
	if !changed || s.Disabled || (s.Operation == v1alpha1.StepPluginOperationRun && s.Phase == v1alpha1.StepPluginPhaseSuccessful) {
		return nil
	}
	format := pluginRunMessage
	switch s.Operation {
	case v1alpha1.StepPluginOperationAbort:
		format = pluginAbortMessage
	case v1alpha1.StepPluginOperationTerminate:
		format = pluginTerminateMessage
	}
	return []rules.Event{{
		Warning: s.Phase == v1alpha1.StepPluginPhaseError || s.Phase == v1alpha1.StepPluginPhaseFailed,
		Reason:  rules.ReasonStepPluginTransition,
		Message: fmt.Sprintf(format, s.Name, s.Index+1, s.Phase),
	}}
}

func (p plugins) disabled(name string) bool { return slices.Contains(p.in.Disabled, name) }

// pluginOf is the plugin of step index, nil if it is not a plugin step.
func (p plugins) pluginOf(index int32) *v1alpha1.PluginStep {
	steps := p.ro.Spec.Strategy.Canary.Steps
	if index < 0 || int(index) >= len(steps) {
		return nil
	}
	return steps[index].Plugin
}

// phase is the answer's phase, checked: Argo Rollouts keeps the phase it
// had when the plugin answers none.
func phase(a *pass.StepPluginAnswer, had v1alpha1.StepPluginPhase) (v1alpha1.StepPluginPhase, error) {
	if a.Phase == "" {
		return had, nil
	}
	if err := a.Phase.Validate(); err != nil {
		return "", fmt.Errorf("could not validate rpc phase: %w", err)
	}
	return a.Phase, nil
}

// run decides the current plugin step at index: its Run status created
// (and written) before the first call, the plugin called when its backoff
// is over, the answer recorded; Failed aborts the update. It reports
// whether the step is done, when to look again, the events, and the call
// to make.
func (p plugins) run(index int32, step *v1alpha1.PluginStep, obs Observed) (bool, time.Duration, []rules.Event, *pass.CallStepPlugin) {
	// As Argo Rollouts, a plugin is run only while the rollout progresses
	// (not once the deadline made it Degraded, say).
	if p.ro.Status.Phase != v1alpha1.RolloutPhaseProgressing {
		return false, 0, nil, nil
	}
	if p.disabled(step.Name) {
		evs := p.record(v1alpha1.StepPluginStatus{Index: index, Name: step.Name, Operation: v1alpha1.StepPluginOperationRun, Disabled: true})
		return true, 0, evs, nil
	}
	cur := find(p.st.Canary.StepPluginStatuses, index, step.Name, v1alpha1.StepPluginOperationRun)
	if cur == nil || cur.Disabled {
		// Written before the plugin is first called: a controller that
		// stops in between starts from it, and calls the plugin then.
		at := metav1.NewTime(p.now)
		return false, 0, p.record(v1alpha1.StepPluginStatus{Index: index, Name: step.Name, StartedAt: &at,
			Operation: v1alpha1.StepPluginOperationRun, Phase: v1alpha1.StepPluginPhaseRunning}), nil
	}
	s := *cur.DeepCopy()
	var evs []rules.Event
	if s.Phase != v1alpha1.StepPluginPhaseSuccessful && s.Phase != v1alpha1.StepPluginPhaseFailed {
		if wait := p.backoffLeft(s); wait > 0 {
			return false, wait + backoffDelay, nil, nil
		}
		a := p.answer(index, v1alpha1.StepPluginOperationRun)
		if a == nil {
			return false, 0, nil, &pass.CallStepPlugin{Index: index, Name: step.Name, Operation: v1alpha1.StepPluginOperationRun, Config: step.Config, Status: s.Status}
		}
		s = p.ran(s, a)
		evs = p.record(s)
		switch s.Phase {
		case v1alpha1.StepPluginPhaseRunning, v1alpha1.StepPluginPhaseError:
			return false, p.backoffLeft(s) + backoffDelay, evs, nil
		case v1alpha1.StepPluginPhaseFailed:
			evs = append(evs, abortFor(p.st, obs, fmt.Sprintf("Step Plugin %d (%s) failed: %s", index+1, step.Name, s.Message), p.now)...)
			return false, 0, evs, nil
		}
	}
	return p.completed(index), 0, evs, nil
}

// ran is the Run status s after the plugin's answer a, as Argo Rollouts
// records it. A phase the protocol does not define is an Error too
// (Argo Rollouts retries it without recording it).
func (p plugins) ran(s v1alpha1.StepPluginStatus, a *pass.StepPluginAnswer) v1alpha1.StepPluginStatus {
	at := metav1.NewTime(p.now)
	s.UpdatedAt, s.Backoff = &at, ""
	s.Executions++
	ph, err := phase(a, s.Phase)
	switch {
	case a.Err != "":
		s.Phase, s.Message, s.Backoff = v1alpha1.StepPluginPhaseError, a.Err, v1alpha1.DurationString(errorBackoff.String())
		return s
	case err != nil:
		s.Phase, s.Message, s.Backoff = v1alpha1.StepPluginPhaseError, err.Error(), v1alpha1.DurationString(errorBackoff.String())
		return s
	}
	s.Phase, s.Message = ph, a.Message
	if s.Phase == v1alpha1.StepPluginPhaseSuccessful || s.Phase == v1alpha1.StepPluginPhaseFailed {
		s.FinishedAt = &at
	}
	if s.Phase != v1alpha1.StepPluginPhaseError {
		s.Status = a.Status
	}
	if s.Phase == v1alpha1.StepPluginPhaseRunning {
		backoff := defaultRequeue
		if a.RequeueAfter > minRequeue {
			backoff = a.RequeueAfter
		}
		s.Backoff = v1alpha1.DurationString(backoff.String())
	}
	return s
}

// backoffLeft is how long s's backoff still runs; 0 before the first call
// or once it is over. A backoff that does not parse is over.
func (p plugins) backoffLeft(s v1alpha1.StepPluginStatus) time.Duration {
	if s.Executions == 0 || s.UpdatedAt == nil {
		return 0
	}
	d, err := s.Backoff.Duration()
	if err != nil {
		return 0
	}
	return max(s.UpdatedAt.Add(d).Sub(p.now), 0)
}

// completed reports whether the plugin step at index is done: its Run
// succeeded or failed, its plugin is disabled, or a Run still running was
// terminated or aborted.
func (p plugins) completed(index int32) bool {
	statuses := p.st.Canary.StepPluginStatuses
	r := find(statuses, index, "", v1alpha1.StepPluginOperationRun)
	switch {
	case r == nil:
		return false
	case r.Disabled, r.Phase == v1alpha1.StepPluginPhaseSuccessful, r.Phase == v1alpha1.StepPluginPhaseFailed:
		return true
	case r.Phase == v1alpha1.StepPluginPhaseRunning:
		return find(statuses, index, "", v1alpha1.StepPluginOperationTerminate) != nil || find(statuses, index, "", v1alpha1.StepPluginOperationAbort) != nil
	}
	return false
}

// abort asks each plugin step that ran (its Run Running or Successful),
// latest first, to revert, once: each answer is recorded as an Abort
// status. It returns the next call to make, if any.
func (p plugins) abort() ([]rules.Event, *pass.CallStepPlugin) {
	var evs []rules.Event
	ran := p.ro.Status.Canary.StepPluginStatuses
	for i := len(ran) - 1; i >= 0; i-- {
		if ran[i].Operation != v1alpha1.StepPluginOperationRun {
			continue
		}
		index := ran[i].Index
		step := p.pluginOf(index)
		if step == nil || p.disabled(step.Name) || find(p.st.Canary.StepPluginStatuses, index, step.Name, v1alpha1.StepPluginOperationAbort) != nil {
			continue
		}
		r := find(ran, index, step.Name, v1alpha1.StepPluginOperationRun)
		if r == nil || r.Disabled || (r.Phase != v1alpha1.StepPluginPhaseRunning && r.Phase != v1alpha1.StepPluginPhaseSuccessful) {
			continue
		}
		call := &pass.CallStepPlugin{Index: index, Name: step.Name, Operation: v1alpha1.StepPluginOperationAbort, Config: step.Config, Status: r.Status}
		a := p.answer(index, v1alpha1.StepPluginOperationAbort)
		if a == nil {
			return evs, call
		}
		evs = append(evs, p.record(p.ended(*call, a))...)
	}
	return evs, nil
}

// terminate asks the plugin of the last step still running, once the
// update is promoted in full, to stop: its answer is recorded as a
// Terminate status. It returns the call to make, if any.
func (p plugins) terminate() ([]rules.Event, *pass.CallStepPlugin) {
	var index *int32
	ran := p.ro.Status.Canary.StepPluginStatuses
	for i := len(ran) - 1; i >= 0 && index == nil; i-- {
		switch s := ran[i]; {
		case s.Operation == v1alpha1.StepPluginOperationTerminate && s.Phase == v1alpha1.StepPluginPhaseSuccessful:
			return nil, nil // already stopped
		case s.Operation == v1alpha1.StepPluginOperationRun && s.Phase == v1alpha1.StepPluginPhaseRunning:
			index = &s.Index
		}
	}
	if index == nil {
		return nil, nil
	}
	step := p.pluginOf(*index)
	if step == nil || p.disabled(step.Name) || find(p.st.Canary.StepPluginStatuses, *index, step.Name, v1alpha1.StepPluginOperationTerminate) != nil {
		return nil, nil
	}
	r := find(ran, *index, step.Name, v1alpha1.StepPluginOperationRun)
	if r == nil || r.Disabled || r.Phase != v1alpha1.StepPluginPhaseRunning {
		return nil, nil
	}
	call := &pass.CallStepPlugin{Index: *index, Name: step.Name, Operation: v1alpha1.StepPluginOperationTerminate, Config: step.Config, Status: r.Status}
	a := p.answer(*index, v1alpha1.StepPluginOperationTerminate)
	if a == nil {
		return nil, call
	}
	return p.record(p.ended(*call, a)), nil
}

// ended is the status of a Terminate or Abort as the answer a leaves it:
// Successful unless the plugin says otherwise; Running is Failed, as
// neither may go on in the background.
func (p plugins) ended(c pass.CallStepPlugin, a *pass.StepPluginAnswer) v1alpha1.StepPluginStatus {
	at := metav1.NewTime(p.now)
	s := v1alpha1.StepPluginStatus{Index: c.Index, Name: c.Name, StartedAt: &at, FinishedAt: &at, Operation: c.Operation}
	ph, err := phase(a, v1alpha1.StepPluginPhaseSuccessful)
	switch {
	case a.Err != "":
		s.Phase, s.Message = v1alpha1.StepPluginPhaseError, a.Err
	case err != nil:
		s.Phase, s.Message = v1alpha1.StepPluginPhaseError, err.Error()
	case ph == v1alpha1.StepPluginPhaseRunning:
		s.Phase, s.Message = v1alpha1.StepPluginPhaseFailed, a.Message
	default:
		s.Phase, s.Message = ph, a.Message
	}
	return s
}

// retried drops the statuses of an aborted attempt when it is retried
// (the steps start over at step 0), as Argo Rollouts does: unless step 0
// is a plugin step still running.
func (p plugins) retried() {
	if len(p.st.Canary.StepPluginStatuses) == 0 || p.ro.Status.Abort {
		return
	}
	if idx := p.ro.Status.CurrentStepIndex; (idx != nil && *idx != 0) || len(p.ro.Spec.Strategy.Canary.Steps) == 0 {
		return
	}
	if p.pluginOf(0) == nil || p.completed(0) {
		p.st.Canary.StepPluginStatuses = nil
	}
}
