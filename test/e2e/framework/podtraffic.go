package framework

import (
	"context"
	"net/http"
	"testing"

	"github.com/aviary-rollouts/aviary/internal/trafficsim"
)

// PodTraffic is a running internal/trafficsim pod-traffic simulator: the
// stand-in for the /metrics of every pod of a namespace, each serving
// requests around the MEDIAN_LATENCY its template declares, failing its
// ERROR_RATE of them.
type PodTraffic struct {
	// Addr is host:port of the /metrics endpoint.
	Addr string
	*trafficsim.PodTraffic
}

// StartPodTraffic runs a simulator for the pods of ns until the test ends.
func StartPodTraffic(t testing.TB, ns string) *PodTraffic {
	t.Helper()
	sim := trafficsim.NewPodTraffic(Get(t).Client, ns, trafficsim.PodTrafficOptions{Seed: 23})
	pt := &PodTraffic{Addr: FreeAddr(t), PodTraffic: sim}
	srv := &http.Server{Addr: pt.Addr, Handler: sim.Handler()}
	go func() { _ = srv.ListenAndServe() }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sim.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; _ = srv.Close() })
	return pt
}
