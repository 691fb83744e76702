// Package wave is the harness of the benchmarks that put many Rollouts
// through update waves (bench/scale, bench/traffic): the command line they
// share, the local cluster made ready for them (kwok nodes, a namespace,
// the controller behind a recording proxy), the benchmark Rollouts,
// watching until they are done, and the figures of a wave with their
// report.
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

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

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
	// Controller is the controller binary (make build), of Kind.
	Controller string
	Kind       controllerproc.Kind
	// Keep keeps the namespace and the added nodes afterwards.
	Keep bool
	// Timeout is how long a phase may go without progress before the
	// benchmark gives up.
	Timeout time.Duration
	// LogLevel is the controller's --loglevel.
	LogLevel string
	// KeepLog keeps the controller's log file and prints its path.
	KeepLog bool
	// ProfileDir, when set, receives a CPU profile of each wave and a heap
	// profile at its end.
	ProfileDir string
}

// Parse reads the benchmark name's command line, args without the program
// name, with defaultN Rollouts unless -n says otherwise. extra, when not
// nil, adds the benchmark's own flags.
func Parse(name string, defaultN int, args []string, extra func(*flag.FlagSet)) Config {
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
	// No progress rather than a total: how long a wave takes grows with N.
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Minute, "give up when a phase makes no progress for this long")
	fs.StringVar(&c.LogLevel, "loglevel", "warn", "controller --loglevel")
	fs.BoolVar(&c.KeepLog, "keep-log", false, "keep the controller's log file and print its path")
	fs.StringVar(&c.ProfileDir, "profile", "", "write the controller's CPU profile of each wave and a heap profile at its end into this directory")
	if extra != nil {
		extra(fs)
	}
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
	// Watched reads the namespace from the benchmark's own informers:
	// waiting on thousands of objects costs the API server their changes,
	// not a list of them all every poll.
	Watched client.Reader
	// Namespace holds the benchmark's objects.
	Namespace string
	// Controller is the controller measured.
	Controller *controllerproc.Process
	// Proxy is the controller's way to the API server; it notes every
	// request.
	Proxy *controllerproc.Proxy

	// peakRSS is the controller's peak resident set before the last
	// ResetPeakRSS, in MiB.
	peakRSS float64
	closers []func()
}

// Setup connects to the local cluster, makes sure it has the kwok nodes
// for podsPerRollout pods of each of the c.N Rollouts at the peak of the
// wave (EnsureNodes), creates a namespace
// named after the benchmark, starts the benchmark's informers on it and
// the controller behind a recording proxy. Close undoes it; on an error
// Setup undoes what it did itself.
func Setup(ctx context.Context, c Config, name string, podsPerRollout int) (*Env, error) {
	e := &Env{Config: c, Name: name}
	if err := e.setup(ctx, strings.ReplaceAll(name, "/", "-"), podsPerRollout); err != nil {
		e.Close()
		return nil, err
	}
	fmt.Printf("%s: N=%d rollouts in namespace %s, %s controller %s (%s) --qps %g --burst %d\n",
		name, c.N, e.Namespace, c.Kind, c.Controller, controllerproc.Version(c.Controller), c.QPS, c.Burst)
	return e, nil
}

func (e *Env) setup(ctx context.Context, prefix string, podsPerRollout int) error {
	c := e.Config
	cfg, err := controllerproc.RESTConfig(c.Kubeconfig)
	if err != nil {
		return err
	}
	cl, err := controllerproc.Connect(c.Kubeconfig)
	if err != nil {
		return err
	}
	e.Client = cl
	added, err := EnsureNodes(ctx, cl, c.N*podsPerRollout, c.Timeout)
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
	if err := e.watch(cfg, cl); err != nil {
		return err
	}
	proxy, err := controllerproc.StartProxy(c.Kubeconfig)
	if err != nil {
		return err
	}
	e.Proxy = proxy
	e.closers = append(e.closers, proxy.Close)
	ctl, err := controllerproc.Start(controllerproc.Options{Kind: c.Kind, Binary: c.Controller, Kubeconfig: proxy.Kubeconfig(), Namespace: ns,
		QPS: c.QPS, Burst: c.Burst, LogLevel: c.LogLevel, KeepLog: c.KeepLog, Pprof: c.ProfileDir != ""})
	if err != nil {
		return err
	}
	e.Controller = ctl
	e.closers = append(e.closers, ctl.Stop)
	return nil
}

