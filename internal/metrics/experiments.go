package metrics

import (
	"context"

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

	experimentInfoFamily  = newGauge("experiment_info", "Information about Experiment.", "namespace", "name", "phase")
	experimentPhaseFamily = newGauge("experiment_phase", "Information on the state of the experiment (DEPRECATED - use experiment_info)",
		"namespace", "name", "phase")
)

// experimentPhases are the phases experiment_phase has a series for, as
// in Argo Rollouts: no Failed (an Experiment that failed shows in
// experiment_info only); no phase yet counts as Pending.
var experimentPhases = []v1alpha1.AnalysisPhase{
	v1alpha1.AnalysisPhasePending, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseSuccessful,
	v1alpha1.AnalysisPhaseRunning, v1alpha1.AnalysisPhaseInconclusive,
}

// RegisterExperiments adds the Experiment reconcile metrics to reg.
func RegisterExperiments(reg prometheus.Registerer) {
	reg.MustRegister(ExperimentReconcile, ExperimentReconcileError)
}

// ForgetExperiment drops a deleted Experiment's reconcile series (see
// forget).
func ForgetExperiment(namespace, name string) {
	forget(namespace, name, ExperimentReconcile, ExperimentReconcileError)
}

// ExperimentCollector reports experiment_info (1 with the phase) and
// experiment_phase (1 for the current phase, 0 for the others) for every
// Experiment the reader (the manager's cache) holds.
type ExperimentCollector struct {
	Reader client.Reader
}

// Describe implements prometheus.Collector.
func (c *ExperimentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- experimentInfoFamily.desc
	ch <- experimentPhaseFamily.desc
}

// Collect implements prometheus.Collector.
func (c *ExperimentCollector) Collect(ch chan<- prometheus.Metric) {
	collectState(ch, experimentInfoFamily, c.rows, emitExperiments)
}

func (c *ExperimentCollector) snapshot(ctx context.Context) (func(*textWriter), error) {
	return snapshotState(ctx, "experiments", c.rows, emitExperiments)
}

func (c *ExperimentCollector) rows(ctx context.Context) ([]*v1alpha1.Experiment, error) {
	var rows []*v1alpha1.Experiment
	err := eachCached(ctx, c.Reader, &v1alpha1.ExperimentList{}, func(ex *v1alpha1.Experiment) { rows = append(rows, ex) })
	return rows, err
}

func emitExperiments(rows []*v1alpha1.Experiment, e *emitter) {
	for _, ex := range rows {
		e.gauge(experimentInfoFamily, 1, ex.Namespace, ex.Name, string(ex.Status.Phase))
	}
	for _, ex := range rows {
		for _, ph := range experimentPhases {
			e.gauge(experimentPhaseFamily, boolValue(phaseIs(ex.Status.Phase, ph)), ex.Namespace, ex.Name, string(ph))
		}
	}
}
