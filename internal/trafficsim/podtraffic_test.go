package trafficsim

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func pod(name, hash, latency string, phase corev1.PodPhase, env ...corev1.EnvVar) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{"rollouts-pod-template-hash": hash}}}
	p.Spec.Containers = []corev1.Container{{Name: "sidecar"}, {Name: "demo", Env: env}}
	if latency != "" {
		p.Spec.Containers[1].Env = append(p.Spec.Containers[1].Env, corev1.EnvVar{Name: LatencyEnv, Value: latency})
	}
	p.Status.Phase = phase
	return p
}

// requests are the exported request counts by pod and code.
func requests(t *testing.T, s *PodTraffic) map[string]float64 {
	t.Helper()
	families, err := s.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != RequestsMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["pod"]+"/"+labels["rollouts_pod_template_hash"]+"/"+labels["code"]] = m.GetCounter().GetValue()
		}
	}
	return out
}

// histograms are the exported histograms by pod.
func histograms(t *testing.T, s *PodTraffic) map[string]*dto.Histogram {
	t.Helper()
	families, err := s.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Histogram{}
	for _, f := range families {
		if f.GetName() != LatencyMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["pod"]+"/"+labels["rollouts_pod_template_hash"]] = m.GetHistogram()
		}
	}
	return out
}

// quantile reads q from a histogram's buckets as histogram_quantile does:
// linear interpolation inside the bucket that holds it.
func quantile(h *dto.Histogram, q float64) float64 {
	rank := q * float64(h.GetSampleCount())
	lower, below := 0.0, 0.0
	for _, b := range h.GetBucket() {
		n := float64(b.GetCumulativeCount())
		if n >= rank {
			return lower + (b.GetUpperBound()-lower)*(rank-below)/(n-below)
		}
		lower, below = b.GetUpperBound(), n
	}
	return lower
}

// TestPodTraffic: running pods that declare a median serve requests at the
// rate asked, their 95th percentiles as far apart as their medians; pods
// not running or declaring nothing serve none; a pod that is gone leaves
// the histogram.
func TestPodTraffic(t *testing.T) {
	objs := []client.Object{
		pod("base-1", "aaa", "100ms", corev1.PodRunning), pod("base-2", "aaa", "100ms", corev1.PodRunning),
		pod("canary-1", "bbb", "120ms", corev1.PodRunning, corev1.EnvVar{Name: ErrorRateEnv, Value: "10"}),
		pod("starting", "bbb", "120ms", corev1.PodPending), pod("silent", "aaa", "", corev1.PodRunning),
	}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).Build()
	s := NewPodTraffic(c, "ns", PodTrafficOptions{RequestsPerSecond: 400, Seed: 1})
	s.refresh(context.Background())
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		s.observe(0.1) // 10 s in ticks: 4000 requests a pod
	}
	h := histograms(t, s)
	if len(h) != 3 || h["base-1/aaa"] == nil || h["base-2/aaa"] == nil || h["canary-1/bbb"] == nil {
		t.Fatalf("histograms for %v, want base-1, base-2 and canary-1", keys(h))
	}
	for pod, hist := range h {
		if n := hist.GetSampleCount(); n < 3990 || n > 4000 {
			t.Errorf("%s: %d requests, want 4000 (10 s at 400/s)", pod, n)
		}
	}
	r := requests(t, s)
	if r["base-1/aaa/500"] != 0 || r["base-1/aaa/200"] != float64(h["base-1/aaa"].GetSampleCount()) {
		t.Errorf("base-1 requests %v: want every one of its %d successful", r, h["base-1/aaa"].GetSampleCount())
	}
	if bad, all := r["canary-1/bbb/500"], r["canary-1/bbb/200"]+r["canary-1/bbb/500"]; all != float64(h["canary-1/bbb"].GetSampleCount()) || bad/all < 0.08 || bad/all > 0.12 {
		t.Errorf("canary-1 requests %v: want about 10%% of them failed", r)
	}
	base, canary := quantile(h["base-1/aaa"], 0.95), quantile(h["canary-1/bbb"], 0.95)
	// A log-normal's 95th percentile is the median times exp(1.645·0.3).
	if base < 0.155 || base > 0.175 {
		t.Errorf("baseline p95 %.4f s, want about 0.164", base)
	}
	if r := canary / base; r < 1.14 || r > 1.26 {
		t.Errorf("canary p95 %.4f s is %.3f× the baseline's, want about 1.2", canary, r)
	}
	if err := c.Delete(context.Background(), objs[0]); err != nil {
		t.Fatal(err)
	}
	s.refresh(context.Background())
	if h := histograms(t, s); h["base-1/aaa"] != nil || len(h) != 2 {
		t.Errorf("after base-1 is gone: histograms for %v", keys(h))
	}
	if r := requests(t, s); len(r) != 4 {
		t.Errorf("after base-1 is gone: requests %v, want base-2's and canary-1's", r)
	}
}

func TestPodTrafficRefusesBadDeclarations(t *testing.T) {
	for _, c := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{pod("p", "aaa", "fast", corev1.PodRunning), `pod ns/p: container "demo": MEDIAN_LATENCY="fast" is not a positive duration such as 100ms`},
		{pod("p", "aaa", "10ms", corev1.PodRunning, corev1.EnvVar{Name: ErrorRateEnv, Value: "200"}), `pod ns/p: container "demo": ERROR_RATE="200" is not a percentage between 0 and 100`},
	} {
		s := NewPodTraffic(fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(c.pod).Build(), "ns", PodTrafficOptions{})
		s.refresh(context.Background())
		if err := s.Err(); err == nil || err.Error() != c.want {
			t.Errorf("error %v, want %s", err, c.want)
		}
		if len(s.pods) != 0 {
			t.Errorf("%s: serving %v", c.want, s.pods)
		}
	}
}

// TestPodTrafficRuns: Run lists the pods and keeps observing until its
// context ends; the handler serves the histogram.
func TestPodTrafficRuns(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(pod("p", "aaa", "50ms", corev1.PodRunning)).Build()
	s := NewPodTraffic(c, "ns", PodTrafficOptions{Tick: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	// Wait for ticks to be observed rather than for a time a loaded
	// machine may not give the loop.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if h := histograms(t, s)["p/aaa"]; h != nil && h.GetSampleCount() >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("histogram %v after 10s: want requests observed", histograms(t, s)["p/aaa"])
		}
	}
	cancel()
	<-done
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `http_request_duration_seconds_bucket{pod="p",rollouts_pod_template_hash="aaa",le="0.005"}`) {
		t.Errorf("exposition lacks the pod's buckets:\n%.500s", rec.Body.String())
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
