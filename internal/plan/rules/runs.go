package rules

import (
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// SupersededAnnotation marks an AnalysisRun of an attempt that was aborted.
// Its value is the Rollout's status.abortedAt. Such a run never counts
// again: a retry (status.abort cleared) starts fresh runs, as Argo Rollouts
// creates new runs once abortedAt was set. The mark outlives abortedAt,
// which the retry clears.
const SupersededAnnotation = "rollouts.aviary.dev/superseded-by-abort"

// SupersededByAbort reports whether a run created at created belongs to
// the attempt a Rollout aborted at abortedAt (nil: not aborted). Times have
// second resolution, so a run created in the second of the abort belongs
// to the aborted attempt: no run is created while aborted, and a retry
// comes later.
func SupersededByAbort(created metav1.Time, abortedAt *metav1.Time) bool {
	return abortedAt != nil && !created.After(abortedAt.Time)
}

// RunKey is the run an analysis of the current attempt needs.
type RunKey struct {
	// Type is the rollout-type label (Step, Background, PrePromotion,
	// PostPromotion).
	Type string
	// Step is the step index of a Step run.
	Step int32
	// Hash and Revision are the new ReplicaSet's pod-template hash and
	// revision.
	Hash, Revision string
}

// Belongs reports whether a run, by its labels and annotations, is one key
// asks for: same type, step and pod-template hash, of the same revision —
// a ReplicaSet rolled back to gets a new revision, and its old runs must not
// pass its new rollout — and not superseded by an abort. A run without a
// revision annotation matches any revision.
func Belongs(labels, annotations map[string]string, key RunKey) bool {
	if labels[v1alpha1.RolloutTypeLabel] != key.Type || labels[v1alpha1.DefaultRolloutUniqueLabelKey] != key.Hash {
		return false
	}
	if key.Type == v1alpha1.RolloutTypeStepLabel && labels[v1alpha1.RolloutCanaryStepIndexLabel] != strconv.Itoa(int(key.Step)) {
		return false
	}
	if rev := annotations[v1alpha1.RevisionAnnotation]; rev != "" && key.Revision != "" && rev != key.Revision {
		return false
	}
	return annotations[SupersededAnnotation] == ""
}

// Run is what the planner knows of one of the rollout's AnalysisRuns.
type Run struct {
	Name    string
	Phase   v1alpha1.AnalysisPhase
	Message string
	// Passed means Successful with at least one successful measurement per
	// metric: a run terminated before measuring is not a pass.
	Passed bool
}
