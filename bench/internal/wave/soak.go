package wave

import (
	"context"
	"fmt"
	"io"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Flatness is how far the controller's resident set after a later wave
// may be from its resident set after the first for the soak to call
// memory flat.
const Flatness = 0.10

// Soak prints the figures of waves run back to back on the same Rollouts
// and controller, a row as each wave ends, and whether the controller's
// resident set stayed flat.
type Soak struct {
	W     io.Writer
	Waves int
	rss   []float64
	heap  []float64
}

const soakRow = "  %4s %8s %7s %9s %8s %7s %9s %8s %9s %9s %11s\n"

// Add prints the row of wave f, the next one, after which the namespace
// held replicaSets ReplicaSets.
func (s *Soak) Add(f Figures, replicaSets int) {
	if len(s.rss) == 0 {
		fmt.Fprintf(s.W, "\n%d waves back to back; figures of each counted until the controller was quiet for %.0f s:\n", s.Waves, QuietFor.Seconds())
		fmt.Fprintf(s.W, soakRow, "wave", "wall s", "CPU s", "requests", "objects", "events", "peak 2 s", "RSS", "peak RSS", "heap live", "replicasets")
		fmt.Fprintf(s.W, soakRow, "", "", "", "/rollout", "/rollout", "/rollout", "/s", "MiB", "MiB", "MiB", "")
	}
	s.rss = append(s.rss, f.RSS)
	s.heap = append(s.heap, f.HeapLive)
	t, n := f.Tally(), float64(f.N)
	quiet := ""
	if !f.Quiet {
		quiet = " (never quiet)"
	}
	heap := "-"
	if f.HeapLive >= 0 {
		heap = fmt.Sprintf("%.1f", f.HeapLive)
	}
	fmt.Fprintf(s.W, soakRow, fmt.Sprint(len(s.rss)), fmt.Sprintf("%.1f", f.Wall.Seconds()), fmt.Sprintf("%.1f", f.CPU),
		fmt.Sprintf("%.2f", t.Total/n), fmt.Sprintf("%.2f", t.Objects/n), fmt.Sprintf("%.2f", t.Events/n), fmt.Sprintf("%.1f", f.Rate.Peak2s),
		fmt.Sprintf("%.1f", f.RSS), fmt.Sprintf("%.1f", f.PeakRSS), heap, fmt.Sprint(replicaSets)+quiet)
}

// PrintFlatness prints whether the resident set after each wave from the
// second on stayed within Flatness of the one after the first, and how far
// it and the live heap went. It reports, never fails.
func (s *Soak) PrintFlatness() {
	if len(s.rss) < 2 {
		return
	}
	later := "wave 2"
	if len(s.rss) > 2 {
		later = fmt.Sprintf("waves 2–%d", len(s.rss))
	}
	lo, hi := spread(s.rss)
	verdict := "yes"
	if lo < -Flatness || hi > Flatness {
		verdict = "no"
	}
	fmt.Fprintf(s.W, "\nRSS after %s within ±%.0f%% of RSS after wave 1 (%.1f MiB): %s (from %+.1f%% to %+.1f%%)\n",
		later, Flatness*100, s.rss[0], verdict, lo*100, hi*100)
	if s.heap[0] > 0 {
		lo, hi := spread(s.heap)
		fmt.Fprintf(s.W, "Go heap live after %s against wave 1's (%.1f MiB): from %+.1f%% to %+.1f%%\n", later, s.heap[0], lo*100, hi*100)
	}
}

// spread is the least and greatest relative difference of v[1:] from
// v[0].
func spread(v []float64) (lo, hi float64) {
	lo, hi = v[1]/v[0]-1, v[1]/v[0]-1
	for _, x := range v[2:] {
		d := x/v[0] - 1
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}

// ReplicaSets counts the ReplicaSets of the benchmark's namespace, by
// their metadata, a page at a time.
func (e *Env) ReplicaSets(ctx context.Context) (int, error) {
	count := 0
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("ReplicaSetList"))
	for {
		if err := e.Client.List(ctx, &list, client.InNamespace(e.Namespace), client.Limit(500), client.Continue(list.Continue)); err != nil {
			return 0, fmt.Errorf("list replicasets: %w", err)
		}
		count += len(list.Items)
		if list.Continue == "" {
			return count, nil
		}
	}
}
