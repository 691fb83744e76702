package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var (
	// ExperimentReconcile is experiment_reconcile: how long each reconcile
	// of an Experiment took, in seconds (Argo Rollouts' name and buckets).
	ExperimentReconcile = NewHistogramVec("experiment_reconcile", "Experiments reconciliation performance.",
		[]float64{0.01, 0.15, .25, .5, 1}, rolloutLabels)
	// ExperimentReconcileError is experiment_reconcile_error: reconciles
	// of an Experiment that returned an error.
	ExperimentReconcileError = NewCounterVec("experiment_reconcile_error", "Error occurring during the experiment", rolloutLabels)

	experimentInfoDesc = prometheus.NewDesc("experiment_info", "Information about Experiment.",
		[]string{"namespace", "name", "phase"}, nil)
	experimentPhaseDesc = prometheus.NewDesc("experiment_phase",
		"Information on the state of the experiment (DEPRECATED - use experiment_info)", []string{"namespace", "name", "phase"}, nil)
)

// experimentPhases are the phases experiment_phase has a series for.
var experimentPhases = []v1alpha1.AnalysisPhase{
	v1alpha1.AnalysisPhasePending, v1alpha1.AnalysisPhaseRunning, v1alpha1.AnalysisPhaseSuccessful,
	v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive,
}

// RegisterExperiments adds the Experiment reconcile metrics to reg.
func RegisterExperiments(reg prometheus.Registerer) {
	reg.MustRegister(ExperimentReconcile, ExperimentReconcileError)
}

// ForgetExperiment drops a deleted Experiment's reconcile series.
func ForgetExperiment(namespace, name string) {
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	ExperimentReconcile.DeletePartialMatch(labels)
	ExperimentReconcileError.DeletePartialMatch(labels)
}

// ExperimentCollector reports experiment_info (1 with the phase) and
// experiment_phase (1 for the current phase, 0 for the others) for every
// Experiment the reader (the manager's cache) holds.
type ExperimentCollector struct {
	Reader client.Reader
}

// Describe implements prometheus.Collector.
func (c *ExperimentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- experimentInfoDesc
	ch <- experimentPhaseDesc
}

// Collect implements prometheus.Collector.
func (c *ExperimentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list v1alpha1.ExperimentList
	// Read only: the cache's own objects, not a copy of every one per scrape.
	if err := c.Reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(experimentInfoDesc, err)
		return
	}
	for i := range list.Items {
		ex := &list.Items[i]
		ch <- prometheus.MustNewConstMetric(experimentInfoDesc, prometheus.GaugeValue, 1, ex.Namespace, ex.Name, string(ex.Status.Phase))
		for _, ph := range experimentPhases {
			v := 0.0
			if ex.Status.Phase == ph {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(experimentPhaseDesc, prometheus.GaugeValue, v, ex.Namespace, ex.Name, string(ph))
		}
	}
}
