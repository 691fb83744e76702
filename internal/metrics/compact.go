package metrics

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The per-object families (rollout_reconcile, rollout_events_total, …) have
// a series for every Rollout or Experiment, so their memory grows with the
// number of objects. client_golang's vectors keep each series as a full
// metric — label pairs as protobuf messages, a histogram's hot and cold
// counts, exemplar and native-histogram state — about 1 KB for a counter and
// 3 KB for a histogram: ~10 KB a Rollout, a quarter of the controller's live
// heap at 1,000 rollouts. The types here keep a series as its label values
// and numbers only, and build the metrics at scrape time; what a scrape
// shows is the same (docs/architecture.md, "Memory").

// series are the series of one family, by their label values joined with
// sep. A series is its key and its numbers only, stored in the map itself:
// the label values are read back out of the key when a scrape needs them
// (split, the text writer's labels are substrings of the key), which at
// ten thousand series (1,000 rollouts' event reasons and requests) keeps
// about 1 MB less live than a slice of values and an entry allocated per
// series.
type series[T any] struct {
	desc   *prometheus.Desc
	fam    family
	labels []string
	mu     sync.Mutex
	byKey  map[string]entry[T]

	// idle, when set, drops a series not updated for that long (see
	// NewExpiringCounterVec); swept at most once per sweepEvery.
	idle      time.Duration
	lastSweep time.Time
	now       func() time.Time
}

// sep joins label values into a series' key; a label value cannot hold it
// (client_golang refuses values that are not UTF-8, and 0xff never is).
const sep = "\xff"

type entry[T any] struct {
	value   T
	touched int64 // last update in Unix nanoseconds, kept only with idle set
}

func newSeries[T any](name, help, typ string, labels []string) series[T] {
	return series[T]{desc: prometheus.NewDesc(name, help, labels, nil), fam: newFamily(name, help, typ, labels),
		labels: labels, byKey: map[string]entry[T]{}}
}

// splitKey appends a key's label values to dst, as substrings of key.
func splitKey(dst []string, key string) []string {
	for {
		i := strings.Index(key, sep)
		if i < 0 {
			return append(dst, key)
		}
		dst = append(dst, key[:i])
		key = key[i+len(sep):]
	}
}

// update runs f on the series of values, creating it first if needed.
func (s *series[T]) update(values []string, f func(*T)) {
	if len(values) != len(s.labels) {
		// As client_golang's WithLabelValues: a programming error.
		panic("metrics: " + s.desc.String() + ": got label values " + strings.Join(values, ",") + ", want " + strings.Join(s.labels, ","))
	}
	key := strings.Join(values, sep)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byKey[key]
	if !ok {
		s.sweep()
	}
	if s.idle > 0 {
		e.touched = s.now().UnixNano()
	}
	f(&e.value)
	s.byKey[key] = e
}

// sweepEvery bounds how often an expiring family looks for idle series:
// at most once a minute, and only when a new series arrives (the only
// time the family grows), so no goroutine is needed.
const sweepEvery = time.Minute

// sweep drops the series idle for longer than s.idle; s.mu is held.
func (s *series[T]) sweep() {
	if s.idle <= 0 {
		return
	}
	now := s.now()
	if now.Sub(s.lastSweep) < sweepEvery {
		return
	}
	s.lastSweep = now
	oldest := now.Add(-s.idle).UnixNano()
	for key, e := range s.byKey {
		if e.touched < oldest {
			delete(s.byKey, key)
		}
	}
}

// deletePartialMatch drops every series whose labels include match, and
// says how many.
func (s *series[T]) deletePartialMatch(match prometheus.Labels) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	var values []string
	for key := range s.byKey {
		values = splitKey(values[:0], key)
		if s.matches(values, match) {
			delete(s.byKey, key)
			n++
		}
	}
	return n
}

func (s *series[T]) matches(values []string, match prometheus.Labels) bool {
	for name, want := range match {
		i := indexOf(s.labels, name)
		if i < 0 || values[i] != want {
			return false
		}
	}
	return true
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Describe implements prometheus.Collector.
func (s *series[T]) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

// collect sends the metric m makes of every series; m runs under the lock
// (it reads the numbers), the sends after it.
func (s *series[T]) collect(ch chan<- prometheus.Metric, m func(values []string, v *T) prometheus.Metric) {
	s.mu.Lock()
	out := make([]prometheus.Metric, 0, len(s.byKey))
	for key, e := range s.byKey {
		out = append(out, m(splitKey(make([]string, 0, len(s.labels)), key), &e.value))
	}
	s.mu.Unlock()
	for _, metric := range out {
		ch <- metric
	}
}

// snapshotSeries copies out every series' key (immutable, so shared) and
// what read copies of its numbers, under the lock: writing to the scraper
// happens after, so a slow scraper does not hold up updates.
func snapshotSeries[T, S any](s *series[T], read func(*T) S) []sample[S] {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sample[S], 0, len(s.byKey))
	for key, e := range s.byKey {
		out = append(out, sample[S]{key, read(&e.value)})
	}
	return out
}

type sample[S any] struct {
	key   string
	value S
}

// writeSeries writes a snapshot of fam's series, each by write with its
// label values split out of its key; a family without series is left
// out, as client_golang leaves it.
func writeSeries[S any](fam *family, rows []sample[S], write func(t *textWriter, values []string, v S)) func(*textWriter) {
	return func(t *textWriter) {
		if len(rows) > 0 {
			t.header(fam)
		}
		var values []string
		for _, r := range rows {
			values = splitKey(values[:0], r.key)
			write(t, values, r.value)
		}
	}
}

