// Package tree is what `kubectl argo rollouts get` shows: a view model of a
// Rollout or Experiment and everything it owns (built from plain objects),
// the reads that gather those objects, and a pure renderer of the header
// block and the tree in the plugin's exact format.
package tree

import (
	"strings"
	"time"

	"github.com/aviary-rollouts/aviary/internal/analysis/judge"
)

// Status icons, as the plugin prints them.
const (
	IconWaiting     = "◷"
	IconProgressing = "◌"
	IconWarning     = "⚠"
	IconUnknown     = "?"
	IconOK          = "✔"
	IconBad         = "✖"
	IconPaused      = "॥"
	IconNeutral     = "•"
)

// Kind glyphs at the start of each tree row.
const (
	GlyphRollout    = "⟳"
	GlyphRevision   = "#"
	GlyphReplicaSet = "⧉"
	GlyphPod        = "□"
	GlyphJob        = "⊞"
	GlyphExperiment = "Σ"
	GlyphAnalysis   = "α"
	// Aviary's own rows, under an AnalysisRun: a judge metric's judgement
	// and its verdict on each metric compared.
	GlyphJudgement = "⚖"
	GlyphVerdict   = "≶"
)

// Tags in the INFO column and after images.
const (
	TagCanary  = "canary"
	TagStable  = "stable"
	TagActive  = "active"
	TagPreview = "preview"
	TagPing    = "ping"
	TagPong    = "pong"
)

// Rollout is a Rollout with what it owns, ready to render. Counts and
// strings are already derived; only ages depend on the time of rendering.
type Rollout struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Created   time.Time `json:"creationTimestamp"`
	Status    string    `json:"status"`
	Message   string    `json:"message,omitempty"`
	// Strategy is Canary or BlueGreen (empty for neither).
	Strategy string `json:"strategy"`
	// Step, SetWeight and ActualWeight are shown for canaries only.
	Step         string `json:"step,omitempty"`
	SetWeight    string `json:"setWeight,omitempty"`
	ActualWeight string `json:"actualWeight,omitempty"`

	Desired   int32 `json:"desired"`
	Current   int32 `json:"current"`
	Updated   int32 `json:"updated"`
	Ready     int32 `json:"ready"`
	Available int32 `json:"available"`

	ReplicaSets  []ReplicaSet  `json:"replicaSets,omitempty"`
	Experiments  []Experiment  `json:"experiments,omitempty"`
	AnalysisRuns []AnalysisRun `json:"analysisRuns,omitempty"`
}

// ReplicaSet is one ReplicaSet of a Rollout or Experiment with its pods.
type ReplicaSet struct {
	Name      string    `json:"name"`
	Created   time.Time `json:"creationTimestamp"`
	Status    string    `json:"status"`
	Revision  int       `json:"revision"`
	Replicas  int32     `json:"replicas"`
	Available int32     `json:"available"`
	Images    []string  `json:"images,omitempty"`
	// Template is the experiment template that made it, if any.
	Template string `json:"template,omitempty"`
	// ScaleDownDeadline is the raw scale-down-deadline annotation.
	ScaleDownDeadline string `json:"scaleDownDeadline,omitempty"`

	Stable  bool `json:"stable,omitempty"`
	Canary  bool `json:"canary,omitempty"`
	Active  bool `json:"active,omitempty"`
	Preview bool `json:"preview,omitempty"`
	Ping    bool `json:"ping,omitempty"`
	Pong    bool `json:"pong,omitempty"`

	Pods []Pod `json:"pods,omitempty"`
}

// Pod is one pod with the status kubectl would print for it.
type Pod struct {
	Name     string    `json:"name"`
	Created  time.Time `json:"creationTimestamp"`
	Status   string    `json:"status"`
	Ready    string    `json:"ready"`
	Restarts int       `json:"restarts,omitempty"`
}

// AnalysisRun is one run with its measurement counts and metric Jobs.
type AnalysisRun struct {
	Name         string    `json:"name"`
	Created      time.Time `json:"creationTimestamp"`
	Status       string    `json:"status"`
	Revision     int       `json:"revision"`
	Successful   int32     `json:"successful,omitempty"`
	Failed       int32     `json:"failed,omitempty"`
	Inconclusive int32     `json:"inconclusive,omitempty"`
	Error        int32     `json:"error,omitempty"`
	Jobs         []Job     `json:"jobs,omitempty"`
	// Judgements are the latest judgement of each judge metric.
	Judgements []Judgement `json:"judgements,omitempty"`
}

