package analysisrun

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
	"github.com/aviary-rollouts/aviary/internal/logging"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
)

// Measurer takes a run's measurements through the metric providers: what a
// reconcile does between reading a run and recording its status. The
// controller and `kubectl argo rollouts analysis test` share it, so a
// template measured from a user's machine is measured, redacted and judged
// exactly as the controller would.
type Measurer struct {
	// Secrets reads secretKeyRef arguments straight from the API server.
	Secrets client.Reader
	// Providers by the name ProviderName gives.
	Providers map[string]metricprovider.Provider
	Now       func() time.Time
	// Log receives what does not stop measuring (a provider's garbage
	// collection failing); nil discards it.
	Log *slog.Logger
}

// Step brings st up to date at Now: it resolves the run's arguments
// (Secrets read now, never stored), takes the measurements that are due
// through the providers, records them with every secret value redacted,
// and assesses the run. It returns the metrics as the engine reads them
// (for engine.Next) and the phase changes Assess made. A run that cannot
// be measured (a bad spec, a missing Secret) ends Error with the reason,
// and the error says so: measuring with a wrong query must never pass.
func (m *Measurer) Step(ctx context.Context, run *v1alpha1.AnalysisRun, st *v1alpha1.AnalysisRunStatus) ([]engine.Metric, []engine.Transition, error) {
	now := m.Now()
	resolved, secrets, err := m.resolve(ctx, run)
	if err != nil {
		finishInvalid(st, err.Error(), now)
		return nil, nil, err
	}
	for _, task := range engine.Due(resolved.metrics, run.Spec.Terminate, st, now) {
		spec := resolved.specs[task.Metric]
		meas := m.measure(ctx, run, spec, task, st)
		redact(&meas, secrets)
		eng := resolved.byName[task.Metric]
		if dropped := engine.Record(st, eng, task.Action, meas, now); dropped > 0 {
			if p := m.provider(spec); p != nil {
				keep := eng.Retention
				if keep == 0 {
					keep = 10
				}
				if err := p.GarbageCollect(ctx, run, spec, keep); err != nil {
					runLogger(m.Log, run.Namespace, run.Name).WarnContext(ctx, "garbage-collect measurements", "metric", task.Metric, "error", err)
				}
			}
		}
		if p := m.provider(spec); p != nil {
			if md := p.Metadata(spec); len(md) > 0 {
				res := engine.Result(st, task.Metric)
				res.Metadata = map[string]string{}
				for k, v := range md {
					res.Metadata[k] = redactString(v, secrets)
				}
			}
		}
	}
	return resolved.metrics, engine.Assess(resolved.metrics, run.Spec.Terminate, st, now), nil
}

// measure runs one task through the metric's provider; a metric whose
// provider this build lacks errors (never passes).
func (m *Measurer) measure(ctx context.Context, run *v1alpha1.AnalysisRun, spec v1alpha1.Metric, task engine.Task, st *v1alpha1.AnalysisRunStatus) v1alpha1.Measurement {
	p := m.provider(spec)
	if p == nil {
		return errorMeasurement(m.Now(), fmt.Sprintf("metric %q uses provider %s, which this Aviary build does not support", spec.Name, providerName(spec)))
	}
	switch task.Action {
	case engine.Resume, engine.Terminate:
		res := engine.Result(st, task.Metric)
		if res == nil || len(res.Measurements) == 0 {
			return errorMeasurement(m.Now(), "no measurement in flight to "+strings.ToLower(string(task.Action)))
		}
		last := res.Measurements[len(res.Measurements)-1]
		if task.Action == engine.Resume {
			return p.Resume(ctx, run, spec, last)
		}
		return p.Terminate(ctx, run, spec, last)
	}
	return p.Run(ctx, run, spec)
}

func (m *Measurer) provider(spec v1alpha1.Metric) metricprovider.Provider {
	return m.Providers[providerName(spec)]
}

// ProviderName names a metric's provider as the Providers map keys it
// ("none" without one).
func ProviderName(spec v1alpha1.Metric) string { return providerName(spec) }

// finishInvalid ends a run that cannot be measured with Error and the
// reason.
func finishInvalid(st *v1alpha1.AnalysisRunStatus, msg string, now time.Time) {
	engine.Start(st, now)
	st.Phase, st.Message = v1alpha1.AnalysisPhaseError, msg
	done := metaTime(now)
	st.CompletedAt = &done
}

// runLogger is log naming the AnalysisRun namespace/name under Argo
// Rollouts' keys, or a logger that discards when log is nil (tests).
func runLogger(log *slog.Logger, namespace, name string) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log.With(logging.KeyNamespace, namespace, logging.KeyAnalysisRun, name)
}
