package experiment

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
)

// planner holds one pass's observations and what it has decided so far.
type planner struct {
	obs         Observed
	ex          *v1alpha1.Experiment
	now         time.Time   // exact, for timers
	stamp       metav1.Time // to the second, as status times are stored
	st          *v1alpha1.ExperimentStatus
	terminating bool
	rs          map[string]*appsv1.ReplicaSet
	svc         map[string]*corev1.Service // ours, by template
	byName      map[string]*corev1.Service // every Service, by name
	runs        map[string]*v1alpha1.AnalysisRun
	steps       []Step
	events      []Event
	requeue     time.Duration
}

// Decide plans one pass over an Experiment.
func Decide(obs Observed) Plan {
	ex := obs.Experiment
	p := &planner{obs: obs, ex: ex, now: obs.Now, stamp: metav1.NewTime(obs.Now.Truncate(time.Second)),
		st: ex.Status.DeepCopy(), terminating: Terminating(ex),
		rs: map[string]*appsv1.ReplicaSet{}, svc: map[string]*corev1.Service{}, byName: map[string]*corev1.Service{},
		runs: map[string]*v1alpha1.AnalysisRun{}}
	for _, rs := range obs.ReplicaSets {
		if t, ok := ours(ex, rs); ok && rs.DeletionTimestamp == nil {
			p.rs[t] = rs
		}
	}
	for _, s := range obs.Services {
		p.byName[s.Name] = s
		if t, ok := ours(ex, s); ok && s.DeletionTimestamp == nil {
			p.svc[t] = s
		}
	}
	for _, r := range obs.Runs {
		p.runs[r.Name] = r
	}
	if errs := Validate(ex); len(errs) > 0 {
		return p.invalid(invalidMessage(errs))
	}
	if msg := p.analysisProblems(); msg != "" {
		// A template may be applied just after its Experiment (one
		// `kubectl apply` of both): wait for it, within the progress
		// deadline counted from the Experiment's creation.
		waited := p.now.Sub(ex.CreationTimestamp.Time)
		if limit := time.Duration(progressDeadline(ex)) * time.Second; waited < limit {
			return p.hold(msg, min(HoldRecheck, limit-waited))
		}
		return p.invalid(msg)
	}
	p.clearInvalid()
	for _, t := range ex.Spec.Templates {
		p.template(t)
	}
	for _, a := range ex.Spec.Analyses {
		p.analysis(a)
	}
	p.phase()
	p.conditions()
	p.timers()
	return p.finish()
}

func (p *planner) add(s Step)    { p.steps = append(p.steps, s) }
func (p *planner) event(e Event) { p.events = append(p.events, e) }
func (p *planner) after(d time.Duration) {
	if d > 0 && (p.requeue == 0 || d < p.requeue) {
		p.requeue = d
	}
}

func (p *planner) finish() Plan {
	if len(p.events) > 0 {
		p.add(Journal{Events: p.events})
	}
	p.add(WriteStatus{Status: *p.st})
	return Plan{Steps: p.steps, RequeueAfter: p.requeue}
}

// Terminating reports whether the Experiment is winding down: terminated
// by the user, completed, a template failed or errored, an analysis ended
// Failed, Error or Inconclusive, or its required analyses all succeeded.
func Terminating(ex *v1alpha1.Experiment) bool {
	if ex.Spec.Terminate || ex.Status.Phase.Completed() {
		return true
	}
	for _, ts := range ex.Status.TemplateStatuses {
		if ts.Status == v1alpha1.TemplateStatusFailed || ts.Status == v1alpha1.TemplateStatusError {
			return true
		}
	}
	for _, r := range ex.Status.AnalysisRuns {
		switch r.Phase {
		case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
			return true
		}
	}
	return requiredSucceeded(ex, &ex.Status)
}

// requiredSucceeded: at least one analysis is requiredForCompletion and
// every such analysis ended Successful.
func requiredSucceeded(ex *v1alpha1.Experiment, st *v1alpha1.ExperimentStatus) bool {
	found := false
	for _, a := range ex.Spec.Analyses {
		if !a.RequiredForCompletion {
			continue
		}
		found = true
		if r := runStatus(st, a.Name); r == nil || r.Phase != v1alpha1.AnalysisPhaseSuccessful {
			return false
		}
	}
	return found
}

