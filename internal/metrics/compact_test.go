package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

// exposition is what a scrape of c shows, in the text format.
func exposition(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestCompactHistogramScrapesAsClientGolangs: the same observations give
// the same scrape as client_golang's HistogramVec, before and after a
// Rollout's series are dropped.
func TestCompactHistogramScrapesAsClientGolangs(t *testing.T) {
	buckets := []float64{0.01, 0.15, .25, .5, 1}
	ours := NewHistogramVec("rollout_reconcile", "Rollout reconciliation performance.", buckets, rolloutLabels)
	theirs := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "rollout_reconcile", Help: "Rollout reconciliation performance.", Buckets: buckets,
	}, rolloutLabels)
	observe := func(ns, name string, xs ...float64) {
		for _, x := range xs {
			ours.WithLabelValues(ns, name).Observe(x)
			theirs.WithLabelValues(ns, name).Observe(x)
		}
	}
	// On a bound, between bounds, above the last.
	observe("shop", "cart", 0.005, 0.01, 0.2, 0.3, 0.3, 2, 0.7)
	observe("shop", "pay", 0.15)
	observe("blog", "cart", 1, 1.5)

	want := exposition(t, theirs)
	if got := exposition(t, ours); got != want {
		t.Fatalf("scrape:\n%s\nwant (client_golang):\n%s", got, want)
	}
	if !strings.Contains(want, `rollout_reconcile_bucket{name="cart",namespace="shop",le="0.25"} 3`) {
		t.Fatalf("the reference scrape is not what this test expects:\n%s", want)
	}

	match := prometheus.Labels{"namespace": "shop", "name": "cart"}
	if got, want := ours.DeletePartialMatch(match), theirs.DeletePartialMatch(match); got != want || got != 1 {
		t.Errorf("DeletePartialMatch dropped %d series, client_golang %d, want 1", got, want)
	}
	if got, want := exposition(t, ours), exposition(t, theirs); got != want {
		t.Fatalf("scrape after the delete:\n%s\nwant (client_golang):\n%s", got, want)
	}
}

// TestCompactCounterScrapesAsClientGolangs: the same for a counter family
// with more labels, deleting by a subset of them.
func TestCompactCounterScrapesAsClientGolangs(t *testing.T) {
	labels := append(rolloutLabels, "type", "reason")
	ours := NewCounterVec("rollout_events_total", "Count of rollout events", labels)
	theirs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rollout_events_total", Help: "Count of rollout events"}, labels)
	inc := func(values ...string) {
		ours.WithLabelValues(values...).Inc()
		theirs.WithLabelValues(values...).Inc()
	}
	inc("shop", "cart", "Normal", "RolloutStepCompleted")
	inc("shop", "cart", "Normal", "RolloutStepCompleted")
	inc("shop", "cart", "Warning", "RolloutAborted")
	inc("shop", "pay", "Normal", "RolloutCompleted")

	if got, want := exposition(t, ours), exposition(t, theirs); got != want {
		t.Fatalf("scrape:\n%s\nwant (client_golang):\n%s", got, want)
	}
	match := prometheus.Labels{"namespace": "shop", "name": "cart"}
	if got, want := ours.DeletePartialMatch(match), theirs.DeletePartialMatch(match); got != want || got != 2 {
		t.Errorf("DeletePartialMatch dropped %d series, client_golang %d, want 2", got, want)
	}
	got, want := exposition(t, ours), exposition(t, theirs)
	if got != want || !strings.Contains(got, `name="pay"`) || strings.Contains(got, `name="cart"`) {
		t.Fatalf("scrape after the delete:\n%s\nwant (client_golang):\n%s", got, want)
	}
	// A label the family does not have matches nothing, as in client_golang.
	if n := ours.DeletePartialMatch(prometheus.Labels{"pod": "x"}); n != 0 {
		t.Errorf("deleting by an unknown label dropped %d series", n)
	}
}

func TestCompactWrongLabelCountPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Inc with one label value of two did not panic")
		}
	}()
	NewCounterVec("c", "h", rolloutLabels).WithLabelValues("only-one").Inc()
}

// TestExpiringCounterDropsIdleSeries: a series not incremented for the
// idle time is dropped when a new series arrives (at most once per
// sweepEvery); one still in use stays, and a dropped one counts afresh.
func TestExpiringCounterDropsIdleSeries(t *testing.T) {
	now := time.Unix(1000, 0)
	v := NewExpiringCounterVec("controller_clientset_k8s_request_total", "h", []string{"kind", "name"}, time.Hour)
	v.s.now = func() time.Time { return now }
	v.s.lastSweep = now
	v.WithLabelValues("analysisruns", "web-1").Inc()
	v.WithLabelValues("rollouts", "web").Inc()
	now = now.Add(50 * time.Minute)
	v.WithLabelValues("rollouts", "web").Inc()
	now = now.Add(20 * time.Minute) // web-1 idle 70 min, web 20 min
	v.WithLabelValues("rollouts", "web").Inc()
	if n := testutil.CollectAndCount(v); n != 2 {
		t.Fatalf("%d series before a new one arrives, want 2 (only a new series sweeps)", n)
	}
	v.WithLabelValues("analysisruns", "web-2").Inc()
	want := `
# HELP controller_clientset_k8s_request_total h
# TYPE controller_clientset_k8s_request_total counter
controller_clientset_k8s_request_total{kind="analysisruns",name="web-2"} 1
controller_clientset_k8s_request_total{kind="rollouts",name="web"} 3
`
	if err := testutil.CollectAndCompare(v, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	// Within a minute of the last sweep, no sweep: idle or not, it stays.
	now = now.Add(30 * time.Second)
	v.WithLabelValues("analysisruns", "web-3").Inc()
	now = now.Add(2 * time.Hour)
	v.WithLabelValues("analysisruns", "web-4").Inc()
	if n := testutil.CollectAndCount(v); n != 1 {
		t.Errorf("%d series after everything but the newest idled for two hours, want 1", n)
	}
	v.WithLabelValues("analysisruns", "web-2").Inc()
	if got := exposition(t, v); !strings.Contains(got, `name="web-2"} 1`) {
		t.Errorf("a dropped series came back as:\n%s\nwant at 1", got)
	}
}
