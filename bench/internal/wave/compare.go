package wave

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Comparison is one figure of the same wave under two controllers.
type Comparison struct {
	Label string
	// Unit follows the values ("s", "MiB", "" for counts per rollout).
	Unit string
	A, B float64
}

// Ratio is A/B, or -1 when B is 0.
func (c Comparison) Ratio() float64 {
	if c.B == 0 {
		return -1
	}
	return c.A / c.B
}

// Compare lists the figures of a wave that a side-by-side run compares,
// a's next to b's: wall time, CPU, resident set, requests per rollout (in
// all, object writes, event writes, the rest) and the peak request rate.
func Compare(a, b Figures) []Comparison {
	ta, tb := a.Tally(), b.Tally()
	na, nb := float64(a.N), float64(b.N)
	return []Comparison{
		{"wall time of the wave", "s", a.Wall.Seconds(), b.Wall.Seconds()},
		{"controller CPU in the wave", "s", a.CPU, b.CPU},
		{"peak RSS in the wave", "MiB", a.PeakRSS, b.PeakRSS},
		{"peak RSS since it started", "MiB", a.PeakRSSEver, b.PeakRSSEver},
		{"RSS after the wave", "MiB", a.RSS, b.RSS},
		{"API requests per rollout", "", ta.Total / na, tb.Total / nb},
		{"object writes per rollout", "", ta.Objects / na, tb.Objects / nb},
		{"event writes per rollout", "", ta.Events / na, tb.Events / nb},
		{"other requests per rollout", "", (ta.Total - ta.Objects - ta.Events) / na, (tb.Total - tb.Objects - tb.Events) / nb},
		{"request rate, peak over 1 s", "/s", a.Rate.Peak1s, b.Rate.Peak1s},
	}
}

// PrintComparison prints Compare(a, b), the figures of what, as a table
// with the ratio a/b.
func PrintComparison(w io.Writer, what string, a, b Figures) {
	fmt.Fprintf(w, "\nSide by side, %s, N=%d: %s (qps %g, burst %d) against %s (qps %g, burst %d)\n",
		what, a.N, a.Kind, a.QPS, a.Burst, b.Kind, b.QPS, b.Burst)
	fmt.Fprintf(w, "  %-30s %14s %14s %8s\n", "", a.Kind, b.Kind, "ratio")
	for _, c := range Compare(a, b) {
		ratio := "-"
		if r := c.Ratio(); r >= 0 {
			ratio = fmt.Sprintf("%.2f", r)
		}
		fmt.Fprintf(w, "  %-30s %14s %14s %8s\n", c.Label, value(c.A, c.Unit), value(c.B, c.Unit), ratio)
	}
	fmt.Fprintf(w, "  %-30s %14s %14s\n", "load average (1 min), start/end", load(a), load(b))
}

func value(v float64, unit string) string {
	if unit == "" {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

func load(f Figures) string { return fmt.Sprintf("%.2f / %.2f", f.LoadStart, f.LoadEnd) }

// LoadAverage is the machine's load average over the last minute
// (/proc/loadavg): the benchmarks share the cores with whatever else runs.
func LoadAverage() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), " ")
	return strconv.ParseFloat(first, 64)
}
