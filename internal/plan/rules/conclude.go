package rules

import (
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/phase"
)

// Ending is what the end of every reconcile decides the written status on,
// whichever the strategy.
type Ending struct {
	// Rollout is the Rollout as read; its status is the one before.
	Rollout *v1alpha1.Rollout
	// ReplicaSets are the Rollout's ReplicaSets, as the reconcile left them.
	ReplicaSets []*appsv1.ReplicaSet
	// NewRS is the current template's ReplicaSet.
	NewRS *appsv1.ReplicaSet
	// Status is the status the strategy decided.
	Status v1alpha1.RolloutStatus
	// Progressed: the reconcile created or scaled a ReplicaSet or switched
	// a Service.
	Progressed bool
	// Restarted: no pod older than spec.restartAt is left.
	Restarted bool
	// WorkloadGeneration is the workloadRef's generation, nil without one.
	WorkloadGeneration *int64
	// Now is the clock.
	Now time.Time
}

// Conclusion is the status to write and the events that go with it, in
// the order they are recorded, and when the deadline falls due.
type Conclusion struct {
	Status v1alpha1.RolloutStatus
	// Summary are the summary conditions' events, recorded before the
	// strategy's decision events; Deadline the progress deadline's, after.
	Summary, Deadline []Event
	// DeadlineDue is when the progress deadline is next looked at.
	DeadlineDue time.Duration
}

// Conclude fills in what every reconcile derives last: the replica counts,
// the restart, the progress deadline (pods becoming ready or available
// count as progress, as for a Deployment, not only the controller's own
// actions), the summary conditions (Available, Completed, Healthy, Paused),
// the workload generation and the phase; an earlier InvalidSpec is gone.
func Conclude(in Ending) Conclusion {
	ro := in.Rollout
	st := in.Status
	if in.Restarted && ro.Spec.RestartAt != nil {
		st.RestartedAt = ro.Spec.RestartAt.DeepCopy()
	}
	Aggregate(&st, ro, in.ReplicaSets)
	countsMoved := st.UpdatedReplicas != ro.Status.UpdatedReplicas || st.ReadyReplicas != ro.Status.ReadyReplicas ||
		st.AvailableReplicas != ro.Status.AvailableReplicas
	stepMoved := !equality.Semantic.DeepEqual(st.CurrentStepIndex, ro.Status.CurrentStepIndex)
	deadline, due := TrackProgress(&st, DeadlineInput{
		Progressed:     in.Progressed || stepMoved || countsMoved,
		NewRSName:      in.NewRS.Name,
		Deadline:       time.Duration(ro.ProgressDeadlineSecondsOrDefault()) * time.Second,
		AbortOnTimeout: ro.Spec.ProgressDeadlineAbort,
		Paused:         ro.Spec.Paused,
		Replicas:       ro.ReplicasOrDefault(),
		Indefinite:     indefiniteStep(ro, st.CurrentStepIndex) || AwaitingEvidence(&st),
	}, in.Now)
	bg := ro.Spec.Strategy.BlueGreen
	summary := Summarize(&st, SummaryInput{Replicas: ro.ReplicasOrDefault(), Revision: in.NewRS.Annotations[v1alpha1.RevisionAnnotation],
		SpecPaused: ro.Spec.Paused, BlueGreen: bg != nil, PreviewService: bg != nil && bg.PreviewService != ""}, in.Now)
	// Only a workloadRef rollout has an observed workload generation; one
	// switched to an inline template drops it.
	st.WorkloadObservedGeneration = ""
	if in.WorkloadGeneration != nil {
		st.WorkloadObservedGeneration = strconv.FormatInt(*in.WorkloadGeneration, 10)
	}
	st.Conditions = WithoutCondition(st.Conditions, v1alpha1.InvalidSpec)
	Aggregate(&st, ro, in.ReplicaSets)
	return Conclusion{Status: st, Summary: summary, Deadline: deadline, DeadlineDue: due}
}

