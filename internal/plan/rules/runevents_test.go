package rules

import (
	"slices"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestRunEvents(t *testing.T) {
	rec := func(name string, phase v1alpha1.AnalysisPhase) *v1alpha1.RolloutAnalysisRunStatus {
		return &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: phase}
	}
	run := func(name string, phase v1alpha1.AnalysisPhase) *Run { return &Run{Name: name, Phase: phase} }
	// roles sets one record (before and after) and the current run of the
	// role named, leaving the others empty.
	type role struct {
		label         string
		before, after *v1alpha1.RolloutAnalysisRunStatus
		run           *Run
	}
	statuses := func(roles []role) (before, after v1alpha1.RolloutStatus, current CurrentRuns) {
		for _, r := range roles {
			switch r.label {
			case v1alpha1.RolloutTypeStepLabel:
				before.Canary.CurrentStepAnalysisRunStatus, after.Canary.CurrentStepAnalysisRunStatus, current.Step = r.before, r.after, r.run
			case v1alpha1.RolloutTypeBackgroundRunLabel:
				before.Canary.CurrentBackgroundAnalysisRunStatus, after.Canary.CurrentBackgroundAnalysisRunStatus, current.Background = r.before, r.after, r.run
			case v1alpha1.RolloutTypePrePromotionLabel:
				before.BlueGreen.PrePromotionAnalysisRunStatus, after.BlueGreen.PrePromotionAnalysisRunStatus, current.PrePromotion = r.before, r.after, r.run
			case v1alpha1.RolloutTypePostPromotionLabel:
				before.BlueGreen.PostPromotionAnalysisRunStatus, after.BlueGreen.PostPromotionAnalysisRunStatus, current.PostPromotion = r.before, r.after, r.run
			}
		}
		return before, after, current
	}
	const (
		step = v1alpha1.RolloutTypeStepLabel
		bg   = v1alpha1.RolloutTypeBackgroundRunLabel
		pre  = v1alpha1.RolloutTypePrePromotionLabel
		post = v1alpha1.RolloutTypePostPromotionLabel
	)
	const (
		pending      = v1alpha1.AnalysisPhasePending
		running      = v1alpha1.AnalysisPhaseRunning
		successful   = v1alpha1.AnalysisPhaseSuccessful
		failed       = v1alpha1.AnalysisPhaseFailed
		errored      = v1alpha1.AnalysisPhaseError
		inconclusive = v1alpha1.AnalysisPhaseInconclusive
	)
	for _, c := range []struct {
		name  string
		roles []role
		want  []Event
	}{
		{name: "no runs: nothing"},
		{name: "a step run starts running",
			roles: []role{{step, rec("web-abc-2-1", pending), rec("web-abc-2-1", running), run("web-abc-2-1", running)}},
			want: []Event{{Reason: ReasonAnalysisRunRunning,
				Message: "Step Analysis Run 'web-abc-2-1' Status New: 'Running' Previous: 'Pending'"}}},
		{name: "a background run's first phase, none recorded",
			roles: []role{{bg, nil, rec("web-abc-2", running), run("web-abc-2", running)}},
			want: []Event{{Reason: ReasonAnalysisRunRunning,
				Message: "Background Analysis Run 'web-abc-2' Status New: 'Running' Previous: 'NoPreviousStatus'"}}},
		{name: "a pre-promotion run passes",
			roles: []role{{pre, rec("web-abc-2-pre", running), rec("web-abc-2-pre", successful), run("web-abc-2-pre", successful)}},
			want: []Event{{Reason: ReasonAnalysisRunSuccessful,
				Message: "PrePromotion Analysis Run 'web-abc-2-pre' Status New: 'Successful' Previous: 'Running'"}}},
		{name: "a post-promotion run fails: a warning",
			roles: []role{{post, rec("web-abc-2-post", running), rec("web-abc-2-post", failed), run("web-abc-2-post", failed)}},
			want: []Event{{Warning: true, Reason: ReasonAnalysisRunFailed,
				Message: "PostPromotion Analysis Run 'web-abc-2-post' Status New: 'Failed' Previous: 'Running'"}}},
		{name: "a run errors: a warning",
			roles: []role{{step, rec("r", running), rec("r", errored), run("r", errored)}},
			want: []Event{{Warning: true, Reason: ReasonAnalysisRunError,
				Message: "Step Analysis Run 'r' Status New: 'Error' Previous: 'Running'"}}},
		{name: "an inconclusive run",
			roles: []role{{bg, rec("r", running), rec("r", inconclusive), run("r", inconclusive)}},
			want: []Event{{Reason: ReasonAnalysisRunInconclusive,
				Message: "Background Analysis Run 'r' Status New: 'Inconclusive' Previous: 'Running'"}}},
		{name: "the same phase as recorded: nothing",
			roles: []role{{step, rec("r", running), rec("r", running), run("r", running)}}},
		{name: "a run whose field the pass clears (an abort) still tells its failure",
			roles: []role{{step, rec("r", running), nil, run("r", failed)}},
			want: []Event{{Warning: true, Reason: ReasonAnalysisRunFailed,
				Message: "Step Analysis Run 'r' Status New: 'Failed' Previous: 'Running'"}}},
		{name: "a record naming an earlier run counts as none",
			roles: []role{{bg, rec("web-old-1", successful), rec("web-new-2", running), run("web-new-2", running)}},
			want: []Event{{Reason: ReasonAnalysisRunRunning,
				Message: "Background Analysis Run 'web-new-2' Status New: 'Running' Previous: 'NoPreviousStatus'"}}},
		{name: "a record this pass leaves as it was (a user's pause holds the step): told when it moves",
			roles: []role{{step, rec("r", running), rec("r", running), run("r", successful)}}},
		{name: "a run no record names, before or after (a completed update's background run): nothing",
			roles: []role{{bg, nil, nil, run("r", successful)}}},
		{name: "no current run (none yet, or an aborted attempt's): nothing",
			roles: []role{{step, rec("r", failed), nil, nil}}},
		{name: "a phase no run has: nothing",
			roles: []role{{step, rec("r", running), rec("r", "Unknown"), run("r", "Unknown")}}},
		{name: "several roles, in a fixed order",
			roles: []role{
				{post, rec("post", pending), rec("post", running), run("post", running)},
				{pre, rec("pre", running), rec("pre", successful), run("pre", successful)},
			},
			want: []Event{
				{Reason: ReasonAnalysisRunSuccessful, Message: "PrePromotion Analysis Run 'pre' Status New: 'Successful' Previous: 'Running'"},
				{Reason: ReasonAnalysisRunRunning, Message: "PostPromotion Analysis Run 'post' Status New: 'Running' Previous: 'Pending'"},
			}},
		{name: "canary roles together",
			roles: []role{
				{bg, rec("bg", running), nil, run("bg", failed)},
				{step, rec("s", running), nil, run("s", running)},
			},
			want: []Event{{Warning: true, Reason: ReasonAnalysisRunFailed, Message: "Background Analysis Run 'bg' Status New: 'Failed' Previous: 'Running'"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, after, current := statuses(c.roles)
			got := RunEvents(&before, &after, current)
			if !slices.Equal(got, c.want) {
				t.Errorf("events\n%v\nwant\n%v", got, c.want)
			}
			// A pass redone from the same version tells the same.
			if again := RunEvents(&before, &after, current); !slices.Equal(again, got) {
				t.Errorf("told %v, then %v", got, again)
			}
		})
	}
}