func hasRequired(ex *v1alpha1.Experiment) bool {
	for _, a := range ex.Spec.Analyses {
		if a.RequiredForCompletion {
			return true
		}
	}
	return false
}

// passedDuration reports whether the duration has run out since
// availableAt, and how long is left.
func passedDuration(ex *v1alpha1.Experiment, availableAt *metav1.Time, now time.Time) (bool, time.Duration) {
	if ex.Spec.Duration == "" || availableAt == nil {
		return false, 0
	}
	d, err := ex.Spec.Duration.Duration()
	if err != nil {
		return false, 0
	}
	end := availableAt.Add(d)
	return now.After(end), end.Sub(now)
}

// desiredReplicas is a template's size: 0 once the Experiment is
// completed or terminating or the template itself is done.
func (p *planner) desiredReplicas(t v1alpha1.TemplateSpec) int32 {
	if p.terminating {
		return 0
	}
	if ts := templateStatus(&p.ex.Status, t.Name); ts != nil && ts.Status.Completed() {
		return 0
	}
	if t.Replicas != nil {
		return *t.Replicas
	}
	return v1alpha1.DefaultReplicas
}

func templateStatus(st *v1alpha1.ExperimentStatus, name string) *v1alpha1.TemplateStatus {
	for i := range st.TemplateStatuses {
		if st.TemplateStatuses[i].Name == name {
			return &st.TemplateStatuses[i]
		}
	}
	return nil
}

func setTemplateStatus(st *v1alpha1.ExperimentStatus, ts v1alpha1.TemplateStatus) {
	if cur := templateStatus(st, ts.Name); cur != nil {
		*cur = ts
		return
	}
	st.TemplateStatuses = append(st.TemplateStatuses, ts)
}

func runStatus(st *v1alpha1.ExperimentStatus, name string) *v1alpha1.ExperimentAnalysisRunStatus {
	for i := range st.AnalysisRuns {
		if st.AnalysisRuns[i].Name == name {
			return &st.AnalysisRuns[i]
		}
	}
	return nil
}

func setRunStatus(st *v1alpha1.ExperimentStatus, rs v1alpha1.ExperimentAnalysisRunStatus) {
	if cur := runStatus(st, rs.Name); cur != nil {
		*cur = rs
		return
	}
	st.AnalysisRuns = append(st.AnalysisRuns, rs)
}

// template decides one template's ReplicaSet and Service and its status,
// as Argo Rollouts' reconcileTemplate does.
func (p *planner) template(t v1alpha1.TemplateSpec) {
	prev := v1alpha1.TemplateStatus{Name: t.Name}
	if cur := templateStatus(&p.ex.Status, t.Name); cur != nil {
		prev = *cur.DeepCopy()
	}
	ts := *prev.DeepCopy()
	desired := p.desiredReplicas(t)
	rs := p.rs[t.Name]
	switch name := ReplicaSetName(p.ex.Name, t.Name); {
	case rs == nil && desired > 0 && p.obs.ForeignReplicaSets[name] && !ts.Status.Completed():
		// Argo Rollouts bumps collisionCount here, which changes the hash
		// but not the name, and so retries forever; say what is wrong instead.
		ts.Status = v1alpha1.TemplateStatusError
		ts.Message = fmt.Sprintf("Failed to create ReplicaSet %s for template '%s': a ReplicaSet of that name already exists and is not controlled by experiment %s; delete it or rename the template",
			name, t.Name, p.ex.Name)
	case rs == nil && desired > 0:
		p.add(CreateReplicaSet{Template: t.Name, ReplicaSet: newReplicaSet(p.ex, t, ts.CollisionCount)})
		ts.LastTransitionTime = &p.stamp
	case rs != nil:
		p.replicaSet(t, &ts, rs, desired)
	}
	var replicas, ready, available int32
	if rs != nil {
		replicas, ready, available = rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas
	}
	if prev.Replicas != replicas || prev.UpdatedReplicas != replicas || prev.ReadyReplicas != ready || prev.AvailableReplicas != available {
		ts.LastTransitionTime = &p.stamp
	}
	ts.Replicas, ts.UpdatedReplicas, ts.ReadyReplicas, ts.AvailableReplicas = replicas, replicas, ready, available
	if !ts.Status.Completed() {
		switch {
		case desired == available:
			if done, _ := passedDuration(p.ex, p.ex.Status.AvailableAt, p.now); done || p.terminating {
				ts.Status = v1alpha1.TemplateStatusSuccessful
			} else {
				ts.Status = v1alpha1.TemplateStatusRunning
			}
		default:
			from := p.now
			if ts.LastTransitionTime != nil {
				from = ts.LastTransitionTime.Time
			}
			deadline := progressDeadline(p.ex)
			switch {
			case p.now.After(from.Add(time.Duration(deadline) * time.Second)):
				ts.Status = v1alpha1.TemplateStatusFailed
				ts.Message = fmt.Sprintf("Template '%s' exceeded its progressDeadlineSeconds (%d)", t.Name, deadline)
			case p.terminating:
				ts.Status = v1alpha1.TemplateStatusSuccessful
			default:
				ts.Status = v1alpha1.TemplateStatusProgressing
			}
		}
	}
	if prev.Status != ts.Status {
		msg := fmt.Sprintf("Template '%s' transitioned from %s -> %s", t.Name, prev.Status, ts.Status)
		if ts.Message != "" {
			msg += ": " + ts.Message
		}
		p.event(Event{Warning: ts.Status == v1alpha1.TemplateStatusFailed || ts.Status == v1alpha1.TemplateStatusError,
			Reason: ReasonTemplatePrefix + string(ts.Status), Message: msg})
	}
	setTemplateStatus(p.st, ts)
}

