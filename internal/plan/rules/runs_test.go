package rules

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestSupersededByAbort(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	tests := []struct {
		name    string
		created time.Time
		aborted *metav1.Time
		want    bool
	}{
		{"not aborted", at.Add(-time.Hour), nil, false},
		{"created before the abort", at.Add(-time.Minute), &at, true},
		{"created in the second of the abort", at.Time, &at, true},
		{"created after the abort (the retry's run)", at.Add(time.Second), &at, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SupersededByAbort(metav1.NewTime(tt.created), tt.aborted); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBelongs(t *testing.T) {
	step := func(idx, hash string) map[string]string {
		return map[string]string{v1alpha1.RolloutTypeLabel: v1alpha1.RolloutTypeStepLabel, v1alpha1.RolloutCanaryStepIndexLabel: idx, v1alpha1.DefaultRolloutUniqueLabelKey: hash}
	}
	bg := map[string]string{v1alpha1.RolloutTypeLabel: v1alpha1.RolloutTypeBackgroundRunLabel, v1alpha1.DefaultRolloutUniqueLabelKey: "h"}
	rev := func(r string) map[string]string { return map[string]string{v1alpha1.RevisionAnnotation: r} }
	stepKey := RunKey{Type: v1alpha1.RolloutTypeStepLabel, Step: 1, Hash: "h", Revision: "4"}
	bgKey := RunKey{Type: v1alpha1.RolloutTypeBackgroundRunLabel, Hash: "h", Revision: "4"}
	tests := []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		key         RunKey
		want        bool
	}{
		{"the step's run", step("1", "h"), rev("4"), stepKey, true},
		{"another step's run", step("2", "h"), rev("4"), stepKey, false},
		{"another hash's run", step("1", "x"), rev("4"), stepKey, false},
		{"a background run is not a step run", bg, rev("4"), stepKey, false},
		{"the background run", bg, rev("4"), bgKey, true},
		{"a run of the ReplicaSet's earlier revision (rolled back to)", step("1", "h"), rev("2"), stepKey, false},
		{"a background run of an earlier revision", bg, rev("2"), bgKey, false},
		{"a run without a revision (made by another controller)", step("1", "h"), nil, stepKey, true},
		{"a run of an aborted attempt", step("1", "h"), map[string]string{v1alpha1.RevisionAnnotation: "4", SupersededAnnotation: "2026-01-01T10:00:00Z"}, stepKey, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Belongs(tt.labels, tt.annotations, tt.key); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
