package restart

import (
	"slices"
	"testing"
	"time"
)

var at = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func pod(name string, age time.Duration, available bool, prio int) Pod {
	return Pod{Name: name, Created: at.Add(-age), Available: available, Priority: prio}
}

func TestPlan(t *testing.T) {
	cases := []struct {
		name      string
		pods      []Pod
		max       int32
		wantEvict []string
		wantDone  bool
	}{
		{"all pods newer: done", []Pod{pod("a", -time.Minute, true, 0)}, 1, nil, true},
		{"one at a time, stable before new", []Pod{pod("new-1", time.Hour, true, 2), pod("stable-1", time.Minute, true, 1)}, 1, []string{"stable-1"}, false},
		{"budget of two", []Pod{pod("a", 3*time.Hour, true, 1), pod("b", 2*time.Hour, true, 1), pod("c", time.Hour, true, 1)}, 2, []string{"a", "b"}, false},
		{"an unavailable pod uses the budget", []Pod{pod("a", time.Hour, true, 1), pod("fresh", -time.Minute, false, 1)}, 1, nil, false},
		{"unavailable old pods go first and cost nothing", []Pod{pod("ok", 2*time.Hour, true, 0), pod("broken", time.Hour, false, 1)}, 2, []string{"broken", "ok"}, false},
		{"zero maxUnavailable still moves one", []Pod{pod("a", time.Hour, true, 1)}, 0, []string{"a"}, false},
		{"terminating old pods are not counted as left", []Pod{{Name: "t", Created: at.Add(-time.Hour), Terminating: true}}, 1, nil, true},
	}
	for _, c := range cases {
		evict, done := Plan(c.pods, at, c.max)
		if !slices.Equal(evict, c.wantEvict) || done != c.wantDone {
			t.Errorf("%s: evict %v done %v, want %v %v", c.name, evict, done, c.wantEvict, c.wantDone)
		}
	}
}
