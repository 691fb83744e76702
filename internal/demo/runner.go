package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/internal/freeport"
	"github.com/aviary-rollouts/aviary/internal/localprom"
	"github.com/aviary-rollouts/aviary/internal/localprom/prombin"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

// Options configure a run of the demo.
type Options struct {
	// Kubeconfig is the cluster's (the local cluster's for make demo).
	Kubeconfig string
	// BinDir holds aviary-controller, aviary-traffic-simulator and
	// kubectl-argo-rollouts.
	BinDir string
	// Seed is seed 01 as written.
	Seed []byte
	// Namespace is created afresh (deleted first if it exists).
	Namespace string
	// Pause replaces the seed's two-minute pauses (see PrepareSeed).
	Pause string
	// WorkDir receives the processes' logs and Prometheus' data.
	WorkDir string
	// Out receives the progress and the summary.
	Out io.Writer
	// Live redraws a screen (the rollout tree beside the success rate)
	// instead of printing progress lines; for a terminal.
	Live bool
	// DashboardAddr is where the dashboard listens (another free port if
	// taken).
	DashboardAddr string
	// Keep leaves everything running after the summary until ctx ends.
	Keep bool
	// PathTimeout bounds each path (default: 4 pauses plus 3 minutes).
	PathTimeout time.Duration
}

// Summary is what a run found.
type Summary struct {
	Results   []Result
	Dashboard string
	Duration  time.Duration
}

// OK tells whether both paths ended as they must.
func (s Summary) OK() bool {
	if len(s.Results) != 2 {
		return false
	}
	for _, r := range s.Results {
		if !r.OK() {
			return false
		}
	}
	return true
}

