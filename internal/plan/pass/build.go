package pass

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/plan/duration"
	"github.com/aviary-rollouts/aviary/internal/plan/ephemeral"
	"github.com/aviary-rollouts/aviary/internal/plan/history"
	"github.com/aviary-rollouts/aviary/internal/plan/release"
	"github.com/aviary-rollouts/aviary/internal/plan/restart"
	"github.com/aviary-rollouts/aviary/internal/plan/revision"
	"github.com/aviary-rollouts/aviary/internal/plan/roles"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/plan/scaledown"
	"github.com/aviary-rollouts/aviary/internal/plan/services"
	"github.com/aviary-rollouts/aviary/internal/plan/workloadref"
)

// restartRecheck is how soon an unfinished restart is looked at again if no
// pod event arrives first.
const restartRecheck = 30 * time.Second

// Builder assembles a Plan step by step, keeping its own model of what the
// steps before changed (ReplicaSet revisions, Service selectors, runs
// marked), so each decision sees the world as the steps before it leave it.
// The observed objects are never modified.
type Builder struct {
	obs   Observed
	steps []Step
	// Sets are the Rollout's ReplicaSets as the plan leaves them.
	Sets []*appsv1.ReplicaSet
	// Runs are its runs as the plan leaves them.
	Runs []*v1alpha1.AnalysisRun
	// Experiments are its Experiments as the plan leaves them.
	Experiments []*v1alpha1.Experiment
	// selector and managed model each named Service: the hash it selects
	// and whether the Rollout manages it.
	selector map[string]string
	managed  map[string]bool
	invalid  string
	requeue  time.Duration
	// annotations are written on the Rollout before the journal and status.
	annotations map[string]string
	// Progressed: a step moves the Rollout on (a ReplicaSet created or
	// scaled, a Service switched).
	Progressed bool
}

// NewBuilder starts the plan of a pass.
func NewBuilder(obs Observed) *Builder {
	b := &Builder{obs: obs, Sets: slices.Clone(obs.ReplicaSets), Runs: slices.Clone(obs.Runs),
		Experiments: slices.Clone(obs.Experiments), selector: map[string]string{}, managed: map[string]bool{}}
	for name, svc := range obs.Services {
		b.selector[name] = svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
		b.managed[name] = svc.Annotations[v1alpha1.ManagedByRolloutsKey] != ""
	}
	return b
}

// Add appends steps.
func (b *Builder) Add(s ...Step) { b.steps = append(b.steps, s...) }

// Invalid makes the plan an InvalidSpec report; the first message wins.
func (b *Builder) Invalid(msg string) {
	if b.invalid == "" {
		b.invalid = msg
	}
}

// Failed reports whether the plan became an InvalidSpec report.
func (b *Builder) Failed() bool { return b.invalid != "" }

// Annotate asks for an annotation on the Rollout, written before the
// journal and the status that depend on it.
func (b *Builder) Annotate(key, value string) {
	if b.annotations == nil {
		b.annotations = map[string]string{}
	}
	b.annotations[key] = value
}

