// Package view is what the dashboard shows, as JSON: a summary of each
// rollout for the list, and the whole of one rollout — steps, revisions,
// analysis measurements — for its page. It is built from plain objects by
// pure functions; the server package does the reading.
package view

import (
	"time"

	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
)

// Summary is one rollout as the list shows it.
type Summary struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Created   time.Time `json:"creationTimestamp"`
	// Status is the phase `get rollout` prints (Healthy, Paused, ...).
	Status   string `json:"status"`
	Message  string `json:"message,omitempty"`
	Strategy string `json:"strategy"`
	// StepIndex is the current step (absent before the first reconcile or
	// without steps); StepCount the number of steps.
	StepIndex *int32 `json:"stepIndex,omitempty"`
	StepCount int    `json:"stepCount"`
	// SetWeight and ActualWeight are canary weights in percent of the
	// router's maximum; empty for blue-green.
	SetWeight    string `json:"setWeight,omitempty"`
	ActualWeight string `json:"actualWeight,omitempty"`

	Desired   int32 `json:"desired"`
	Current   int32 `json:"current"`
	Updated   int32 `json:"updated"`
	Ready     int32 `json:"ready"`
	Available int32 `json:"available"`

	// Images are the images of the pod template, as set.
	Images []string `json:"images,omitempty"`
	// Attention says why the rollout needs a person (empty: it does not).
	Attention string  `json:"attention,omitempty"`
	Actions   Actions `json:"actions"`
}

// Actions tell which buttons make sense now; the server does not refuse
// the others (the CLI does not either), the page disables them.
type Actions struct {
	Promote     bool `json:"promote"`
	PromoteFull bool `json:"promoteFull"`
	Abort       bool `json:"abort"`
	Retry       bool `json:"retry"`
	Restart     bool `json:"restart"`
	Pause       bool `json:"pause"`
}

// Detail is one rollout as its page shows it.
type Detail struct {
	Summary
	Containers []Container `json:"containers"`
	Steps      []Step      `json:"steps,omitempty"`
	Revisions  []Revision  `json:"revisions"`
	// AnalysisRuns are the rollout's runs and its experiments' runs.
	AnalysisRuns []AnalysisRun `json:"analysisRuns"`
}

// Container is a container of the pod template.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Init  bool   `json:"init,omitempty"`
}

// Step is one canary step.
type Step struct {
	Index int `json:"index"`
	// Kind is the step's field: setWeight, pause, analysis, experiment,
	// setCanaryScale, setHeaderRoute, setMirrorRoute or plugin.
	Kind string `json:"kind"`
	// Text is a one-line description ("Set weight 20%", "Pause 30s").
	Text string `json:"text"`
	// State is done, current or pending.
	State string `json:"state"`
	// Details are lines shown when the step is expanded: templates and
	// arguments of an analysis, the templates of an experiment.
	Details []string `json:"details,omitempty"`
	// AnalysisRun is the run this step started, if any.
	AnalysisRun string `json:"analysisRun,omitempty"`
	// Experiment is the Experiment this step started in the newest
	// revision, if any, and ExperimentStatus its phase.
	Experiment       string `json:"experiment,omitempty"`
	ExperimentStatus string `json:"experimentStatus,omitempty"`
}

// Revision is one revision of the pod template with its ReplicaSets.
type Revision struct {
	Number      int               `json:"number"`
	Images      []string          `json:"images,omitempty"`
	ReplicaSets []tree.ReplicaSet `json:"replicaSets"`
	// Current is the revision the rollout is moving to (or is at).
	Current bool `json:"current,omitempty"`
	// AnalysisRuns are the names of the runs of this revision.
	AnalysisRuns []string `json:"analysisRuns,omitempty"`
	// Experiments are the Experiments of this revision's experiment
	// steps, oldest first.
	Experiments []Experiment `json:"experiments,omitempty"`
}

// Experiment is an Experiment of an experiment step with its ReplicaSets
// (and their pods) and the names of its runs, which are among the
// Detail's AnalysisRuns.
type Experiment struct {
	Name    string    `json:"name"`
	Created time.Time `json:"creationTimestamp"`
	// Status is the phase (Pending, Running, Successful...).
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	// StepIndex is the step that started it, when its name tells.
	StepIndex    *int32            `json:"stepIndex,omitempty"`
	ReplicaSets  []tree.ReplicaSet `json:"replicaSets"`
	AnalysisRuns []string          `json:"analysisRuns,omitempty"`
}

// AnalysisRun is a run with every metric's measurements.
type AnalysisRun struct {
	Name     string    `json:"name"`
	Created  time.Time `json:"creationTimestamp"`
	Status   string    `json:"status"`
	Message  string    `json:"message,omitempty"`
	Revision int       `json:"revision"`
	// Type is why it runs: Step, Background, PrePromotion, PostPromotion.
	Type string `json:"type,omitempty"`
	// Experiment names the Experiment the run belongs to, if any.
	Experiment string   `json:"experiment,omitempty"`
	StepIndex  *int32   `json:"stepIndex,omitempty"`
	Metrics    []Metric `json:"metrics"`
}

// Metric is one metric of a run: its rules, its resolved query and its
// measurements.
type Metric struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	// Query is the provider's query (or URL) with the run's arguments
	// substituted; secret arguments are shown as "*****", never read.
	Query             string `json:"query,omitempty"`
	SuccessCondition  string `json:"successCondition,omitempty"`
	FailureCondition  string `json:"failureCondition,omitempty"`
	Interval          string `json:"interval,omitempty"`
	Count             string `json:"count,omitempty"`
	FailureLimit      string `json:"failureLimit,omitempty"`
	InconclusiveLimit string `json:"inconclusiveLimit,omitempty"`
	DryRun            bool   `json:"dryRun,omitempty"`

	Status       string        `json:"status,omitempty"`
	Message      string        `json:"message,omitempty"`
	Successful   int32         `json:"successful"`
	Failed       int32         `json:"failed"`
	Inconclusive int32         `json:"inconclusive"`
	Error        int32         `json:"error"`
	Measurements []Measurement `json:"measurements"`
	// Judgement is a judge metric's latest judgement, which the page draws
	// (each verdict's baseline and canary distributions) instead of a chart
	// of values over time.
	Judgement *tree.Judgement `json:"judgement,omitempty"`
}

// Measurement is one measurement. Values is Value read as numbers (a
// scalar, or each element of a vector) for the chart; empty when it is
// not numeric. Outcome sums up a judge metric's value ("Fail, score 50"),
// a JSON document too long for the table.
type Measurement struct {
	Phase      string     `json:"phase"`
	Value      string     `json:"value,omitempty"`
	Values     []float64  `json:"values,omitempty"`
	Outcome    string     `json:"outcome,omitempty"`
	Message    string     `json:"message,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}
