package scaledown

import (
	"slices"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/internal/plan/replicas"
)

func old(name string, revision int64, size int32, m Mark) OldRS {
	return OldRS{RS: replicas.RS{Name: name, Revision: revision, Replicas: size, Available: size}, Deadline: m}
}

func at(d time.Duration) Mark { return Mark{State: Marked, At: t0.Add(d)} }

var unreadable = Mark{State: Unreadable}

func TestPlanOld(t *testing.T) {
	in30 := Deadline(t0, 30*time.Second)
	cases := []struct {
		name    string
		in      Old
		want    []Action
		requeue time.Duration
	}{
		{
			name: "no budget, nothing moves",
			in:   Old{FullyPromoted: true, Sets: []OldRS{old("v1", 1, 5, Mark{})}},
		},
		{
			name:    "previous stable gets a deadline and keeps its pods",
			in:      Old{FullyPromoted: true, Sets: []OldRS{old("v1", 1, 5, Mark{})}},
			want:    []Action{{Name: "v1", Replicas: 5, Deadline: in30}},
			requeue: 30 * time.Second,
		},
		{
			name:    "before the deadline it waits, requeued at the deadline",
			in:      Old{FullyPromoted: true, Sets: []OldRS{old("v1", 1, 5, at(12*time.Second))}},
			requeue: 12 * time.Second,
		},
		{
			name: "at the deadline it goes",
			in:   Old{FullyPromoted: true, Sets: []OldRS{old("v1", 1, 5, at(0))}},
			want: []Action{{Name: "v1"}},
		},
		{
			name: "an unreadable deadline counts as passed",
			in:   Old{FullyPromoted: true, Sets: []OldRS{old("v1", 1, 5, unreadable)}},
			want: []Action{{Name: "v1"}},
		},
		{
			name: "intermediate canary mid-update goes at once",
			in:   Old{Sets: []OldRS{old("v2", 2, 3, Mark{})}},
			want: []Action{{Name: "v2"}},
		},
		{
			name:    "mid-update, a ReplicaSet already waiting keeps waiting",
			in:      Old{Sets: []OldRS{old("v1", 1, 5, at(time.Minute)), old("v2", 2, 3, Mark{})}},
			want:    []Action{{Name: "v2"}},
			requeue: time.Minute,
		},
		{
			name: "dynamicStableScale has nothing left to drain",
			in:   Old{FullyPromoted: true, DynamicStableScale: true, Sets: []OldRS{old("v1", 1, 5, Mark{}), old("v0", 0, 2, at(time.Minute))}},
			want: []Action{{Name: "v1"}, {Name: "v0"}},
		},
		{
			name:    "revision limit: newest waits, the rest go",
			in:      Old{FullyPromoted: true, RevisionLimit: new(int32(1)), Sets: []OldRS{old("v1", 1, 5, at(time.Minute)), old("v2", 2, 5, Mark{}), old("v0", 0, 5, Mark{})}},
			want:    []Action{{Name: "v2", Replicas: 5, Deadline: in30}, {Name: "v1"}, {Name: "v0"}},
			requeue: 30 * time.Second,
		},
		{
			name:    "revision limit counts ReplicaSets already waiting",
			in:      Old{FullyPromoted: true, RevisionLimit: new(int32(2)), Sets: []OldRS{old("v3", 3, 5, at(time.Minute)), old("v2", 2, 5, at(2*time.Minute)), old("v1", 1, 5, at(time.Minute))}},
			want:    []Action{{Name: "v1"}},
			requeue: time.Minute,
		},
		{
			name: "revision limit 0 keeps none",
			in:   Old{FullyPromoted: true, RevisionLimit: new(int32(0)), Sets: []OldRS{old("v1", 1, 5, Mark{}), old("v2", 2, 5, at(time.Minute))}},
			want: []Action{{Name: "v2"}, {Name: "v1"}},
		},
		{
			name:    "scaled-down ReplicaSets do not count against the limit",
			in:      Old{FullyPromoted: true, RevisionLimit: new(int32(1)), Sets: []OldRS{old("v2", 2, 0, at(time.Minute)), old("v1", 1, 5, Mark{})}},
			want:    []Action{{Name: "v1", Replicas: 5, Deadline: in30}},
			requeue: 30 * time.Second,
		},
		{
			name: "referenced ReplicaSets are skipped",
			in: Old{Sets: []OldRS{
				{RS: replicas.RS{Name: "v2", Revision: 2, Replicas: 3}, Referenced: true},
				old("v1", 1, 3, Mark{}),
			}},
			want: []Action{{Name: "v1"}},
		},
		{
			name: "the budget gates starting, not finishing",
			in:   Old{MaxScaleDown: 2, Sets: []OldRS{old("v3", 3, 5, Mark{}), old("v2", 2, 5, Mark{})}},
			want: []Action{{Name: "v3"}},
		},
		{
			name:    "held ReplicaSets spend no budget",
			in:      Old{FullyPromoted: true, MaxScaleDown: 1, Sets: []OldRS{old("v3", 3, 5, Mark{}), old("v2", 2, 5, at(0))}},
			want:    []Action{{Name: "v3", Replicas: 5, Deadline: in30}, {Name: "v2"}},
			requeue: 30 * time.Second,
		},
		{
			name:    "earliest deadline wins the requeue",
			in:      Old{FullyPromoted: true, Sets: []OldRS{old("v1", 1, 5, at(20*time.Second)), old("v2", 2, 5, at(8*time.Second))}},
			requeue: 8 * time.Second,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.Now = t0
			if in.Delay == 0 {
				in.Delay = 30 * time.Second
			}
			if in.MaxScaleDown == 0 && c.name != "no budget, nothing moves" {
				in.MaxScaleDown = 100
			}
			got := PlanOld(in)
			if !slices.Equal(got.Actions, c.want) || got.RequeueAfter != c.requeue {
				t.Errorf("got %+v requeue %s\nwant %+v requeue %s", got.Actions, got.RequeueAfter, c.want, c.requeue)
			}
		})
	}
}

