// Package pass is one reconcile pass of a Rollout as the planners see it:
// Observed is everything the shell read, Plan the ordered steps it is to
// take. The canary and blue-green planners (canary.Plan, bluegreen.Plan)
// each turn an Observed into a Plan in one call; the helpers here are the
// parts of a plan both strategies build alike. Nothing here talks to the
// API server.
package pass

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/internal/plan/weights"
)

// Observed is what the shell read for one reconcile of a valid Rollout.
type Observed struct {
	// Rollout is the Rollout as read, a workloadRef's template resolved
	// into its spec.
	Rollout *v1alpha1.Rollout
	// ReplicaSets are the Rollout's own ReplicaSets (orphans it adopted
	// included), none being deleted.
	ReplicaSets []*appsv1.ReplicaSet
	// Runs are the Rollout's AnalysisRuns, none being deleted.
	Runs []*v1alpha1.AnalysisRun
	// Experiments are the Rollout's Experiments (those of its experiment
	// steps), none being deleted.
	Experiments []*v1alpha1.Experiment
	// Services are the Services the strategy names, by name; one that
	// does not exist is absent.
	Services map[string]*corev1.Service
	// Pods are the live pods of each ReplicaSet, read only while a
	// restart is due (spec.restartAt not yet done).
	Pods map[*appsv1.ReplicaSet][]corev1.Pod
	// Workload is the workloadRef's Deployment and generation, nil for an
	// inline template.
	Workload *Workload
	// Routed is whether the Rollout has traffic routers to drive.
	Routed bool
	// Managed are the namespace's Services marked as managed by this
	// Rollout (a Rollout releases only its own); Ingresses are the
	// Ingresses this Rollout controls (NGINX canary copies) and
	// WantedIngresses the ones its routing calls for.
	// The plan lets go of what the spec no longer names.
	Managed         []*corev1.Service
	Ingresses       []*networkingv1.Ingress
	WantedIngresses []string
	// StepPlugins are the step plugins' configuration and what they
	// answered this reconcile.
	StepPlugins StepPlugins
	// Weights is what the routers that read their weights back from the
	// data plane found (ALB with --aws-verify-target-group); nil when none
	// was asked to.
	Weights *WeightCheck
	// Targets is whether the load balancer has registered the pods of the
	// Service that now carries the new version (ALB TargetGroupBindings
	// with --aws-verify-target-group); nil when nothing was checked.
	Targets *TargetCheck
	// CountsWaiting is how long the Rollout's replica counts have waited
	// unwritten (WriteStatus.Defer), 0 when none wait; FactsWaiting how
	// long facts of ReplicaSet writes have waited untold
	// (WriteStatus.KeepFacts), 0 when none wait.
	CountsWaiting, FactsWaiting time.Duration
	// Now is the clock.
	Now time.Time
}

// WeightCheck is one reading of the weights in the data plane against
// the weights the status records as set.
type WeightCheck struct {
	// Weight is the canary weight checked (status.canary.weights), and
	// Additional the experiment destinations' weights checked with it.
	Weight     int32
	Additional []v1alpha1.WeightDestination
	// Verified: the data plane has those weights. Waiting says what
	// differs when it does not (or why it could not be read).
	Verified bool
	Waiting  string
	// ALBs are the load balancers and target groups found, one per
	// Ingress, as status.albs records them.
	ALBs []v1alpha1.ALBStatus
}

// TargetCheck is one check of a Service's pods against the target groups
// its TargetGroupBindings feed.
type TargetCheck struct {
	// Verified: every endpoint of the Service is registered.
	Verified bool
	// Waiting says which are not (or why they could not be read).
	Waiting string
}

// Workload is the object a workloadRef names.
type Workload struct {
	Generation int64
	// Deployment is set when the workloadRef is a Deployment.
	Deployment *appsv1.Deployment
}

// Plan is one reconcile's decision as the steps that carry it out, in the
// order they are to be applied: that order is the contract (the stable
// Service before the weight, the journal before the status…).
type Plan struct {
	// Invalid, when set, is the InvalidSpec message; Steps are then empty.
	Invalid string
	Steps   []Step
	// RequeueAfter is when the decision may change by the clock alone.
	RequeueAfter time.Duration
}

// Step is one thing the shell does. Each names what it acts on and says
// why (Describe), which the shell logs.
type Step interface {
	Describe() string
}

// StampRevision keeps the current ReplicaSet the newest revision (a
// rollback renumbers an older one, the earlier numbers kept in its
// revision-history) and its minReadySeconds in step with the Rollout.
type StampRevision struct {
	ReplicaSet      string
	Revision        string // the new revision; "" leaves it
	History         string // the revision-history annotation with Revision
	MinReadySeconds int32
	// Events are journaled once the stamp is written.
	Events []rules.Event
}

// ReleaseService lets go of a Service the Rollout marked and no longer
// names: the hash key leaves its selector and the managed-by annotation
// goes, so it selects what its owner wrote again. ResourceVersion is the
// version decided on; a Service changed since is left for the next pass.
type ReleaseService struct{ Name, ResourceVersion string }

