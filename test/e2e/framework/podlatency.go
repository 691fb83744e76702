package framework

import (
	"context"
	"net/http"
	"testing"

	"github.com/aviary-rollouts/aviary/internal/trafficsim"
)

// PodLatency is a running internal/trafficsim pod-latency simulator: the
// stand-in for the /metrics of every pod of a namespace, each serving
// requests around the MEDIAN_LATENCY its template declares.
type PodLatency struct {
	// Addr is host:port of the /metrics endpoint.
	Addr string
	*trafficsim.PodLatency
}

// StartPodLatency runs a simulator for the pods of ns until the test ends.
func StartPodLatency(t testing.TB, ns string) *PodLatency {
	t.Helper()
	sim := trafficsim.NewPodLatency(Get(t).Client, ns, trafficsim.LatencyOptions{Seed: 23})
	pl := &PodLatency{Addr: FreeAddr(t), PodLatency: sim}
	srv := &http.Server{Addr: pl.Addr, Handler: sim.Handler()}
	go func() { _ = srv.ListenAndServe() }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sim.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; _ = srv.Close() })
	return pl
}
