// Command aviary-demo plays the headline scenario (seed 01) on a cluster —
// `make demo` runs it on the local one: it starts the controller, the
// traffic simulator, a real Prometheus and the dashboard, plays the
// success path and the failure path, checks each outcome, prints a
// summary and exits 0 only if both ended as they must.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/aviary-rollouts/aviary/internal/demo"
)

func main() {
	ok, err := run(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "aviary-demo: %v\n", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(args []string) (bool, error) {
	fs := flag.NewFlagSet("aviary-demo", flag.ContinueOnError)
	o := demo.Options{Out: os.Stdout}
	var seed string
	fs.StringVar(&o.Kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster (default $KUBECONFIG)")
	fs.StringVar(&o.BinDir, "bin", "bin", "directory with aviary-controller, aviary-traffic-simulator and kubectl-argo-rollouts")
	fs.StringVar(&seed, "seed", "examples/01-progressive-nginx.yaml", "the headline scenario (seed 01)")
	fs.StringVar(&o.Namespace, "namespace", "aviary-demo", "namespace to play in (recreated)")
	// 30s is about the shortest that still lets the analysis, whose query
	// rates over 60 s, fail yellow before its last step.
	fs.StringVar(&o.Pause, "pause", "30s", "what each of the seed's 2m pauses becomes; DEMO_REAL_TIME=1 keeps 2m")
	fs.StringVar(&o.WorkDir, "workdir", ".local/demo", "where logs and Prometheus data go")
	fs.StringVar(&o.DashboardAddr, "dashboard", "127.0.0.1:3100", "dashboard address (another free port if taken)")
	live := fs.Bool("live", term.IsTerminal(int(os.Stdout.Fd())) && os.Getenv("TERM") != "dumb" && os.Getenv("CI") == "",
		"redraw the rollout tree and the success rate side by side (default: on a terminal)")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	o.Live = *live
	if os.Getenv("DEMO_REAL_TIME") == "1" {
		o.Pause = "2m"
	}
	o.Keep = os.Getenv("DEMO_KEEP") == "1"
	raw, err := os.ReadFile(seed)
	if err != nil {
		return false, fmt.Errorf("read seed 01: %w (pass -seed)", err)
	}
	o.Seed = raw
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := demo.Run(ctx, o)
	if err != nil {
		return false, err
	}
	return sum.OK(), nil
}