// DeleteIngress deletes a canary Ingress the Rollout created for NGINX
// routing that no stable Ingress calls for any more, or NGINX would keep
// sending it its last weight.
type DeleteIngress struct {
	Name string
	UID  types.UID
}

// ReleaseRouterObjects lets go of the uncached router objects the Rollout
// marked or created and no longer names (an Istio DestinationRule, SMI
// TrafficSplits); the router packages list them and decide.
type ReleaseRouterObjects struct{}

// SwitchService points a Service's selector at a pod-template hash,
// taking it over (managed-by annotation) if the Rollout did not manage it.
type SwitchService struct {
	Field, Name string
	From, To    string
	Adopt       bool
}

// SyncRoleMetadata brings each named ReplicaSet's template and live pods to
// the role metadata (canary/stable, preview/active) it should carry.
type SyncRoleMetadata struct {
	Desired map[string]*v1alpha1.PodTemplateMetadata
}

// DropAntiAffinity removes from a ReplicaSet that became stable the
// anti-affinity it was given as a canary.
type DropAntiAffinity struct{ ReplicaSet string }

// MarkSuperseded marks the runs and experiments of an aborted attempt, so
// that they never count again once a retry has cleared status.abortedAt.
type MarkSuperseded struct {
	Runs        []string
	Experiments []string
	At          string
}

// CreateReplicaSet creates the current template's ReplicaSet at its size
// in one write; Events are journaled if it was created (not found there
// already, from a stale cache). A name taken by another object is a hash
// collision: the shell bumps status.collisionCount and stops.
type CreateReplicaSet struct {
	ReplicaSet *appsv1.ReplicaSet
	Events     []rules.Event
}

// MarkAbortDeadline writes (or clears) the scale-down deadline of an
// aborted canary's ReplicaSet held for abortScaleDownDelaySeconds.
type MarkAbortDeadline struct {
	ReplicaSet string
	Deadline   string // "" clears it
}

// Scale sets a ReplicaSet's spec.replicas and the desired-replicas
// annotation; Event is journaled when the size changed.
type Scale struct {
	ReplicaSet      string
	From, To        int32
	DesiredReplicas string
	Event           *rules.Event
}

// ScaleDownOld scales an old ReplicaSet as its scale-down deadline
// decides: writes the deadline (Deadline set) or clears it and scales.
type ScaleDownOld struct {
	ReplicaSet string
	From, To   int32
	Deadline   string
	Event      *rules.Event
}

// DeleteReplicaSet deletes an old ReplicaSet beyond revisionHistoryLimit.
type DeleteReplicaSet struct {
	ReplicaSet string
	UID        types.UID
}

// Evict evicts pods for spec.restartAt, through the Eviction API so
// PodDisruptionBudgets apply; a refusal just waits for a later pass.
type Evict struct {
	// Pods are in eviction order; at most Batch are evicted, a refused
	// one's place going to the next.
	Pods      []string
	Batch     int
	RestartAt string
}

// RunSlot is the status field that names a run.
type RunSlot int

// The status fields that name a run.
const (
	StepRun RunSlot = iota
	BackgroundRun
	PrePromotionRun
	PostPromotionRun
)

// CreateRun creates an AnalysisRun from the analysis's templates. The
// status the plan writes names it by Name; the shell tries the next free
// name if that one belongs to something else, and the status then names
// the run created. Reuse, when set, names a run the status already points
// at that the cache does not hold yet: it is created only if it is really
// gone.
type CreateRun struct {
	Slot     RunSlot
	Analysis *v1alpha1.RolloutAnalysis
	Type     string
	Step     int32
	Name     string
	Hash     string
	Revision int64
	Args     []v1alpha1.Argument
	Reuse    string
}

// TerminateRun stops a running run no longer needed.
type TerminateRun struct{ Name string }

// DeleteRun deletes a completed run beyond the run history limits.
type DeleteRun struct{ Name string }

// CreateExperiment creates the Experiment of the current experiment step.
// The status the plan writes names it by its name; the shell tries the
// next free name (Argo Rollouts' "-1", "-2"… suffixes) if that one belongs
// to something else, and the status then names the Experiment created.
type CreateExperiment struct {
	Experiment *v1alpha1.Experiment
}

// TerminateExperiment stops a running Experiment no longer needed
// (spec.terminate), so its ReplicaSets scale down and its runs stop.
type TerminateExperiment struct{ Name string }

// DeleteExperiment deletes an Experiment whose ReplicaSet is gone, or a
// completed one beyond the history limits.
type DeleteExperiment struct {
	Name string
	UID  types.UID
}

// Route gives the traffic routers the weight decided, and the header and
// mirror routes in force. The status the plan writes records Weights; if
// the routers must wait for their subsets to follow the hashes, the shell
// keeps the weights last recorded instead.
type Route struct {
	Decision weights.Decision
	Routes   weights.Routes
	// Previous is the canary weight recorded before.
	Previous int32
	Weights  *v1alpha1.TrafficWeights
}

// ScaleWorkload scales the workloadRef Deployment (workloadRef.scaleDown).
type ScaleWorkload struct {
	Deployment string
	Replicas   int32
}

