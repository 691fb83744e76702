// Package wave is the harness of the benchmarks that put many Rollouts
// through one update wave (bench/scale, bench/traffic): the command line
// they share, the local cluster made ready for them (kwok nodes, a
// namespace, the controller), the benchmark Rollouts, polling until they
// are done, and the figures of the wave with their report.
package wave

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/bench/internal/controllerproc"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

// Main runs the benchmark name: run, and on its error a message on
// stderr and exit status 1.
func Main(name string, run func() error) {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Config is the command line every wave benchmark takes.
type Config struct {
	// N is the number of Rollouts.
	N int
	// QPS and Burst are the controller's --qps and --burst.
	QPS   float64
	Burst int
	// Kubeconfig is the local cluster's (make cluster-up).
	Kubeconfig string
	// Controller is the controller binary (make build).
	Controller string
	// Keep keeps the namespace and the added nodes afterwards.
	Keep bool
	// Timeout is how long a phase may take before the benchmark gives up.
	Timeout time.Duration
	// LogLevel is the controller's --loglevel.
	LogLevel string
	// KeepLog keeps the controller's log file and prints its path.
	KeepLog bool
	// ProfileDir, when set, receives a CPU profile of the wave and a heap
	// profile at its end.
	ProfileDir string
}

// Parse reads the benchmark name's command line, args without the program
// name, with defaultN Rollouts unless -n says otherwise.
func Parse(name string, defaultN int, args []string) Config {
	var c Config
	// A FlagSet of its own: controller-runtime registers -kubeconfig on the
	// global one.
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.IntVar(&c.N, "n", defaultN, "number of Rollouts")
	// The controller's own defaults: what an install gets.
	fs.Float64Var(&c.QPS, "qps", manager.DefaultQPS, "controller --qps (negative: no client budget)")
	fs.IntVar(&c.Burst, "burst", manager.DefaultBurst, "controller --burst")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", ".local/kubeconfig", "kubeconfig of the local cluster (make cluster-up)")
	fs.StringVar(&c.Controller, "controller", "bin/aviary-controller", "controller binary (make build)")
	fs.BoolVar(&c.Keep, "keep", false, "keep the namespace and added nodes afterwards")
	fs.DurationVar(&c.Timeout, "timeout", 20*time.Minute, "give up on a phase after this long")
	fs.StringVar(&c.LogLevel, "loglevel", "warn", "controller --loglevel")
	fs.BoolVar(&c.KeepLog, "keep-log", false, "keep the controller's log file and print its path")
	fs.StringVar(&c.ProfileDir, "profile", "", "write the controller's CPU profile of the wave and a heap profile at its end into this directory")
	_ = fs.Parse(args)
	return c
}

// Env is a benchmark's namespace on the local cluster, with enough kwok
// nodes for its pods and a controller watching the namespace.
type Env struct {
	Config
	// Name is the benchmark's, e.g. bench/scale.
	Name string
	// Client is the benchmark's own client, not the one measured.
	Client client.Client
	// Namespace holds the benchmark's objects.
	Namespace string
	// Controller is the controller measured.
	Controller *controllerproc.Process

	closers []func()
}

// Setup connects to the local cluster, makes sure it has the kwok nodes
// for podsPerRollout pods of each of the c.N Rollouts at the peak of the
// wave (110 pods a node, and one node to spare), creates a namespace
// named after the benchmark and starts the controller on it. Close undoes
// it; on an error Setup undoes what it did itself.
func Setup(ctx context.Context, c Config, name string, podsPerRollout int) (*Env, error) {
	e := &Env{Config: c, Name: name}
	if err := e.setup(ctx, strings.ReplaceAll(name, "/", "-"), podsPerRollout); err != nil {
		e.Close()
		return nil, err
	}
	fmt.Printf("%s: N=%d rollouts in namespace %s, controller --qps %g --burst %d\n", name, c.N, e.Namespace, c.QPS, c.Burst)
	return e, nil
}

func (e *Env) setup(ctx context.Context, prefix string, podsPerRollout int) error {
	c := e.Config
	cl, err := controllerproc.Connect(c.Kubeconfig)
	if err != nil {
		return err
	}
	e.Client = cl
	added, err := EnsureNodes(ctx, cl, (c.N*podsPerRollout+podsPerNode-1)/podsPerNode+1)
	if !c.Keep {
		// Other tests on this cluster expect its usual three nodes.
		e.closers = append(e.closers, func() { RemoveNodes(cl, added) })
	}
	if err != nil {
		return err
	}
	ns, cleanup, err := controllerproc.TempNamespace(ctx, cl, prefix)
	if err != nil {
		return err
	}
	e.Namespace = ns
	if !c.Keep {
		e.closers = append(e.closers, cleanup)
	}
	ctl, err := controllerproc.Start(controllerproc.Options{Binary: c.Controller, Kubeconfig: c.Kubeconfig, Namespace: ns,
		QPS: c.QPS, Burst: c.Burst, LogLevel: c.LogLevel, KeepLog: c.KeepLog, Pprof: c.ProfileDir != ""})
	if err != nil {
		return err
	}
	e.Controller = ctl
	e.closers = append(e.closers, ctl.Stop)
	return nil
}

// Close stops the controller and, unless -keep, deletes the namespace
// and the nodes Setup added.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// Failed wraps err from waiting on the controller with the end of its log.
func (e *Env) Failed(what string, err error) error {
	return fmt.Errorf("%s: %w\n%s", what, err, e.Controller.Tail())
}

// FirstVersions creates the objects of every benchmark Rollout and waits
// until wait says the Rollouts are done on the blue image.
func (e *Env) FirstVersions(ctx context.Context, objects func(i int) []client.Object, wait func(color string) error) error {
	start := time.Now()
	if err := CreateAll(ctx, e.Client, e.N, objects); err != nil {
		return err
	}
	if err := wait("blue"); err != nil {
		return e.Failed("first versions", err)
	}
	fmt.Printf("%s: %d rollouts done on the first version after %s\n", e.Name, e.N, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// UpdateWave begins the wave, changes every Rollout's image to green at
// once and waits until wait says they are done on it. The figures are
// those of the wave up to then; the Wave may be measured again later and
// is to be ended. On an error there is no Wave.
func (e *Env) UpdateWave(ctx context.Context, wait func(color string) error) (*Wave, Figures, error) {
	w, err := e.BeginWave()
	if err != nil {
		return nil, Figures{}, err
	}
	if err := SetImages(ctx, e.Client, e.Namespace, e.N, "green"); err != nil {
		return nil, Figures{}, err
	}
	if err := wait("green"); err != nil {
		return nil, Figures{}, e.Failed("update wave", err)
	}
	f, err := w.Measure()
	if err != nil {
		return nil, f, err
	}
	return w, f, nil
}

// Wave measures the controller from the moment BeginWave was called.
type Wave struct {
	env      *Env
	start    time.Time
	requests map[string]float64
	cpu      float64
	rate     *sampler
	profiled sync.WaitGroup
}

// BeginWave takes the controller's request counters and CPU time as the
// wave's baseline, starts sampling its request rate and, with -profile,
// starts a 60 s CPU profile.
func (e *Env) BeginWave() (*Wave, error) {
	w := &Wave{env: e}
	var err error
	if w.requests, err = e.Controller.Requests(); err != nil {
		return nil, err
	}
	if w.cpu, err = e.Controller.CPUSeconds(); err != nil {
		return nil, err
	}
	if e.ProfileDir != "" {
		w.profiled.Go(func() {
			e.Controller.SaveProfile(filepath.Join(e.ProfileDir, "cpu.pprof"), "profile?seconds=60")
		})
	}
	w.start = time.Now()
	w.rate = startSampler(w.start, sum(w.requests), func() (float64, error) {
		r, err := e.Controller.Requests()
		return sum(r), err
	})
	return w, nil
}

func sum(m map[string]float64) float64 {
	var t float64
	for _, v := range m {
		t += v
	}
	return t
}

// Measure reads the figures of the wave so far; it may be called more
// than once.
func (w *Wave) Measure() (Figures, error) {
	f := Figures{N: w.env.N, QPS: w.env.QPS, Burst: w.env.Burst, Wall: time.Since(w.start)}
	ctl := w.env.Controller
	after, err := ctl.Requests()
	if err != nil {
		return f, err
	}
	f.Requests = Diff(after, w.requests)
	f.Rate = Rates(w.rate.upTo(Sample{At: time.Since(w.start), Requests: sum(after)}))
	if f.CPUTotal, err = ctl.CPUSeconds(); err != nil {
		return f, err
	}
	f.CPU = f.CPUTotal - w.cpu
	f.PeakRSS, err = ctl.PeakRSS()
	return f, err
}

// End stops sampling the request rate, saves the heap profile with
// -profile and waits for the CPU profile.
func (w *Wave) End() {
	w.rate.end()
	if w.env.ProfileDir != "" {
		w.env.Controller.SaveProfile(filepath.Join(w.env.ProfileDir, "heap.pprof"), "heap")
		w.profiled.Wait()
	}
}

// Poll calls check every interval until it reports done, returns an
// error, or timeout passes; on timeout the error carries check's last
// progress message.
func Poll(timeout, interval time.Duration, check func() (done bool, progress string, err error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, progress, err := check()
		if done || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s: %s", timeout, progress)
		}
		time.Sleep(interval)
	}
}

// PollInterval is how often to list n objects: listing every Rollout is
// itself load on the API server the controller shares, so less often at
// large n.
func PollInterval(n int) time.Duration {
	return max(250*time.Millisecond, time.Duration(n)*time.Millisecond)
}