// watch starts the benchmark's informers on its namespace; each kind's
// starts, and is synced, at its first read.
func (e *Env) watch(cfg *rest.Config, cl client.Client) error {
	c, err := cache.New(cfg, cache.Options{
		Scheme:            cl.Scheme(),
		DefaultNamespaces: map[string]cache.Config{e.Namespace: {}},
		DefaultTransform:  cache.TransformStripManagedFields(),
	})
	if err != nil {
		return fmt.Errorf("the benchmark's informers: %w", err)
	}
	// The informers' reflectors log through controller-runtime; the
	// benchmark prints figures, not their chatter.
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := context.WithCancel(context.Background())
	started := make(chan error, 1)
	go func() { started <- c.Start(ctx) }()
	e.closers = append(e.closers, func() { stop(); <-started })
	if !c.WaitForCacheSync(ctx) {
		return fmt.Errorf("the benchmark's informers did not start")
	}
	e.Watched = c
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

// WaitGone waits until the namespace Close deleted is gone with everything
// in it, so that a benchmark run after this one finds the cluster as this
// one did; -keep keeps it, and there is nothing to wait for.
func (e *Env) WaitGone(ctx context.Context) error {
	if e.Keep || e.Namespace == "" {
		return nil
	}
	start := time.Now()
	err := e.Poll(func() (bool, string, error) {
		err := e.Client.Get(ctx, client.ObjectKey{Name: e.Namespace}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("namespace %s: %w", e.Namespace, err)
		}
		// The namespace controller deletes what it holds in an order of
		// its own: the time spent is the progress to report.
		return false, fmt.Sprintf("namespace %s still terminating after %s", e.Namespace, time.Since(start).Round(10*time.Second)), nil
	})
	if err == nil {
		fmt.Printf("%s: namespace %s gone after %s\n", e.Name, e.Namespace, time.Since(start).Round(100*time.Millisecond))
	}
	return err
}

// Failed wraps err from waiting on the controller with the end of its log.
func (e *Env) Failed(what string, err error) error {
	return fmt.Errorf("%s: %w\n%s", what, err, e.Controller.Tail())
}

// FirstVersions creates the objects of every benchmark Rollout and waits
// until wait says the Rollouts are done on the first version, Color(0).
func (e *Env) FirstVersions(ctx context.Context, objects func(i int) []client.Object, wait func(color string) error) error {
	start := time.Now()
	if err := CreateAll(ctx, e.Client, e.N, objects); err != nil {
		return err
	}
	if err := wait(Color(0)); err != nil {
		return e.Failed("first versions", err)
	}
	fmt.Printf("%s: %d rollouts done on the first version after %s\n", e.Name, e.N, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// UpdateWave begins a wave labelled label (in profile names; "" for a
// benchmark's only wave), changes every Rollout's image to color's at once
// and waits until wait says they are done on it, which ends the wave's
// wall time. The Wave may then be measured, more than once, and is to be
// ended. On an error there is no Wave.
func (e *Env) UpdateWave(ctx context.Context, label, color string, wait func(color string) error) (*Wave, error) {
	w, err := e.BeginWave(label)
	if err != nil {
		return nil, err
	}
	if err := SetImages(ctx, e.Client, e.Namespace, e.N, color); err != nil {
		w.End()
		return nil, err
	}
	if err := wait(color); err != nil {
		w.End()
		return nil, e.Failed("update wave", err)
	}
	w.Done()
	return w, nil
}

// Wave measures the controller from the moment BeginWave was called.
type Wave struct {
	env         *Env
	label       string
	start, done time.Time
	// counted is the controller's own request counter at the start.
	counted map[string]float64
	// cpu and ownCPU are the controller's and the benchmark's CPU seconds
	// at the start; load the machine's load average.
	cpu, ownCPU, load float64
	profiled          sync.WaitGroup
}

// BeginWave takes the controller's request counter and CPU time as the
// wave's baseline, starts its peak resident set afresh and, with -profile,
// starts a 60 s CPU profile. Its requests are those the proxy passes on
// from now.
func (e *Env) BeginWave(label string) (*Wave, error) {
	w := &Wave{env: e, label: label}
	ctl := e.Controller
	var err error
	if w.counted, err = ctl.Requests(); err != nil {
		return nil, err
	}
	if w.cpu, err = ctl.CPUSeconds(); err != nil {
		return nil, err
	}
	if w.ownCPU, err = controllerproc.SelfCPUSeconds(); err != nil {
		return nil, err
	}
	if w.load, err = LoadAverage(); err != nil {
		return nil, err
	}
	// After the scrape, which allocates in the controller for the
	// benchmark alone.
	prior, err := ctl.ResetPeakRSS()
	if err != nil {
		return nil, err
	}
	e.peakRSS = max(e.peakRSS, prior)
	if e.ProfileDir != "" {
		w.profiled.Go(func() {
			ctl.SaveProfile(filepath.Join(e.ProfileDir, w.profileName("cpu")), "profile?seconds=60")
		})
	}
	w.start = time.Now()
	return w, nil
}

func (w *Wave) profileName(kind string) string {
	if w.label == "" {
		return kind + ".pprof"
	}
	return kind + "-" + w.label + ".pprof"
}

// Done ends the wave's wall time now.
func (w *Wave) Done() { w.done = time.Now() }

func sum(m map[string]float64) float64 {
	var t float64
	for _, v := range m {
		t += v
	}
	return t
}

// QuietFor is how long the controller must send no request for a wave's
// work to count as finished: the Events it queued behind the work under
// its client budget are then written too.
const QuietFor = 3 * time.Second

// MeasureSettled waits until the controller has sent no request for
// QuietFor, then measures: the wave's requests are then all of its work,
// and its resident set is that of a controller at rest between waves. At
// thousands of Rollouts the Events queued behind the work can take minutes
// to drain, so it waits up to -timeout before it measures anyway.
func (w *Wave) MeasureSettled() (Figures, error) {
	from := time.Now()
	quiet := false
	for time.Since(from) < w.env.Timeout {
		if time.Since(w.env.Proxy.Last()) >= QuietFor {
			quiet = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	f, err := w.Measure()
	f.Quiet = quiet
	f.Settle = time.Since(from)
	if quiet {
		f.Settle = max(0, w.env.Proxy.Last().Sub(from))
	}
	return f, err
}

// Measure reads the figures of the wave so far; it may be called more
// than once.
func (w *Wave) Measure() (Figures, error) {
	end := time.Now()
	e, ctl := w.env, w.env.Controller
	f := Figures{Kind: e.Kind, N: e.N, QPS: e.QPS, Burst: e.Burst, Wall: end.Sub(w.start), Requests: map[string]float64{}}
	if !w.done.IsZero() {
		f.Wall = w.done.Sub(w.start)
	}
	reqs := e.Proxy.Between(w.start, end)
	arrivals := make([]time.Duration, len(reqs))
	for i, r := range reqs {
		f.Requests[r.Key]++
		arrivals[i] = r.At.Sub(w.start)
	}
	span := f.Wall
	if len(arrivals) > 0 {
		span = max(span, arrivals[len(arrivals)-1])
	}
	f.Rate = Rates(arrivals, span)
	var err error
	if f.CPUTotal, err = ctl.CPUSeconds(); err != nil {
		return f, err
	}
	f.CPU = f.CPUTotal - w.cpu
	own, err := controllerproc.SelfCPUSeconds()
	if err != nil {
		return f, err
	}
	f.BenchCPU = own - w.ownCPU
	f.LoadStart = w.load
	if f.LoadEnd, err = LoadAverage(); err != nil {
		return f, err
	}
	// The resident set before the scrapes below, which allocate in the
	// controller for the benchmark alone.
	if f.RSS, err = ctl.RSS(); err != nil {
		return f, err
	}
	if f.PeakRSS, err = ctl.PeakRSS(); err != nil {
		return f, err
	}
	f.PeakRSSEver = max(e.peakRSS, f.PeakRSS)
	counted, err := ctl.Requests()
	if err != nil {
		return f, err
	}
	f.Counted = sum(Diff(counted, w.counted))
	f.HeapLive = -1
	if live, err := ctl.Metric("go_gc_heap_live_bytes"); err == nil {
		f.HeapLive = live / (1 << 20)
	}
	return f, nil
}

// End saves the heap profile with -profile and waits for the CPU profile.
func (w *Wave) End() {
	if w.env.ProfileDir != "" {
		w.env.Controller.SaveProfile(filepath.Join(w.env.ProfileDir, w.profileName("heap")), "heap")
		w.profiled.Wait()
	}
}

// checkInterval is how often the benchmark looks at its informers' view.
const checkInterval = 250 * time.Millisecond

// Poll calls check every interval until it reports done or returns an
// error, giving up when its progress message has not changed for timeout:
// how long the whole takes grows with N, how long a step may take does
// not. The error then carries the last progress message.
func Poll(timeout, interval time.Duration, check func() (done bool, progress string, err error)) error {
	last, since := "", time.Now()
	for {
		done, progress, err := check()
		if done || err != nil {
			return err
		}
		if progress != last {
			last, since = progress, time.Now()
		} else if time.Since(since) > timeout {
			return fmt.Errorf("no progress for %s: %s", timeout, progress)
		}
		time.Sleep(interval)
	}
}
