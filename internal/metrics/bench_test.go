package metrics

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
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
