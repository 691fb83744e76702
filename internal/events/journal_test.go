package events

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
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