// CounterVec is a counter family with a series per label values.
type CounterVec struct{ s series[float64] }

// NewCounterVec is a counter family named name with the given labels.
func NewCounterVec(name, help string, labels []string) *CounterVec {
	return &CounterVec{s: newSeries[float64](name, help, "counter", labels)}
}

// NewExpiringCounterVec is a counter family whose series are dropped once
// not incremented for idle: for labels that name objects which come and
// go (a request counter's object names), so the family stays bounded by
// the objects in use rather than growing with every object ever seen. A
// series that comes back counts afresh, which rate() and increase() read
// as a counter reset.
func NewExpiringCounterVec(name, help string, labels []string, idle time.Duration) *CounterVec {
	v := &CounterVec{s: newSeries[float64](name, help, "counter", labels)}
	v.s.idle, v.s.now = idle, time.Now
	v.s.lastSweep = v.s.now()
	return v
}

// Counter is one series of a CounterVec.
type Counter struct {
	vec    *CounterVec
	values []string
}

// WithLabelValues is the series of values, in the family's label order.
func (v *CounterVec) WithLabelValues(values ...string) Counter {
	return Counter{vec: v, values: values}
}

// Inc adds one to the series.
func (c Counter) Inc() { c.vec.s.update(c.values, func(n *float64) { *n++ }) }

// DeletePartialMatch drops every series whose labels include match.
func (v *CounterVec) DeletePartialMatch(match prometheus.Labels) int {
	return v.s.deletePartialMatch(match)
}

// Describe implements prometheus.Collector.
func (v *CounterVec) Describe(ch chan<- *prometheus.Desc) { v.s.Describe(ch) }

// Collect implements prometheus.Collector.
func (v *CounterVec) Collect(ch chan<- prometheus.Metric) {
	v.s.collect(ch, func(values []string, n *float64) prometheus.Metric {
		return prometheus.MustNewConstMetric(v.s.desc, prometheus.CounterValue, *n, values...)
	})
}

func (v *CounterVec) snapshot(context.Context) (func(*textWriter), error) {
	rows := snapshotSeries(&v.s, func(n *float64) float64 { return *n })
	return writeSeries(&v.s.fam, rows, func(t *textWriter, values []string, n float64) {
		t.gauge(&v.s.fam, n, values)
	}), nil
}

// HistogramVec is a histogram family with a series per label values.
type HistogramVec struct {
	s       series[histogram]
	buckets []float64
	le      []string // buckets formatted, for the text writer
}

// histogram is one series: observations per bucket (not cumulative; the
// last slot counts those above every bound), their count and sum.
type histogram struct {
	counts []uint64
	count  uint64
	sum    float64
}

// NewHistogramVec is a histogram family named name with the given bucket
// upper bounds (ascending) and labels.
func NewHistogramVec(name, help string, buckets []float64, labels []string) *HistogramVec {
	return &HistogramVec{s: newSeries[histogram](name, help, "histogram", labels), buckets: buckets, le: formatBounds(buckets)}
}

// Histogram is one series of a HistogramVec.
type Histogram struct {
	vec    *HistogramVec
	values []string
}

// WithLabelValues is the series of values, in the family's label order.
func (v *HistogramVec) WithLabelValues(values ...string) Histogram {
	return Histogram{vec: v, values: values}
}

// Observe adds one observation to the series.
func (h Histogram) Observe(x float64) {
	b := h.vec.buckets
	h.vec.s.update(h.values, func(s *histogram) {
		if s.counts == nil {
			s.counts = make([]uint64, len(b)+1)
		}
		i := 0
		for i < len(b) && x > b[i] {
			i++
		}
		s.counts[i]++
		s.count++
		s.sum += x
	})
}

// DeletePartialMatch drops every series whose labels include match.
func (v *HistogramVec) DeletePartialMatch(match prometheus.Labels) int {
	return v.s.deletePartialMatch(match)
}

// Describe implements prometheus.Collector.
func (v *HistogramVec) Describe(ch chan<- *prometheus.Desc) { v.s.Describe(ch) }

// Collect implements prometheus.Collector.
func (v *HistogramVec) Collect(ch chan<- prometheus.Metric) {
	v.s.collect(ch, func(values []string, s *histogram) prometheus.Metric {
		cumulative := make(map[float64]uint64, len(v.buckets))
		var n uint64
		for i, bound := range v.buckets {
			n += s.counts[i]
			cumulative[bound] = n
		}
		return prometheus.MustNewConstHistogram(v.s.desc, s.count, s.sum, cumulative, values...)
	})
}

func (v *HistogramVec) snapshot(context.Context) (func(*textWriter), error) {
	// One array holds every series' counts: one allocation per scrape.
	var counts []uint64
	rows := snapshotSeries(&v.s, func(h *histogram) histogram {
		if counts == nil { // under the lock: the series cannot change
			counts = make([]uint64, 0, len(v.s.byKey)*(len(v.buckets)+1))
		}
		start := len(counts)
		counts = append(counts, h.counts...)
		return histogram{counts: counts[start:len(counts):len(counts)], count: h.count, sum: h.sum}
	})
	return writeSeries(&v.s.fam, rows, func(t *textWriter, values []string, h histogram) {
		t.histogram(&v.s.fam, v.le, h.counts, h.count, h.sum, values)
	}), nil
}