// indefiniteStep reports a canary at an analysis or experiment step.
func indefiniteStep(ro *v1alpha1.Rollout, idx *int32) bool {
	c := ro.Spec.Strategy.Canary
	if c == nil || idx == nil || int(*idx) >= len(c.Steps) {
		return false
	}
	s := c.Steps[*idx]
	return s.Analysis != nil || s.Experiment != nil
}

// AwaitingEvidence reports a canary whose last step is done and whose
// promotion waits for its background analysis to measure it at its
// current weight. Like an analysis step the wait takes as long as the
// analysis does, so the progress deadline does not run out there: the
// analysis' own limits end it.
func AwaitingEvidence(st *v1alpha1.RolloutStatus) bool {
	return st.Canary.PromotionEvidence != nil && st.Canary.PromotionEvidence.Waiting != ""
}

// Aggregate fills the replica counts, the scale subresource's fields and
// the phase. A blue-green Rollout takes the scale subresource's fields and
// the ready and available counts from the ReplicaSet the active Service
// selects, as Argo Rollouts reports them: an HPA must size what serves
// users, and the preview or an old ReplicaSet waiting out its scale-down
// delay serve nobody. (Without an active ReplicaSet the totals stand.)
func Aggregate(st *v1alpha1.RolloutStatus, ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet) {
	st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0, 0
	for _, rs := range rsList {
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
		if rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] == st.CurrentPodHash {
			st.UpdatedReplicas = rs.Status.Replicas
		}
	}
	st.HPAReplicas = st.Replicas
	if sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector); err == nil {
		st.Selector = sel.String()
	}
	st.ObservedGeneration = strconv.FormatInt(ro.Generation, 10)
	if ro.Spec.Strategy.BlueGreen != nil {
		for _, set := range rsList {
			if set.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] != st.BlueGreen.ActiveSelector {
				continue
			}
			st.HPAReplicas = set.Status.Replicas
			st.ReadyReplicas, st.AvailableReplicas = set.Status.ReadyReplicas, set.Status.AvailableReplicas
			if sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector); err == nil {
				st.Selector = sel.String()
			}
		}
	}
	withStatus := ro.DeepCopy()
	withStatus.Status = *st
	st.Phase, st.Message = phase.Calculate(withStatus)
}

// WithoutCondition drops the conditions of type t.
func WithoutCondition(conds []v1alpha1.RolloutCondition, t v1alpha1.RolloutConditionType) []v1alpha1.RolloutCondition {
	var out []v1alpha1.RolloutCondition
	for _, c := range conds {
		if c.Type != t {
			out = append(out, c)
		}
	}
	return out
}

// invalidRequeue is how soon an invalid Rollout is looked at again, for
// fixes to objects it references (its own edits trigger a reconcile anyway).
const invalidRequeue = 20 * time.Second

// Invalid is the status of a Rollout halted where it is by an invalid spec:
// an InvalidSpec condition with msg (phase Degraded), its timestamps kept
// while the message is the same, and the counts as they are. first reports
// a new message, which deserves a Warning event; requeue is when to look
// again for a fix to an object the Rollout references.
func Invalid(ro *v1alpha1.Rollout, rsList []*appsv1.ReplicaSet, msg string, now time.Time) (st v1alpha1.RolloutStatus, first bool, requeue time.Duration) {
	st = *ro.Status.DeepCopy()
	prev := FindCondition(ro.Status.Conditions, v1alpha1.InvalidSpec)
	first = prev == nil || prev.Message != msg
	cond := v1alpha1.RolloutCondition{Type: v1alpha1.InvalidSpec, Status: corev1.ConditionTrue, Reason: v1alpha1.InvalidSpecReason,
		Message: msg, LastUpdateTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now)}
	if !first {
		cond = *prev.DeepCopy() // nothing changed
	}
	st.Conditions = append(WithoutCondition(st.Conditions, v1alpha1.InvalidSpec), cond)
	Aggregate(&st, ro, rsList)
	return st, first, invalidRequeue
}
