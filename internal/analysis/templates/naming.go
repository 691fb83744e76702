package templates

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Run-name suffixes of the blue-green promotion runs; a step run's suffix
// is its step index and a background run has none.
const (
	PrePromotionSuffix  = "pre"
	PostPromotionSuffix = "post"
)

// RunName is the name of a Rollout's AnalysisRun:
// <rollout>-<hash>-<revision>, then -<suffix> unless suffix is empty.
// hash is the new ReplicaSet's pod-template hash.
func RunName(rollout, hash string, revision int64, suffix string) string {
	parts := []string{rollout, hash, strconv.FormatInt(revision, 10)}
	if suffix != "" {
		parts = append(parts, suffix)
	}
	return strings.Join(parts, "-")
}

// CollisionName is the name to try after name was taken by a run that
// cannot be reused: <name>.<n>, n counting from 1.
func CollisionName(name string, n int) string {
	return fmt.Sprintf("%s.%d", name, n)
}

// Labels are the labels of a Rollout's AnalysisRun: analysisRunMetadata's
// labels, then the Rollout's selector matchLabels, then the controller's
// own (pod-template hash, rollout-type, step-index for step runs, and the
// controller instance id when set). Later sets win; the controller's come
// last because it finds and classifies its runs by them (the reference
// lets the others override them). runType is one of the
// v1alpha1.RolloutType*Label values; stepIndex is read for step runs only.
func Labels(runType string, stepIndex int32, hash, instanceID string, meta *v1alpha1.AnalysisRunMetadata, matchLabels map[string]string) map[string]string {
	labels := map[string]string{}
	if meta != nil {
		maps.Copy(labels, meta.Labels)
	}
	maps.Copy(labels, matchLabels)
	labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	labels[v1alpha1.RolloutTypeLabel] = runType
	if runType == v1alpha1.RolloutTypeStepLabel {
		labels[v1alpha1.RolloutCanaryStepIndexLabel] = strconv.Itoa(int(stepIndex))
	}
	if instanceID != "" {
		labels[v1alpha1.LabelControllerInstanceID] = instanceID
	}
	return labels
}

// Annotations are the annotations of a Rollout's AnalysisRun:
// analysisRunMetadata's annotations and the rollout revision, which wins.
func Annotations(revision int64, meta *v1alpha1.AnalysisRunMetadata) map[string]string {
	annotations := map[string]string{}
	if meta != nil {
		maps.Copy(annotations, meta.Annotations)
	}
	annotations[v1alpha1.RevisionAnnotation] = strconv.FormatInt(revision, 10)
	return annotations
}
