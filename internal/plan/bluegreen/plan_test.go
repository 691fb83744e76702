package bluegreen

import (
	"fmt"
	"slices"
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

func bgRollout(image string) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1", Generation: 1,
		Annotations: map[string]string{v1alpha1.RevisionAnnotation: "2"}}}
	ro.Spec.Replicas = new(int32(2))
	ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	ro.Spec.Template.Labels = map[string]string{"app": "web"}
	ro.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: image}}
	ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "active", PreviewService: "preview", AutoPromotionEnabled: new(false)}
	return ro
}

func bgSet(ro *v1alpha1.Rollout, revision string, replicas, available int32) *appsv1.ReplicaSet {
	hash := podhash.PodTemplateHash(&ro.Spec.Template, nil)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: podhash.ReplicaSetName(ro.Name, hash), Namespace: "shop",
			Labels:      map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: revision, v1alpha1.DesiredReplicasAnnotation: "2"}},
		Spec:   appsv1.ReplicaSetSpec{Replicas: &replicas, Template: ro.Spec.Template},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: available, AvailableReplicas: available},
	}
}

func bgService(name, hash string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Annotations: map[string]string{v1alpha1.ManagedByRolloutsKey: "web"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: hash}}}
}

func describe(p pass.Plan) string {
	if p.Invalid != "" {
		return "invalid: " + p.Invalid
	}
	var out []string
	for _, s := range p.Steps {
		switch s := s.(type) {
		case pass.Journal:
			var reasons []string
			for _, e := range s.Events {
				reasons = append(reasons, e.Reason)
			}
			out = append(out, "journal "+strings.Join(reasons, ","))
		case pass.WriteStatus:
			out = append(out, fmt.Sprintf("status active %s paused %v", s.Status.BlueGreen.ActiveSelector[:3], len(s.Status.PauseConditions) > 0))
		case pass.CreateReplicaSet:
			out = append(out, fmt.Sprintf("create at %d", *s.ReplicaSet.Spec.Replicas))
		case pass.Scale:
			out = append(out, fmt.Sprintf("scale %s %d->%d", s.ReplicaSet[4:7], s.From, s.To))
		case pass.SwitchService:
			out = append(out, fmt.Sprintf("switch %s to %s", s.Name, s.To[:3]))
		default:
			out = append(out, fmt.Sprintf("%T", s)[len("pass."):])
		}
	}
	return strings.Join(out, "\n")
}

