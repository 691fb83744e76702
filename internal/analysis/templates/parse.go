package templates

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
)

// Parse reads a metric whose args are already substituted into the
// engine's form: durations parsed and IntOrString fields read as integers
// (a string must be a decimal integer, such as a substituted "{{args.count}}";
// IntOrString's own reading would turn "five" or "5%" into 0 silently).
// Omitted fields take the reference's defaults: failureLimit and
// inconclusiveLimit 0, consecutiveErrorLimit 4, consecutiveSuccessLimit 0.
// It also rejects what the engine cannot act on, with the reference's
// rules: negative limits (failureLimit may be -1, but not while
// consecutiveSuccessLimit is 0), a count below the limits it must leave
// room for, count > 1 without an interval, and a non-positive interval.
func Parse(m v1alpha1.Metric) (engine.Metric, error) {
	out := engine.Metric{Name: m.Name, SuccessCondition: m.SuccessCondition, FailureCondition: m.FailureCondition}
	fail := func(format string, a ...any) (engine.Metric, error) {
		return engine.Metric{}, fmt.Errorf("metric %q: %s", m.Name, fmt.Sprintf(format, a...))
	}
	var err error
	if out.Interval, err = duration(m.Interval); err != nil {
		return fail("interval: %v", err)
	}
	if m.Interval != "" && out.Interval <= 0 {
		return fail("interval %q must be positive", m.Interval)
	}
	if out.InitialDelay, err = duration(m.InitialDelay); err != nil {
		return fail("initialDelay: %v", err)
	}
	var errs []error
	read := func(field string, v *intstr.IntOrString, def int32) int32 {
		n, err := integer(field, v, def)
		errs = append(errs, err)
		return n
	}
	count := read("count", m.Count, 0)
	out.FailureLimit = read("failureLimit", m.FailureLimit, 0)
	out.InconclusiveLimit = read("inconclusiveLimit", m.InconclusiveLimit, 0)
	errorLimit := read("consecutiveErrorLimit", m.ConsecutiveErrorLimit, v1alpha1.DefaultConsecutiveErrorLimit)
	out.ConsecutiveSuccessLimit = read("consecutiveSuccessLimit", m.ConsecutiveSuccessLimit, 0)
	if err := errors.Join(errs...); err != nil {
		return fail("%v", err)
	}
	if m.Count != nil {
		out.Count = &count
	}
	out.ConsecutiveErrorLimit = &errorLimit

	switch {
	case count < 0:
		return fail("count must be >= 0 (got %d)", count)
	case out.FailureLimit < -1:
		return fail("failureLimit must be >= 0, or -1 to disable it (got %d)", out.FailureLimit)
	case out.InconclusiveLimit < 0:
		return fail("inconclusiveLimit must be >= 0 (got %d)", out.InconclusiveLimit)
	case errorLimit < 0:
		return fail("consecutiveErrorLimit must be >= 0 (got %d)", errorLimit)
	case out.ConsecutiveSuccessLimit < 0:
		return fail("consecutiveSuccessLimit must be >= 0 (got %d)", out.ConsecutiveSuccessLimit)
	case out.FailureLimit == -1 && out.ConsecutiveSuccessLimit == 0:
		return fail("failureLimit -1 disables failures, so consecutiveSuccessLimit must be > 0 for the metric to be able to end")
	case count > 1 && m.Interval == "":
		return fail("count %d needs an interval between measurements", count)
	}
	if count > 0 {
		// Summed in 64 bits: two limits near 2^31 would wrap to a negative
		// need and let any count through.
		need := int64(out.ConsecutiveSuccessLimit) + int64(max(out.FailureLimit, 0))
		if int64(count) < need {
			return fail("count %d must be >= failureLimit + consecutiveSuccessLimit (%d)", count, need)
		}
		if count < out.InconclusiveLimit {
			return fail("count %d must be >= inconclusiveLimit %d", count, out.InconclusiveLimit)
		}
	}
	return out, nil
}

func duration(d v1alpha1.DurationString) (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	return d.Duration()
}

// integer reads an IntOrString field, or def when it is omitted.
func integer(field string, v *intstr.IntOrString, def int32) (int32, error) {
	switch {
	case v == nil:
		return def, nil
	case v.Type == intstr.Int:
		return v.IntVal, nil
	}
	n, err := strconv.ParseInt(v.StrVal, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not an integer", field, v.StrVal)
	}
	return int32(n), nil
}

// RunMetrics prepares a run's metrics for the engine: args substituted
// without reading secrets (WithoutSecrets), each metric parsed, and the
// run's dryRun and measurementRetention rules applied. The controller calls
// it on every reconcile; an error means the run's spec can never run, and
// the run should end in Error with the message.
func RunMetrics(spec v1alpha1.AnalysisRunSpec) ([]engine.Metric, error) {
	if len(spec.Metrics) == 0 {
		return nil, errors.New("no metrics specified")
	}
	metrics := make([]engine.Metric, 0, len(spec.Metrics))
	seen := map[string]bool{}
	for i, m := range spec.Metrics {
		if seen[m.Name] {
			return nil, fmt.Errorf("metrics[%d]: metric name %q is used twice", i, m.Name)
		}
		seen[m.Name] = true
		resolved, _, err := ResolveMetric(m, spec.Args, WithoutSecrets)
		if err != nil {
			return nil, fmt.Errorf("metrics[%d] %q: %w", i, m.Name, err)
		}
		parsed, err := Parse(resolved)
		if err != nil {
			return nil, err
		}
		metrics = append(metrics, parsed)
	}
	if err := engine.ApplyRules(metrics, spec.DryRun, spec.MeasurementRetention); err != nil {
		return nil, err
	}
	return metrics, nil
}
