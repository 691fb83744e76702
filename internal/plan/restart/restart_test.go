package restart

import (
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

var at = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// Priorities as the reconciler assigns them.
const (
	other = iota
	stable
	canary
)

// ready is a pod created age before restartAt (negative: after it), Ready
// for an hour.
func ready(name string, age time.Duration, prio int) Pod {
	return Pod{Name: name, Created: at.Add(-age), Ready: true, ReadySince: at.Add(-age), Priority: prio}
}

func unready(name string, age time.Duration, prio int) Pod {
	p := ready(name, age, prio)
	p.Ready = false
	return p
}

func terminating(p Pod) Pod { p.Terminating = true; return p }

func readySince(p Pod, since time.Time) Pod { p.ReadySince = since; return p }

// pausedAt25 is Argo Rollouts' restart e2e rollout: 4 replicas paused at
// setWeight 25, one canary and three stable pods, all available.
func pausedAt25() []Pod {
	return []Pod{ready("canary-a", time.Hour, canary), ready("stable-a", 3*time.Hour, stable),
		ready("stable-b", 2*time.Hour, stable), ready("stable-c", 2*time.Hour, stable)}
}

func TestPlan(t *testing.T) {
	now := at.Add(time.Second)
	cases := []struct {
		name             string
		pods             []Pod
		replicas, wanted int32
		max              int32
		minReady         time.Duration
		wantEvict        []string
		wantDone         bool
		now              time.Time // at+1s unless set
	}{
		{name: "restartAt still ahead (restart --in): nothing yet", pods: pausedAt25(), replicas: 4, wanted: 4, max: 3, now: at.Add(-time.Second)},
		{name: "all pods newer: done", pods: []Pod{ready("a", -time.Minute, stable)}, replicas: 1, wanted: 1, max: 1, wantDone: true},
		{name: "no pods at all: done", replicas: 3, wanted: 3, max: 1, wantDone: true},

		// Argo Rollouts' TestRolloutRestart: maxUnavailable 75% of 4 is 3, so
		// three go at once and one stays ready (stable first).
		{name: "paused at 25%, maxUnavailable 3 of 4: three go, one stays", pods: pausedAt25(), replicas: 4, wanted: 4, max: 3,
			wantEvict: []string{"stable-a", "stable-b", "stable-c"}},
		// Its next moments: the three evicted are gone and their
		// replacements are not ready yet: nothing more may go.
		{name: "paused at 25%, replacements unready: wait", replicas: 4, wanted: 4, max: 3,
			pods: []Pod{ready("canary-a", time.Hour, canary), unready("stable-x", -time.Second, stable), unready("stable-y", -time.Second, stable), unready("stable-z", -time.Second, stable)}},
		{name: "paused at 25%, evicted pods not yet recreated: they count as unavailable", replicas: 4, wanted: 4, max: 3,
			pods: []Pod{ready("canary-a", time.Hour, canary)}},
		{name: "paused at 25%, evicted pods still terminating beside unready replacements: wait", replicas: 4, wanted: 4, max: 3,
			pods: []Pod{ready("canary-a", time.Hour, canary), terminating(ready("stable-a", 3*time.Hour, stable)),
				unready("stable-x", -time.Second, stable), unready("stable-y", -time.Second, stable)}},
		{name: "paused at 25%, replacements ready while the evicted still terminate: the last goes", replicas: 4, wanted: 4, max: 3,
			pods: []Pod{ready("canary-a", time.Hour, canary), terminating(ready("stable-a", 3*time.Hour, stable)),
				ready("stable-x", -time.Second, stable), ready("stable-y", -time.Second, stable), ready("stable-z", -time.Second, stable)},
			wantEvict: []string{"canary-a"}},
		{name: "an old terminating pod is still left: not done", replicas: 1, wanted: 1, max: 1,
			pods: []Pod{terminating(ready("t", time.Hour, stable)), ready("new", -time.Second, stable)}},

		{name: "maxUnavailable 2 of 4 (50%): two go", pods: pausedAt25(), replicas: 4, wanted: 4, max: 2, wantEvict: []string{"stable-a", "stable-b"}},
		{name: "zero maxUnavailable still moves one", pods: pausedAt25(), replicas: 4, wanted: 4, max: 0, wantEvict: []string{"stable-a"}},
		{name: "one pod short of replicas: one fewer goes", pods: pausedAt25()[1:], replicas: 4, wanted: 4, max: 3,
			wantEvict: []string{"stable-a", "stable-b"}},
		{name: "a surge pod wanted but missing: one fewer goes", pods: pausedAt25(), replicas: 4, wanted: 5, max: 3,
			wantEvict: []string{"stable-a", "stable-b"}},
		{name: "a surge pod present: the wanted total is the floor's base", replicas: 4, wanted: 5, max: 3,
			pods: append(pausedAt25(), ready("stable-d", time.Hour, stable)), wantEvict: []string{"stable-a", "stable-b", "stable-c"}},
		{name: "other ReplicaSets before stable before canary", replicas: 3, wanted: 3, max: 1,
			pods:      []Pod{ready("canary-a", 3*time.Hour, canary), ready("stable-a", 2*time.Hour, stable), ready("other-a", time.Hour, other)},
			wantEvict: []string{"other-a"}},
		{name: "an unready old pod goes first, and uses the budget too", replicas: 4, wanted: 4, max: 2,
			pods:      []Pod{ready("a", 3*time.Hour, stable), ready("b", 2*time.Hour, stable), ready("c", 2*time.Hour, stable), unready("broken", time.Hour, stable)},
			wantEvict: []string{"broken"}},
		{name: "new pods ready but not yet for minReadySeconds are not available", replicas: 2, wanted: 2, max: 1, minReady: 10 * time.Second,
			pods: []Pod{readySince(ready("new", -time.Second, stable), now.Add(-5*time.Second)), ready("old", time.Hour, stable)}},
		{name: "new pods ready for longer than minReadySeconds are available", replicas: 2, wanted: 2, max: 1, minReady: 10 * time.Second,
			pods:      []Pod{readySince(ready("new", -time.Second, stable), now.Add(-11*time.Second)), ready("old", time.Hour, stable)},
			wantEvict: []string{"old"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			when := now
			if !c.now.IsZero() {
				when = c.now
			}
			d := Plan(Input{Pods: c.pods, RestartAt: at, Replicas: c.replicas, Wanted: c.wanted, MaxUnavailable: c.max, MinReady: c.minReady, Now: when})
			if evict, done := d.Order[:min(d.Batch, len(d.Order))], d.Done; !slices.Equal(evict, c.wantEvict) || done != c.wantDone {
				t.Errorf("evict %v done %v, want %v %v", evict, done, c.wantEvict, c.wantDone)
			}
		})
	}
}

// A PodDisruptionBudget refusal lets the next candidate go instead: the
// order goes on past the batch.
func TestPlanOrderBeyondTheBatch(t *testing.T) {
	d := Plan(Input{Pods: pausedAt25(), RestartAt: at, Replicas: 4, Wanted: 4, MaxUnavailable: 2, Now: at.Add(time.Second)})
	if want := []string{"stable-a", "stable-b", "stable-c", "canary-a"}; !slices.Equal(d.Order, want) || d.Batch != 2 {
		t.Errorf("order %v batch %d, want %v batch 2", d.Order, d.Batch, want)
	}
}

func TestRecheckAfter(t *testing.T) {
	for _, c := range []struct {
		name string
		now  time.Time
		want time.Duration
	}{
		{"restartAt 10s ahead", at.Add(-10 * time.Second), 10 * time.Second},
		{"restartAt further ahead than the fallback", at.Add(-time.Hour), 30 * time.Second},
		{"restartAt passed", at.Add(time.Second), 30 * time.Second},
	} {
		if got := RecheckAfter(at, c.now, 30*time.Second); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}

func TestMaxUnavailable(t *testing.T) {
	s, i := intstr.FromString, intstr.FromInt32
	cases := []struct {
		name           string
		replicas       int32
		canary         bool
		surge, unavail intstr.IntOrString
		want           int32
	}{
		{"canary 75% of 4", 4, true, s("25"), s("75%"), 3},
		{"canary 50% of 4", 4, true, s("25"), s("50%"), 2},
		{"canary default 25% of 4", 4, true, s("25"), s("25"), 1},
		{"canary 25% of 3 rounds down to 0", 3, true, s("25"), s("25"), 0},
		{"canary both zero: one", 3, true, i(0), s("10%"), 1},
		{"canary string without % is a percentage", 10, true, s("25"), s("30"), 3},
		{"canary count above replicas is capped", 4, true, i(1), i(10), 4},
		{"canary zero replicas", 0, true, s("25"), s("75%"), 0},
		{"blue-green default 25% of 4", 4, false, s("25"), s("25"), 1},
		{"blue-green 25% of 3: zero (no both-zero rule)", 3, false, s("25"), s("25"), 0},
		{"blue-green count", 5, false, s("25"), i(2), 2},
		{"blue-green count capped", 2, false, s("25"), i(5), 2},
		{"unparsable", 4, true, s("25"), s("lots"), 0},
	}
	for _, c := range cases {
		if got := MaxUnavailable(c.replicas, c.canary, c.surge, c.unavail); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}
