package demo

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/analysis/templates"
	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
	"github.com/aviary-rollouts/aviary/internal/localprom"
)

// redrawEvery bounds how often the live screen is redrawn.
const redrawEvery = 500 * time.Millisecond

// display shows a path while it plays: live, the `get rollout --watch`
// tree with the measured success rate beside it; otherwise one line per
// change of step, weight, phase or measurement.
type display struct {
	out       io.Writer
	live      bool
	c         client.Reader
	ns        string
	prom      *localprom.Server
	dashboard string

	mu      sync.Mutex
	query   string
	title   string
	started time.Time
	drawn   time.Time
	line    string
	rates   []float64
}

func newDisplay(out io.Writer, live bool, c client.Reader, ns string, prom *localprom.Server, dashboard string) *display {
	return &display{out: out, live: live, c: c, ns: ns, prom: prom, dashboard: dashboard}
}

// useQuery reads the success-rate query from the AnalysisTemplate, with
// the rollout's argument, so the display measures what the analysis does.
func (d *display) useQuery(ctx context.Context) {
	var t v1alpha1.AnalysisTemplate
	if err := d.c.Get(ctx, client.ObjectKey{Namespace: d.ns, Name: MetricName}, &t); err != nil || len(t.Spec.Metrics) == 0 {
		return
	}
	arg := RolloutName
	m, _, err := templates.ResolveMetric(t.Spec.Metrics[0], []v1alpha1.Argument{{Name: "ingress", Value: &arg}}, templates.WithoutSecrets)
	if err != nil || m.Provider.Prometheus == nil {
		return
	}
	d.mu.Lock()
	d.query = m.Provider.Prometheus.Query
	d.mu.Unlock()
}

func (d *display) begin(title string) {
	d.mu.Lock()
	d.title, d.started, d.line, d.rates = title, time.Now(), "", nil
	d.mu.Unlock()
	if !d.live {
		fmt.Fprintf(d.out, "\n■ %s\n", title)
	}
}

func (d *display) end() {
	if d.live {
		fmt.Fprint(d.out, "\n")
	}
}

// successRate is what Prometheus measures now, -1 when it has no sample
// (no traffic yet, or a query error).
func (d *display) successRate() float64 {
	d.mu.Lock()
	q := d.query
	d.mu.Unlock()
	if q == "" {
		return -1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := d.prom.Query(ctx, q)
	if err != nil || len(v) == 0 || v[0] != v[0] { // NaN: no requests in the window
		return -1
	}
	return v[0]
}

// observe is the scenario's Watch: called on every poll.
func (d *display) observe(sn Snapshot) {
	d.mu.Lock()
	// Nothing is shown while the seed is applied, before the first path.
	due := !d.started.IsZero() && time.Since(d.drawn) >= redrawEvery
	if due {
		d.drawn = time.Now()
	}
	d.mu.Unlock()
	if !due {
		return
	}
	rate := d.successRate()
	d.mu.Lock()
	if rate >= 0 {
		d.rates = append(d.rates, rate)
		if len(d.rates) > 40 {
			d.rates = d.rates[len(d.rates)-40:]
		}
	}
	d.mu.Unlock()
	if d.live {
		d.redraw(sn, rate)
		return
	}
	line := d.progressLine(sn, rate)
	// The rate moves on every poll; a line is printed when anything else
	// changes.
	key := line[strings.Index(line, "]")+1 : strings.LastIndex(line, "success rate")]
	d.mu.Lock()
	changed := key != d.line
	d.line = key
	d.mu.Unlock()
	if changed {
		fmt.Fprintln(d.out, line)
	}
}

func (d *display) progressLine(sn Snapshot, rate float64) string {
	ro := sn.Rollout
	run := runOf(sn)
	runText := "no analysis yet"
	if run != nil {
		ok, bad := int32(0), int32(0)
		for _, m := range run.Status.MetricResults {
			ok, bad = ok+m.Successful, bad+m.Failed
		}
		phase := run.Status.Phase
		if phase == "" {
			phase = v1alpha1.AnalysisPhasePending
		}
		runText = fmt.Sprintf("analysis %s ✔ %d ✖ %d", phase, ok, bad)
	}
	weight := sn.Weight
	if weight != "none" {
		weight += "%"
	}
	return fmt.Sprintf("[%s] %-11s step %-4s canary weight %-4s %s; success rate %s",
		elapsed(d.started), ro.Status.Phase, step(ro), weight, runText, rateText(rate))
}

func rateText(r float64) string {
	if r < 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*r)
}

func elapsed(since time.Time) string {
	d := time.Since(since).Round(time.Second)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// redraw writes the whole screen at once: the tree on the left, the
// success rate and the measurements on the right.
func (d *display) redraw(sn Snapshot, rate float64) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var left strings.Builder
	if v, err := tree.GatherRollout(ctx, d.c, d.ns, RolloutName); err == nil {
		_ = tree.Printer{Color: true, Now: time.Now()}.Rollout(&left, v)
	}
	d.mu.Lock()
	right := d.panel(sn, rate)
	title := d.title
	started := d.started
	d.mu.Unlock()
	var b strings.Builder
	b.WriteString(tree.ClearScreen)
	fmt.Fprintf(&b, "\x1b[1m%s\x1b[0m   %s   dashboard: %s\n\n", title, elapsed(started), d.dashboard)
	b.WriteString(sideBySide(strings.Split(strings.TrimRight(left.String(), "\n"), "\n"), right, 2))
	fmt.Fprint(d.out, b.String())
}

