package rollout

import (
	"context"
	"fmt"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/canary"
	"github.com/aviary-rollouts/aviary/internal/plan/pass"
	"github.com/aviary-rollouts/aviary/internal/stepplugin"
)

// planCanary asks the canary planner for the plan. A plan that is a step
// plugin call (pass.CallStepPlugin) is carried out at once, and the
// planner asked again with the answer, so that the status written records
// what the plugin said along with what it leads to. The planner asks each
// call at most once a reconcile; more calls than that are a bug, stopped
// here rather than looping.
func (r *Reconciler) planCanary(ctx context.Context, obs pass.Observed) (pass.Plan, error) {
	limit := 2*len(obs.Rollout.Spec.Strategy.Canary.Steps) + 1
	for {
		p := canary.Plan(obs)
		call, ok := p.StepPluginCall()
		if !ok {
			return p, nil
		}
		if len(obs.StepPlugins.Answers) >= limit {
			return pass.Plan{}, fmt.Errorf("rollout %s/%s: the planner asked for step plugin calls %d times in one reconcile (last: %s)",
				obs.Rollout.Namespace, obs.Rollout.Name, len(obs.StepPlugins.Answers)+1, call.Describe())
		}
		obs.StepPlugins.Answers = append(obs.StepPlugins.Answers, r.callStepPlugin(ctx, obs.Rollout, call))
	}
}

// callStepPlugin makes the call and returns the plugin's answer, or why
// there is none.
func (r *Reconciler) callStepPlugin(ctx context.Context, ro *v1alpha1.Rollout, c pass.CallStepPlugin) pass.StepPluginAnswer {
	log := r.logFor(ro.Namespace, ro.Name).With("stepplugin", c.Name, "stepindex", c.Index, "operation", c.Operation)
	log.DebugContext(ctx, "calling step plugin")
	res, err := stepplugin.Caller{Host: r.StepPlugins}.Call(ctx, ro.DeepCopy(), c.Operation,
		stepplugin.Context{PluginName: c.Name, Config: c.Config, Status: c.Status})
	if err != nil {
		log.WarnContext(ctx, "step plugin call failed", "error", err)
		return pass.StepPluginAnswer{Call: c, Err: err.Error()}
	}
	log.InfoContext(ctx, "step plugin answered", "phase", res.Phase, "message", res.Message)
	return pass.StepPluginAnswer{Call: c, Phase: res.Phase, Message: res.Message, RequeueAfter: res.RequeueAfter, Status: res.Status}
}

// disabledStepPlugins names the plugins of ro's steps that
// argo-rollouts-config turns off.
func (r *Reconciler) disabledStepPlugins(ro *v1alpha1.Rollout) []string {
	var out []string
	if c := ro.Spec.Strategy.Canary; c != nil {
		for _, s := range c.Steps {
			if s.Plugin != nil && r.StepPlugins.Disabled(s.Plugin.Name) {
				out = append(out, s.Plugin.Name)
			}
		}
	}
	return out
}