func TestPlan(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	blue := bgRollout("web:1")
	blueRS := bgSet(blue, "1", 2, 2)
	blueHash := blueRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	green := func() *v1alpha1.Rollout {
		ro := bgRollout("web:2")
		ro.Status.StableRS, ro.Status.CurrentPodHash = blueHash, podhash.PodTemplateHash(&ro.Spec.Template, nil)
		ro.Status.BlueGreen.ActiveSelector = blueHash
		return ro
	}
	greenHash := green().Status.CurrentPodHash
	for _, c := range []struct {
		name string
		obs  pass.Observed
		want []string
	}{
		{
			name: "the new version comes up beside the active one, behind the preview Service only",
			obs: pass.Observed{Rollout: func() *v1alpha1.Rollout {
				ro := bgRollout("web:2")
				ro.Status.StableRS, ro.Status.CurrentPodHash = blueHash, blueHash
				ro.Status.BlueGreen.ActiveSelector = blueHash
				return ro
			}(), ReplicaSets: []*appsv1.ReplicaSet{blueRS}, Services: map[string]*corev1.Service{"active": bgService("active", blueHash), "preview": bgService("preview", blueHash)}},
			want: []string{"ReleaseRouterObjects", "create at 2", "journal RolloutNotCompleted", "status active " + blueHash[:3] + " paused false"},
		},
		{
			name: "once available the preview Service selects it and the rollout pauses before promotion; the active is untouched",
			obs: pass.Observed{Rollout: green(), ReplicaSets: []*appsv1.ReplicaSet{blueRS, bgSet(green(), "2", 2, 2)},
				Services: map[string]*corev1.Service{"active": bgService("active", blueHash), "preview": bgService("preview", blueHash)}},
			want: []string{"ReleaseRouterObjects", "journal RolloutPaused", "switch preview to " + greenHash[:3],
				"journal RolloutNotCompleted", "status active " + blueHash[:3] + " paused true"},
		},
		{
			name: "promoted: the decision is journaled before the active Service switches, and the status comes last",
			obs: pass.Observed{Rollout: func() *v1alpha1.Rollout {
				ro := green()
				ro.Status.ControllerPause = true // promote cleared the pause condition
				return ro
			}(), ReplicaSets: []*appsv1.ReplicaSet{blueRS, bgSet(green(), "2", 2, 2)},
				Services: map[string]*corev1.Service{"active": bgService("active", blueHash), "preview": bgService("preview", greenHash)}},
			want: []string{"ReleaseRouterObjects", "journal RolloutResumed", "switch active to " + greenHash[:3],
				"journal RolloutNotCompleted", "status active " + greenHash[:3] + " paused false"},
		},
		{
			name: "new pods available at once with auto-promotion: the preview Service switches before the active one in the same pass",
			obs: pass.Observed{Rollout: func() *v1alpha1.Rollout {
				ro := green()
				ro.Spec.Strategy.BlueGreen.AutoPromotionEnabled = nil
				return ro
			}(), ReplicaSets: []*appsv1.ReplicaSet{blueRS, bgSet(green(), "2", 2, 2)},
				Services: map[string]*corev1.Service{"active": bgService("active", blueHash), "preview": bgService("preview", blueHash)}},
			want: []string{"ReleaseRouterObjects", "switch preview to " + greenHash[:3], "switch active to " + greenHash[:3],
				"journal RolloutNotCompleted", "status active " + greenHash[:3] + " paused false"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.obs.Now = now
			got := describe(Plan(c.obs))
			if want := strings.Join(c.want, "\n"); got != want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestPlanAdoptsUnnamedRun: a controller killed between creating the
// pre-promotion run and the status write that names it leaves a run of this
// attempt that no status names. The next pass adopts it; it neither starts
// a second one nor stops the first.
func TestPlanAdoptsUnnamedRun(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	blueRS := bgSet(bgRollout("web:1"), "1", 2, 2)
	blueHash := blueRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	ro := bgRollout("web:2")
	greenHash := podhash.PodTemplateHash(&ro.Spec.Template, nil)
	ro.Status.StableRS, ro.Status.CurrentPodHash = blueHash, greenHash
	ro.Status.BlueGreen.ActiveSelector = blueHash
	ro.Spec.Strategy.BlueGreen.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "pass"}}}
	run := func(name, hash string) *v1alpha1.AnalysisRun {
		return &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", CreationTimestamp: metav1.NewTime(now.Add(-time.Second)),
			Labels:      map[string]string{v1alpha1.RolloutTypeLabel: v1alpha1.RolloutTypePrePromotionLabel, v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: "2"}},
			Status: v1alpha1.AnalysisRunStatus{Phase: v1alpha1.AnalysisPhaseRunning}}
	}
	for _, c := range []struct {
		name       string
		runs       []*v1alpha1.AnalysisRun
		wantCreate bool
		wantNamed  string
	}{
		{name: "this attempt's run, unnamed, is adopted", runs: []*v1alpha1.AnalysisRun{run("web-"+greenHash+"-2-pre.1", greenHash)}, wantNamed: "web-" + greenHash + "-2-pre.1"},
		{name: "another version's run is not", runs: []*v1alpha1.AnalysisRun{run("web-"+blueHash+"-1-pre", blueHash)}, wantCreate: true, wantNamed: "web-" + greenHash + "-2-pre"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := Plan(pass.Observed{Rollout: ro.DeepCopy(), Now: now, Runs: c.runs,
				ReplicaSets: []*appsv1.ReplicaSet{blueRS, bgSet(ro, "2", 2, 2)},
				Services:    map[string]*corev1.Service{"active": bgService("active", blueHash), "preview": bgService("preview", greenHash)}})
			created, named := false, ""
			for _, s := range p.Steps {
				switch s := s.(type) {
				case pass.CreateRun:
					created = true
				case pass.TerminateRun:
					if s.Name == c.wantNamed {
						t.Errorf("the plan stops %s", s.Name)
					}
				case pass.WriteStatus:
					if ref := s.Status.BlueGreen.PrePromotionAnalysisRunStatus; ref != nil {
						named = ref.Name
					}
				}
			}
			if created != c.wantCreate || named != c.wantNamed {
				t.Errorf("creates a run: %v, status names %q; want %v, %q\n%s", created, named, c.wantCreate, c.wantNamed, describe(p))
			}
		})
	}
}

