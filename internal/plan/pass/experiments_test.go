package pass

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

func ex(name, hash string, phase v1alpha1.AnalysisPhase, age time.Duration) *v1alpha1.Experiment {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	return &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
		CreationTimestamp: metav1.NewTime(t0.Add(-age))}, Status: v1alpha1.ExperimentStatus{Phase: phase}}
}

func TestStepExperiment(t *testing.T) {
	const base = "web-abc-2-1"
	superseded := ex(base+"-2", "abc", v1alpha1.AnalysisPhaseRunning, 0)
	superseded.Annotations = map[string]string{rules.SupersededAnnotation: "x"}
	terminating := ex(base+"-3", "abc", v1alpha1.AnalysisPhaseRunning, 0)
	terminating.Spec.Terminate = true
	all := []*v1alpha1.Experiment{
		ex(base, "abc", v1alpha1.AnalysisPhaseSuccessful, 3*time.Minute),
		ex(base+"-1", "abc", v1alpha1.AnalysisPhaseRunning, 2*time.Minute),
		superseded, terminating,
		ex(base+"-x", "abc", v1alpha1.AnalysisPhaseRunning, 0),
		ex("web-abc-2-10", "abc", v1alpha1.AnalysisPhaseRunning, 0),
	}
	for _, c := range []struct{ named, want string }{
		{base, base},               // named: whatever its phase
		{"", base + "-1"},          // else the newest running one of the step
		{base + "-2", base + "-1"}, // a superseded one never counts
		{"other", base + "-1"},
	} {
		got := StepExperiment(all, c.named, base)
		if got == nil || got.Name != c.want {
			t.Errorf("named %q: got %v, want %s", c.named, got, c.want)
		}
	}
	if got := StepExperiment(all[:1], "", base); got != nil {
		t.Errorf("a finished one not named is history, got %s", got.Name)
	}
}

func TestStopAndPruneExperiments(t *testing.T) {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
	ro.Spec.Analysis = &v1alpha1.AnalysisRunStrategy{SuccessfulRunHistoryLimit: new(int32(1)), UnsuccessfulRunHistoryLimit: new(int32(1))}
	sets := []*appsv1.ReplicaSet{{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: "abc"}}}}
	b := NewBuilder(Observed{Rollout: ro, Experiments: []*v1alpha1.Experiment{
		ex("keep", "abc", v1alpha1.AnalysisPhaseRunning, 0),
		ex("running-other", "abc", v1alpha1.AnalysisPhaseRunning, time.Minute),
		ex("ok-new", "abc", v1alpha1.AnalysisPhaseSuccessful, 2*time.Minute),
		ex("ok-old", "abc", v1alpha1.AnalysisPhaseSuccessful, 3*time.Minute),
		ex("failed-new", "abc", v1alpha1.AnalysisPhaseFailed, 4*time.Minute),
		ex("inconclusive-old", "abc", v1alpha1.AnalysisPhaseInconclusive, 5*time.Minute),
		ex("rs-gone", "zzz", v1alpha1.AnalysisPhaseSuccessful, 0),
	}})
	b.StopAndPruneExperiments("keep", sets)
	var terminated, deleted []string
	for _, s := range b.Plan().Steps {
		switch s := s.(type) {
		case TerminateExperiment:
			terminated = append(terminated, s.Name)
		case DeleteExperiment:
			deleted = append(deleted, s.Name)
		}
	}
	if !slices.Equal(terminated, []string{"running-other"}) {
		t.Errorf("terminated %v", terminated)
	}
	if want := []string{"rs-gone", "ok-old", "inconclusive-old"}; !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
}
