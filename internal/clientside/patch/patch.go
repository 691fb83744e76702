// Package patch builds the patches the `kubectl argo rollouts` commands
// send (promote, abort, retry, pause, restart, terminate, undo) and the
// image change of `set image`, as plain values computed from the objects
// read. The CLI and the dashboard send them through Send, so both make
// exactly the same requests as the Argo Rollouts plugin.
package patch

//lint:file-ignore ST1005 the deprecated promote flags refuse in the plugin's capitalized words, which scripts may match

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// StatusSubresource is Patch.Subresource for the status subresource.
const StatusSubresource = "status"

// Patch is one PATCH request to an object or its status subresource.
type Patch struct {
	// Subresource is StatusSubresource, or empty for the object itself.
	Subresource string
	// Type is the patch format: merge or JSON patch.
	Type types.PatchType
	// Body is the patch document.
	Body []byte
	// Fallback, set on status patches, is sent to the object itself
	// instead when the API server does not serve the status subresource
	// (CRDs from before Argo Rollouts v0.10). It then replaces this patch
	// and every later one in the list: it carries their changes too.
	Fallback *Patch
}

func merge(body string) Patch { return Patch{Type: types.MergePatchType, Body: []byte(body)} }

// status is a merge patch to the status subresource with fallback as the
// whole-object patch for clusters without one.
func status(body, fallback string) Patch {
	fb := merge(fallback)
	return Patch{Subresource: StatusSubresource, Type: types.MergePatchType, Body: []byte(body), Fallback: &fb}
}

// The bodies of the Argo Rollouts plugin's patches.
const (
	unpause                      = `{"spec":{"paused":false}}`
	clearPauseConditions         = `{"status":{"pauseConditions":null}}`
	unpauseAndClearPause         = `{"spec":{"paused":false},"status":{"pauseConditions":null}}`
	promoteFull                  = `{"status":{"promoteFull":true}}`
	unpauseAndPromoteFull        = `{"spec":{"paused":false},"status":{"promoteFull":true}}`
	setStepIndex                 = `{"status":{"currentStepIndex":%d}}`
	clearPauseWithStep           = `{"status":{"pauseConditions":null,"currentStepIndex":%d}}`
	unpauseAndClearPauseWithStep = `{"spec":{"paused":false},"status":{"pauseConditions":null,"currentStepIndex":%d}}`
	clearControllerPauseWithStep = `{"status":{"pauseConditions":null,"controllerPause":false,"currentStepIndex":%d}}`
	abortBody                    = `{"status":{"abort":true}}`
	retryRolloutBody             = `{"status":{"abort":false}}`
	retryExperimentBody          = `{"status":null}`
	pauseBody                    = `{"spec":{"paused":true}}`
	terminateBody                = `{"spec":{"terminate":true}}`
)

// Promote is `promote` (full false) or `promote --full` of ro as read.
//
// Without --full it resumes the rollout: it unpauses a manual pause and
// clears pause conditions; a canary not paused skips its current step
// (the rollout is running an analysis or experiment step); a canary whose
// step analysis was Inconclusive also clears controllerPause and skips the
// step, or it would stop again at the next pause step. With --full it
// asks the controller to jump to the end, which it only does while an
// update is in flight (current pod hash differs from stable).
func Promote(ro *v1alpha1.Rollout, full bool) []Patch {
	var statusPatch, specPatch *Patch
	fallback := unpauseAndClearPause
	if full {
		fallback = unpauseAndPromoteFull
		if ro.Status.CurrentPodHash != ro.Status.StableRS {
			p := status(promoteFull, fallback)
			statusPatch = &p
		}
	} else {
		index := stepIndex(ro)
		switch {
		case inconclusive(ro) && len(ro.Status.PauseConditions) > 0 && ro.Status.ControllerPause && index != nil:
			p := status(fmt.Sprintf(clearControllerPauseWithStep, next(ro, *index)), fallback)
			statusPatch = &p
		case len(ro.Status.PauseConditions) > 0:
			p := status(clearPauseConditions, fallback)
			statusPatch = &p
		case ro.Spec.Strategy.Canary != nil && index != nil:
			i := next(ro, *index)
			p := status(fmt.Sprintf(clearPauseWithStep, i), fmt.Sprintf(unpauseAndClearPauseWithStep, i))
			statusPatch = &p
		}
	}
	if ro.Spec.Paused {
		p := merge(unpause)
		specPatch = &p
	}
	// The status patch goes first: if it has to fall back, the fallback
	// also unpauses, and the spec patch is not sent.
	var out []Patch
	if statusPatch != nil {
		out = append(out, *statusPatch)
	}
	if specPatch != nil {
		out = append(out, *specPatch)
	}
	return out
}