// replicaSet decides an existing template ReplicaSet's Service, scale-down
// deadline and size.
func (p *planner) replicaSet(t v1alpha1.TemplateSpec, ts *v1alpha1.TemplateStatus, rs *appsv1.ReplicaSet, desired int32) {
	svc := p.svc[t.Name]
	switch {
	case t.Service != nil && desired != 0:
		p.service(t, ts, rs, svc)
	case t.Service == nil && svc != nil:
		p.deleteService(t.Name, ts, svc)
	}
	current := int32(0)
	if rs.Spec.Replicas != nil {
		current = *rs.Spec.Replicas
	}
	deadline, hasDeadline := rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey]
	to := current
	switch {
	case desired == 0 && current != 0:
		delay := scaleDownDelay(p.ex)
		switch {
		case delay == 0:
			if hasDeadline {
				p.add(SetScaleDownDeadline{ReplicaSet: rs})
			}
			to = 0
		case !hasDeadline:
			// The deadline is written first and counted from now; the
			// ReplicaSet is scaled once it has passed.
			at := p.now.Add(time.Duration(delay) * time.Second).UTC().Format(time.RFC3339)
			p.add(SetScaleDownDeadline{ReplicaSet: rs, Deadline: at})
			p.after(time.Duration(delay) * time.Second)
		default:
			at, err := time.Parse(time.RFC3339, deadline)
			if left := at.Sub(p.now); err == nil && left > 0 {
				p.after(left)
			} else {
				to = 0
			}
		}
	case desired != 0:
		if hasDeadline {
			// A deadline left from an earlier attempt (before a retry)
			// would otherwise cut the next scale-down delay short.
			p.add(SetScaleDownDeadline{ReplicaSet: rs})
		}
		to = desired
	}
	if to != current {
		dir := "up"
		if to < current {
			dir = "down"
		}
		p.add(ScaleReplicaSet{Template: t.Name, ReplicaSet: rs, Replicas: to})
		p.event(Event{Reason: ReasonScalingReplicaSet, Message: fmt.Sprintf("Scaled %s ReplicaSet %s from %d to %d", dir, rs.Name, current, to)})
		ts.LastTransitionTime = &p.stamp
	}
	if desired == 0 && to == 0 && svc != nil {
		p.deleteService(t.Name, ts, svc)
	}
}

