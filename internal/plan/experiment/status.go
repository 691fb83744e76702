package experiment

import (
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// phase moves the Experiment's phase as Argo Rollouts' calculateStatus
// does: a new Experiment is Pending; a Pending or Running one takes the
// worse of its templates and, once they are done (or the analyses ended
// badly, or its required analyses succeeded), of its analyses; a
// completed phase never changes. availableAt is set the first time every
// template runs.
func (p *planner) phase() {
	st := p.st
	switch st.Phase {
	case "":
		st.Phase = v1alpha1.AnalysisPhasePending
	case v1alpha1.AnalysisPhasePending, v1alpha1.AnalysisPhaseRunning:
		tPhase, tMsg := p.assessTemplates()
		aPhase, aMsg := p.assessAnalyses()
		if tPhase == v1alpha1.AnalysisPhaseRunning && st.AvailableAt == nil {
			st.AvailableAt = &p.stamp
		}
		switch {
		case tPhase.Completed():
			if tPhase == v1alpha1.AnalysisPhaseSuccessful && (aPhase.Completed() || hasRequired(p.ex)) {
				st.Phase, st.Message = aPhase, aMsg
			} else {
				st.Phase, st.Message = tPhase, tMsg
			}
		case aPhase.Completed() && aPhase != v1alpha1.AnalysisPhaseSuccessful, requiredSucceeded(p.ex, st):
			st.Phase, st.Message = aPhase, aMsg
		default:
			st.Phase, st.Message = tPhase, tMsg
		}
	}
}

// templateOrder ranks template statuses from best to worst.
var templateOrder = map[v1alpha1.TemplateStatusCode]int{
	v1alpha1.TemplateStatusSuccessful:  0,
	v1alpha1.TemplateStatusRunning:     1,
	v1alpha1.TemplateStatusProgressing: 2,
	v1alpha1.TemplateStatusError:       3,
	v1alpha1.TemplateStatusFailed:      4,
}

// analysisOrder ranks analysis phases from best to worst; an unknown or
// empty phase ranks with Successful, as in the reference.
var analysisOrder = map[v1alpha1.AnalysisPhase]int{
	v1alpha1.AnalysisPhaseSuccessful:   0,
	v1alpha1.AnalysisPhaseRunning:      1,
	v1alpha1.AnalysisPhasePending:      2,
	v1alpha1.AnalysisPhaseInconclusive: 3,
	v1alpha1.AnalysisPhaseError:        4,
	v1alpha1.AnalysisPhaseFailed:       5,
}

// assessTemplates is the worst template status as a phase (Progressing is
// Pending) and the message of the template that has it.
func (p *planner) assessTemplates() (v1alpha1.AnalysisPhase, string) {
	worst, msg := v1alpha1.TemplateStatusSuccessful, ""
	for _, t := range p.ex.Spec.Templates {
		ts := templateStatus(p.st, t.Name)
		if ts == nil {
			if templateOrder[v1alpha1.TemplateStatusProgressing] > templateOrder[worst] {
				worst = v1alpha1.TemplateStatusProgressing
			}
			continue
		}
		if templateOrder[ts.Status] > templateOrder[worst] {
			worst, msg = ts.Status, ts.Message
		}
	}
	switch worst {
	case v1alpha1.TemplateStatusProgressing:
		return v1alpha1.AnalysisPhasePending, msg
	case v1alpha1.TemplateStatusRunning:
		return v1alpha1.AnalysisPhaseRunning, msg
	}
	return v1alpha1.AnalysisPhase(worst), msg
}

// assessAnalyses is the worst analysis phase and its message; Successful
// with "Required AnalysisRuns completed" once the required ones succeeded
// and another is not done well; Pending reads Running.
func (p *planner) assessAnalyses() (v1alpha1.AnalysisPhase, string) {
	worst, msg := v1alpha1.AnalysisPhaseSuccessful, ""
	for _, a := range p.ex.Spec.Analyses {
		if r := runStatus(p.st, a.Name); r != nil && analysisOrder[r.Phase] > analysisOrder[worst] {
			worst, msg = r.Phase, r.Message
		}
	}
	if requiredSucceeded(p.ex, p.st) && analysisOrder[worst] > analysisOrder[v1alpha1.AnalysisPhaseRunning] {
		return v1alpha1.AnalysisPhaseSuccessful, RequiredAnalysisCompletedMessage
	}
	if worst == v1alpha1.AnalysisPhasePending {
		worst = v1alpha1.AnalysisPhaseRunning
	}
	return worst, msg
}

// conditions writes the Progressing condition as Argo Rollouts does:
// False/ExperimentCompleted once completed; True/ReplicaSetUpdated when a
// template's replica counts moved; True/NewReplicaSetAvailable while the
// Experiment runs its duration.
func (p *planner) conditions() {
	name := p.ex.Name
	switch {
	case p.st.Phase.Completed():
		p.setCondition(v1alpha1.ExperimentProgressing, corev1.ConditionFalse, ReasonExperimentCompleted,
			"Experiment \""+name+"\" has successfully ran and completed.")
	case countsMoved(&p.ex.Status, p.st):
		c := p.newCondition(v1alpha1.ExperimentProgressing, corev1.ConditionTrue, ReasonReplicaSetUpdated, "Experiment \""+name+"\" is progressing.")
		if cur := condition(p.st, v1alpha1.ExperimentProgressing); cur != nil && cur.Status == corev1.ConditionTrue {
			c.LastTransitionTime = cur.LastTransitionTime
		}
		removeCondition(p.st, v1alpha1.ExperimentProgressing)
		p.st.Conditions = append(p.st.Conditions, c)
	case p.ex.Status.AvailableAt != nil:
		if done, _ := passedDuration(p.ex, p.ex.Status.AvailableAt, p.now); !done {
			p.setCondition(v1alpha1.ExperimentProgressing, corev1.ConditionTrue, ReasonNewReplicaSetAvailable, "Experiment \""+name+"\" is running.")
		}
	}
}

// countsMoved: a template appeared or its replica counts changed.
func countsMoved(old, cur *v1alpha1.ExperimentStatus) bool {
	if len(old.TemplateStatuses) < len(cur.TemplateStatuses) {
		return true
	}
	for _, o := range old.TemplateStatuses {
		n := templateStatus(cur, o.Name)
		if n != nil && (o.Replicas != n.Replicas || o.UpdatedReplicas != n.UpdatedReplicas || o.ReadyReplicas != n.ReadyReplicas || o.AvailableReplicas != n.AvailableReplicas) {
			return true
		}
	}
	return false
}

func (p *planner) newCondition(t v1alpha1.ExperimentConditionType, s corev1.ConditionStatus, reason, msg string) v1alpha1.ExperimentCondition {
	return v1alpha1.ExperimentCondition{Type: t, Status: s, Reason: reason, Message: msg, LastUpdateTime: p.stamp, LastTransitionTime: p.stamp}
}

// setCondition sets a condition unless one of the same status and reason
// is there; a condition keeps its transition time while its status holds.
func (p *planner) setCondition(t v1alpha1.ExperimentConditionType, s corev1.ConditionStatus, reason, msg string) {
	cur := condition(p.st, t)
	if cur != nil && cur.Status == s && cur.Reason == reason {
		return
	}
	c := p.newCondition(t, s, reason, msg)
	if cur != nil && cur.Status == s {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeCondition(p.st, t)
	p.st.Conditions = append(p.st.Conditions, c)
}

func condition(st *v1alpha1.ExperimentStatus, t v1alpha1.ExperimentConditionType) *v1alpha1.ExperimentCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

func removeCondition(st *v1alpha1.ExperimentStatus, t v1alpha1.ExperimentConditionType) {
	var keep []v1alpha1.ExperimentCondition
	for _, c := range st.Conditions {
		if c.Type != t {
			keep = append(keep, c)
		}
	}
	st.Conditions = keep
}

// timers asks to look again when the duration runs out or a template's
// progress deadline passes (the scale-down deadlines were added as they
// were decided). A winding-down Experiment has no such timers.
func (p *planner) timers() {
	next := p.ex.DeepCopy()
	next.Status = *p.st
	if Terminating(next) {
		return
	}
	if done, left := passedDuration(next, next.Status.AvailableAt, p.now); next.Status.AvailableAt != nil && !done {
		p.after(max(left, time.Second))
	}
	deadline := time.Duration(progressDeadline(p.ex)) * time.Second
	for _, t := range p.ex.Spec.Templates {
		ts := templateStatus(p.st, t.Name)
		if ts == nil || ts.LastTransitionTime == nil || (ts.Status != v1alpha1.TemplateStatusProgressing && ts.Status != v1alpha1.TemplateStatusRunning) {
			continue
		}
		want := v1alpha1.DefaultReplicas
		if t.Replicas != nil {
			want = *t.Replicas
		}
		if ts.AvailableReplicas != want {
			p.after(max(ts.LastTransitionTime.Add(deadline).Sub(p.now), time.Second))
		}
	}
}

// HoldRecheck is how often an Experiment waiting for its analysis
// templates looks again (template events also wake it).
const HoldRecheck = 10 * time.Second

// hold reports an analysis that cannot start yet (InvalidSpec condition,
// a Warning event when the message is new) and changes nothing else: no
// ReplicaSet is created before the analysis could run.
func (p *planner) hold(msg string, recheck time.Duration) Plan {
	p.markInvalid(msg)
	if p.st.Phase == "" {
		p.st.Phase = v1alpha1.AnalysisPhasePending
	}
	p.after(recheck)
	return p.finish()
}

func (p *planner) markInvalid(msg string) {
	if cur := condition(p.st, v1alpha1.InvalidExperimentSpec); cur == nil || cur.Message != msg {
		removeCondition(p.st, v1alpha1.InvalidExperimentSpec)
		p.st.Conditions = append(p.st.Conditions, p.newCondition(v1alpha1.InvalidExperimentSpec, corev1.ConditionTrue, ReasonInvalidSpec, msg))
		p.event(Event{Warning: true, Reason: ReasonInvalidSpec, Message: msg})
	}
}

// invalid reports an invalid spec: the InvalidSpec condition (and a
// Warning event when the message is new), phase Error with the message
// unless the Experiment already completed, and whatever it still runs
// wound down at once.
func (p *planner) invalid(msg string) Plan {
	p.markInvalid(msg)
	if !p.st.Phase.Completed() {
		p.st.Phase, p.st.Message = v1alpha1.AnalysisPhaseError, msg
	}
	for _, t := range sortedKeys(p.rs) {
		rs := p.rs[t]
		if rs.Spec.Replicas != nil && *rs.Spec.Replicas > 0 {
			p.add(ScaleReplicaSet{Template: t, ReplicaSet: rs, Replicas: 0})
			p.event(Event{Reason: ReasonScalingReplicaSet, Message: "Scaled down ReplicaSet " + rs.Name + " from " + itoa(*rs.Spec.Replicas) + " to 0"})
		}
	}
	for _, t := range sortedKeys(p.svc) {
		p.add(DeleteService{Template: t, Service: p.svc[t]})
	}
	for _, r := range p.obs.Runs {
		if !r.Status.Phase.Completed() && !r.Spec.Terminate {
			p.add(TerminateRun{Run: r})
		}
	}
	return p.finish()
}

// clearInvalid drops an InvalidSpec condition once the spec is valid
// again; the phase it ended in stays (a retry runs the Experiment again).
func (p *planner) clearInvalid() {
	if condition(p.st, v1alpha1.InvalidExperimentSpec) != nil {
		removeCondition(p.st, v1alpha1.InvalidExperimentSpec)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