// The refusals of the deprecated promote flags, in the plugin's words
// (capitalized, as scripts may match them).
var (
	// ErrBothSkipFlags is promote with both --skip-current-step and --skip-all-steps.
	ErrBothSkipFlags = errors.New("Cannot use skip-current-step and skip-all-steps flags at the same time")
	// ErrSkipBlueGreen is a skip flag on a blue-green rollout, which has no steps.
	ErrSkipBlueGreen = errors.New("Cannot skip steps of a bluegreen rollout. Run without a flags")
	// ErrSkipNoSteps is a skip flag on a canary without steps.
	ErrSkipNoSteps = errors.New("Cannot skip steps of a rollout without steps")
)

// SkipSteps is the deprecated `promote --skip-current-step` (all false) or
// `promote --skip-all-steps` (all true): it only moves the step index.
func SkipSteps(ro *v1alpha1.Rollout, all bool) ([]Patch, error) {
	if ro.Spec.Strategy.BlueGreen != nil {
		return nil, ErrSkipBlueGreen
	}
	index := stepIndex(ro)
	if index == nil {
		return nil, ErrSkipNoSteps
	}
	i := next(ro, *index)
	if all {
		i = int32(len(ro.Spec.Strategy.Canary.Steps))
	}
	body := fmt.Sprintf(setStepIndex, i)
	return []Patch{status(body, body)}, nil
}

// stepIndex is the canary's current step index (0 when unset), or nil for
// a rollout without canary steps.
func stepIndex(ro *v1alpha1.Rollout) *int32 {
	if ro.Spec.Strategy.Canary == nil || len(ro.Spec.Strategy.Canary.Steps) == 0 {
		return nil
	}
	var i int32
	if ro.Status.CurrentStepIndex != nil {
		i = *ro.Status.CurrentStepIndex
	}
	return &i
}

// next is the step after i, never past the end.
func next(ro *v1alpha1.Rollout, i int32) int32 {
	if i < int32(len(ro.Spec.Strategy.Canary.Steps)) {
		return i + 1
	}
	return i
}

func inconclusive(ro *v1alpha1.Rollout) bool {
	run := ro.Status.Canary.CurrentStepAnalysisRunStatus
	return ro.Spec.Strategy.Canary != nil && run != nil && run.Status == v1alpha1.AnalysisPhaseInconclusive
}

// Abort is `abort`: the controller returns every pod to the stable version.
func Abort() []Patch { return []Patch{status(abortBody, abortBody)} }

// RetryRollout is `retry rollout`: clears abort, so the update restarts
// from the first step.
func RetryRollout() []Patch { return []Patch{status(retryRolloutBody, retryRolloutBody)} }

// RetryExperiment is `retry experiment`: clearing the status makes the
// controller run the experiment again. It goes to the status subresource
// first because the object itself ignores status changes when the
// subresource is served.
func RetryExperiment() []Patch { return []Patch{status(retryExperimentBody, retryExperimentBody)} }

// Pause is `pause`.
func Pause() []Patch { return []Patch{merge(pauseBody)} }

// Terminate is `terminate analysisrun` and `terminate experiment`.
func Terminate() []Patch { return []Patch{merge(terminateBody)} }

// Restart is `restart`: pods created before at are replaced; at is sent
// in UTC to the second, as RFC 3339.
func Restart(at time.Time) []Patch {
	body, _ := json.Marshal(map[string]any{"spec": map[string]any{"restartAt": at.UTC().Format(time.RFC3339)}})
	return []Patch{{Type: types.MergePatchType, Body: body}}
}