// panel is the right-hand column; d.mu is held.
func (d *display) panel(sn Snapshot, rate float64) []string {
	lines := []string{
		"│ Success rate (Prometheus, the analysis query)",
		"│ now: " + rateText(rate) + "   pass: > 90%",
		"│ " + sparkline(d.rates),
		"│",
	}
	run := runOf(sn)
	if run == nil {
		return append(lines, "│ background analysis: not started (starts at 40%)")
	}
	lines = append(lines, fmt.Sprintf("│ analysis %s: %s", run.Name, orPending(run.Status.Phase)))
	for _, m := range run.Status.MetricResults {
		lines = append(lines, fmt.Sprintf("│ %s: ✔ %d  ✖ %d  errors %d", m.Name, m.Successful, m.Failed, m.Error))
		ms := m.Measurements
		if len(ms) > 8 {
			ms = ms[len(ms)-8:]
		}
		for _, x := range ms {
			icon := tree.AnalysisIcon(string(x.Phase))
			at := ""
			if x.FinishedAt != nil {
				at = x.FinishedAt.Time.Local().Format("15:04:05")
			}
			lines = append(lines, fmt.Sprintf("│  %s %s %s", icon, at, measurementText(x)))
		}
	}
	if run.Status.Message != "" {
		lines = append(lines, "│ "+run.Status.Message)
	}
	return lines
}

func orPending(p v1alpha1.AnalysisPhase) string {
	if p == "" {
		return string(v1alpha1.AnalysisPhasePending)
	}
	return string(p)
}

func measurementText(m v1alpha1.Measurement) string {
	if m.Value != "" {
		return m.Value
	}
	return m.Message
}

// sparkline draws rates (0–1) as block characters.
func sparkline(rates []float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	var b strings.Builder
	for _, r := range rates {
		i := int(r * float64(utf8.RuneCountInString(bars)-1))
		i = max(0, min(i, 7))
		b.WriteRune([]rune(bars)[i])
	}
	return b.String()
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// width is the number of columns s takes (colour codes take none).
func width(s string) int { return utf8.RuneCountInString(ansi.ReplaceAllString(s, "")) }

// sideBySide puts right beside left, gap columns after the widest left line.
func sideBySide(left, right []string, gap int) string {
	w := 0
	for _, l := range left {
		w = max(w, width(l))
	}
	var b strings.Builder
	for i := range max(len(left), len(right)) {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		b.WriteString(l)
		if r != "" {
			b.WriteString(strings.Repeat(" ", w-width(l)+gap))
			b.WriteString(r)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// resultLine is one line on a path's outcome.
func resultLine(r Result) string {
	mark := "✔"
	if !r.OK() {
		mark = "✖"
	}
	return fmt.Sprintf("%s %s path: %s %q in %s; run %s %s",
		mark, r.Path, r.Phase, r.Message, r.Duration.Round(time.Second), r.Run.Name, r.Run.Phase)
}

// printSummary prints each path's outcome, duration and measurements, and
// what went wrong if anything did.
func printSummary(w io.Writer, s Summary) {
	fmt.Fprintf(w, "\n══ Summary (%s) ══\n", s.Duration.Round(time.Second))
	for _, r := range s.Results {
		fmt.Fprintf(w, "\n%s path — %s (%s)\n", r.Path, verdict(r), r.Duration.Round(time.Second))
		fmt.Fprintf(w, "  released:        %s\n", r.Image)
		fmt.Fprintf(w, "  rollout:         %s", r.Phase)
		if r.Message != "" {
			fmt.Fprintf(w, " — %s", r.Message)
		}
		fmt.Fprintf(w, "\n  stable serves:   %s\n", r.StableImage)
		fmt.Fprintf(w, "  set weight:      %s\n", strings.Join(r.SetWeights, " → "))
		fmt.Fprintf(w, "  canary Ingress:  %s (canary-weight seen)\n", strings.Join(r.Weights, " → "))
		fmt.Fprintf(w, "  analysis run:    %s %s (✔ %d ✖ %d errors %d), started at weight %s%%\n", r.Run.Name, r.Run.Phase, r.Run.Successful, r.Run.Failed, r.Run.Error, r.WeightAtRun)
		fmt.Fprintf(w, "  measurements:    %s\n", strings.Join(r.Run.Measurements, " "))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  ✖ %s\n", p)
		}
	}
	if s.OK() {
		fmt.Fprintln(w, "\nBoth paths ended as they must: green was promoted; yellow was rolled back by its failing analysis, with all traffic on green.")
	}
}

func verdict(r Result) string {
	switch {
	case !r.OK():
		return "NOT as expected"
	case r.Path == "success":
		return "promoted as expected"
	default:
		return "rolled back by the analysis, as expected"
	}
}