// scaleDownDelaySeconds: 0 means no delay. Argo Rollouts keeps the old
// stable up for good instead (argoproj/argo-rollouts#1992, an open bug).
func TestPlanOldZeroDelay(t *testing.T) {
	for _, delay := range []time.Duration{0, -time.Second} {
		got := PlanOld(Old{Now: t0, Delay: delay, FullyPromoted: true, MaxScaleDown: 1, Sets: []OldRS{old("v1", 1, 5, Mark{})}})
		if want := []Action{{Name: "v1"}}; !slices.Equal(got.Actions, want) || got.RequeueAfter != 0 {
			t.Errorf("delay %s: got %+v requeue %s", delay, got.Actions, got.RequeueAfter)
		}
	}
}

// Newest revision first; among equal revisions, the newest ReplicaSet.
func TestPlanOldOrder(t *testing.T) {
	a, b := old("a", 2, 1, Mark{}), old("b", 2, 1, Mark{})
	a.Created, b.Created = t0, t0.Add(time.Second)
	c := old("c", 3, 1, Mark{})
	got := PlanOld(Old{Now: t0, MaxScaleDown: 10, Sets: []OldRS{a, b, c}})
	want := []Action{{Name: "c"}, {Name: "b"}, {Name: "a"}}
	if !slices.Equal(got.Actions, want) {
		t.Fatalf("got %+v, want %+v", got.Actions, want)
	}
}

// The caller's slice is not reordered.
func TestPlanOldLeavesInputAlone(t *testing.T) {
	sets := []OldRS{old("v1", 1, 1, Mark{}), old("v2", 2, 1, Mark{})}
	PlanOld(Old{Now: t0, MaxScaleDown: 10, Sets: sets})
	if sets[0].Name != "v1" {
		t.Fatal("input was sorted in place")
	}
}
