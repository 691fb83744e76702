package analysisrun

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
)

// resolved is a run's metrics with their arguments substituted: as the
// providers take them (specs) and as the engine decides from them.
type resolved struct {
	metrics []engine.Metric
	byName  map[string]engine.Metric
	specs   map[string]v1alpha1.Metric
}

// resolve substitutes the run's arguments into its metrics, reading
// secretKeyRef arguments now (they are never written anywhere), and returns
// the secret values used so they can be redacted from what is recorded.
func (m *Measurer) resolve(ctx context.Context, run *v1alpha1.AnalysisRun) (*resolved, []string, error) {
	// Errors name the Secret; templates.ResolveMetric adds the argument.
	readSecret := func(a v1alpha1.Argument) (string, error) {
		if a.ValueFrom == nil || a.ValueFrom.SecretKeyRef == nil {
			return templates.WithoutSecrets(a)
		}
		ref := a.ValueFrom.SecretKeyRef
		var s corev1.Secret
		if err := m.Secrets.Get(ctx, types.NamespacedName{Namespace: run.Namespace, Name: ref.Name}, &s); err != nil {
			return "", fmt.Errorf("read Secret %s/%s: %w", run.Namespace, ref.Name, err)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			return "", fmt.Errorf("no key %q in Secret %s/%s", ref.Key, run.Namespace, ref.Name)
		}
		return string(v), nil
	}
	out := &resolved{byName: map[string]engine.Metric{}, specs: map[string]v1alpha1.Metric{}}
	var secrets []string
	for _, m := range run.Spec.Metrics {
		spec, used, err := templates.ResolveMetric(m, run.Spec.Args, readSecret)
		secrets = append(secrets, used...)
		if err != nil {
			return nil, secrets, fmt.Errorf("metric %q: %w", m.Name, err)
		}
		em, err := templates.Parse(spec)
		if err != nil {
			return nil, secrets, fmt.Errorf("metric %q: %w", m.Name, err)
		}
		out.metrics = append(out.metrics, em)
		out.specs[m.Name] = spec
	}
	if err := engine.ApplyRules(out.metrics, run.Spec.DryRun, run.Spec.MeasurementRetention); err != nil {
		return nil, secrets, err
	}
	for _, m := range out.metrics {
		out.byName[m.Name] = m
	}
	return out, secrets, nil
}

// redact hides secret values in what a measurement records.
func redact(m *v1alpha1.Measurement, secrets []string) {
	if len(secrets) == 0 {
		return
	}
	m.Value = redactString(m.Value, secrets)
	m.Message = redactString(m.Message, secrets)
	for k, v := range m.Metadata {
		m.Metadata[k] = redactString(v, secrets)
	}
}

func redactString(s string, secrets []string) string { return templates.Redact(s, secrets) }

func errorMeasurement(now time.Time, msg string) v1alpha1.Measurement {
	t := metaTime(now)
	return v1alpha1.Measurement{Phase: v1alpha1.AnalysisPhaseError, Message: msg, StartedAt: &t, FinishedAt: &t}
}

func metaTime(t time.Time) metav1.Time { return metav1.NewTime(t) }
