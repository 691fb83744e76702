package replicas

import (
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Cases from upstream TestApproximateWeightedNewStableReplicaCounts (all
// with maxWeight 100). The comment is the weight actually achieved.
func TestApproximateCanaryStableCounts(t *testing.T) {
	cases := []struct{ replicas, weight, maxSurge, canary, stable int32 }{
		{0, 0, 0, 0, 0},   // 0%
		{0, 50, 0, 0, 0},  // 0%
		{0, 100, 0, 0, 0}, // 0%

		{0, 0, 1, 0, 0},   // 0%
		{0, 50, 1, 0, 0},  // 0%
		{0, 100, 1, 0, 0}, // 0%

		{1, 0, 0, 0, 1},   // 0%
		{1, 1, 0, 0, 1},   // 0%
		{1, 49, 0, 0, 1},  // 0%
		{1, 50, 0, 1, 0},  // 100%
		{1, 99, 0, 1, 0},  // 100%
		{1, 100, 0, 1, 0}, // 100%

		{1, 0, 1, 0, 1},   // 0%
		{1, 1, 1, 1, 1},   // 50%
		{1, 49, 1, 1, 1},  // 50%
		{1, 50, 1, 1, 1},  // 50%
		{1, 99, 1, 1, 1},  // 50%
		{1, 100, 1, 1, 0}, // 100%

		{2, 0, 0, 0, 2},   // 0%
		{2, 1, 0, 1, 1},   // 50%
		{2, 50, 0, 1, 1},  // 50%
		{2, 99, 0, 1, 1},  // 50%
		{2, 100, 0, 2, 0}, // 100%

		{2, 0, 1, 0, 2},   // 0%
		{2, 1, 1, 1, 2},   // 33.3%
		{2, 50, 1, 1, 1},  // 50%
		{2, 99, 1, 2, 1},  // 66.6%
		{2, 100, 1, 2, 0}, // 100%

		{3, 10, 0, 1, 2}, // 33.3%
		{3, 25, 0, 1, 2}, // 33.3%
		{3, 33, 0, 1, 2}, // 33.3%
		{3, 34, 0, 1, 2}, // 33.3%
		{3, 49, 0, 1, 2}, // 33.3%
		{3, 50, 0, 2, 1}, // 66.6%

		{3, 10, 1, 1, 3}, // 25%
		{3, 25, 1, 1, 3}, // 25%
		{3, 33, 1, 1, 2}, // 33.3%
		{3, 34, 1, 1, 2}, // 33.3%
		{3, 49, 1, 2, 2}, // 50%
		{3, 50, 1, 2, 2}, // 50%

		{10, 0, 1, 0, 10},   // 0%
		{10, 1, 0, 1, 9},    // 10%
		{10, 14, 0, 1, 9},   // 10%
		{10, 15, 0, 2, 8},   // 20%
		{10, 16, 0, 2, 8},   // 20%
		{10, 99, 0, 9, 1},   // 90%
		{10, 100, 1, 10, 0}, // 100%

		{10, 0, 1, 0, 10},   // 0%
		{10, 1, 1, 1, 10},   // 9.1%
		{10, 18, 1, 2, 9},   // 18.1%
		{10, 19, 1, 2, 9},   // 18.1%
		{10, 20, 1, 2, 8},   // 20%
		{10, 23, 1, 2, 8},   // 20%
		{10, 24, 1, 3, 8},   // 27.2%
		{10, 25, 1, 3, 8},   // 27.2%
		{10, 99, 1, 10, 1},  // 90.9%
		{10, 100, 1, 10, 0}, // 100%
	}
	if len(cases) != 57 {
		t.Fatalf("upstream table has 57 cases, ported %d", len(cases))
	}
	for _, c := range cases {
		got := approximateCanaryStableCounts(c.replicas, c.weight, 100, c.maxSurge)
		if got != (Counts{Canary: c.canary, Stable: c.stable}) {
			t.Errorf("replicas %d weight %d surge %d: got %+v, want canary %d stable %d", c.replicas, c.weight, c.maxSurge, got, c.canary, c.stable)
		}
	}
}

// The approximation's guarantees, over every weight and small sizes.
func TestApproximateCanaryStableCountsProperties(t *testing.T) {
	for replicas := int32(1); replicas <= 40; replicas++ {
		for _, maxSurge := range []int32{0, 1, 5} {
			for weight := int32(0); weight <= 100; weight++ {
				got := approximateCanaryStableCounts(replicas, weight, 100, maxSurge)
				total := got.Canary + got.Stable
				where := fmt.Sprintf("replicas %d weight %d surge %d: %+v", replicas, weight, maxSurge, got)
				if total != replicas && (maxSurge == 0 || total != replicas+1) {
					t.Fatalf("%s: total must be replicas, or replicas+1 with surge", where)
				}
				switch {
				case weight == 0 && got != (Counts{Stable: replicas}):
					t.Fatalf("%s: 0%% is all stable", where)
				case weight == 100 && got != (Counts{Canary: replicas}):
					t.Fatalf("%s: 100%% is all canary", where)
				case noCandidateGap(replicas, weight, maxSurge):
					if got != (Counts{Stable: replicas}) {
						t.Fatalf("%s: upstream falls back to all stable here", where)
					}
				case weight > 0 && weight < 100 && (replicas > 1 || maxSurge > 0) && (got.Canary == 0 || got.Stable == 0):
					t.Fatalf("%s: a partial weight keeps both sides", where)
				}
			}
		}
	}
}

// noCandidateGap is where upstream's approximation has no candidate at all
// and falls back to 0 canary pods: without surge, when the exact share is
// replicas-0.5 (75% of 2, 90% of 5, 95% of 10, 98% of 25, 99% of 50), the
// ceiling is excluded for reaching replicas and the floor for the tie.
// Kept for compatibility; see TestApproximateCanaryStableCountsUpstreamGap.
func noCandidateGap(replicas, weight, maxSurge int32) bool {
	return maxSurge == 0 && replicas > 1 && 2*replicas*weight == (2*replicas-1)*100
}

// Upstream behaviour pinned on purpose: these weights give the canary no
// pods at all (and would scale an existing canary down to 0).
func TestApproximateCanaryStableCountsUpstreamGap(t *testing.T) {
	for _, c := range []struct{ replicas, weight int32 }{{2, 75}, {5, 90}, {10, 95}, {25, 98}, {50, 99}} {
		if got := approximateCanaryStableCounts(c.replicas, c.weight, 100, 0); got != (Counts{Stable: c.replicas}) {
			t.Errorf("%d replicas at %d%%: got %+v, upstream gives 0 canary", c.replicas, c.weight, got)
		}
		if got := approximateCanaryStableCounts(c.replicas, c.weight, 100, 1); got.Canary == 0 {
			t.Errorf("%d replicas at %d%% with surge: got %+v", c.replicas, c.weight, got)
		}
	}
}

// Cases from upstream TestGetReplicasForScaleDown.
func TestAvailableForScaleDown(t *testing.T) {
	cases := []struct {
		name               string
		rs                 *RS
		ignoreAvailability bool
		want               int32
	}{
		{"test rs is nil", nil, false, 0},
		{"test expected replicas is less than actual replicas", &RS{Replicas: 3, Available: 5}, false, 3},
		{"test ignore availability", &RS{Replicas: 3, Available: 2}, true, 3},
		{"test not ignore availability", &RS{Replicas: 3, Available: 2}, false, 2},
	}
	for _, c := range cases {
		if got := availableForScaleDown(c.rs, c.ignoreAvailability); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

// The reference's worked examples.
func TestBasicCanaryCountsExamples(t *testing.T) {
	healthy := func(canary, stable int32) ReplicaSets {
		return ReplicaSets{New: rs("c", canary, canary), Stable: rs("s", stable, stable)}
	}
	cases := []struct {
		name string
		in   BasicCanary
		want Counts
	}{
		{"5 replicas at 20%: 1 canary, 4 stable", BasicCanary{Replicas: 5, Weight: 20, MaxWeight: 100, Fenceposts: Fenceposts{0, 1}, Sets: healthy(1, 4)}, Counts{1, 4}},
		{"5 replicas at 20% from all stable, no surge: stable gives a pod first", BasicCanary{Replicas: 5, Weight: 20, MaxWeight: 100, Fenceposts: Fenceposts{0, 1}, Sets: healthy(0, 5)}, Counts{0, 4}},
		{"then the canary takes it", BasicCanary{Replicas: 5, Weight: 20, MaxWeight: 100, Fenceposts: Fenceposts{0, 1}, Sets: healthy(0, 4)}, Counts{1, 4}},
		{"10 replicas at 15%: 2 canary, 8 stable", BasicCanary{Replicas: 10, Weight: 15, MaxWeight: 100, Fenceposts: Fenceposts{0, 2}, Sets: healthy(2, 8)}, Counts{2, 8}},
		{"3 replicas at 50% with surge: 2 and 2", BasicCanary{Replicas: 3, Weight: 50, MaxWeight: 100, Fenceposts: Fenceposts{1, 0}, Sets: healthy(0, 3)}, Counts{1, 3}},
		{"surge defaults for 10 replicas at 10%", BasicCanary{Replicas: 10, Weight: 10, MaxWeight: 100, Fenceposts: Fenceposts{1, 1}, Sets: healthy(0, 10)}, Counts{1, 9}},
		{"no new RS yet: only stable is sized", BasicCanary{Replicas: 4, Weight: 50, MaxWeight: 100, Fenceposts: Fenceposts{1, 1}, Sets: ReplicaSets{Stable: rs("s", 4, 4)}}, Counts{0, 3}},
		{"other RS blocks scale-down of stable", BasicCanary{Replicas: 4, Weight: 50, MaxWeight: 100, Fenceposts: Fenceposts{1, 1},
			Sets: ReplicaSets{New: rs("c", 0, 0), Stable: rs("s", 3, 3), Others: []RS{*rs("o", 1, 1)}}}, Counts{1, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := BasicCanaryCounts(c.in); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// One reconcile of the basic canary never breaks the fenceposts, from any
// state (healthy or not) that respected them, and only moves each
// ReplicaSet towards its target.
func TestBasicCanaryCountsRespectFenceposts(t *testing.T) {
	for replicas := int32(1); replicas <= 6; replicas++ {
		for surge := int32(0); surge <= 2; surge++ {
			for unavailable := int32(0); unavailable <= 2; unavailable++ {
				f := Fenceposts{surge, min(unavailable, replicas)}
				if f == (Fenceposts{}) {
					f.MaxUnavailable = 1
				}
				for _, weight := range []int32{0, 10, 25, 50, 75, 90, 100} {
					target := approximateCanaryStableCounts(replicas, weight, 100, surge)
					for canarySpec := int32(0); canarySpec <= replicas+surge; canarySpec++ {
						for stableSpec := int32(0); canarySpec+stableSpec <= replicas+surge; stableSpec++ {
							for canaryAvail := int32(0); canaryAvail <= canarySpec; canaryAvail++ {
								for stableAvail := int32(0); stableAvail <= stableSpec; stableAvail++ {
									in := BasicCanary{Replicas: replicas, Weight: weight, MaxWeight: 100, Fenceposts: f,
										Sets: ReplicaSets{New: rs("c", canarySpec, canaryAvail), Stable: rs("s", stableSpec, stableAvail)}}
									got := BasicCanaryCounts(in)
									where := fmt.Sprintf("replicas %d %+v weight %d canary %d/%d stable %d/%d: %+v", replicas, f, weight, canarySpec, canaryAvail, stableSpec, stableAvail, got)
									if got.Canary+got.Stable > replicas+f.MaxSurge {
										t.Fatalf("%s: above replicas+maxSurge", where)
									}
									minAvailable := replicas - f.MaxUnavailable
									if canaryAvail+stableAvail >= minAvailable && min(canaryAvail, got.Canary)+min(stableAvail, got.Stable) < minAvailable {
										t.Fatalf("%s: below replicas-maxUnavailable", where)
									}
									if !between(got.Canary, canarySpec, target.Canary) || !between(got.Stable, stableSpec, target.Stable) {
										t.Fatalf("%s: moved away from target %+v", where, target)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

func between(v, a, b int32) bool { return min(a, b) <= v && v <= max(a, b) }

// Reconciling repeatedly, with pods becoming available in between, reaches
// the target split for every weight, whether the weight rises from all
// stable or falls back (an abort) from a finished step, or a new update
// supersedes a half-done one. Old pods are drained along the way, in the
// controller's order: stable, then canary, then others.
func TestBasicCanaryConverges(t *testing.T) {
	weights := []int32{0, 1, 10, 20, 25, 33, 50, 67, 75, 90, 99, 100}
	for replicas := int32(1); replicas <= 10; replicas++ {
		for surge := int32(0); surge <= 3; surge++ {
			for unavailable := int32(0); unavailable <= 3; unavailable++ {
				f := Fenceposts{surge, min(unavailable, replicas)}
				if f == (Fenceposts{}) {
					f.MaxUnavailable = 1
				}
				for _, weight := range weights {
					for _, from := range []int32{0, 50, 100} {
						for intermediate := int32(0); intermediate <= replicas; intermediate += max(1, replicas/3) {
							start := approximateCanaryStableCounts(replicas, from, 100, surge)
							// A superseded revision holds some pods; the stable the rest.
							start.Stable = max(0, start.Stable-intermediate)
							sim := basicSim{
								t: t, replicas: replicas, f: f, weight: weight,
								newRS:  RS{Name: "v3", Revision: 3, Replicas: start.Canary, Available: start.Canary},
								stable: RS{Name: "v1", Revision: 1, Replicas: start.Stable, Available: start.Stable},
								others: []RS{{Name: "v2", Revision: 2, Replicas: intermediate, Available: intermediate}, {Name: "v0", Revision: 0}},
							}
							sim.run(fmt.Sprintf("replicas %d %+v from %d%% (+%d superseded) to %d%%", replicas, f, from, intermediate, weight))
						}
					}
				}
			}
		}
	}
}

type basicSim struct {
	t             *testing.T
	replicas      int32
	f             Fenceposts
	weight        int32
	newRS, stable RS
	others        []RS
}

func (s *basicSim) run(where string) {
	s.t.Helper()
	want := approximateCanaryStableCounts(s.replicas, s.weight, 100, s.f.MaxSurge)
	minAvailable := s.replicas - s.f.MaxUnavailable
	for range 100 {
		sets := ReplicaSets{New: &s.newRS, Stable: &s.stable, Others: s.others}
		before := s.newRS.Available + s.stable.Available + totalAvailable(s.others)
		got := BasicCanaryCounts(BasicCanary{Replicas: s.replicas, Weight: s.weight, MaxWeight: 100, Fenceposts: s.f, Sets: sets})
		switch {
		case got.Stable != s.stable.Replicas:
			s.stable.Replicas = got.Stable
		case got.Canary != s.newRS.Replicas:
			s.newRS.Replicas = got.Canary
		default:
			scales := BasicCanaryOtherScaleDowns(s.replicas, s.f.MaxUnavailable, sets)
			if len(scales) == 0 {
				if s.newRS.Replicas != want.Canary || s.stable.Replicas != want.Stable || totalReplicas(s.others) != 0 {
					s.t.Fatalf("%s: settled at canary %d stable %d others %d, want %+v", where, s.newRS.Replicas, s.stable.Replicas, totalReplicas(s.others), want)
				}
				return
			}
			for _, sc := range scales {
				i := slices.IndexFunc(s.others, func(o RS) bool { return o.Name == sc.Name })
				s.others[i].Replicas = sc.Replicas
			}
		}
		after := min(s.newRS.Available, s.newRS.Replicas) + min(s.stable.Available, s.stable.Replicas)
		total := s.newRS.Replicas + s.stable.Replicas
		for i := range s.others {
			after += min(s.others[i].Available, s.others[i].Replicas)
			total += s.others[i].Replicas
		}
		if before >= minAvailable && after < minAvailable {
			s.t.Fatalf("%s: %d available, below %d", where, after, minAvailable)
		}
		if total > s.replicas+s.f.MaxSurge && before >= minAvailable {
			s.t.Fatalf("%s: %d pods, above %d", where, total, s.replicas+s.f.MaxSurge)
		}
		// Pods start and stop before the next reconcile.
		s.newRS.Available, s.stable.Available = s.newRS.Replicas, s.stable.Replicas
		for i := range s.others {
			s.others[i].Available = s.others[i].Replicas
		}
	}
	s.t.Fatalf("%s: did not settle", where)
}

func TestBasicCanaryOtherScaleDowns(t *testing.T) {
	at := func(minute int) time.Time { return time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC) }
	other := func(name string, revision int64, created int, replicas, available int32) RS {
		return RS{Name: name, Revision: revision, Created: at(created), Replicas: replicas, Available: available}
	}
	cases := []struct {
		name                     string
		replicas, maxUnavailable int32
		sets                     ReplicaSets
		want                     []Scale
	}{
		{"nothing to do", 4, 1, ReplicaSets{New: rs("c", 4, 4), Others: []RS{other("o", 1, 0, 0, 0)}}, nil},
		{"drains all when the rest is available", 4, 1, ReplicaSets{New: rs("c", 4, 4), Others: []RS{other("o", 1, 0, 3, 3)}}, []Scale{{"o", 0}}},
		{"within the unavailability budget", 4, 1, ReplicaSets{New: rs("c", 1, 1), Stable: rs("s", 1, 1), Others: []RS{other("o", 1, 0, 2, 2)}}, []Scale{{"o", 1}}},
		{"budget spent: nothing", 4, 1, ReplicaSets{New: rs("c", 2, 0), Stable: rs("s", 1, 1), Others: []RS{other("o", 1, 0, 2, 2)}}, nil},
		{"newest revision first", 4, 0, ReplicaSets{New: rs("c", 4, 4), Others: []RS{other("old", 1, 0, 2, 2), other("mid", 2, 1, 2, 2)}}, []Scale{{"mid", 0}, {"old", 0}}},
		{"newest revision first, partial", 4, 0, ReplicaSets{New: rs("c", 3, 3), Others: []RS{other("old", 1, 0, 2, 2), other("mid", 2, 1, 2, 2)}}, []Scale{{"mid", 0}, {"old", 1}}},
		{"equal revisions: newest created first", 4, 0, ReplicaSets{New: rs("c", 3, 3), Others: []RS{other("a", 2, 5, 2, 2), other("b", 2, 1, 2, 2)}}, []Scale{{"a", 0}, {"b", 1}}},
		{"unavailable pods go first, regardless of budget", 4, 0, ReplicaSets{New: rs("c", 2, 0), Others: []RS{other("o", 1, 0, 4, 3)}}, []Scale{{"o", 3}}},
		{"one final size per ReplicaSet", 4, 1, ReplicaSets{New: rs("c", 4, 4), Others: []RS{other("o", 1, 0, 3, 2)}}, []Scale{{"o", 0}}},
		{"a ReplicaSet over-reporting availability stops the pass", 4, 1, ReplicaSets{New: rs("c", 4, 4),
			Others: []RS{other("first", 1, 0, 2, 1), other("second", 2, 1, 1, 3), other("third", 3, 2, 2, 0)}}, []Scale{{"first", 1}}},
		{"stable that is the new RS counts once", 4, 0, ReplicaSets{New: rs("c", 4, 4), Stable: rs("c", 4, 4), Others: []RS{other("o", 1, 0, 1, 1)}}, []Scale{{"o", 0}}},
		{"a scaled-down RS whose status still shows available pods counts them", 4, 0, ReplicaSets{New: rs("c", 3, 3), Others: []RS{other("o", 2, 0, 1, 1), other("gone", 1, 0, 0, 2)}}, []Scale{{"o", 0}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := BasicCanaryOtherScaleDowns(c.replicas, c.maxUnavailable, c.sets); !slices.Equal(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestFromReplicaSet(t *testing.T) {
	if FromReplicaSet(nil) != nil {
		t.Error("nil should stay nil")
	}
	created := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	live := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", CreationTimestamp: created, Annotations: map[string]string{v1alpha1.RevisionAnnotation: "7"}},
		Spec:       appsv1.ReplicaSetSpec{Replicas: new(int32(3))},
		Status:     appsv1.ReplicaSetStatus{Replicas: 4, AvailableReplicas: 2},
	}
	want := RS{Name: "web-abc", Replicas: 3, StatusReplicas: 4, Available: 2, Revision: 7, Created: created.Time}
	if got := FromReplicaSet(live); *got != want {
		t.Errorf("got %+v, want %+v", *got, want)
	}
	live.Spec.Replicas = nil
	live.Annotations[v1alpha1.RevisionAnnotation] = "x"
	if got := FromReplicaSet(live); got.Replicas != 1 || got.Revision != 0 {
		t.Errorf("defaults: got %+v", *got)
	}
}
