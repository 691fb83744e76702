package clientbudget

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Waiting is aviary_client_budget_waiting{priority}: requests queued for a
// token now. Non-zero for long means --qps/--burst hold the controller back.
var Waiting = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "aviary_client_budget_waiting",
	Help: "Requests to the Kubernetes API server waiting for the client budget (--qps/--burst), by priority.",
}, []string{"priority"})

// WaitSeconds is aviary_client_budget_wait_seconds{priority}: how long each
// request waited for its token (0 when one was there).
var WaitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "aviary_client_budget_wait_seconds",
	Help:    "Time requests to the Kubernetes API server waited for the client budget (--qps/--burst), by priority.",
	Buckets: []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
}, []string{"priority"})

// Collectors are the budget's metrics, for registration.
func Collectors() []prometheus.Collector { return []prometheus.Collector{Waiting, WaitSeconds} }

func observe(p Priority, waited time.Duration) {
	WaitSeconds.WithLabelValues(p.String()).Observe(waited.Seconds())
}

func queued(p Priority, delta float64) { Waiting.WithLabelValues(p.String()).Add(delta) }
