package analysistest

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/engine"
	"github.com/aviary-rollouts/aviary/internal/analysisrun"
)

func intOrString(n int32) intstr.IntOrString { return intstr.FromInt32(n) }

// printer writes a test's lines as they happen, keeping the first write
// error. Everything it prints comes from the run's spec or from what
// analysisrun.Measurer recorded, which has secret values redacted.
type printer struct {
	w     io.Writer
	err   error
	width int
	// seen are the measurements printed (metric and start), metadata the
	// metrics whose metadata was.
	seen, metadata map[string]bool
}

func (p *printer) printf(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

// header names the template and each metric: its provider, how many
// measurements it takes and how often, and the conditions it is held to.
func (p *printer) header(t *Test, metrics []engine.Metric) {
	p.width = len("METRIC")
	for _, m := range metrics {
		p.width = max(p.width, len(m.Name))
	}
	for name := range t.Skipped {
		p.width = max(p.width, len(name))
	}
	p.printf("Testing %s in namespace %q\n", t.Template, t.Run.Namespace)
	for i, m := range metrics {
		spec := t.Run.Spec.Metrics[i]
		var about []string
		n, _ := m.EffectiveCount()
		count := plural(int(n), "measurement")
		if m.Interval > 0 && n > 1 {
			count += " every " + m.Interval.String()
		}
		about = append(about, count)
		if m.InitialDelay > 0 {
			about = append(about, "after "+m.InitialDelay.String())
		}
		if m.DryRun {
			about = append(about, "dry run")
		}
		if m.SuccessCondition != "" {
			about = append(about, "successCondition "+m.SuccessCondition)
		}
		if m.FailureCondition != "" {
			about = append(about, "failureCondition "+m.FailureCondition)
		}
		p.printf("  %-*s  %s: %s\n", p.width, m.Name, analysisrun.ProviderName(spec), strings.Join(about, ", "))
	}
	names := make([]string, 0, len(t.Skipped))
	for name := range t.Skipped {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p.printf("  %-*s  not measured: %s\n", p.width, name, t.Skipped[name])
	}
	p.printf("\n%-8s  %-*s  %-12s  %s\n", "TIME", p.width, "METRIC", "PHASE", "VALUE AND CONDITION")
}

// measurements prints the completed measurements not printed yet, and a
// metric's metadata (the resolved query) once it has some.
func (p *printer) measurements(metrics []engine.Metric, st *v1alpha1.AnalysisRunStatus) {
	for _, m := range metrics {
		r := engine.Result(st, m.Name)
		if r == nil {
			continue
		}
		if len(r.Metadata) > 0 && !p.metadata[m.Name] {
			p.metadata[m.Name] = true
			keys := make([]string, 0, len(r.Metadata))
			for k := range r.Metadata {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				p.printf("%-8s  %-*s  %s: %s\n", "", p.width, m.Name, k, oneLine(r.Metadata[k]))
			}
		}
		for _, meas := range r.Measurements {
			if !meas.Phase.Completed() {
				continue
			}
			key := m.Name + "@" + stamp(meas).Format(time.RFC3339Nano)
			if p.seen[key] {
				continue
			}
			p.seen[key] = true
			text := engine.Explain(m, meas)
			if meas.Message != "" && meas.Phase != v1alpha1.AnalysisPhaseError && !strings.Contains(text, meas.Message) {
				text += " (" + meas.Message + ")"
			}
			p.printf("%-8s  %-*s  %-12s  %s\n", stamp(meas).Local().Format("15:04:05"), p.width, m.Name, meas.Phase, oneLine(text))
		}
	}
}

// verdict prints each metric's verdict and the run's, and returns the exit
// code: pass only when the run is Successful with a successful
// measurement of every metric that decides it, and nothing was left
// unmeasured.
func (p *printer) verdict(metrics []engine.Metric, st *v1alpha1.AnalysisRunStatus, skipped map[string]string) int {
	p.printf("\n")
	for _, m := range metrics {
		r := engine.Result(st, m.Name)
		switch {
		case r == nil:
			p.printf("%-*s  %s\n", p.width, m.Name, "not measured")
		case r.Message != "":
			// The verdict's message names the metric: said once.
			p.printf("%-*s  %s: %s\n", p.width, m.Name, r.Phase, oneLine(strings.TrimPrefix(r.Message, m.Name+": ")))
		default:
			p.printf("%-*s  %s\n", p.width, m.Name, r.Phase)
		}
	}
	code, would := ExitUndecided, ""
	switch {
	case st.Phase == v1alpha1.AnalysisPhaseSuccessful && engine.Passed(*st) && len(skipped) == 0:
		code, would = ExitPass, "the run would pass"
	case st.Phase == v1alpha1.AnalysisPhaseSuccessful && engine.Passed(*st):
		would = fmt.Sprintf("the measured metrics pass, but %s not measured: no verdict for the run", plural(len(skipped), "metric was"))
	case st.Phase == v1alpha1.AnalysisPhaseSuccessful:
		would = "no metric took a successful measurement: the run would not pass"
	case st.Phase == v1alpha1.AnalysisPhaseFailed:
		code, would = ExitFail, "the run would fail"
	case st.Phase == v1alpha1.AnalysisPhaseInconclusive:
		would = "the run would be inconclusive: a rollout would pause for a person to decide"
	case st.Phase == v1alpha1.AnalysisPhaseError:
		would = "the run would end in Error: a rollout would abort"
	default:
		would = "the run did not complete"
	}
	msg := ""
	if st.Message != "" {
		msg = ": " + oneLine(st.Message)
	}
	p.printf("\nRun %s%s\n%s (exit %d)\n", st.Phase, msg, upper(would), code)
	return code
}

func stamp(m v1alpha1.Measurement) time.Time {
	switch {
	case m.FinishedAt != nil:
		return m.FinishedAt.Time
	case m.StartedAt != nil:
		return m.StartedAt.Time
	}
	return time.Time{}
}

func plural(n int, what string) string {
	word, rest, _ := strings.Cut(what, " ")
	if n != 1 {
		word += "s"
		if rest == "was" {
			rest = "were"
		}
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s %s", n, word, rest))
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// oneLine keeps a measurement's value or message on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