// onlyScales reports whether the plan so far writes nothing but
// ReplicaSet sizes, if anything (ReleaseRouterObjects, in every plan, only
// looks unless the spec stopped naming an object; a Route to the weights
// already set changes nothing).
func (b *Builder) onlyScales() bool {
	for _, s := range b.steps {
		switch s := s.(type) {
		case Scale, ScaleDownOld, ReleaseRouterObjects:
		case Route:
			// The same weights again (a change of weights is a status
			// change CountsOnly refuses); header, mirror and reset
			// routes decide something.
			d := s.Decision
			if len(s.Routes.Headers) > 0 || len(s.Routes.Mirrors) > 0 || d.RemoveManagedRoutes || d.ResetFirst {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// scales reports whether the plan so far sizes a ReplicaSet.
func (b *Builder) scales() bool {
	for _, s := range b.steps {
		switch s.(type) {
		case Scale, ScaleDownOld, CreateReplicaSet:
			return true
		}
	}
	return false
}

// Requeue asks to be looked at again after d at the latest (0: no ask).
func (b *Builder) Requeue(d time.Duration) { b.requeue = Earliest(b.requeue, d) }

// Plan is the plan built.
func (b *Builder) Plan() Plan {
	if b.invalid != "" {
		return Plan{Invalid: b.invalid}
	}
	return Plan{Steps: b.steps, RequeueAfter: b.requeue}
}

// Earliest is the sooner of two delays, 0 meaning none.
func Earliest(a, c time.Duration) time.Duration {
	if a == 0 || (c != 0 && c < a) {
		return c
	}
	return a
}

// Prepare classifies the ReplicaSets for the current template and makes
// rs.New the current template's ReplicaSet: an existing one is kept the
// newest revision (StampRevision), a missing one is built and returned as
// pending — the plan creates it at the size it needs, in one write, with
// the role metadata its pods start with.
func (b *Builder) Prepare() (rs roles.Roles, pending *appsv1.ReplicaSet) {
	ro := b.obs.Rollout
	newHash := roles.CurrentHash(ro, b.Sets)
	rs = roles.Classify(b.Sets, newHash, ro.Status.StableRS)
	var maxRev int64 // newest revision among the other ReplicaSets
	for _, o := range b.Sets {
		if o != rs.New {
			maxRev = max(maxRev, roles.Revision(o))
		}
	}
	if rs.New == nil {
		rs.New = roles.NewReplicaSet(ro, newHash, maxRev+1, ephemeral.ForNew(ro, rs.Stable != nil))
		return rs, rs.New
	}
	rev := roles.Revision(rs.New)
	if rev > maxRev && rs.New.Spec.MinReadySeconds == ro.Spec.MinReadySeconds {
		return rs, nil
	}
	stamped := rs.New.DeepCopy()
	stamped.Spec.MinReadySeconds = ro.Spec.MinReadySeconds
	step := StampRevision{ReplicaSet: stamped.Name, MinReadySeconds: ro.Spec.MinReadySeconds}
	if rev <= maxRev {
		// A rollback made an older ReplicaSet current again: it takes the
		// next revision, its earlier ones kept in revision-history (undo
		// and the CLI read these).
		if stamped.Annotations == nil {
			stamped.Annotations = map[string]string{}
		}
		if old := stamped.Annotations[v1alpha1.RevisionAnnotation]; old != "" {
			if h := stamped.Annotations[v1alpha1.RevisionHistoryAnnotation]; h != "" {
				stamped.Annotations[v1alpha1.RevisionHistoryAnnotation] = h + "," + old
			} else {
				stamped.Annotations[v1alpha1.RevisionHistoryAnnotation] = old
			}
		}
		step.Revision = strconv.FormatInt(maxRev+1, 10)
		step.History = stamped.Annotations[v1alpha1.RevisionHistoryAnnotation]
		stamped.Annotations[v1alpha1.RevisionAnnotation] = step.Revision
		step.Events = []rules.Event{{Reason: rules.ReasonUpdated, Message: "Rollout updated to revision " + step.Revision}}
	}
	b.Add(step)
	for i, o := range b.Sets {
		if o == rs.New {
			b.Sets[i] = stamped
		}
	}
	if rs.Stable == rs.New {
		rs.Stable = stamped
	}
	rs.New = stamped
	return rs, nil
}

// Release lets go of what the Rollout marked or created for itself and its
// spec no longer names (plan/release decides which): Services marked as
// managed by it, the canary Ingresses of NGINX routing no stable Ingress
// calls for, and the uncached router objects, which the routers look at.
// A spec without a strategy is invalid and releases nothing.
func (b *Builder) Release() {
	ro := b.obs.Rollout
	if ro.Spec.Strategy.Canary == nil && ro.Spec.Strategy.BlueGreen == nil {
		return
	}
	var held []release.Object
	versions := map[string]string{}
	for _, svc := range b.obs.Managed {
		if owner := svc.Annotations[v1alpha1.ManagedByRolloutsKey]; owner != "" {
			held = append(held, release.Object{Name: svc.Name, Holder: owner})
			versions[svc.Name] = svc.ResourceVersion
		}
	}
	for _, name := range release.Unreferenced(ro.Name, services.Named(ro), held) {
		b.Add(ReleaseService{Name: name, ResourceVersion: versions[name]})
	}
	var owned []release.Object
	uids := map[string]types.UID{}
	for _, ing := range b.obs.Ingresses {
		ref := metav1.GetControllerOf(ing)
		if ref == nil || ref.UID != ro.UID || ref.Kind != "Rollout" || ing.DeletionTimestamp != nil {
			continue
		}
		owned = append(owned, release.Object{Name: ing.Name, Holder: ro.Name})
		uids[ing.Name] = ing.UID
	}
	for _, name := range release.Unreferenced(ro.Name, b.obs.WantedIngresses, owned) {
		b.Add(DeleteIngress{Name: name, UID: uids[name]})
	}
	b.Add(ReleaseRouterObjects{})
}

// ServiceRef is one Service field of the strategy and the ReplicaSet it
// should select now (nil leaves the Service as it is).
type ServiceRef struct {
	Field, Name string
	Target      *appsv1.ReplicaSet
}

// Switch points each named Service at its target when services.ShouldSwitch
// allows, and returns the hash each Service (by field) selects afterwards.
// A Service missing, or managed by another Rollout, makes the plan an
// InvalidSpec report.
func (b *Builder) Switch(refs []ServiceRef) map[string]string {
	ro := b.obs.Rollout
	selected := map[string]string{}
	for _, ref := range refs {
		if ref.Name == "" {
			continue
		}
		svc, ok := b.obs.Services[ref.Name]
		if !ok {
			b.Invalid(ref.Field + ": service \"" + ref.Name + "\" not found in namespace \"" + ro.Namespace + "\": create the Service or correct the name")
			return selected
		}
		if owner := svc.Annotations[v1alpha1.ManagedByRolloutsKey]; owner != "" && owner != ro.Name {
			b.Invalid(ref.Field + ": service \"" + ref.Name + "\" is already managed by rollout \"" + owner + "\": give each rollout its own Services")
			return selected
		}
		current := b.selector[ref.Name]
		selected[ref.Field] = current
		if ref.Target == nil {
			continue
		}
		target := services.Target{Hash: ref.Target.Labels[v1alpha1.DefaultRolloutUniqueLabelKey],
			Replicas: roles.SpecReplicas(ref.Target), Available: ref.Target.Status.AvailableReplicas}
		if !services.ShouldSwitch(current, b.managed[ref.Name], target) {
			continue
		}
		b.Add(SwitchService{Field: ref.Field, Name: ref.Name, From: current, To: target.Hash, Adopt: !b.managed[ref.Name]})
		b.selector[ref.Name], b.managed[ref.Name] = target.Hash, true
		selected[ref.Field] = target.Hash
		b.Progressed = true
	}
	return selected
}

// RoleMetadata brings each ReplicaSet of rs to the role metadata roles.Metadata
// gives it, for ro's status.
func (b *Builder) RoleMetadata(ro *v1alpha1.Rollout, rs roles.Roles) {
	desired := map[string]*v1alpha1.PodTemplateMetadata{}
	for set, m := range roles.Metadata(ro, rs) {
		if ephemeral.Encode(ephemeral.Recorded(set.Annotations)) != ephemeral.Encode(m) {
			desired[set.Name] = m
		}
	}
	if len(desired) > 0 {
		b.Add(SyncRoleMetadata{Desired: desired})
	}
}

// DropAntiAffinity frees a stable ReplicaSet of the anti-affinity it was
// given as a canary.
func (b *Builder) DropAntiAffinity(stable *appsv1.ReplicaSet) {
	if stable == nil {
		return
	}
	spec := stable.Spec.Template.Spec.DeepCopy()
	if roles.WithoutInjectedAntiAffinity(spec) {
		b.Add(DropAntiAffinity{ReplicaSet: stable.Name})
	}
}

// Supersede marks the runs and experiments of an aborted attempt
// (status.abortedAt set, which lasts into the reconcile that handles a
// retry), once per abort, so they never count again once the retry has
// cleared abortedAt: a terminated experiment ends Successful, and must not
// pass the retried step.
func (b *Builder) Supersede() {
	ro := b.obs.Rollout
	at := ""
	if ro.Status.AbortedAt != nil {
		at = ro.Status.AbortedAt.UTC().Format(time.RFC3339)
	}
	step := MarkSuperseded{At: at}
	for i, run := range b.Runs {
		if marked := superseded(run, ro.Status.AbortedAt, at); marked != nil {
			b.Runs[i] = marked.(*v1alpha1.AnalysisRun)
			step.Runs = append(step.Runs, run.Name)
		}
	}
	for i, ex := range b.Experiments {
		if marked := superseded(ex, ro.Status.AbortedAt, at); marked != nil {
			b.Experiments[i] = marked.(*v1alpha1.Experiment)
			step.Experiments = append(step.Experiments, ex.Name)
		}
	}
	if len(step.Runs) > 0 || len(step.Experiments) > 0 {
		b.Add(step)
	}
}

// superseded is a marked copy of obj if it belongs to the attempt aborted
// at abortedAt and is not marked yet, else nil.
func superseded(obj interface {
	metav1.Object
	DeepCopyObject() runtime.Object
}, abortedAt *metav1.Time, at string) metav1.Object {
	if obj.GetAnnotations()[rules.SupersededAnnotation] != "" || !rules.SupersededByAbort(obj.GetCreationTimestamp(), abortedAt) {
		return nil
	}
	marked := obj.DeepCopyObject().(metav1.Object)
	annotations := marked.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[rules.SupersededAnnotation] = at
	marked.SetAnnotations(annotations)
	return marked
}

// RunView is the planners' view of a run; a run of an aborted attempt is
// none. A run its controller has not looked at yet (no phase) is Pending,
// as the status that named it at creation said: the status does not go
// Pending, "", Running.
func RunView(run *v1alpha1.AnalysisRun) *rules.Run {
	if run == nil || run.Annotations[rules.SupersededAnnotation] != "" {
		return nil
	}
	phase := run.Status.Phase
	if phase == "" {
		phase = v1alpha1.AnalysisPhasePending
	}
	return &rules.Run{Name: run.Name, Phase: phase, Message: run.Status.Message, Passed: engine.Passed(run.Status)}
}

// FindRun is the newest run of the current attempt matching key.
func FindRun(runs []*v1alpha1.AnalysisRun, key rules.RunKey) *v1alpha1.AnalysisRun {
	var found *v1alpha1.AnalysisRun
	for _, run := range runs {
		if !rules.Belongs(run.Labels, run.Annotations, key) {
			continue
		}
		if found == nil || found.CreationTimestamp.Before(&run.CreationTimestamp) {
			found = run
		}
	}
	return found
}

// NamedRun is the run a status reference names, if it is among runs.
func NamedRun(runs []*v1alpha1.AnalysisRun, ref *v1alpha1.RolloutAnalysisRunStatus) *v1alpha1.AnalysisRun {
	if ref == nil {
		return nil
	}
	for _, run := range runs {
		if run.Name == ref.Name {
			return run
		}
	}
	return nil
}

// HoldAbortedNew applies abortScaleDownDelaySeconds to the new ReplicaSet
// of next (the Rollout with the status decided): it leaves scales while
// held, and its deadline is written or cleared.
func (b *Builder) HoldAbortedNew(next *v1alpha1.Rollout, rs roles.Roles, scales map[*appsv1.ReplicaSet]int32) {
	if !scaledown.HeldNew(rs, scales) {
		return
	}
	p := scaledown.ForAbortedNew(next, rs, scales[rs.New], b.obs.Now)
	switch {
	case p.Deadline != "":
		b.Add(MarkAbortDeadline{ReplicaSet: rs.New.Name, Deadline: p.Deadline})
	case p.ClearDeadline:
		b.Add(MarkAbortDeadline{ReplicaSet: rs.New.Name})
	}
	if p.Hold {
		delete(scales, rs.New)
	} else {
		scales[rs.New] = p.Replicas
	}
	b.Requeue(p.RequeueAfter)
}

// Create creates the pending ReplicaSet, if any, at the size scales gives
// it, in one write, its events journaled with it.
func (b *Builder) Create(pending *appsv1.ReplicaSet, scales map[*appsv1.ReplicaSet]int32) {
	if pending == nil {
		return
	}
	n := scales[pending]
	pending.Spec.Replicas = &n // the plan's own object: later steps size it from here
	rev := pending.Annotations[v1alpha1.RevisionAnnotation]
	// Argo Rollouts' order: the update, then the ReplicaSet, then its size.
	evs := []rules.Event{{Reason: rules.ReasonUpdated, Message: "Rollout updated to revision " + rev},
		{Reason: rules.ReasonNewReplicaSetCreated, Message: "Created ReplicaSet " + pending.Name + " (revision " + rev + ")"}}
	if n > 0 {
		evs = append(evs, rules.Event{Reason: rules.ReasonScalingReplicaSet, Message: rules.ScalingMessage(pending.Name, rev, 0, n)})
	}
	b.Add(CreateReplicaSet{ReplicaSet: pending.DeepCopy(), Events: evs})
	b.Progressed = true
}

// Size scales every ReplicaSet in scales to its size, in name order (one
// created in this pass only if a later decision, such as an abort's hold,
// changed its size).
func (b *Builder) Size(scales map[*appsv1.ReplicaSet]int32) {
	ro := b.obs.Rollout
	desired := strconv.Itoa(int(ro.ReplicasOrDefault()))
	sets := make([]*appsv1.ReplicaSet, 0, len(scales))
	for set := range scales {
		sets = append(sets, set)
	}
	slices.SortFunc(sets, func(x, y *appsv1.ReplicaSet) int { return cmp.Compare(x.Name, y.Name) })
	for _, set := range sets {
		to, from := scales[set], roles.SpecReplicas(set)
		if set.Spec.Replicas != nil && from == to && set.Annotations[v1alpha1.DesiredReplicasAnnotation] == desired {
			continue
		}
		s := Scale{ReplicaSet: set.Name, From: from, To: to, DesiredReplicas: desired}
		if from != to {
			s.Event = &rules.Event{Reason: rules.ReasonScalingReplicaSet,
				Message: rules.ScalingMessage(set.Name, strconv.FormatInt(roles.Revision(set), 10), from, to)}
		}
		b.Add(s)
		b.Progressed = true
	}
}

// ScaleDownOld scales down the old ReplicaSets of next as
// scaledown.ForRollout decides.
func (b *Builder) ScaleDownOld(next *v1alpha1.Rollout, rs roles.Roles) {
	p := scaledown.ForRollout(next, rs, b.obs.Now)
	byName := map[string]*appsv1.ReplicaSet{}
	for _, o := range rs.Others {
		byName[o.Name] = o
	}
	for _, a := range p.Actions {
		o := byName[a.Name]
		if o == nil {
			continue
		}
		from := roles.SpecReplicas(o)
		if a.Deadline == "" && a.Replicas == from {
			continue
		}
		s := ScaleDownOld{ReplicaSet: o.Name, From: from, To: a.Replicas, Deadline: a.Deadline}
		if a.Replicas != from {
			s.Event = &rules.Event{Reason: rules.ReasonScalingReplicaSet,
				Message: rules.ScalingMessage(o.Name, strconv.FormatInt(roles.Revision(o), 10), from, a.Replicas)}
		}
		b.Add(s)
	}
	b.Requeue(p.RequeueAfter)
}

// History deletes the old ReplicaSets beyond revisionHistoryLimit.
func (b *Builder) History(others []*appsv1.ReplicaSet) {
	for _, old := range history.ToDelete(others, b.obs.Rollout.RevisionHistoryLimitOrDefault()) {
		b.Add(DeleteReplicaSet{ReplicaSet: old.Name, UID: old.UID})
	}
}

// Restart evicts the next pods for spec.restartAt and reports whether none
// created before it is left.
func (b *Builder) Restart(rs roles.Roles) bool {
	ro := b.obs.Rollout
	if !restart.Due(ro) {
		return true
	}
	d := restart.ForRollout(ro, rs, b.obs.Pods, b.obs.Now)
	if d.Batch > 0 && len(d.Order) > 0 {
		b.Add(Evict{Pods: d.Order, Batch: d.Batch, RestartAt: ro.Spec.RestartAt.UTC().Format("2006-01-02T15:04:05Z")})
	}
	return d.Done
}

// Run asks for the run of analysis a in slot unless one is found: named
// as Argo Rollouts names them, for the new ReplicaSet of rs, with its args
// resolved (a bad arg makes the plan an InvalidSpec report). It returns
// the name the status is to give the run; with reuse (a run the status
// names that the cache does not hold) the shell creates it only if that
// one is really gone.
func (b *Builder) Run(slot RunSlot, a *v1alpha1.RolloutAnalysis, runType string, step int32, suffix string, rs roles.Roles, reuse string) string {
	ro := b.obs.Rollout
	stable := ""
	if rs.Stable != nil {
		stable = rs.Stable.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	}
	hash := rs.New.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]
	args, err := templates.RolloutArgs(ro, a.Args, stable, hash)
	if err != nil {
		b.Invalid(err.Error())
		return ""
	}
	rev := roles.Revision(rs.New)
	name := templates.RunName(ro.Name, hash, rev, suffix)
	b.Add(CreateRun{Slot: slot, Analysis: a, Type: runType, Step: step, Name: name, Hash: hash, Revision: rev, Args: args, Reuse: reuse})
	return name
}

// StopAndPrune terminates every running run not in keep and deletes
// completed runs beyond successfulRunHistoryLimit and
// unsuccessfulRunHistoryLimit, oldest first.
func (b *Builder) StopAndPrune(keep map[string]bool) {
	ro := b.obs.Rollout
	var ok, bad []*v1alpha1.AnalysisRun
	for _, run := range b.Runs {
		if !keep[run.Name] && !run.Spec.Terminate && !run.Status.Phase.Completed() {
			b.Add(TerminateRun{Name: run.Name})
		}
		switch {
		case keep[run.Name] || !run.Status.Phase.Completed():
		case run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful:
			ok = append(ok, run)
		default:
			bad = append(bad, run)
		}
	}
	newestFirst := func(x, y *v1alpha1.AnalysisRun) int { return y.CreationTimestamp.Compare(x.CreationTimestamp.Time) }
	slices.SortFunc(ok, newestFirst)
	slices.SortFunc(bad, newestFirst)
	var drop []*v1alpha1.AnalysisRun
	if n := int(ro.SuccessfulRunHistoryLimitOrDefault()); len(ok) > n {
		drop = append(drop, ok[n:]...)
	}
	if n := int(ro.UnsuccessfulRunHistoryLimitOrDefault()); len(bad) > n {
		drop = append(drop, bad[n:]...)
	}
	for _, run := range drop {
		b.Add(DeleteRun{Name: run.Name})
	}
}

// Finish ends every plan: rules.Conclude decides the status; the
// workloadRef Deployment is scaled down if due, the Rollout's revision
// annotation recorded, the decision events journaled (before the status
// write that makes them, so a crash in between neither loses nor repeats
// them) and the status written once, its duration derived.
func (b *Builder) Finish(rs roles.Roles, st v1alpha1.RolloutStatus, restarted bool, events []rules.Event) Plan {
	if b.invalid != "" {
		return b.Plan()
	}
	ro, now := b.obs.Rollout, b.obs.Now
	end := rules.Ending{Rollout: ro, ReplicaSets: b.Sets, NewRS: rs.New, Status: st, Progressed: b.Progressed, Restarted: restarted, Now: now}
	if w := b.obs.Workload; w != nil {
		end.WorkloadGeneration = &w.Generation
	}
	c := rules.Conclude(end)
	if w := b.obs.Workload; w != nil && w.Deployment != nil {
		if n, due := workloadref.ScaleDown(ro, &c.Status, w.Deployment.Spec.Replicas, rs.New.Annotations[v1alpha1.RevisionAnnotation]); due {
			b.Add(ScaleWorkload{Deployment: w.Deployment.Name, Replicas: n})
		}
	}
	if want, due := revision.Annotation(ro, rs.New); due {
		b.Annotate(v1alpha1.RevisionAnnotation, want)
	}
	if len(b.annotations) > 0 {
		b.Add(Annotate{Annotations: b.annotations})
	}
	evs := slices.Concat(c.Summary, events, c.Deadline)
	if len(evs) > 0 {
		b.Add(Journal{Events: evs})
	}
	facts := duration.Facts{ManualPause: duration.ManualPause(ro, &c.Status), RollbackTarget: roles.RollbackTarget(rs)}
	var ended []v1alpha1.RolloutDuration
	c.Status.Duration, ended = duration.Next(&ro.Status, &c.Status, facts, now)
	deferred := len(evs) == 0 && len(b.annotations) == 0 && len(ended) == 0 && b.onlyScales() &&
		b.obs.CountsWaiting < rules.CountsDelay && rules.MayWait(&ro.Status, &c.Status, b.obs.CountsWaiting > 0)
	if deferred {
		b.Requeue(rules.CountsDelay - b.obs.CountsWaiting)
	}
	keepFacts := len(evs) == 0 && rules.Updating(&c.Status) && b.obs.FactsWaiting < rules.UpdateDelay
	if keepFacts && (b.obs.FactsWaiting > 0 || b.scales()) {
		b.Requeue(rules.UpdateDelay - b.obs.FactsWaiting)
	}
	b.Add(WriteStatus{Status: c.Status, Ended: ended, Defer: deferred, KeepFacts: keepFacts})
	b.Requeue(c.DeadlineDue)
	if !restarted {
		// Pod events drive the restart; this is only a safety net.
		b.Requeue(restart.RecheckAfter(ro.Spec.RestartAt.Time, now, restartRecheck))
	}
	return b.Plan()
}
