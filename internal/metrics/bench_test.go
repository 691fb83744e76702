package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// listReader serves prebuilt lists, as the cache does without copying.
type listReader struct {
	client.Reader
	runs v1alpha1.AnalysisRunList
}

func (r listReader) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	if l, ok := list.(*v1alpha1.AnalysisRunList); ok {
		*l = r.runs
	}
	return nil
}

// BenchmarkAnalysisScrape: one scrape of 3,000 AnalysisRuns of one metric
// (1,000 rollouts keeping three each), gathered as the registry does.
func BenchmarkAnalysisScrape(b *testing.B) {
	var r listReader
	for i := range 3000 {
		run := v1alpha1.AnalysisRun{}
		run.Namespace, run.Name = "shop", fmt.Sprintf("web-%d-6d4f-2", i)
		run.Spec.Metrics = []v1alpha1.Metric{{Name: "success-rate", Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{}}}}
		run.Status.Phase = v1alpha1.AnalysisPhaseSuccessful
		run.Status.MetricResults = []v1alpha1.MetricResult{{Name: "success-rate", Phase: v1alpha1.AnalysisPhaseSuccessful}}
		r.runs.Items = append(r.runs.Items, run)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(&AnalysisCollector{Reader: r})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScrape: one text scrape of 1,000 Rollouts' families as the
// bench wave leaves them (the state read from the informer store, a
// reconcile histogram and six event reasons each), served by
// client_golang's handler (the dto tree of every series, then encoded)
// and by the Exposition (streamed).
func BenchmarkScrape(b *testing.B) {
	inf := toolscache.NewSharedIndexInformer(nil, &v1alpha1.Rollout{}, 0, toolscache.Indexers{})
	reconcile := NewHistogramVec("rollout_reconcile", "Rollout reconciliation performance.", []float64{0.01, 0.15, .25, .5, 1}, rolloutLabels)
	events := NewCounterVec("rollout_events_total", "Count of rollout events", append(rolloutLabels, "type", "reason"))
	for i := range 1000 {
		ro := &v1alpha1.Rollout{}
		ro.Namespace, ro.Name = "scale", fmt.Sprintf("web-%04d", i)
		ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
		ro.Status.Replicas, ro.Status.AvailableReplicas, ro.Status.UpdatedReplicas = 3, 3, 3
		if err := inf.GetStore().Add(ro); err != nil {
			b.Fatal(err)
		}
		for range 20 {
			reconcile.WithLabelValues(ro.Namespace, ro.Name).Observe(0.004)
		}
		for _, reason := range []string{"RolloutUpdated", "NewReplicaSetCreated", "ScalingReplicaSet", "RolloutStepCompleted", "RolloutResumed", "RolloutCompleted"} {
			events.WithLabelValues(ro.Namespace, ro.Name, "Normal", reason).Inc()
		}
	}
	reader := storeCache{informers: map[string]toolscache.SharedIndexInformer{"*v1alpha1.Rollout": inf}}
	collectors := []prometheus.Collector{&RolloutCollector{Reader: reader}, reconcile, events}
	all := prometheus.NewRegistry()
	all.MustRegister(collectors...)
	e := NewExposition(prometheus.NewRegistry())
	e.MustRegister(collectors...)
	for _, h := range []struct {
		name    string
		handler http.Handler
	}{
		{"client_golang", promhttp.HandlerFor(all, promhttp.HandlerOpts{})},
		{"streamed", e},
	} {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			var w countingWriter
			for b.Loop() {
				w = countingWriter{header: http.Header{}}
				h.handler.ServeHTTP(&w, req)
			}
			b.ReportMetric(float64(w.n), "body-bytes")
		})
	}
}

// countingWriter is a ResponseWriter that keeps nothing of the body, as
// a connection to the scraper does not: what the benchmark allocates is
// the handler's.
type countingWriter struct {
	header http.Header
	n      int
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(int)     {}
func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// BenchmarkSeriesMemory: the heap a series of rollout_events_total keeps
// (the bench wave leaves about 7 per Rollout), measured across 10,000.
func BenchmarkSeriesMemory(b *testing.B) {
	reasons := []string{"RolloutUpdated", "NewReplicaSetCreated", "ScalingReplicaSet", "RolloutStepCompleted", "RolloutResumed", "RolloutCompleted", "RolloutPaused"}
	var perSeries float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		events := NewCounterVec("rollout_events_total", "Count of rollout events", append(rolloutLabels, "type", "reason"))
		n := 0
		for i := range 10000 / len(reasons) {
			name := fmt.Sprintf("web-%04d", i)
			for _, reason := range reasons {
				events.WithLabelValues("bench-scale-1796654872", name, "Normal", reason).Inc()
				n++
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perSeries = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		runtime.KeepAlive(events)
	}
	b.ReportMetric(perSeries, "B/series")
}
