// Package experiment decides what the Experiment controller does with one
// Experiment: which ReplicaSets and Services to create, scale or delete,
// which AnalysisRuns to create or terminate, the status to write, the
// events to record and when to look again. It follows Argo Rollouts'
// experiment controller (templates, analyses, phases, conditions) and, like
// every planner, is a pure function of what the shell observed and the clock.
package experiment

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
)

// Observed is everything one reconcile of an Experiment decides on.
type Observed struct {
	Experiment *v1alpha1.Experiment
	// ReplicaSets are those the Experiment controls (any template).
	ReplicaSets []*appsv1.ReplicaSet
	// Services are the Services of the Experiment's namespace: its own and
	// any that hold a name it wants.
	Services []*corev1.Service
	// Runs are the AnalysisRuns the Experiment controls.
	Runs []*v1alpha1.AnalysisRun
	// TakenRunNames are the names of every AnalysisRun in the namespace.
	TakenRunNames map[string]bool
	// ForeignReplicaSets are the names a template's ReplicaSet would take
	// that a ReplicaSet the Experiment does not control already holds.
	ForeignReplicaSets map[string]bool
	// Templates are, per spec.analyses[].name, the analysis templates the
	// analysis names (nested ones included), or the error reading them.
	// Only analyses still waiting for their run need an entry.
	Templates map[string]Resolved
	Now       time.Time
}

// Resolved is the outcome of reading one analysis' templates.
type Resolved struct {
	Templates []templates.Template
	// Err, if set, is worded for the user (which template, what is wrong).
	Err error
}

// Plan is what to do, in order, and when to look again.
type Plan struct {
	Steps []Step
	// RequeueAfter is when a timer (duration, progress deadline,
	// scale-down delay) falls due; zero means none.
	RequeueAfter time.Duration
}

// Step is one action of a plan.
type Step interface{ isStep() }

// CreateReplicaSet creates a template's ReplicaSet (at 0 replicas, as Argo
// Rollouts does; a later pass scales it).
type CreateReplicaSet struct {
	Template   string
	ReplicaSet *appsv1.ReplicaSet
}

// ScaleReplicaSet sets spec.replicas of a template's ReplicaSet. The
// observed object carries the resourceVersion the decision was made on.
type ScaleReplicaSet struct {
	Template   string
	ReplicaSet *appsv1.ReplicaSet
	Replicas   int32
}

// SetScaleDownDeadline writes (or, with Deadline empty, removes) the
// scale-down-deadline annotation of a template's ReplicaSet.
type SetScaleDownDeadline struct {
	ReplicaSet *appsv1.ReplicaSet
	Deadline   string
}

// CreateService creates a template's Service.
type CreateService struct {
	Template string
	Service  *corev1.Service
}

// DeleteService deletes a template's Service.
type DeleteService struct {
	Template string
	Service  *corev1.Service
}

// CreateRun creates an analysis' AnalysisRun.
type CreateRun struct {
	Analysis string
	Run      *v1alpha1.AnalysisRun
}

// TerminateRun asks a running AnalysisRun to stop (spec.terminate).
type TerminateRun struct {
	Analysis string
	Run      *v1alpha1.AnalysisRun
}

// Journal records the plan's events, before the status that carries the
// decisions is written.
type Journal struct{ Events []Event }

// WriteStatus writes the Experiment's new status (the shell skips the
// write when nothing changed).
type WriteStatus struct{ Status v1alpha1.ExperimentStatus }

func (CreateReplicaSet) isStep()     {}
func (ScaleReplicaSet) isStep()      {}
func (SetScaleDownDeadline) isStep() {}
func (CreateService) isStep()        {}
func (DeleteService) isStep()        {}
func (CreateRun) isStep()            {}
func (TerminateRun) isStep()         {}
func (Journal) isStep()              {}
func (WriteStatus) isStep()          {}