// service keeps a template's Service: created with the first ReplicaSet
// ports, unless another object holds the name.
func (p *planner) service(t v1alpha1.TemplateSpec, ts *v1alpha1.TemplateStatus, rs *appsv1.ReplicaSet, svc *corev1.Service) {
	hash := rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	if svc != nil {
		ts.ServiceName, ts.PodTemplateHash = svc.Name, hash
		return
	}
	ports := servicePorts(rs)
	if len(ports) == 0 {
		return // as in the reference: no container port, no Service
	}
	name := rs.Name
	if t.Service.Name != "" {
		name = t.Service.Name
	}
	if p.byName[name] != nil {
		ts.Status = v1alpha1.TemplateStatusError
		ts.Message = fmt.Sprintf("Failed to create Service %s for template '%s': service %s already exists and is not owned by experiment template %s; delete it or set spec.templates[].service.name to a free name",
			name, t.Name, name, t.Name)
		return
	}
	p.add(CreateService{Template: t.Name, Service: newService(p.ex, t.Name, name, rs, ports)})
	ts.ServiceName, ts.PodTemplateHash = name, hash
}

func (p *planner) deleteService(template string, ts *v1alpha1.TemplateStatus, svc *corev1.Service) {
	p.add(DeleteService{Template: template, Service: svc})
	ts.ServiceName, ts.PodTemplateHash = "", ""
}

// analysis decides one analysis' run and status, as Argo Rollouts'
// reconcileAnalysisRun does: nothing before the templates are available,
// then one run, followed until it completes or terminated when the
// Experiment winds down.
func (p *planner) analysis(a v1alpha1.ExperimentAnalysisTemplateRef) {
	prev := v1alpha1.ExperimentAnalysisRunStatus{Name: a.Name}
	if cur := runStatus(&p.ex.Status, a.Name); cur != nil {
		prev = *cur
	}
	next := prev
	defer func() {
		if prev.Phase != next.Phase && next.Phase != "" {
			msg := fmt.Sprintf("AnalysisRun '%s' transitioned from %s -> %s", a.Name, prev.Phase, next.Phase)
			if next.Message != "" {
				msg += ": " + next.Message
			}
			warn := next.Phase == v1alpha1.AnalysisPhaseFailed || next.Phase == v1alpha1.AnalysisPhaseError || next.Phase == v1alpha1.AnalysisPhaseInconclusive
			p.event(Event{Warning: warn, Reason: ReasonAnalysisRunPrefix + string(next.Phase), Message: msg})
		}
		setRunStatus(p.st, next)
	}()
	if p.ex.Status.AvailableAt == nil {
		return
	}
	if prev.AnalysisRun == "" {
		if p.terminating {
			return
		}
		if run := p.adoptable(a.Name); run != nil {
			// Recorded as its creation would have been (Pending), so the
			// transition events are the same whichever pass records it;
			// the next pass follows its phase.
			next.AnalysisRun, next.Phase = run.Name, v1alpha1.AnalysisPhasePending
			return
		}
		run, err := p.newRun(a)
		if err != nil {
			next.Phase = v1alpha1.AnalysisPhaseError
			next.Message = fmt.Sprintf("Failed to create AnalysisRun for analysis '%s': %v", a.Name, err)
			return
		}
		p.add(CreateRun{Analysis: a.Name, Run: run})
		next.AnalysisRun, next.Phase = run.Name, v1alpha1.AnalysisPhasePending
		return
	}
	if prev.Phase.Completed() {
		return
	}
	run := p.runs[prev.AnalysisRun]
	if run == nil {
		next.Phase = v1alpha1.AnalysisPhaseError
		next.Message = fmt.Sprintf("AnalysisRun %s was deleted before it completed", prev.AnalysisRun)
		return
	}
	if p.terminating && !run.Status.Phase.Completed() {
		if !run.Spec.Terminate {
			p.add(TerminateRun{Analysis: a.Name, Run: run})
			p.event(Event{Reason: ReasonAnalysisRunTerminate, Message: fmt.Sprintf("Terminating %s (%s)", a.Name, run.Name)})
		}
		return
	}
	// Also while terminating, once the run has ended: its final phase
	// is recorded rather than left Running.
	next.Phase, next.Message = observedPhase(run), run.Status.Message
}

