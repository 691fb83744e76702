package metrics

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// exposed builds an Exposition over a registry of its own holding one
// client_golang family, with every kind of streamed collector registered,
// each with objects or series whose labels need escaping; and the
// client_golang handler over the same collectors, to compare against.
func exposed(t *testing.T, reader client.Reader) (*Exposition, http.Handler) {
	t.Helper()
	rest := prometheus.NewRegistry()
	plain := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plain_total", Help: "A client_golang family."}, []string{"code"})
	plain.WithLabelValues("200").Add(3)
	rest.MustRegister(plain)

	counter := NewCounterVec("streamed_counter", "A compact counter,\nwith a \\ in its help.", []string{"namespace", "name", "reason"})
	counter.WithLabelValues("shop", "web", "Updated").Inc()
	counter.WithLabelValues("shop", "web", "quote \" back \\ new\nline").Inc()
	counter.WithLabelValues("blog", "site", "Updated").Inc()
	hist := NewHistogramVec("streamed_seconds", "A compact histogram.", []float64{0.01, .25, 1, 1e6}, []string{"namespace", "name"})
	for _, v := range []float64{0.005, 0.3, 2, 7, 2e6} {
		hist.WithLabelValues("shop", "web").Observe(v)
	}
	hist.WithLabelValues("blog", "site").Observe(math.Pi)
	empty := NewCounterVec("streamed_empty", "A counter without series.", []string{"name"})

	e := NewExposition(rest)
	e.MustRegister(counter, hist, empty,
		&RolloutCollector{Reader: reader}, &ExperimentCollector{Reader: reader},
		&AnalysisCollector{Reader: reader, ClusterTemplates: true})
	all := prometheus.NewRegistry()
	all.MustRegister(plain, counter, hist, empty,
		&RolloutCollector{Reader: reader}, &ExperimentCollector{Reader: reader},
		&AnalysisCollector{Reader: reader, ClusterTemplates: true})
	return e, promhttp.HandlerFor(all, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}

func objects() []client.Object {
	ro := &v1alpha1.Rollout{}
	ro.Namespace, ro.Name = "shop", "web"
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{TrafficRouting: &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{}}}
	ro.Status.Conditions = []v1alpha1.RolloutCondition{{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: v1alpha1.NewRSAvailableReason}}
	ro.Status.Replicas, ro.Status.AvailableReplicas, ro.Status.UpdatedReplicas = 4, 3, 4
	bg := &v1alpha1.Rollout{}
	bg.Namespace, bg.Name = "blog", "site"
	bg.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "site"}
	run := &v1alpha1.AnalysisRun{}
	run.Namespace, run.Name = "shop", "web-1"
	run.Spec.Metrics = []v1alpha1.Metric{
		{Name: `rate "p99" \ ok`, Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{}}},
		{Name: "errors\nper second", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{}}},
	}
	run.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "errors.*"}}
	run.Status.Phase = v1alpha1.AnalysisPhaseRunning
	run.Status.MetricResults = []v1alpha1.MetricResult{{Name: "errors\nper second", Phase: v1alpha1.AnalysisPhaseFailed}}
	tmpl := &v1alpha1.AnalysisTemplate{}
	tmpl.Namespace, tmpl.Name = "shop", "rate"
	tmpl.Spec.Metrics = []v1alpha1.Metric{{Name: "rate", Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{}}}}
	cluster := &v1alpha1.ClusterAnalysisTemplate{}
	cluster.Name = "shared"
	cluster.Spec.Metrics = []v1alpha1.Metric{{Name: "job", Provider: v1alpha1.MetricProvider{Job: &v1alpha1.JobMetric{}}}}
	ex := &v1alpha1.Experiment{}
	ex.Namespace, ex.Name = "shop", "web-exp"
	ex.Status.Phase = v1alpha1.AnalysisPhaseSuccessful
	return []client.Object{ro, bg, run, tmpl, cluster, ex}
}

func scrape(t *testing.T, h http.Handler, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	maps.Copy(req.Header, header)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// sortedLines are a text exposition's lines, sorted: the text writer may
// order series (and the streamed families after the others) differently
// from client_golang, which sorts them; every line must be the same.
func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(lines)
	return lines
}

