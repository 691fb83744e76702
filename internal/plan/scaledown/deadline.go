// Package scaledown decides when ReplicaSets a Rollout has finished with are
// scaled down: the old stable of a traffic-routed canary waits out
// scaleDownDelaySeconds, and the new ReplicaSet of an aborted update waits
// out abortScaleDownDelaySeconds. The wait is kept on the ReplicaSet itself,
// in the v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey
// annotation, so it survives controller restarts and is shared with Argo
// Rollouts (v1.9) should either controller take over. Nothing here calls the
// API server; the reconciler passes plain values in and applies what comes
// back.
package scaledown

import (
	"fmt"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Deadline is the annotation value for a deadline delay from now: RFC 3339
// in UTC, to the second, the format Argo Rollouts writes and reads.
func Deadline(now time.Time, delay time.Duration) string {
	return now.Add(delay).UTC().Format(time.RFC3339)
}

// MarkState is what a ReplicaSet's scale-down-deadline annotation holds.
type MarkState int

const (
	// Unmarked is no annotation, or an empty one.
	Unmarked MarkState = iota
	// Marked is a readable deadline, in Mark.At.
	Marked
	// Unreadable is a value that is not RFC 3339. It has no time; each
	// decision below says what it does with one.
	Unreadable
)

// Mark is a ReplicaSet's scale-down-deadline annotation as read.
type Mark struct {
	State MarkState
	// At is the deadline; set only when State is Marked.
	At time.Time
}

// ParseMark reads an annotation value. An unreadable value (someone edited
// it by hand) gives no deadline time, and the error says why so the caller
// can log it; the decisions then treat it as a deadline already passed,
// as Argo Rollouts does.
func ParseMark(value string) (Mark, error) {
	if value == "" {
		return Mark{}, nil
	}
	at, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return Mark{State: Unreadable}, fmt.Errorf("unreadable %s annotation %q: %w", v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey, value, err)
	}
	return Mark{State: Marked, At: at}, nil
}

// MarkOf reads the deadline off a ReplicaSet's annotations.
func MarkOf(annotations map[string]string) (Mark, error) {
	return ParseMark(annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey])
}

// remaining is how long until m's deadline; zero or less once it has passed
// or when there is no readable deadline.
func (m Mark) remaining(now time.Time) time.Duration {
	if m.State != Marked {
		return 0
	}
	return m.At.Sub(now)
}

// requeue keeps the earliest of the waits it is given, so one requeue
// covers every ReplicaSet waiting for its deadline.
func requeue(current, wait time.Duration) time.Duration {
	if wait <= 0 {
		return current
	}
	if current == 0 {
		return wait
	}
	return min(current, wait)
}
