// Command analysis is the AnalysisRun benchmark (make bench-analysis): on
// the local cluster it creates N AnalysisRuns, each with a web metric
// measured every second against a local HTTP server, lets them settle, and
// then, over a measuring window, reports measurements per second, the
// scheduling lag (when a measurement arrived minus when it was due: the
// previous one's arrival plus the interval), and the controller's CPU,
// peak RSS and API requests.
//
// It is a benchmark, not a test: it prints figures and never fails on them.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/bench/internal/controllerproc"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/analysis:", err)
		os.Exit(1)
	}
}

// arrivals records when each run's measurement requests reached the server.
type arrivals struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	a.mu.Lock()
	a.at[r.URL.Query().Get("run")] = append(a.at[r.URL.Query().Get("run")], now)
	a.mu.Unlock()
	_, _ = w.Write([]byte(`{"ok":1}`))
}

func run() error {
	fs := flag.NewFlagSet("bench/analysis", flag.ExitOnError)
	n := fs.Int("n", 2000, "number of AnalysisRuns")
	// The controller's own defaults: what an install gets.
	qps := fs.Float64("qps", manager.DefaultQPS, "controller --qps (negative: no client budget)")
	burst := fs.Int("burst", manager.DefaultBurst, "controller --burst")
	kubeconfig := fs.String("kubeconfig", ".local/kubeconfig", "kubeconfig of the local cluster")
	binary := fs.String("controller", "bin/aviary-controller", "controller binary")
	settle := fs.Duration("settle", 20*time.Second, "time after the last run is created before measuring")
	window := fs.Duration("window", 30*time.Second, "measuring window")
	_ = fs.Parse(os.Args[1:])

	cl, err := controllerproc.Connect(*kubeconfig)
	if err != nil {
		return err
	}
	ctx := context.Background()

	rec := &arrivals{at: map[string][]time.Time{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rec}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	ns, cleanup, err := controllerproc.TempNamespace(ctx, cl, "bench-analysis")
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Printf("bench/analysis: N=%d runs in %s, 1 s web metric each, controller --qps %g --burst %d\n", *n, ns, *qps, *burst)
	ctl, err := controllerproc.Start(controllerproc.Options{Binary: *binary, Kubeconfig: *kubeconfig, Namespace: ns, QPS: *qps, Burst: *burst, LogLevel: "warn"})
	if err != nil {
		return err
	}
	defer ctl.Stop()

	url := "http://" + l.Addr().String() + "/measure"
	err = controllerproc.Parallel(*n, func(i int) error {
		name := fmt.Sprintf("run-%04d", i)
		return cl.Create(ctx, &v1alpha1.AnalysisRun{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{
				Name: "ok", Interval: "1s", SuccessCondition: "result.ok == 1",
				Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: url + "?run=" + name}},
			}}},
		})
	})
	if err != nil {
		return fmt.Errorf("create runs: %w", err)
	}
	time.Sleep(*settle)
	before, err := ctl.Requests()
	if err != nil {
		return err
	}
	cpuBefore, err := ctl.CPUSeconds()
	if err != nil {
		return err
	}
	start := time.Now()
	time.Sleep(*window)
	end := time.Now()
	after, err := ctl.Requests()
	if err != nil {
		return err
	}
	cpuAfter, err := ctl.CPUSeconds()
	if err != nil {
		return err
	}
	rss, err := ctl.PeakRSS()
	if err != nil {
		return err
	}

	// Lag of each measurement that arrived in the window: its arrival
	// minus (the previous arrival + 1 s interval).
	rec.mu.Lock()
	var lags []time.Duration
	measured, starved := 0, 0
	for _, ts := range rec.at {
		got := false
		for i := 1; i < len(ts); i++ {
			if ts[i].Before(start) || ts[i].After(end) {
				continue
			}
			got = true
			measured++
			lags = append(lags, ts[i].Sub(ts[i-1])-time.Second)
		}
		if !got {
			starved++
		}
	}
	starved += *n - len(rec.at)
	rec.mu.Unlock()
	slices.Sort(lags)
	pct := func(p float64) time.Duration {
		if len(lags) == 0 {
			return 0
		}
		return lags[min(len(lags)-1, int(p*float64(len(lags))))]
	}
	fmt.Printf("\nN=%d qps=%g burst=%d window %s\n", *n, *qps, *burst, window.Round(time.Second))
	fmt.Printf("  measurements per second        %8.1f  (ideal %d)\n", float64(measured)/end.Sub(start).Seconds(), *n)
	fmt.Printf("  scheduling lag p50 / p99       %8s / %s\n", pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond))
	fmt.Printf("  runs not measured in the window %7d\n", starved)
	fmt.Printf("  controller CPU in the window   %8.1f s (%.0f%% of one core)\n", cpuAfter-cpuBefore, 100*(cpuAfter-cpuBefore)/end.Sub(start).Seconds())
	fmt.Printf("  controller peak RSS            %8.1f MiB\n", rss)
	keys := make([]string, 0, len(after))
	for k := range after {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("  API requests per second in the window:")
	for _, k := range keys {
		if d := after[k] - before[k]; d > 0 {
			fmt.Printf(" %s %.1f;", strings.ReplaceAll(k, " ", "/"), d/end.Sub(start).Seconds())
		}
	}
	fmt.Println()
	return nil
}
