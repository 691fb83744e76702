package patch

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// sent is a patch as a test expects it: "status"/"" target, body, and the
// fallback body ("" for none).
type sent struct {
	sub, body, fallback string
}

func flatten(t *testing.T, ps []Patch) []sent {
	t.Helper()
	var out []sent
	for _, p := range ps {
		if p.Type != types.MergePatchType {
			t.Errorf("patch %s has type %s, want merge", p.Body, p.Type)
		}
		s := sent{sub: p.Subresource, body: string(p.Body)}
		if p.Fallback != nil {
			s.fallback = string(p.Fallback.Body)
			if p.Fallback.Subresource != "" || p.Fallback.Fallback != nil {
				t.Errorf("fallback of %s must go to the object itself, alone", p.Body)
			}
		}
		out = append(out, s)
	}
	return out
}

func equal(a, b []sent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

func canary(steps int, index *int32) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: make([]v1alpha1.CanaryStep, steps)}
	ro.Status.CurrentStepIndex = index
	ro.Status.CurrentPodHash, ro.Status.StableRS = "new", "old"
	return ro
}

func blueGreen() *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{}
	ro.Status.CurrentPodHash, ro.Status.StableRS = "new", "old"
	return ro
}

func with(ro *v1alpha1.Rollout, f func(*v1alpha1.Rollout)) *v1alpha1.Rollout { f(ro); return ro }

func paused(ro *v1alpha1.Rollout) { ro.Spec.Paused = true }
func pauseCondition(ro *v1alpha1.Rollout) {
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	ro.Status.ControllerPause = true
}

// TestPromote checks promote's patches against reference §4.6: the status
// patch first (with the whole-object fallback), then the spec patch.
func TestPromote(t *testing.T) {
	const (
		unpauseSpec = `{"spec":{"paused":false}}`
		unified     = `{"spec":{"paused":false},"status":{"pauseConditions":null}}`
	)
	for _, tc := range []struct {
		name string
		ro   *v1alpha1.Rollout
		full bool
		want []sent
	}{
		{"manual pause only, blue-green", with(blueGreen(), paused), false,
			[]sent{{"", unpauseSpec, ""}}},
		{"pause conditions", with(canary(4, ptr[int32](1)), pauseCondition), false,
			[]sent{{"status", `{"status":{"pauseConditions":null}}`, unified}}},
		{"pause conditions and manual pause", with(with(canary(4, ptr[int32](1)), pauseCondition), paused), false,
			[]sent{{"status", `{"status":{"pauseConditions":null}}`, unified}, {"", unpauseSpec, ""}}},
		{"canary running a step: skip it", canary(4, ptr[int32](2)), false,
			[]sent{{"status", `{"status":{"pauseConditions":null,"currentStepIndex":3}}`,
				`{"spec":{"paused":false},"status":{"pauseConditions":null,"currentStepIndex":3}}`}}},
		{"canary without an index starts at step 0", canary(4, nil), false,
			[]sent{{"status", `{"status":{"pauseConditions":null,"currentStepIndex":1}}`,
				`{"spec":{"paused":false},"status":{"pauseConditions":null,"currentStepIndex":1}}`}}},
		{"canary past the last step stays there", canary(4, ptr[int32](4)), false,
			[]sent{{"status", `{"status":{"pauseConditions":null,"currentStepIndex":4}}`,
				`{"spec":{"paused":false},"status":{"pauseConditions":null,"currentStepIndex":4}}`}}},
		{"inconclusive step analysis paused by the controller", with(canary(4, ptr[int32](2)), func(ro *v1alpha1.Rollout) {
			pauseCondition(ro)
			ro.Status.Canary.CurrentStepAnalysisRunStatus = &v1alpha1.RolloutAnalysisRunStatus{Status: v1alpha1.AnalysisPhaseInconclusive}
		}), false,
			[]sent{{"status", `{"status":{"pauseConditions":null,"controllerPause":false,"currentStepIndex":3}}`, unified}}},
		{"blue-green not paused: nothing to send", blueGreen(), false, nil},
		{"full, update in flight", canary(4, ptr[int32](1)), true,
			[]sent{{"status", `{"status":{"promoteFull":true}}`, `{"spec":{"paused":false},"status":{"promoteFull":true}}`}}},
		{"full and manually paused", with(blueGreen(), paused), true,
			[]sent{{"status", `{"status":{"promoteFull":true}}`, `{"spec":{"paused":false},"status":{"promoteFull":true}}`}, {"", unpauseSpec, ""}}},
		{"full, already stable: only unpause", with(with(canary(4, ptr[int32](4)), paused), func(ro *v1alpha1.Rollout) { ro.Status.StableRS = "new" }), true,
			[]sent{{"", unpauseSpec, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := flatten(t, Promote(tc.ro, tc.full))
			if !equal(got, tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestSkipSteps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ro      *v1alpha1.Rollout
		all     bool
		want    string
		wantErr error
	}{
		{"skip current", canary(4, ptr[int32](1)), false, `{"status":{"currentStepIndex":2}}`, nil},
		{"skip current at the end", canary(4, ptr[int32](4)), false, `{"status":{"currentStepIndex":4}}`, nil},
		{"skip all", canary(4, ptr[int32](1)), true, `{"status":{"currentStepIndex":4}}`, nil},
		{"blue-green", blueGreen(), false, "", ErrSkipBlueGreen},
		{"no steps", canary(0, nil), true, "", ErrSkipNoSteps},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := SkipSteps(tc.ro, tc.all)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			got := flatten(t, ps)
			if want := []sent{{"status", tc.want, tc.want}}; !equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestFixedPatches checks the patches that do not depend on the object
// against reference §5.2.
func TestFixedPatches(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []Patch
		want []sent
	}{
		{"abort", Abort(), []sent{{"status", `{"status":{"abort":true}}`, `{"status":{"abort":true}}`}}},
		{"retry rollout", RetryRollout(), []sent{{"status", `{"status":{"abort":false}}`, `{"status":{"abort":false}}`}}},
		{"retry experiment", RetryExperiment(), []sent{{"status", `{"status":null}`, `{"status":null}`}}},
		{"pause", Pause(), []sent{{"", `{"spec":{"paused":true}}`, ""}}},
		{"terminate", Terminate(), []sent{{"", `{"spec":{"terminate":true}}`, ""}}},
		{"restart", Restart(time.Date(2026, 11, 23, 17, 0, 5, 999, time.FixedZone("CET", 3600))),
			[]sent{{"", `{"spec":{"restartAt":"2026-11-23T16:00:05Z"}}`, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := flatten(t, tc.got); !equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPatchBodiesAreJSON guards the hand-written bodies against typos.
func TestPatchBodiesAreJSON(t *testing.T) {
	ros := []*v1alpha1.Rollout{with(canary(3, ptr[int32](1)), pauseCondition), canary(3, nil), with(blueGreen(), paused)}
	var all []Patch
	for _, ro := range ros {
		all = append(all, Promote(ro, false)...)
		all = append(all, Promote(ro, true)...)
	}
	all = append(all, Abort()...)
	for _, p := range all {
		for _, b := range [][]byte{p.Body, fallbackBody(p)} {
			if b != nil && !json.Valid(b) {
				t.Errorf("not JSON: %s", b)
			}
		}
	}
}

func fallbackBody(p Patch) []byte {
	if p.Fallback == nil {
		return nil
	}
	return p.Fallback.Body
}
