package engine

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// DeleteAt is when a completed run should be deleted under its ttlStrategy:
// completedAt plus secondsAfterSuccess for a Successful run or
// secondsAfterFailure for a Failed one when set, else
// secondsAfterCompletion. As in the reference, Error and Inconclusive runs
// only follow secondsAfterCompletion. ok is false when the run is not
// complete, has no completedAt, or no TTL applies.
func DeleteAt(ttl *v1alpha1.TTLStrategy, phase v1alpha1.AnalysisPhase, completedAt *metav1.Time) (at time.Time, ok bool) {
	if ttl == nil || !phase.Completed() || completedAt == nil {
		return time.Time{}, false
	}
	seconds := ttl.SecondsAfterCompletion
	switch {
	case phase == v1alpha1.AnalysisPhaseSuccessful && ttl.SecondsAfterSuccess != nil:
		seconds = ttl.SecondsAfterSuccess
	case phase == v1alpha1.AnalysisPhaseFailed && ttl.SecondsAfterFailure != nil:
		seconds = ttl.SecondsAfterFailure
	}
	if seconds == nil {
		return time.Time{}, false
	}
	return completedAt.Add(time.Duration(*seconds) * time.Second), true
}
