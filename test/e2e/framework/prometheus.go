package framework

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/aviary-rollouts/aviary/internal/localprom"
	"github.com/aviary-rollouts/aviary/internal/trafficsim"
)

// Prometheus is a real Prometheus server (the `prometheus` on PATH, or the
// copy built from the Go module proxy into the cache) run by a test,
// scraping the test's exporter every second.
type Prometheus struct {
	*localprom.Server
}

// StartPrometheus runs prometheus with a 1 s scrape interval against
// exporter (host:port) and waits until the exporter's target is up. The
// server is killed when the test ends. Tests fail (never skip) when no
// Prometheus can be found or built.
func StartPrometheus(t testing.TB, exporter string) *Prometheus {
	t.Helper()
	return StartPrometheusJobs(t, exporter, nil)
}

// StartPrometheusJobs is StartPrometheus also scraping each of jobs'
// targets (host:port) with its job label, as a ServiceMonitor names the
// job after its Service; it waits until every target is up. exporter may
// be empty when jobs name every target.
func StartPrometheusJobs(t testing.TB, exporter string, jobs map[string][]string) *Prometheus {
	t.Helper()
	var targets []string
	if exporter != "" {
		targets = []string{exporter}
	}
	srv, err := localprom.Start(context.Background(), localprom.Options{Dir: t.TempDir(), Listen: FreeAddr(t), Targets: targets, Jobs: jobs})
	if err != nil {
		t.Fatalf("start Prometheus: %v (make test's prerequisite check builds one into the cache when none is on PATH)", err)
	}
	t.Cleanup(func() {
		srv.Stop()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", srv.Output())
		}
	})
	return &Prometheus{srv}
}

// HTTPGet returns the body of a GET of url.
func HTTPGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// IngressTraffic is a stand-in for an NGINX ingress controller's metrics:
// it serves nginx_ingress_controller_requests{ingress,status} counters that
// grow by a steady request rate with the error ratio the test sets.
type IngressTraffic struct {
	// Addr is host:port of the /metrics endpoint.
	Addr     string
	mu       sync.Mutex
	errRatio float64
	requests *prometheus.CounterVec
	stop     chan struct{}
}

// StartIngressTraffic serves the counters for ingress on a free port and
// adds 100 requests per 100 ms, errRatio of them with status 500.
func StartIngressTraffic(t testing.TB, ingress string, errRatio float64) *IngressTraffic {
	t.Helper()
	return StartRequestCounter(t, "nginx_ingress_controller_requests", "ingress", ingress, errRatio)
}

// StartRequestCounter serves metric{label=value,status} counters (for
// example traefik_service_requests_total{traefik=…}) the same way.
func StartRequestCounter(t testing.TB, metric, label, value string, errRatio float64) *IngressTraffic {
	t.Helper()
	reg := prometheus.NewRegistry()
	it := &IngressTraffic{Addr: FreeAddr(t), errRatio: errRatio, stop: make(chan struct{}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metric, Help: "Requests by " + label + " and status."},
			[]string{label, "status"})}
	reg.MustRegister(it.requests)
	srv := &http.Server{Addr: it.Addr, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	go func() { _ = srv.ListenAndServe() }()
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-it.stop:
				return
			case <-tick.C:
				it.mu.Lock()
				bad := it.errRatio * 100
				it.mu.Unlock()
				it.requests.WithLabelValues(value, "200").Add(100 - bad)
				it.requests.WithLabelValues(value, "500").Add(bad)
			}
		}
	}()
	t.Cleanup(func() { close(it.stop); _ = srv.Close() })
	return it
}

// SetErrorRatio changes the share of requests answered with status 500.
func (it *IngressTraffic) SetErrorRatio(r float64) {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.errRatio = r
}

// TrafficSimulator is a running internal/trafficsim simulator: the stand-in
// for an NGINX ingress controller, counting simulated requests split by the
// canary Ingress weight and each version's ERROR_RATE.
type TrafficSimulator struct {
	// Addr is host:port of the /metrics endpoint.
	Addr string
	*trafficsim.Simulator
}

// StartTrafficSimulator runs a simulator for the stable Ingress ns/ingress
// until the test ends.
func StartTrafficSimulator(t testing.TB, ns, ingress string) *TrafficSimulator {
	t.Helper()
	sim := trafficsim.New(trafficsim.Observer{Client: Get(t).Client, Namespace: ns, Ingress: ingress}, trafficsim.Options{})
	ts := &TrafficSimulator{Addr: FreeAddr(t), Simulator: sim}
	srv := &http.Server{Addr: ts.Addr, Handler: sim.Handler()}
	go func() { _ = srv.ListenAndServe() }()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sim.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; _ = srv.Close() })
	return ts
}