// Run starts the controller, the traffic simulator, Prometheus and the
// dashboard, applies seed 01 in a fresh namespace and plays the success
// and the failure paths, then prints the summary. It stops everything it
// started before returning (after ctx ends, with Keep).
func Run(ctx context.Context, o Options) (Summary, error) {
	start := time.Now()
	sum := Summary{}
	say := func(format string, args ...any) { fmt.Fprintf(o.Out, format+"\n", args...) }

	// Prerequisites first, before anything is started: the prometheus on
	// PATH, else the cached build (built now if need be, minutes, once).
	promBin, err := prombin.Binary(ctx, o.Out)
	if err != nil {
		return sum, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return sum, fmt.Errorf("kubeconfig %q: %w", o.Kubeconfig, err)
	}
	scheme, err := manager.Scheme()
	if err != nil {
		return sum, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return sum, fmt.Errorf("connect to the cluster: %w", err)
	}
	if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
		return sum, err
	}
	say("▶ namespace %s (fresh)", o.Namespace)
	if err := freshNamespace(ctx, c, o.Namespace); err != nil {
		return sum, err
	}

	var procs []*process
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].stop()
		}
	}()
	bin := func(name string) string { return filepath.Join(o.BinDir, name) }
	kc := "--kubeconfig=" + o.Kubeconfig

	say("▶ controller: %s (log %s)", bin("aviary-controller"), filepath.Join(o.WorkDir, "controller.log"))
	metricsAddr, err := freeport.Loopback()
	if err != nil {
		return sum, err
	}
	healthAddr, err := freeport.Loopback()
	if err != nil {
		return sum, err
	}
	ctrl, err := startProcess(o.WorkDir, "controller", bin("aviary-controller"), kc, "--leader-elect=false", "--namespaced", "--namespace", o.Namespace,
		"--metrics-addr", metricsAddr, "--health-addr", healthAddr)
	if err != nil {
		return sum, err
	}
	procs = append(procs, ctrl)

	simAddr, err := freeport.Loopback()
	if err != nil {
		return sum, err
	}
	say("▶ traffic simulator (the stand-in for an NGINX ingress controller): metrics on http://%s/metrics", simAddr)
	sim, err := startProcess(o.WorkDir, "traffic-simulator", bin("aviary-traffic-simulator"), kc, "--namespace", o.Namespace, "--ingress", RolloutName, "--listen", simAddr)
	if err != nil {
		return sum, err
	}
	procs = append(procs, sim)
	if err := waitHTTP(ctx, "http://"+simAddr+"/metrics", 20*time.Second); err != nil {
		return sum, fmt.Errorf("the traffic simulator did not start: %w\n%s", err, sim.logTail())
	}

	promAddr, err := freeport.Loopback()
	if err != nil {
		return sum, err
	}
	promDir := filepath.Join(o.WorkDir, "prometheus")
	_ = os.RemoveAll(promDir)
	if err := os.MkdirAll(promDir, 0o755); err != nil {
		return sum, err
	}
	prom, err := localprom.Start(ctx, localprom.Options{Dir: promDir, Listen: promAddr, Targets: []string{simAddr}, Binary: promBin})
	if err != nil {
		return sum, err
	}
	defer prom.Stop()
	say("▶ Prometheus %s (%s) scraping the simulator every second", prom.Address, promBin)

	dashAddr, err := addrOr(o.DashboardAddr)
	if err != nil {
		return sum, err
	}
	host, port, _ := strings.Cut(dashAddr, ":")
	dash, err := startProcess(o.WorkDir, "dashboard", bin("kubectl-argo-rollouts"), kc, "-n", o.Namespace, "dashboard", "--address", host, "-p", port)
	if err != nil {
		return sum, err
	}
	procs = append(procs, dash)
	sum.Dashboard = fmt.Sprintf("http://%s/rollouts/rollout/%s/%s", dashAddr, o.Namespace, RolloutName)
	if err := waitHTTP(ctx, "http://"+dashAddr+"/rollouts/api/v1/version", 20*time.Second); err != nil {
		return sum, fmt.Errorf("the dashboard did not start: %w\n%s", err, dash.logTail())
	}
	say("▶ dashboard: %s", sum.Dashboard)

	seed := PrepareSeed(o.Seed, o.Pause, prom.Address)
	d := newDisplay(o.Out, o.Live, c, o.Namespace, prom, sum.Dashboard)
	sc := &Scenario{Client: c, Namespace: o.Namespace, Watch: d.observe}
	pauses := "the seed's 2m pauses"
	if o.Pause != "2m" {
		pauses = "pauses of " + o.Pause + " instead of 2m (DEMO_REAL_TIME=1 for the real ones)"
	}
	say("▶ applying seed 01 (%s): blue goes straight to 100%%", pauses)
	if err := sc.Apply(ctx, seed); err != nil {
		return sum, fmt.Errorf("%w\ncontroller log:\n%s", err, ctrl.logTail())
	}
	d.useQuery(ctx)

	timeout := o.PathTimeout
	if timeout == 0 {
		p, err := time.ParseDuration(o.Pause)
		if err != nil {
			p = 2 * time.Minute
		}
		timeout = 4*p + 3*time.Minute
	}
	for _, path := range []struct {
		title string
		play  func(context.Context, time.Duration) (Result, error)
	}{
		{"1/2 success path: set image " + GreenImage, sc.Success},
		{fmt.Sprintf("2/2 failure path: set image %s with ERROR_RATE=%d%%", YellowImage, YellowErrorRate), sc.Failure},
	} {
		d.begin(path.title)
		res, err := path.play(ctx, timeout)
		d.end()
		if err != nil {
			return sum, fmt.Errorf("%s: %w", path.title, err)
		}
		sum.Results = append(sum.Results, res)
		say("%s", resultLine(res))
		if ctrl.exited() {
			return sum, fmt.Errorf("the controller exited:\n%s", ctrl.logTail())
		}
	}
	sum.Duration = time.Since(start)
	printSummary(o.Out, sum)
	if o.Keep {
		say("\nDEMO_KEEP=1: everything stays up. Dashboard: %s\n  KUBECONFIG=%s kubectl argo rollouts -n %s get rollout %s --watch\nPress Ctrl-C to stop.", sum.Dashboard, o.Kubeconfig, o.Namespace, RolloutName)
		<-ctx.Done()
	}
	return sum, nil
}

// freshNamespace deletes ns if it exists, waits until it is gone, and
// creates it.
func freshNamespace(ctx context.Context, c client.Client, ns string) error {
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := c.Get(ctx, types.NamespacedName{Name: ns}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s from an earlier run is still terminating after 2m", ns)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(250 * time.Millisecond):
		}
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return nil
}

func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(res.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s: %w", url, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
