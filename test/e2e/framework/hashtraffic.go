package framework

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HashTraffic is a stand-in for per-version request metrics as a pod scrape
// with Kubernetes service discovery labels them:
// http_requests_total{rollouts_pod_template_hash,code}, growing by 100
// requests per 100 ms for each hash it serves, that hash's share of them
// answered with code 500. Point a Prometheus at Addr.
type HashTraffic struct {
	Addr     string
	mu       sync.Mutex
	ratios   map[string]float64
	requests *prometheus.CounterVec
}

// ErrorRatioDifference is the PromQL an analysis compares two versions
// with: the canary's error ratio minus the baseline's, each selected by the
// pod-template hash in the args baseline-hash and canary-hash.
const ErrorRatioDifference = `sum(rate(http_requests_total{rollouts_pod_template_hash="{{args.canary-hash}}",code=~"5.."}[10s])) / sum(rate(http_requests_total{rollouts_pod_template_hash="{{args.canary-hash}}"}[10s]))
          - sum(rate(http_requests_total{rollouts_pod_template_hash="{{args.baseline-hash}}",code=~"5.."}[10s])) / sum(rate(http_requests_total{rollouts_pod_template_hash="{{args.baseline-hash}}"}[10s]))`

// StartHashTraffic serves the counters until the test ends.
func StartHashTraffic(t testing.TB) *HashTraffic {
	t.Helper()
	reg := prometheus.NewRegistry()
	h := &HashTraffic{Addr: FreeAddr(t), ratios: map[string]float64{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests by pod-template hash and status code."},
			[]string{"rollouts_pod_template_hash", "code"})}
	reg.MustRegister(h.requests)
	srv := &http.Server{Addr: h.Addr, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	go func() { _ = srv.ListenAndServe() }()
	t.Cleanup(func() { _ = srv.Close() })
	Every(t, 100*time.Millisecond, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for hash, r := range h.ratios {
			h.requests.WithLabelValues(hash, "200").Add(100 - 100*r)
			h.requests.WithLabelValues(hash, "500").Add(100 * r)
		}
	})
	return h
}

// Serve starts counting requests for hash with the given error ratio.
func (h *HashTraffic) Serve(hash string, errRatio float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ratios[hash] = errRatio
}

// Every calls fn every interval, from a goroutine, until the test ends.
func Every(t testing.TB, interval time.Duration, fn func()) {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				fn()
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}
