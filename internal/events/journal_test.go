package events

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/aviary-rollouts/aviary/internal/plan/rules"
)

func TestJournalRecordsEachDecisionOnce(t *testing.T) {
	cs := fake.NewClientset()
	j := &Journal{Events: cs.CoreV1(), Host: "h", Now: func() time.Time { return time.Unix(100, 0) }}
	s := Subject{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Namespace: "ns", Name: "web", UID: "u1", ResourceVersion: "7"}
	ctx := context.Background()
	for range 2 { // a redo after a crash, from the same object version
		if err := j.Record(ctx, s, false, "RolloutStepCompleted", "Rollout step 1/4 completed (setWeight: 34)"); err != nil {
			t.Fatal(err)
		}
	}
	s.ResourceVersion = "9" // the same step again later (a retry) is a new event
	if err := j.Record(ctx, s, false, "RolloutStepCompleted", "Rollout step 1/4 completed (setWeight: 34)"); err != nil {
		t.Fatal(err)
	}
	if err := j.Record(ctx, s, true, "RolloutAborted", "Rollout aborted update to revision 2"); err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Events("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 3 {
		t.Fatalf("want 3 events, got %d", len(list.Items))
	}
	for _, e := range list.Items {
		if e.InvolvedObject.Name != "web" || e.Source.Component != Component || e.Count != 1 {
			t.Errorf("bad event %+v", e)
		}
		if e.Reason == "RolloutAborted" && e.Type != "Warning" {
			t.Errorf("abort must be a Warning, got %s", e.Type)
		}
	}
}

// TestJournalTellsAReconcileOnce: a reconcile's facts are one Event under
// its most significant reason, with every fact in ToldAnnotation; the redo
// of the same decisions (its ReplicaSet writes already done) writes nothing.
func TestJournalTellsAReconcileOnce(t *testing.T) {
	cs := fake.NewClientset()
	j := &Journal{Events: cs.CoreV1(), Host: "h", Now: func() time.Time { return time.Unix(100, 0) }}
	s := Subject{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Namespace: "ns", Name: "web", UID: "u1", ResourceVersion: "7"}
	ctx := context.Background()
	scale := rules.Event{Reason: rules.ReasonScalingReplicaSet, Message: "Scaled down ReplicaSet web-a (revision 1) from 3 to 2"}
	step := rules.Event{Reason: rules.ReasonStepCompleted, Message: "Rollout step 1/4 completed (setWeight: 34)"}
	paused := rules.Event{Reason: rules.ReasonPaused, Message: "Rollout is paused (CanaryPauseStep)"}
	first, _ := rules.Fold([]rules.Event{scale}, []rules.Event{step, paused})
	redo, _ := rules.Fold(nil, []rules.Event{step, paused})
	for _, told := range []rules.Told{first, redo} {
		if err := j.Tell(ctx, s, told); err != nil {
			t.Fatal(err)
		}
	}
	list, err := cs.CoreV1().Events("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("want 1 event, got %d", len(list.Items))
	}
	e := list.Items[0]
	if e.Reason != rules.ReasonStepCompleted || e.Message != first.Message {
		t.Errorf("told %s %q, want %s %q", e.Reason, e.Message, rules.ReasonStepCompleted, first.Message)
	}
	var facts []ToldFact
	if err := json.Unmarshal([]byte(e.Annotations[ToldAnnotation]), &facts); err != nil {
		t.Fatalf("annotation %q: %v", e.Annotations[ToldAnnotation], err)
	}
	want := []ToldFact{{"Normal", scale.Reason, scale.Message}, {"Normal", step.Reason, step.Message}, {"Normal", paused.Reason, paused.Message}}
	if !slices.Equal(facts, want) {
		t.Errorf("facts %+v, want %+v", facts, want)
	}

	// One fact alone needs no list.
	single, _ := rules.Fold([]rules.Event{scale}, nil)
	s.ResourceVersion = "8"
	if err := j.Tell(ctx, s, single); err != nil {
		t.Fatal(err)
	}
	list, _ = cs.CoreV1().Events("ns").List(ctx, metav1.ListOptions{})
	for _, e := range list.Items {
		if e.InvolvedObject.ResourceVersion == "8" && (e.Reason != rules.ReasonScalingReplicaSet || len(e.Annotations) != 0) {
			t.Errorf("single fact told as %s with annotations %v", e.Reason, e.Annotations)
		}
	}
}
