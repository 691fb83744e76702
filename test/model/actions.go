package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/action"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

// Action kinds: what users and tools do to a Rollout, each sent as the
// real client sends it.
const (
	// SetImage is `kubectl argo rollouts set image` (Image): a new revision.
	SetImage = "set-image"
	// EditSteps replaces the canary steps (Steps), as a GitOps apply would.
	EditSteps = "edit-steps"
	// Promote is `kubectl argo rollouts promote`.
	Promote = "promote"
	// PromoteFull is `kubectl argo rollouts promote --full`.
	PromoteFull = "promote-full"
	// Abort is `kubectl argo rollouts abort`.
	Abort = "abort"
	// Retry is `kubectl argo rollouts retry rollout`.
	Retry = "retry"
	// Skip is Argo CD's skip-current-step action: the status merge patch
	// {"status":{"currentStepIndex":i+1,"pauseConditions":null}}.
	Skip = "skip"
	// Pause is `kubectl argo rollouts pause` (spec.paused true).
	Pause = "pause"
	// Resume sets spec.paused false with a plain merge patch (a GitOps
	// sync or kubectl patch; unlike promote it clears no pause condition).
	Resume = "resume"
	// Scale is a /scale write of spec.replicas (Replicas), as an HPA or
	// `kubectl scale` sends it.
	Scale = "scale"
	// Undo is `kubectl argo rollouts undo` (Revision 0: the previous one).
	Undo = "undo"
	// Restart is `kubectl argo rollouts restart` (spec.restartAt = now).
	Restart = "restart"
	// Analysis decides the running AnalysisRun of RunType with Phase, as
	// the AnalysisRun controller would.
	Analysis = "analysis"
	// Wait lets Seconds of simulated time pass.
	Wait = "wait"
	// ControllerRestart replaces the controller with a fresh one whose
	// first Stale reconciles read the store as it was Back steps earlier.
	ControllerRestart = "controller-restart"
)

// Action is one thing done to the Rollout, as plain values.
type Action struct {
	Kind     string                `json:"kind"`
	Image    string                `json:"image,omitempty"`
	Steps    []v1alpha1.CanaryStep `json:"steps,omitempty"`
	Replicas int32                 `json:"replicas,omitempty"`
	Revision int64                 `json:"revision,omitempty"`
	RunType  string                `json:"runType,omitempty"`
	Phase    string                `json:"phase,omitempty"`
	Seconds  int32                 `json:"seconds,omitempty"`
	Back     int                   `json:"back,omitempty"`
	Stale    int                   `json:"stale,omitempty"`
}

// String is the action as a person reads it.
func (a Action) String() string {
	switch a.Kind {
	case SetImage:
		return "set image " + a.Image
	case EditSteps:
		return "edit steps to " + stepsString(a.Steps)
	case Scale:
		return fmt.Sprintf("scale to %d", a.Replicas)
	case Undo:
		if a.Revision == 0 {
			return "undo"
		}
		return fmt.Sprintf("undo --to-revision %d", a.Revision)
	case Analysis:
		return fmt.Sprintf("analysis: %s run ends %s", a.RunType, a.Phase)
	case Wait:
		return fmt.Sprintf("wait %ds", a.Seconds)
	case ControllerRestart:
		return fmt.Sprintf("controller restart (cache %d steps stale for %d reconciles)", a.Back, a.Stale)
	case Skip:
		return "skip current step (Argo CD)"
	case Resume:
		return "resume (spec.paused=false)"
	}
	return a.Kind
}

