package pass

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// StepPlugins is what the planner knows of the step plugins beyond the
// Rollout: which are turned off, and what they answered this reconcile.
type StepPlugins struct {
	// Disabled names the step plugins argo-rollouts-config lists with
	// disabled: true; their steps complete without a call.
	Disabled []string
	// Answers are the answers to the calls made this reconcile, in order.
	Answers []StepPluginAnswer
}

// CallStepPlugin asks the step plugin of the canary step at Index to run,
// terminate or abort it. A plan holding one holds nothing else: the shell
// makes the call at once and plans again with the answer
// (StepPlugins.Answers), so that the status written records what the
// plugin said, and the decisions it leads to, in one write. The state
// the call starts from is already in the status: a controller that dies
// before that write makes the same call again, from the same state.
type CallStepPlugin struct {
	Index     int32
	Name      string
	Operation v1alpha1.StepPluginOperation
	// Config is the step's plugin.config; Status the plugin's own state
	// from its last Run, handed back to it.
	Config, Status json.RawMessage
}

// StepPluginAnswer is a step plugin's answer to Call.
type StepPluginAnswer struct {
	Call         CallStepPlugin
	Phase        v1alpha1.StepPluginPhase
	Message      string
	RequeueAfter time.Duration
	Status       json.RawMessage
	// Err is the plugin's own error, or why the call failed; the fields
	// above are then empty.
	Err string
}

// StepPluginCall is the plan's step plugin call, when the plan is one.
func (p Plan) StepPluginCall() (CallStepPlugin, bool) {
	if len(p.Steps) != 1 {
		return CallStepPlugin{}, false
	}
	c, ok := p.Steps[0].(CallStepPlugin)
	return c, ok
}

func (s CallStepPlugin) Describe() string {
	return fmt.Sprintf("call step plugin %s %s for step %d", s.Name, s.Operation, s.Index)
}