// observedPhase is a run's phase, Pending until its controller has set one.
func observedPhase(run *v1alpha1.AnalysisRun) v1alpha1.AnalysisPhase {
	if run.Status.Phase == "" {
		return v1alpha1.AnalysisPhasePending
	}
	return run.Status.Phase
}

// adoptable is a run this attempt created for the analysis whose creation
// did not reach the status (a crash in between, or a stale cache).
func (p *planner) adoptable(analysis string) *v1alpha1.AnalysisRun {
	base := RunName(p.ex.Name, analysis)
	for _, r := range p.obs.Runs {
		if (r.Name == base || isCollisionName(r.Name, base)) && r.Annotations[AttemptAnnotation] == attempt(p.ex.Status.AvailableAt) && !r.Spec.Terminate {
			return r
		}
	}
	return nil
}

func isCollisionName(name, base string) bool {
	n, ok := strings.CutPrefix(name, base+".")
	if !ok {
		return false
	}
	_, err := strconv.Atoi(n)
	return err == nil
}

// newRun builds an analysis' AnalysisRun: args resolved against the
// template ReplicaSets and availableAt, the templates merged (with the
// Experiment's dryRun and measurementRetention), named <experiment>-<analysis>
// or, when that is taken (an earlier attempt's run), the first free
// <experiment>-<analysis>.<n>.
func (p *planner) newRun(a v1alpha1.ExperimentAnalysisTemplateRef) (*v1alpha1.AnalysisRun, error) {
	args, err := ResolveArgs(a.Args, ArgValues(p.ex, p.rs, p.ex.Status.AvailableAt))
	if err != nil {
		return nil, err
	}
	res := p.obs.Templates[a.Name]
	if res.Err != nil {
		return nil, res.Err
	}
	spec, err := templates.Build(templates.Request{
		Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}},
		Args:      args, DryRun: p.ex.Spec.DryRun, MeasurementRetention: p.ex.Spec.MeasurementRetention,
		Caller: fmt.Sprintf("the experiment's analysis %q", a.Name),
	}, collected(res.Templates))
	if err != nil {
		return nil, err
	}
	name := RunName(p.ex.Name, a.Name)
	for n := 1; p.obs.TakenRunNames[name] || p.runs[name] != nil; n++ {
		name = templates.CollisionName(RunName(p.ex.Name, a.Name), n)
	}
	labels, annotations := runMeta(p.ex)
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: p.ex.Namespace, Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(p.ex, Kind)}},
		Spec: spec,
	}
	return run, nil
}

// collected looks templates up among those the shell read.
func collected(ts []templates.Template) templates.Lookup {
	return func(name string, cluster bool) (*v1alpha1.AnalysisTemplateSpec, error) {
		for _, t := range ts {
			if t.Name == name && t.ClusterScope == cluster {
				return t.Spec, nil
			}
		}
		return nil, nil
	}
}

// analysisProblems is what makes an analysis impossible to start while
// one still needs its run: a template that cannot be read or args that
// cannot make a run. Checked with stand-in placeholder values, so it is
// reported before any ReplicaSet is created.
func (p *planner) analysisProblems() string {
	var errs []string
	for i, a := range p.ex.Spec.Analyses {
		// Checked until the run exists, unless the Experiment winds down.
		if r := runStatus(&p.ex.Status, a.Name); r != nil && r.AnalysisRun != "" || p.terminating {
			continue
		}
		f := fmt.Sprintf("spec.analyses[%d]", i)
		res, ok := p.obs.Templates[a.Name]
		if !ok {
			continue // not read: the shell reads templates only when needed
		}
		if res.Err != nil {
			errs = append(errs, fmt.Sprintf("%s.templateName: %v", f, res.Err))
			continue
		}
		args, err := ResolveArgs(a.Args, standInValues(p.ex))
		if err != nil {
			continue // reported by Validate
		}
		_, err = templates.Build(templates.Request{
			Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}},
			Args:      args, DryRun: p.ex.Spec.DryRun, MeasurementRetention: p.ex.Spec.MeasurementRetention,
			Caller: fmt.Sprintf("%s (analysis %q)", f, a.Name),
		}, collected(res.Templates))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", f, err))
		}
	}
	if len(errs) == 0 {
		return ""
	}
	return invalidMessage(errs)
}