// stepsString renders canary steps compactly: [setWeight 20, pause {}, pause 30s, analysis].
func stepsString(steps []v1alpha1.CanaryStep) string {
	parts := make([]string, len(steps))
	for i, s := range steps {
		parts[i] = stepString(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func stepString(s v1alpha1.CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight %d", *s.SetWeight)
	case s.Pause != nil && s.Pause.Duration == nil:
		return "pause {}"
	case s.Pause != nil:
		return "pause " + s.Pause.Duration.String()
	case s.Analysis != nil:
		return "analysis"
	}
	return "?"
}

// isGate reports a `pause: {}` step: one only a user can pass.
func isGate(s v1alpha1.CanaryStep) bool {
	return s.Pause != nil && (s.Pause.Duration == nil || s.Pause.DurationSeconds() <= 0)
}

// apply sends the action to the live store as the user's client, and
// tells the checker what was done.
func (r *runner) apply(ctx context.Context, a Action) error {
	w := r.w
	user := w.as("user")
	ro, err := w.rolloutNow()
	if err != nil {
		return err
	}
	send := func(patches []patch.Patch) error {
		return patch.Send(ctx, user, ro, patches)
	}
	switch a.Kind {
	case SetImage:
		_, err := action.SetImage(ctx, user, Namespace, Name, "web", a.Image)
		return err
	case EditSteps:
		if ro.Spec.Strategy.Canary == nil {
			return nil
		}
		ro.Spec.Strategy.Canary.Steps = a.Steps
		return ignoreConflict(user.Update(ctx, ro))
	case Promote:
		return send(patch.Promote(ro, false))
	case PromoteFull:
		return send(patch.Promote(ro, true))
	case Abort:
		return send(patch.Abort())
	case Retry:
		return send(patch.RetryRollout())
	case Skip:
		if ro.Spec.Strategy.Canary == nil {
			return nil
		}
		i := int32(0)
		if ro.Status.CurrentStepIndex != nil {
			i = *ro.Status.CurrentStepIndex
		}
		body := fmt.Sprintf(`{"status":{"currentStepIndex":%d,"pauseConditions":null}}`, i+1)
		return user.Status().Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(body)))
	case Pause:
		return send(patch.Pause())
	case Resume:
		return user.Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"paused":false}}`)))
	case Scale:
		body := fmt.Sprintf(`{"spec":{"replicas":%d}}`, a.Replicas)
		return user.Patch(ctx, ro, client.RawPatch(types.MergePatchType, []byte(body)))
	case Undo:
		_, err := action.Undo(ctx, user, Namespace, Name, a.Revision)
		if err != nil && strings.Contains(err.Error(), "revision") {
			return nil // nothing to go back to: the CLI refuses, nothing is sent
		}
		return err
	case Restart:
		return send(patch.Restart(w.now))
	case Analysis:
		return r.decideRun(ctx, a)
	case Wait, ControllerRestart:
		return nil // carried out by the runner
	}
	return fmt.Errorf("model: unknown action %q", a.Kind)
}

// ignoreConflict: a user's update that lost a race is simply not applied.
func ignoreConflict(err error) error {
	if apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// decideRun ends the newest running run of the action's type.
func (r *runner) decideRun(ctx context.Context, a Action) error {
	var list v1alpha1.AnalysisRunList
	if err := r.w.store.List(ctx, &list, client.InNamespace(Namespace)); err != nil {
		return err
	}
	var pick *v1alpha1.AnalysisRun
	for i := range list.Items {
		run := &list.Items[i]
		if run.Status.Phase.Completed() || run.Spec.Terminate {
			continue
		}
		if a.RunType != "" && run.Labels[v1alpha1.RolloutTypeLabel] != a.RunType {
			continue
		}
		if pick == nil || pick.CreationTimestamp.Before(&run.CreationTimestamp) || pick.CreationTimestamp.Equal(&run.CreationTimestamp) && pick.Name < run.Name {
			pick = run
		}
	}
	if pick == nil {
		return nil
	}
	return setRunPhase(ctx, r.w.as("analysis"), pick, v1alpha1.AnalysisPhase(a.Phase), r.w.now)
}

// generator draws the next action, looking at the Rollout as it stands so
// that most actions are ones that matter there (a promote while paused, an
// analysis outcome while a run is running); the action itself is plain
// data and replays without the generator.
type generator struct {
	rng    *rand.Rand
	images int
}

func (g *generator) next(ro *v1alpha1.Rollout, runs []v1alpha1.AnalysisRun, shape Shape) Action {
	r := g.rng
	var running []string
	for _, run := range runs {
		if !run.Status.Phase.Completed() && !run.Spec.Terminate {
			running = append(running, run.Labels[v1alpha1.RolloutTypeLabel])
		}
	}
	paused := len(ro.Status.PauseConditions) > 0
	type choice struct {
		weight int
		make   func() Action
	}
	choices := []choice{
		{6, func() Action { g.images++; return Action{Kind: SetImage, Image: Image(g.images)} }},
		{boost(paused, 10, 4), func() Action { return Action{Kind: Promote} }},
		{2, func() Action { return Action{Kind: PromoteFull} }},
		{3, func() Action { return Action{Kind: Abort} }},
		{boost(ro.Status.Abort, 8, 1), func() Action { return Action{Kind: Retry} }},
		{2, func() Action { return Action{Kind: Pause} }},
		{boost(ro.Spec.Paused, 6, 1), func() Action { return Action{Kind: Resume} }},
		{2, func() Action { return Action{Kind: Scale, Replicas: int32(r.IntN(7))} }},
		{2, func() Action { return Action{Kind: Undo} }},
		{1, func() Action { return Action{Kind: Restart} }},
		{14, func() Action { return Action{Kind: Wait, Seconds: waitSeconds(r)} }},
		{2, func() Action { return Action{Kind: ControllerRestart, Back: 1 + r.IntN(3), Stale: 1 + r.IntN(3)} }},
	}
	if shape.Strategy == Canary {
		choices = append(choices,
			choice{boost(paused, 6, 2), func() Action { return Action{Kind: Skip} }},
			choice{1, func() Action { return Action{Kind: EditSteps, Steps: randomSteps(r)} }})
	}
	if len(running) > 0 {
		choices = append(choices, choice{10, func() Action {
			phases := []v1alpha1.AnalysisPhase{v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseSuccessful,
				v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseInconclusive, v1alpha1.AnalysisPhaseError}
			return Action{Kind: Analysis, RunType: running[r.IntN(len(running))], Phase: string(phases[r.IntN(len(phases))])}
		}})
	}
	total := 0
	for _, c := range choices {
		total += c.weight
	}
	n := r.IntN(total)
	for _, c := range choices {
		if n < c.weight {
			return c.make()
		}
		n -= c.weight
	}
	return Action{Kind: Wait, Seconds: 10}
}

func boost(cond bool, yes, no int) int {
	if cond {
		return yes
	}
	return no
}

// waitSeconds draws a wait: mostly short, sometimes past a pause, a scale-
// down delay or a progress deadline.
func waitSeconds(r *rand.Rand) int32 {
	switch r.IntN(4) {
	case 0, 1:
		return int32(2 + r.IntN(10))
	case 2:
		return int32(15 + r.IntN(60))
	}
	return int32(60 + r.IntN(700))
}