// Judgement is the latest judgement of a judge metric (provider.plugin
// aviary-rollouts/judge): the measurement's value, read.
type Judgement struct {
	// Metric is the run's metric; each verdict names a metric it compared.
	Metric string `json:"metric"`
	// Phase is the measurement's phase, Measured when it finished (or
	// started, if it has not).
	Phase    string      `json:"phase"`
	Measured time.Time   `json:"measuredAt"`
	Value    judge.Value `json:"judgement"`
}

// Job is a metric Job, known from a measurement's metadata; its age is
// the measurement's start, so the Job itself is never read.
type Job struct {
	Name    string    `json:"name"`
	Created time.Time `json:"creationTimestamp"`
	Status  string    `json:"status"`
}

// Experiment is an Experiment with its ReplicaSets and AnalysisRuns.
type Experiment struct {
	Name         string        `json:"name"`
	Namespace    string        `json:"namespace"`
	Created      time.Time     `json:"creationTimestamp"`
	Status       string        `json:"status"`
	Message      string        `json:"message,omitempty"`
	Revision     int           `json:"revision"`
	ReplicaSets  []ReplicaSet  `json:"replicaSets,omitempty"`
	AnalysisRuns []AnalysisRun `json:"analysisRuns,omitempty"`
}

// RolloutIcon is the icon of a Rollout phase.
func RolloutIcon(status string) string {
	switch status {
	case "Progressing":
		return IconProgressing
	case "Error", "InvalidSpec":
		return IconWarning
	case "Paused":
		return IconPaused
	case "Healthy":
		return IconOK
	case "Degraded":
		return IconBad
	case "Unknown":
		return IconUnknown
	case "ScaledDown":
		return IconNeutral
	}
	return " "
}

// ReplicaSetIcon is the icon of a ReplicaSet health.
func ReplicaSetIcon(status string) string {
	switch status {
	case "Progressing":
		return IconProgressing
	case "Healthy":
		return IconOK
	case "ReplicaFailure":
		return IconBad
	case "ScaledDown":
		return IconNeutral
	}
	return " "
}

// AnalysisIcon is the icon of an analysis, experiment or measurement phase.
func AnalysisIcon(status string) string {
	switch status {
	case "Successful":
		return IconOK
	case "Inconclusive":
		return IconUnknown
	case "Failed":
		return IconBad
	case "Error":
		return IconWarning
	case "Running":
		return IconProgressing
	case "Pending":
		return IconWaiting
	}
	return " "
}

// JudgementIcon is the icon of a judgement's outcome or a verdict's class.
func JudgementIcon(status string) string {
	switch judge.Class(status) {
	case judge.Pass:
		return IconOK
	case judge.High, judge.Low:
		return IconBad
	case judge.NoData:
		return IconWarning
	}
	switch status {
	case judge.OutcomeMarginal:
		return IconUnknown
	case judge.OutcomeFail:
		return IconBad
	}
	return " "
}

// PodIcon is the icon of a pod status as kubectl words it (Running,
// ImagePullBackOff, Init:0/1, ExitCode:1...).
func PodIcon(status string) string {
	switch {
	case strings.HasPrefix(status, "Init:"):
		return IconProgressing
	case strings.HasPrefix(status, "Signal:"), strings.HasPrefix(status, "ExitCode:"):
		return IconBad
	// Kubelet's reasons ending in Error (ErrImagePull, CreateContainerError,
	// RunContainerError...) are all warnings.
	case strings.HasSuffix(status, "Error"), strings.HasPrefix(status, "Err"):
		return IconWarning
	}
	switch status {
	case "Pending", "Terminating", "ContainerCreating":
		return IconProgressing
	case "Running", "Completed":
		return IconOK
	case "Failed", "InvalidImageName", "CrashLoopBackOff":
		return IconBad
	case "ImagePullBackOff", "RegistryUnavailable":
		return IconWarning
	case "Unknown":
		return IconUnknown
	}
	return " "
}
