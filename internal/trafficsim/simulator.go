package trafficsim

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Simulator counts simulated requests for one stable Ingress at a steady
// rate, re-reading the split from the cluster as NGINX would on a change.
type Simulator struct {
	observer Observer
	rate     float64
	tick     time.Duration
	refresh  time.Duration

	registry *prometheus.Registry
	requests *prometheus.CounterVec

	mu    sync.Mutex
	split Split
	err   error
}

// Options tune a Simulator; zero values take the defaults.
type Options struct {
	// RequestsPerSecond is the simulated request rate (default 1000).
	RequestsPerSecond float64
	// Tick is how often requests are counted (default 100ms).
	Tick time.Duration
	// Refresh is how often the split is re-read (default 1s, about how
	// soon ingress-nginx applies an Ingress change).
	Refresh time.Duration
}

// New returns a Simulator for the stable Ingress the observer names.
func New(o Observer, opts Options) *Simulator {
	s := &Simulator{observer: o, rate: opts.RequestsPerSecond, tick: opts.Tick, refresh: opts.Refresh,
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nginx_ingress_controller_requests",
			Help: "Simulated requests by ingress, service, canary backend and status, as ingress-nginx counts them.",
		}, []string{"namespace", "ingress", "service", "canary", "status"}),
	}
	if s.rate <= 0 {
		s.rate = 1000
	}
	if s.tick <= 0 {
		s.tick = 100 * time.Millisecond
	}
	if s.refresh <= 0 {
		s.refresh = time.Second
	}
	s.registry.MustRegister(s.requests)
	return s
}

// Handler serves the counters in the Prometheus text format.
func (s *Simulator) Handler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

// Split is the split last read, and the error of the last read if it
// failed (the previous split stays in force then, as in NGINX).
func (s *Simulator) Split() (Split, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.split, s.err
}

// Run counts requests until ctx ends. No request is counted before the
// split has been read once.
func (s *Simulator) Run(ctx context.Context) {
	loop(ctx, s.tick, s.refresh, s.read, func(seconds float64) { s.count(seconds * s.rate) })
}

// loop calls read at once and every refresh, and step every tick with the
// seconds since the last, until ctx ends.
func loop(ctx context.Context, tick, refresh time.Duration, read func(context.Context), step func(seconds float64)) {
	read(ctx)
	ticks := time.NewTicker(tick)
	defer ticks.Stop()
	refreshes := time.NewTicker(refresh)
	defer refreshes.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-refreshes.C:
			read(ctx)
		case now := <-ticks.C:
			step(now.Sub(last).Seconds())
			last = now
		}
	}
}

func (s *Simulator) read(ctx context.Context) {
	split, err := s.observer.Observe(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
	if err == nil {
		s.split = split
	}
}

func (s *Simulator) count(n float64) {
	split, _ := s.Split()
	if split.Stable.Service == "" {
		return
	}
	for _, c := range split.Requests(n) {
		s.requests.WithLabelValues(s.observer.Namespace, split.Ingress, c.Service, c.Canary, c.Status).Add(c.N)
	}
}
