// Command aviary-traffic-simulator is a SIMULATOR, not a proxy: the
// stand-in for an NGINX ingress controller on machines that cannot run one
// (the local cluster's pods are simulated by kwok and serve nothing). It
// watches a stable Ingress and the canary Ingress the controller pairs with
// it, counts simulated requests split by the canary weight, fails each
// version's share at the ERROR_RATE (percent) its pod template's env
// declares, and serves the counts as ingress-nginx does:
// nginx_ingress_controller_requests{namespace,ingress,service,canary,status}
// on /metrics, for Prometheus to scrape.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/internal/manager"
	"github.com/aviary-rollouts/aviary/internal/trafficsim"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "aviary-traffic-simulator: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("aviary-traffic-simulator", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster (default $KUBECONFIG)")
	namespace := fs.String("namespace", "default", "namespace of the stable Ingress")
	ingress := fs.String("ingress", "", "name of the stable Ingress (required)")
	listen := fs.String("listen", "127.0.0.1:9913", "address of the /metrics endpoint")
	rps := fs.Float64("rps", 1000, "simulated requests per second")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ingress == "" {
		return errors.New("--ingress is required: the stable Ingress whose traffic to simulate")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %q: %w", *kubeconfig, err)
	}
	scheme, err := manager.Scheme()
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("connect to the cluster: %w", err)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --listen)", *listen, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	sim := trafficsim.New(trafficsim.Observer{Client: c, Namespace: *namespace, Ingress: *ingress}, trafficsim.Options{RequestsPerSecond: *rps})
	mux := http.NewServeMux()
	mux.Handle("/metrics", sim.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	fmt.Printf("simulating %.0f requests/s through Ingress %s/%s; metrics on http://%s/metrics\n", *rps, *namespace, *ingress, l.Addr())

	done := make(chan struct{})
	go func() { sim.Run(ctx); close(done) }()
	report(ctx, sim)
	<-done
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// report prints the split whenever it changes, so a person sees what the
// simulated NGINX is doing.
func report(ctx context.Context, sim *trafficsim.Simulator) {
	var last string
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s, err := sim.Split()
		line := describe(s)
		if err != nil {
			line = "cannot read the split (the last one stays in force): " + err.Error()
		}
		if line != last {
			fmt.Println(line)
			last = line
		}
	}
}

func describe(s trafficsim.Split) string {
	if s.Stable.Service == "" {
		return "waiting for the Ingress and its Services"
	}
	line := fmt.Sprintf("stable %s: %.0f%% of requests, %.0f%% errors", s.Stable.Service, 100*(1-s.CanaryShare()), 100*s.Stable.ErrorRate)
	if s.Canary.Service != "" {
		line += fmt.Sprintf("; canary %s: %.0f%%, %.0f%% errors", s.Canary.Service, 100*s.CanaryShare(), 100*s.Canary.ErrorRate)
	}
	return line
}
