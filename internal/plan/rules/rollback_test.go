package rules

import (
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestWithinRollbackWindow(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	w := func(n int32) *v1alpha1.RollbackWindowSpec { return &v1alpha1.RollbackWindowSpec{Revisions: n} }
	// ReplicaSets created at 10 (v1), 20 (v2), 30 (v3), 40 (v4).
	tests := []struct {
		name           string
		window         *v1alpha1.RollbackWindowSpec
		target, stable int
		others         []int
		want           bool
	}{
		{"no window", nil, 30, 40, []int{10, 20}, false},
		{"a window of 0", w(0), 30, 40, []int{10, 20}, false},
		{"the ReplicaSet just before the stable, window 1", w(1), 30, 40, []int{10, 20}, true},
		{"one ReplicaSet between, window 1", w(1), 20, 40, []int{10, 30}, false},
		{"one ReplicaSet between, window 2", w(2), 20, 40, []int{10, 30}, true},
		{"two between, window 2", w(2), 10, 40, []int{20, 30}, false},
		{"newer ones do not count", w(1), 30, 40, []int{10, 20, 50}, true},
		{"a ReplicaSet newer than the stable is an update, not a rollback", w(5), 50, 40, []int{10, 20, 30}, false},
		{"created in the same second counts as not between", w(1), 30, 40, []int{30, 40}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var others []time.Time
			for _, s := range tt.others {
				others = append(others, at(s))
			}
			if got := WithinRollbackWindow(tt.window, at(tt.target), at(tt.stable), others); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
