package framework

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/internal/events"
)

// Event is one fact told about a Rollout. A reconcile's facts are told in
// one Kubernetes Event under its most significant reason, the others listed
// in its events.ToldAnnotation (docs/compatibility.md, "Events"); a tool
// that follows a reason reads both, and so do the tests.
type Event struct {
	// Name is the Kubernetes Event's; facts told together share it.
	Name, Object, Reason, Message, Version string
	// Type is the fact's own, Normal or Warning.
	Type  string
	Count int32
	// Lead: this fact is the one the Event is told under.
	Lead bool
}

// RolloutEvents returns the facts told about the namespace's Rollouts, in
// the order they were told (the Events' resourceVersions, then each
// Event's facts in the order they happened).
func RolloutEvents(t testing.TB, ns string) []Event {
	t.Helper()
	list, err := Get(t).Clientset.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.kind=Rollout"})
	if err != nil {
		t.Fatal(err)
	}
	items := list.Items
	sort.SliceStable(items, func(i, j int) bool {
		a, _ := strconv.ParseInt(items[i].ResourceVersion, 10, 64)
		b, _ := strconv.ParseInt(items[j].ResourceVersion, 10, 64)
		return a < b
	})
	var out []Event
	for _, e := range items {
		ev := Event{Name: e.Name, Object: e.InvolvedObject.Name, Count: e.Count, Version: e.InvolvedObject.ResourceVersion}
		var facts []events.ToldFact
		if raw := e.Annotations[events.ToldAnnotation]; raw != "" {
			if err := json.Unmarshal([]byte(raw), &facts); err != nil {
				t.Fatalf("event %s: annotation %s is not a list of facts: %v", e.Name, events.ToldAnnotation, err)
			}
		}
		if len(facts) == 0 {
			ev.Reason, ev.Message, ev.Type, ev.Lead = e.Reason, e.Message, e.Type, true
			out = append(out, ev)
			continue
		}
		lead := false
		for _, f := range facts {
			ev.Reason, ev.Message, ev.Type = f.Reason, f.Message, f.Type
			ev.Lead = !lead && f.Reason == e.Reason
			lead = lead || ev.Lead
			out = append(out, ev)
		}
	}
	return out
}

// RolloutEventMessages lists the messages of the facts told with reason.
func RolloutEventMessages(t testing.TB, ns, reason string) []string {
	t.Helper()
	var out []string
	for _, e := range RolloutEvents(t, ns) {
		if e.Reason == reason {
			out = append(out, e.Message)
		}
	}
	return out
}