// TestPlanTellsRunPhases: the plan journals a pre-promotion run's new
// phase, compared with the status recorded before the pass; a run adopted
// after a crash left it unnamed tells its phase with no previous one.
func TestPlanTellsRunPhases(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	blueRS := bgSet(bgRollout("web:1"), "1", 2, 2)
	blueHash := blueRS.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	ro := bgRollout("web:2")
	greenHash := podhash.PodTemplateHash(&ro.Spec.Template, nil)
	ro.Status.StableRS, ro.Status.CurrentPodHash = blueHash, greenHash
	ro.Status.BlueGreen.ActiveSelector = blueHash
	ro.Spec.Strategy.BlueGreen.PrePromotionAnalysis = &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "pass"}}}
	name := "web-" + greenHash + "-2-pre"
	run := func(phase v1alpha1.AnalysisPhase) *v1alpha1.AnalysisRun {
		return &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", CreationTimestamp: metav1.NewTime(now.Add(-time.Minute)),
			Labels:      map[string]string{v1alpha1.RolloutTypeLabel: v1alpha1.RolloutTypePrePromotionLabel, v1alpha1.DefaultRolloutUniqueLabelKey: greenHash},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: "2"}},
			Status: v1alpha1.AnalysisRunStatus{Phase: phase}}
	}
	for _, c := range []struct {
		name     string
		recorded *v1alpha1.RolloutAnalysisRunStatus
		phase    v1alpha1.AnalysisPhase
		want     []rules.Event
	}{
		{name: "the run starts", recorded: &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhasePending}, phase: v1alpha1.AnalysisPhaseRunning,
			want: []rules.Event{{Reason: rules.ReasonAnalysisRunRunning, Message: "PrePromotion Analysis Run '" + name + "' Status New: 'Running' Previous: 'Pending'"}}},
		{name: "the run fails: a warning beside the abort", recorded: &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhaseRunning}, phase: v1alpha1.AnalysisPhaseFailed,
			want: []rules.Event{
				{Warning: true, Reason: rules.ReasonAborted, Message: "Rollout aborted update to revision 2: AnalysisRun " + name + " ended Failed"},
				{Warning: true, Reason: rules.ReasonAnalysisRunFailed, Message: "PrePromotion Analysis Run '" + name + "' Status New: 'Failed' Previous: 'Running'"},
			}},
		{name: "the same phase: nothing", recorded: &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhaseRunning}, phase: v1alpha1.AnalysisPhaseRunning},
		{name: "an unnamed run adopted", phase: v1alpha1.AnalysisPhaseRunning,
			want: []rules.Event{{Reason: rules.ReasonAnalysisRunRunning, Message: "PrePromotion Analysis Run '" + name + "' Status New: 'Running' Previous: 'NoPreviousStatus'"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ro.DeepCopy()
			r.Status.BlueGreen.PrePromotionAnalysisRunStatus = c.recorded
			p := Plan(pass.Observed{Rollout: r, Now: now, Runs: []*v1alpha1.AnalysisRun{run(c.phase)},
				ReplicaSets: []*appsv1.ReplicaSet{blueRS, bgSet(ro, "2", 2, 2)},
				Services:    map[string]*corev1.Service{"active": bgService("active", blueHash), "preview": bgService("preview", greenHash)}})
			var told []rules.Event
			for _, s := range p.Steps {
				if j, ok := s.(pass.Journal); ok {
					for _, e := range j.Events {
						if strings.HasPrefix(e.Reason, "AnalysisRun") || e.Reason == rules.ReasonAborted {
							told = append(told, e)
						}
					}
				}
			}
			if !slices.Equal(told, c.want) {
				t.Errorf("journaled %v, want %v\n%s", told, c.want, describe(p))
			}
		})
	}
}