// Annotate writes annotations of the Rollout itself in one metadata patch:
// its revision (rollout.argoproj.io/revision, which Argo CD shows).
type Annotate struct{ Annotations map[string]string }

// Journal records decision events exactly once.
type Journal struct{ Events []rules.Event }

// WriteStatus writes the status, once, at the end; Ended are the updates
// it ends, for the duration histograms once the write went through.
type WriteStatus struct {
	Status v1alpha1.RolloutStatus
	Ended  []v1alpha1.RolloutDuration
	// Defer: the plan decides nothing but, at most, ReplicaSet sizes, and
	// the status moved only with the pods (rules.CountsOnly). The status
	// is not written yet, and the scales' facts wait to be told with the
	// next reconcile's: pods start and stop in bursts around a decision,
	// and within rules.CountsDelay the decision's own status write carries
	// them. The plan asks to be looked at again when the delay is up.
	Defer bool
	// KeepFacts: the plan decides nothing during an update
	// (rules.Updating), so the facts of ReplicaSet writes done and waiting
	// are not told yet but wait for the decision they lead to, at most
	// rules.UpdateDelay.
	KeepFacts bool
}

func (s StampRevision) Describe() string {
	return fmt.Sprintf("stamp ReplicaSet %s revision %q minReadySeconds %d", s.ReplicaSet, s.Revision, s.MinReadySeconds)
}
func (s ReleaseService) Describe() string {
	return "release service " + s.Name + ", no longer named"
}
func (s DeleteIngress) Describe() string {
	return "delete canary ingress " + s.Name + ", no longer used"
}
func (ReleaseRouterObjects) Describe() string {
	return "release router objects the spec no longer names"
}
func (s SwitchService) Describe() string {
	return fmt.Sprintf("switch service %s (%s) from %q to %q", s.Name, s.Field, s.From, s.To)
}
func (s SyncRoleMetadata) Describe() string {
	return fmt.Sprintf("sync role metadata of %d ReplicaSets", len(s.Desired))
}
func (s DropAntiAffinity) Describe() string {
	return "drop canary anti-affinity from stable ReplicaSet " + s.ReplicaSet
}
func (s MarkSuperseded) Describe() string {
	return fmt.Sprintf("mark runs %v and experiments %v superseded by the abort at %s", s.Runs, s.Experiments, s.At)
}
func (s CreateReplicaSet) Describe() string {
	return fmt.Sprintf("create ReplicaSet %s at %d", s.ReplicaSet.Name, *s.ReplicaSet.Spec.Replicas)
}
func (s MarkAbortDeadline) Describe() string {
	return fmt.Sprintf("aborted ReplicaSet %s scale-down deadline %q", s.ReplicaSet, s.Deadline)
}
func (s Scale) Describe() string {
	return fmt.Sprintf("scale ReplicaSet %s from %d to %d", s.ReplicaSet, s.From, s.To)
}
func (s ScaleDownOld) Describe() string {
	return fmt.Sprintf("old ReplicaSet %s from %d to %d, deadline %q", s.ReplicaSet, s.From, s.To, s.Deadline)
}
func (s DeleteReplicaSet) Describe() string {
	return "delete ReplicaSet " + s.ReplicaSet + " beyond revisionHistoryLimit"
}
func (s Evict) Describe() string { return fmt.Sprintf("evict pods %v for restart", s.Pods) }
func (s CreateRun) Describe() string {
	return fmt.Sprintf("create %s AnalysisRun %s", s.Type, s.Name)
}
func (s TerminateRun) Describe() string { return "terminate AnalysisRun " + s.Name }
func (s DeleteRun) Describe() string {
	return "delete AnalysisRun " + s.Name + " beyond the history limits"
}
func (s CreateExperiment) Describe() string {
	return "create Experiment " + s.Experiment.Name
}
func (s TerminateExperiment) Describe() string { return "terminate Experiment " + s.Name }
func (s DeleteExperiment) Describe() string {
	return "delete Experiment " + s.Name + " beyond the history limits or with its ReplicaSet gone"
}
func (s Route) Describe() string {
	return fmt.Sprintf("route canary weight %d (%s), may move %v", s.Decision.Desired, s.Decision.Reason, s.Decision.MayMove)
}
func (s ScaleWorkload) Describe() string {
	return fmt.Sprintf("scale workloadRef Deployment %s to %d", s.Deployment, s.Replicas)
}
func (s Annotate) Describe() string { return fmt.Sprintf("annotate rollout %v", s.Annotations) }
func (s Journal) Describe() string {
	reasons := make([]string, 0, len(s.Events))
	for _, e := range s.Events {
		reasons = append(reasons, e.Reason)
	}
	return fmt.Sprintf("journal %v", reasons)
}
func (s WriteStatus) Describe() string {
	if s.Defer {
		return "leave the counts and what was done waiting for a decision to carry them"
	}
	return fmt.Sprintf("write status phase %s step %v stable %q", s.Status.Phase, ptrString(s.Status.CurrentStepIndex), s.Status.StableRS)
}

func ptrString(p *int32) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}
