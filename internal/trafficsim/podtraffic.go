package trafficsim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// LatencyEnv is the container environment variable a pod template uses to
// declare the median duration of the requests its pods serve, as a Go
// duration (e.g. 100ms).
const LatencyEnv = "MEDIAN_LATENCY"

// The metrics PodTraffic exports, with the names the Prometheus client
// libraries' HTTP instrumentation commonly uses.
const (
	LatencyMetric  = "http_request_duration_seconds"
	RequestsMetric = "http_requests_total"
)

// PodTraffic simulates the requests the pods of one namespace serve, as
// each pod's own /metrics would report them, labelled with the pod's name
// (pod) and its rollouts-pod-template-hash (rollouts_pod_template_hash) as
// a Prometheus pod scrape with the usual relabelling names them: the
// histogram http_request_duration_seconds and the counter
// http_requests_total{code}. Every running pod whose containers declare
// LatencyEnv serves a steady request rate with log-normally distributed
// durations around that median, failing (code 500) the share of requests
// its ErrorRateEnv declares; pods that are gone are dropped from both.
type PodTraffic struct {
	client    client.Reader
	namespace string
	opts      PodTrafficOptions

	registry  *prometheus.Registry
	durations *prometheus.HistogramVec
	requests  *prometheus.CounterVec

	mu      sync.Mutex
	rng     *rand.Rand
	pods    map[podKey]podBehaviour // running pods
	pending map[podKey]float64      // requests counted but not yet whole
	err     error
}

// podBehaviour is what a pod's template declares.
type podBehaviour struct {
	median    time.Duration
	errorRate float64
}

type podKey struct{ pod, hash string }

// PodTrafficOptions tune a PodTraffic; zero values take the defaults.
type PodTrafficOptions struct {
	// RequestsPerSecond is each pod's request rate (default 100).
	RequestsPerSecond float64
	// Spread is the standard deviation of the log of a duration (default
	// 0.3: about a third of requests take more than 1.35× the median, the
	// 95th percentile is 1.64× it).
	Spread float64
	// Tick is how often requests are observed (default 100ms).
	Tick time.Duration
	// Refresh is how often the pods are listed again (default 1s).
	Refresh time.Duration
	// Seed makes the durations reproducible.
	Seed uint64
}

// LatencyBuckets are the histogram's upper bounds: 5 ms to about 6 s, each
// 10% above the last, fine enough that a quantile read with
// histogram_quantile moves with a shift of a few percent.
var LatencyBuckets = prometheus.ExponentialBuckets(0.005, 1.1, 75)

// NewPodTraffic returns a simulator for the pods of namespace, listed with c.
func NewPodTraffic(c client.Reader, namespace string, o PodTrafficOptions) *PodTraffic {
	if o.RequestsPerSecond <= 0 {
		o.RequestsPerSecond = 100
	}
	if o.Spread <= 0 {
		o.Spread = 0.3
	}
	if o.Tick <= 0 {
		o.Tick = 100 * time.Millisecond
	}
	if o.Refresh <= 0 {
		o.Refresh = time.Second
	}
	s := &PodTraffic{client: c, namespace: namespace, opts: o,
		registry: prometheus.NewRegistry(),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    LatencyMetric,
			Help:    "Simulated request durations by pod and pod-template hash.",
			Buckets: LatencyBuckets,
		}, []string{"pod", "rollouts_pod_template_hash"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: RequestsMetric,
			Help: "Simulated requests by pod, pod-template hash and status code.",
		}, []string{"pod", "rollouts_pod_template_hash", "code"}),
		rng:     rand.New(rand.NewPCG(o.Seed, 0x1a7e)),
		pods:    map[podKey]podBehaviour{},
		pending: map[podKey]float64{},
	}
	s.registry.MustRegister(s.durations, s.requests)
	return s
}

// Handler serves the metrics in the Prometheus text format.
func (s *PodTraffic) Handler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

// Err is the error of the last listing of pods, if it failed (the pods
// listed before keep serving then).
func (s *PodTraffic) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Run observes requests until ctx ends.
func (s *PodTraffic) Run(ctx context.Context) {
	loop(ctx, s.opts.Tick, s.opts.Refresh, s.refresh, s.observe)
}

// refresh lists the namespace's running pods and what they declare.
func (s *PodTraffic) refresh(ctx context.Context) {
	var list corev1.PodList
	err := s.client.List(ctx, &list, client.InNamespace(s.namespace), client.HasLabels{v1alpha1.DefaultRolloutUniqueLabelKey})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
	if err != nil {
		return
	}
	pods := map[podKey]podBehaviour{}
	for i := range list.Items {
		pod := &list.Items[i]
		if pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil {
			continue
		}
		median, ok, err := LatencyOf(&pod.Spec)
		var rate float64
		if err == nil {
			rate, err = errorRate(&pod.Spec)
		}
		if err != nil {
			s.err = fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
			continue
		}
		if ok {
			pods[podKey{pod.Name, pod.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]}] = podBehaviour{median: median, errorRate: rate}
		}
	}
	for k := range s.pods {
		if _, ok := pods[k]; !ok {
			s.durations.DeleteLabelValues(k.pod, k.hash)
			s.requests.DeletePartialMatch(prometheus.Labels{"pod": k.pod, "rollouts_pod_template_hash": k.hash})
			delete(s.pending, k)
		}
	}
	s.pods = pods
}

// observe records the requests each pod served in the last seconds.
func (s *PodTraffic) observe(seconds float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, b := range s.pods {
		n := s.pending[k] + seconds*s.opts.RequestsPerSecond
		whole := math.Floor(n)
		s.pending[k] = n - whole
		h := s.durations.WithLabelValues(k.pod, k.hash)
		failed := 0
		for range int(whole) {
			h.Observe(b.median.Seconds() * math.Exp(s.opts.Spread*s.rng.NormFloat64()))
			if s.rng.Float64() < b.errorRate {
				failed++
			}
		}
		s.requests.WithLabelValues(k.pod, k.hash, "200").Add(whole - float64(failed))
		s.requests.WithLabelValues(k.pod, k.hash, "500").Add(float64(failed))
	}
}

// LatencyOf reads the median request duration a pod spec declares through
// LatencyEnv on any of its containers (the first that sets it); ok is
// false when none does.
func LatencyOf(spec *corev1.PodSpec) (median time.Duration, ok bool, err error) {
	container, value, ok := env(spec, LatencyEnv)
	if !ok {
		return 0, false, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(value))
	if err != nil || d <= 0 {
		return 0, false, fmt.Errorf("container %q: %s=%q is not a positive duration such as 100ms", container, LatencyEnv, value)
	}
	return d, true, nil
}
