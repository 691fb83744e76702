package framework

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Event is what the crash tests compare of a Rollout event.
type Event struct {
	Name, Object, Reason, Message, Version string
	Count                                  int32
}

// RolloutEvents returns the namespace's Rollout events.
func RolloutEvents(t testing.TB, ns string) []Event {
	t.Helper()
	list, err := Get(t).Clientset.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.kind=Rollout"})
	if err != nil {
		t.Fatal(err)
	}
	var out []Event
	for _, e := range list.Items {
		out = append(out, Event{Name: e.Name, Object: e.InvolvedObject.Name, Reason: e.Reason, Message: e.Message, Count: e.Count, Version: e.InvolvedObject.ResourceVersion})
	}
	return out
}
