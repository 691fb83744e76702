package validation

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/evidence"
)

// promotionEvidence checks the annotation that sets how much background
// evidence a canary's promotion waits for (internal/plan/evidence).
func promotionEvidence(ro *v1alpha1.Rollout) field.ErrorList {
	if _, err := evidence.Minimum(ro); err != nil {
		p := field.NewPath("metadata", "annotations").Key(evidence.Annotation)
		return field.ErrorList{field.Invalid(p, ro.Annotations[evidence.Annotation], err.Error())}
	}
	return nil
}