// TestExpositionTextIsClientGolangs: the streamed text is, line for line,
// what client_golang's handler writes for the same collectors — escaping,
// label order, number format, histogram buckets, empty families left out
// — and parses as the format.
func TestExpositionTextIsClientGolangs(t *testing.T) {
	e, reference := exposed(t, cacheOf(t, objects()...))
	accept := http.Header{"Accept": {"text/plain;version=0.0.4;q=1,*/*;q=0.1"}}
	got, want := scrape(t, e, accept), scrape(t, reference, accept)
	if got.Code != http.StatusOK {
		t.Fatalf("status %d: %s", got.Code, got.Body)
	}
	if g, w := got.Header().Get("Content-Type"), want.Header().Get("Content-Type"); g != w {
		t.Errorf("Content-Type %q, want %q", g, w)
	}
	if g, w := sortedLines(got.Body.String()), sortedLines(want.Body.String()); !slices.Equal(g, w) {
		t.Fatalf("streamed text differs from client_golang's:\n--- got\n%s\n--- want\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	for _, must := range []string{
		`streamed_counter{name="web",namespace="shop",reason="quote \" back \\ new\nline"} 1`,
		`streamed_seconds_bucket{name="web",namespace="shop",le="1e+06"} 4`,
		`analysis_run_metric_phase{dry_run="true",metric="errors\nper second",name="web-1",namespace="shop",phase="Failed",type="Web"} 1`,
		"rollout_info{name=\"web\",namespace=\"shop\",phase=\"Completed\",strategy=\"canary\",traffic_router=\"Istio\"} 1",
	} {
		if !strings.Contains(got.Body.String(), must+"\n") {
			t.Errorf("no line %s", must)
		}
	}
	if strings.Contains(got.Body.String(), "streamed_empty") {
		t.Error("a family without series was written")
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(got.Body.String()))
	if err != nil {
		t.Fatalf("streamed text does not parse: %v", err)
	}
	if len(families["rollout_phase"].GetMetric()) != 12 {
		t.Errorf("rollout_phase has %d series, want 12", len(families["rollout_phase"].GetMetric()))
	}
}

// TestExpositionGzip: Prometheus asks for gzip; the body is the same text
// compressed.
func TestExpositionGzip(t *testing.T) {
	e, _ := exposed(t, cacheOf(t, objects()...))
	plain := scrape(t, e, nil)
	zipped := scrape(t, e, http.Header{"Accept-Encoding": {"gzip"}})
	if zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", zipped.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sortedLines(string(body)), sortedLines(plain.Body.String())) {
		t.Error("gzipped body differs from the plain one")
	}
	refused := scrape(t, e, http.Header{"Accept-Encoding": {"gzip;q=0, identity"}})
	if refused.Header().Get("Content-Encoding") != "" || !slices.Equal(sortedLines(refused.Body.String()), sortedLines(plain.Body.String())) {
		t.Errorf("gzip;q=0 got Content-Encoding %q", refused.Header().Get("Content-Encoding"))
	}
}

// TestExpositionOtherFormats: a scraper asking for protobuf gets
// client_golang's encoding of every family, streamed ones included.
func TestExpositionOtherFormats(t *testing.T) {
	e, _ := exposed(t, cacheOf(t, objects()...))
	rec := scrape(t, e, http.Header{"Accept": {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	format := expfmt.ResponseFormat(rec.Header())
	if format.FormatType() != expfmt.TypeProtoDelim {
		t.Fatalf("format %q, want delimited protobuf", format)
	}
	dec := expfmt.NewDecoder(bytes.NewReader(rec.Body.Bytes()), format)
	seen := map[string]int{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		seen[mf.GetName()] = len(mf.GetMetric())
	}
	for name, n := range map[string]int{"plain_total": 1, "streamed_counter": 3, "streamed_seconds": 2, "rollout_info": 2, "experiment_info": 1, "analysis_template_info": 2} {
		if seen[name] != n {
			t.Errorf("%s: %d series, want %d (families: %v)", name, seen[name], n, seen)
		}
	}
}

// failingReader cannot list anything, as a cache that is not synced in
// time.
type failingReader struct{ client.Reader }

func (failingReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("cache not synced")
}

// TestExpositionListFailureIsAnHTTPError: a kind that cannot be read
// fails the scrape with 500 before any byte of the body, as
// controller-runtime's handler did.
func TestExpositionListFailureIsAnHTTPError(t *testing.T) {
	e, _ := exposed(t, failingReader{})
	rec := scrape(t, e, nil)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if body := rec.Body.String(); !strings.Contains(body, "cache not synced") || strings.Contains(body, "# HELP") {
		t.Errorf("body %q: want the error and no families", body)
	}
}

// storeCache hands out informers, as the manager's cache does.
type storeCache struct {
	client.Reader
	informers map[string]toolscache.SharedIndexInformer
}

func (c storeCache) GetInformer(_ context.Context, obj client.Object, _ ...cache.InformerGetOption) (cache.Informer, error) {
	inf, ok := c.informers[fmt.Sprintf("%T", obj)]
	if !ok {
		return nil, fmt.Errorf("no informer for %T", obj)
	}
	return inf, nil
}

// TestExpositionReadsInformerStores: from the manager's cache the
// collectors walk the informers' stores (no copy of each object); the
// scrape shows the same as from a reader that lists.
func TestExpositionReadsInformerStores(t *testing.T) {
	objs := objects()
	informers := map[string]toolscache.SharedIndexInformer{}
	for _, o := range objs {
		key := fmt.Sprintf("%T", o)
		if informers[key] == nil {
			informers[key] = toolscache.NewSharedIndexInformer(nil, o, 0, toolscache.Indexers{})
		}
		if err := informers[key].GetStore().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []client.Object{&v1alpha1.Rollout{}, &v1alpha1.AnalysisRun{}, &v1alpha1.AnalysisTemplate{}, &v1alpha1.ClusterAnalysisTemplate{}, &v1alpha1.Experiment{}} {
		if informers[fmt.Sprintf("%T", o)] == nil {
			t.Fatalf("objects() has no %T", o)
		}
	}
	fromStores, _ := exposed(t, storeCache{Reader: failingReader{}, informers: informers})
	listed, _ := exposed(t, cacheOf(t, objects()...))
	got, want := scrape(t, fromStores, nil), scrape(t, listed, nil)
	if got.Code != http.StatusOK {
		t.Fatalf("status %d: %s", got.Code, got.Body)
	}
	if !slices.Equal(sortedLines(got.Body.String()), sortedLines(want.Body.String())) {
		t.Errorf("from the stores:\n%s\nlisted:\n%s", got.Body, want.Body)
	}
}
