package health

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var (
	created   = metav1.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	available = metav1.NewTime(created.Add(20 * time.Second))
)

// experiment is a two-template experiment with one analysis, as a
// controller writes it in each phase: template and analysis statuses that
// agree with the phase, and the Progressing/Completed conditions.
func experiment(phase v1alpha1.AnalysisPhase, msg string, tmpl v1alpha1.TemplateStatusCode, run v1alpha1.AnalysisPhase) *v1alpha1.Experiment {
	exp := &v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: "exp", Namespace: "ns", CreationTimestamp: created},
		Spec: v1alpha1.ExperimentSpec{Duration: "30s", Templates: []v1alpha1.TemplateSpec{{Name: "baseline"}, {Name: "canary"}},
			Analyses: []v1alpha1.ExperimentAnalysisTemplateRef{{Name: "compare", TemplateName: "compare"}}},
		Status: v1alpha1.ExperimentStatus{Phase: phase, Message: msg},
	}
	for _, name := range []string{"baseline", "canary"} {
		exp.Status.TemplateStatuses = append(exp.Status.TemplateStatuses, v1alpha1.TemplateStatus{
			Name: name, Status: tmpl, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		})
	}
	if run != "" {
		exp.Status.AvailableAt = &available
		exp.Status.AnalysisRuns = []v1alpha1.ExperimentAnalysisRunStatus{{Name: "compare", AnalysisRun: "exp-compare", Phase: run}}
	}
	cond := v1alpha1.ExperimentCondition{Type: v1alpha1.ExperimentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}
	if phase.Completed() {
		cond.Status, cond.Reason = corev1.ConditionFalse, "ExperimentCompleted"
	}
	exp.Status.Conditions = []v1alpha1.ExperimentCondition{cond}
	return exp
}

// TestExperiment: Argo CD's verdict in every phase an Experiment goes
// through, over statuses shaped as the controller writes them.
func TestExperiment(t *testing.T) {
	invalid := func(phase v1alpha1.AnalysisPhase) *v1alpha1.Experiment {
		exp := &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "exp", Namespace: "ns"}}
		exp.Status.Phase = phase
		exp.Status.Conditions = []v1alpha1.ExperimentCondition{{
			Type: v1alpha1.InvalidExperimentSpec, Status: corev1.ConditionTrue, Reason: "InvalidSpec",
			Message: "spec.templates: Required value: an experiment needs at least one template",
		}}
		if phase != "" {
			exp.Status.Message = exp.Status.Conditions[0].Message
		}
		return exp
	}
	terminated := func(phase v1alpha1.AnalysisPhase, run v1alpha1.AnalysisPhase) *v1alpha1.Experiment {
		exp := experiment(phase, "", v1alpha1.TemplateStatusSuccessful, run)
		exp.Spec.Terminate = true
		return exp
	}
	deleting := experiment(v1alpha1.AnalysisPhaseRunning, "", v1alpha1.TemplateStatusRunning, v1alpha1.AnalysisPhaseRunning)
	deleting.DeletionTimestamp = ptr.To(metav1.NewTime(created.Add(time.Minute)))
	deleting.Finalizers = []string{"example.com/hold"}

	for _, tc := range []struct {
		name string
		exp  *v1alpha1.Experiment
		want Status
	}{
		{"created, not yet reconciled", &v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: "exp", Namespace: "ns"}},
			Status{Progressing, MsgNotReconciled}},
		{"Pending: ReplicaSets not yet available",
			experiment(v1alpha1.AnalysisPhasePending, "", v1alpha1.TemplateStatusProgressing, ""), Status{Progressing, MsgPending}},
		{"Running: templates available, analysis running",
			experiment(v1alpha1.AnalysisPhaseRunning, "", v1alpha1.TemplateStatusRunning, v1alpha1.AnalysisPhaseRunning), Status{Progressing, MsgRunning}},
		{"Successful: duration passed, analysis passed",
			experiment(v1alpha1.AnalysisPhaseSuccessful, "", v1alpha1.TemplateStatusSuccessful, v1alpha1.AnalysisPhaseSuccessful), Status{Healthy, MsgSuccessful}},
		{"Failed: analysis failed",
			experiment(v1alpha1.AnalysisPhaseFailed, `Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)`, v1alpha1.TemplateStatusSuccessful, v1alpha1.AnalysisPhaseFailed),
			Status{Degraded, MsgFailed}},
		{"Failed: a template missed its progress deadline",
			experiment(v1alpha1.AnalysisPhaseFailed, "Template 'canary' exceeded its progressDeadlineSeconds (600)", v1alpha1.TemplateStatusFailed, ""),
			Status{Degraded, MsgFailed}},
		{"Error: analysis template missing",
			experiment(v1alpha1.AnalysisPhaseError, `AnalysisTemplate verification failed for analysis 'compare': analysistemplate.argoproj.io "compare" not found`, v1alpha1.TemplateStatusRunning, v1alpha1.AnalysisPhaseError),
			Status{Degraded, MsgError}},
		// Argo CD's script has no Inconclusive branch: Unknown, with a
		// decoding error for a message, under Argo Rollouts as well.
		{"Inconclusive: analysis inconclusive",
			experiment(v1alpha1.AnalysisPhaseInconclusive, `Metric "error-rate" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)`, v1alpha1.TemplateStatusSuccessful, v1alpha1.AnalysisPhaseInconclusive),
			Status{Unknown, MsgNoVerdict}},
		// Argo Rollouts sets only the condition on an invalid spec, and the
		// script has no answer for a status without a phase.
		{"InvalidSpec condition alone (Argo Rollouts' status)", invalid(""), Status{Unknown, MsgNoVerdict}},
		// With the phase Error beside the condition, Argo CD says Degraded.
		{"InvalidSpec condition with phase Error", invalid(v1alpha1.AnalysisPhaseError), Status{Degraded, MsgError}},
		{"terminated while running: not yet wound down",
			terminated(v1alpha1.AnalysisPhaseRunning, v1alpha1.AnalysisPhaseRunning), Status{Progressing, MsgRunning}},
		{"terminated: templates scaled down, run terminated",
			terminated(v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseSuccessful), Status{Healthy, MsgSuccessful}},
		{"terminated by a failed analysis",
			terminated(v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseFailed), Status{Degraded, MsgFailed}},
		{"being deleted", deleting, Status{Progressing, MsgPendingDeletion}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Experiment(tc.exp); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
