// Package analysistest is `kubectl argo rollouts analysis test`: it takes
// an AnalysisRun built from a template, as the controller builds runs, and
// measures it from the user's machine with the controller's own code — the
// providers (internal/metricprovider/builtin), the measuring step of a
// reconcile (analysisrun.Measurer: Secrets read live, values redacted) and
// the engine's schedule and verdict (internal/analysis/engine, so
// failureLimit, consecutiveErrorLimit and inconclusiveLimit apply as in a
// real run). It prints each measurement as it is taken and the verdict the
// run would reach.
package analysistest

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/analysisrun"
)

// Exit codes: the run would pass, would fail, or neither (an error, an
// inconclusive run, a metric that could not be measured).
const (
	ExitPass      = 0
	ExitFail      = 1
	ExitUndecided = 2
)

// Skip explains why a metric of a provider is not measured from a user's
// machine: Job metrics create Jobs in the cluster, owned by their run so
// the controller can clean them up, and metric plugins are binaries the
// controller downloads and runs beside itself. Neither is for a laptop.
var Skip = map[string]string{
	"job":    "Job metrics create Jobs in the cluster, owned by their AnalysisRun; test them with `kubectl argo rollouts create analysisrun`",
	"plugin": "metric plugins run as processes of the controller; test them with `kubectl argo rollouts create analysisrun`",
}

// Overrides change what a run measures for a test.
type Overrides struct {
	// Count, when > 0, is every metric's count.
	Count int
	// Interval, when > 0, is every metric's interval.
	Interval time.Duration
}

// Prepare readies the run for a test: the metrics whose providers are in
// Skip leave it (their dryRun and measurementRetention rules with them),
// the overrides apply, and a metric that would measure until its run ends
// (an interval and no count) measures the fewest times its limits allow
// (failureLimit + consecutiveSuccessLimit, inconclusiveLimit, at least 1):
// a test has no rollout to end it. It returns why each metric left, and an
// error naming the field and the fix when the result cannot run.
func Prepare(run *v1alpha1.AnalysisRun, o Overrides) (skipped map[string]string, err error) {
	spec := &run.Spec
	skipped = map[string]string{}
	var kept []v1alpha1.Metric
	for _, m := range spec.Metrics {
		if why, ok := Skip[analysisrun.ProviderName(m)]; ok {
			skipped[m.Name] = why
			continue
		}
		kept = append(kept, m)
	}
	if len(kept) == 0 {
		return skipped, fmt.Errorf("no metric can be measured from here: %s", strings.Join(reasons(skipped), "; "))
	}
	spec.DryRun = keepRules(spec.DryRun, spec.Metrics, kept, func(r v1alpha1.DryRun) string { return r.MetricName })
	spec.MeasurementRetention = keepRules(spec.MeasurementRetention, spec.Metrics, kept, func(r v1alpha1.MeasurementRetention) string { return r.MetricName })
	spec.Metrics = kept
	for i := range spec.Metrics {
		m := &spec.Metrics[i]
		if o.Interval > 0 {
			m.Interval = v1alpha1.DurationString(o.Interval.String())
		}
		if o.Count > 0 {
			n := intOrString(int32(o.Count))
			m.Count = &n
		}
	}
	parsed, err := templates.RunMetrics(*spec)
	if err != nil {
		return skipped, fmt.Errorf("%w (--count and --interval set every metric's)", err)
	}
	for i, pm := range parsed {
		if _, bounded := pm.EffectiveCount(); bounded {
			continue
		}
		need := max(1, pm.ConsecutiveSuccessLimit+max(pm.FailureLimit, 0), pm.InconclusiveLimit)
		n := intOrString(need)
		spec.Metrics[i].Count = &n
	}
	return skipped, nil
}

// keepRules drops the rules that selected a metric before the skipped
// ones left and select none after: they were about those. A rule that
// selected nothing to begin with stays, so the run refuses it as the
// controller would.
func keepRules[T any](rules []T, before, after []v1alpha1.Metric, name func(T) string) []T {
	var out []T
	for _, r := range rules {
		re, err := regexp.Compile(name(r))
		if err != nil || selects(re, after) || !selects(re, before) {
			out = append(out, r)
		}
	}
	return out
}

func selects(re *regexp.Regexp, metrics []v1alpha1.Metric) bool {
	return slices.ContainsFunc(metrics, func(m v1alpha1.Metric) bool { return re.MatchString(m.Name) })
}

func reasons(skipped map[string]string) []string {
	var out []string
	for name, why := range skipped {
		out = append(out, fmt.Sprintf("metric %q: %s", name, why))
	}
	slices.Sort(out)
	return out
}

// Test is one test of a run that Prepare readied.
type Test struct {
	Run      *v1alpha1.AnalysisRun
	Measurer *analysisrun.Measurer
	// Skipped are the metrics Prepare took out, and why.
	Skipped map[string]string
	// Template names what the run was built from, for the header.
	Template string
	Out      io.Writer
	// Sleep waits d or until ctx ends; nil sleeps on the real clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Do measures the run until it completes and returns the exit code of its
// verdict. When ctx ends first, measurements in flight are terminated and
// the code is ExitUndecided. An error is returned only when the output
// cannot be written.
func (t *Test) Do(ctx context.Context) (int, error) {
	p := &printer{w: t.Out, seen: map[string]bool{}, metadata: map[string]bool{}}
	metrics, err := templates.RunMetrics(t.Run.Spec)
	if err != nil {
		p.printf("Error: %v\n", err)
		return ExitUndecided, p.err
	}
	p.header(t, metrics)
	st := &v1alpha1.AnalysisRunStatus{}
	for {
		if ctx.Err() != nil {
			// Interrupted: terminate what is in flight (a Kayenta
			// execution), as a terminated run would, and stop.
			t.Run.Spec.Terminate = true
			_, _, _ = t.Measurer.Step(context.WithoutCancel(ctx), t.Run, st)
			p.measurements(metrics, st)
			p.printf("\nInterrupted: no verdict (%d of the run's measurements taken)\n", taken(st))
			return ExitUndecided, p.err
		}
		_, _, stepErr := t.Measurer.Step(ctx, t.Run, st)
		p.measurements(metrics, st)
		if stepErr != nil || st.Phase.Completed() {
			break
		}
		wait := time.Second // an in-flight measurement that reports by event
		if next, ok := engine.Next(metrics, t.Run.Spec.Terminate, st, t.Measurer.Now()); ok {
			wait = next.Sub(t.Measurer.Now())
		}
		if wait > 0 {
			_ = t.sleep(ctx, wait)
		}
	}
	return p.verdict(metrics, st, t.Skipped), p.err
}

func (t *Test) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func taken(st *v1alpha1.AnalysisRunStatus) int {
	n := 0
	for _, r := range st.MetricResults {
		n += int(r.Count + r.Error)
	}
	return n
}
