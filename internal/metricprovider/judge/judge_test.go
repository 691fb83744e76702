package judge

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	stats "github.com/aviary-rollouts/aviary/internal/analysis/judge"
	"github.com/aviary-rollouts/aviary/internal/metricprovider"
	"github.com/aviary-rollouts/aviary/internal/metricprovider/prometheus"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

// The pod-template hashes of the two sides in the tests' configurations.
const (
	baselineHash = "7d9f8c6b5"
	canaryHash   = "5c4b7f9d8"
)

// p95Query is the documented latency query.
const p95Query = `histogram_quantile(0.95, sum by (le, pod) (rate(http_request_duration_seconds_bucket{rollouts_pod_template_hash="${version}"}[30s])))`

// config is the documented configuration (as a template's YAML) for the
// Prometheus at ADDRESS.
const config = `
prometheus: {address: ADDRESS}
baseline: ` + baselineHash + `
canary: ` + canaryHash + `
window: 5m
step: 15s
thresholds: {pass: 95, marginal: 75}
metrics:
- name: p95-latency
  query: '` + p95Query + `'
  direction: increase
  tolerance: 0.1
  critical: true
  minSamples: 20
`

// metric is a metric whose judge configuration is yaml (ADDRESS replaced
// by address).
func metric(t *testing.T, address, yml string) v1alpha1.Metric {
	t.Helper()
	raw, err := yaml.YAMLToJSON([]byte(strings.ReplaceAll(yml, "ADDRESS", address)))
	if err != nil {
		t.Fatal(err)
	}
	return v1alpha1.Metric{Name: "judge", Provider: v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{PluginKey: raw}}}
}

func newProvider() *Provider {
	p := New()
	p.Clock = providertest.Clock
	p.Prometheus.Getenv = func(string) string { return "" }
	return p
}

// side is what the stand-in answers for one pod-template hash: each pod's
// values, one per step from the window's start.
type side map[string][]float64

// latencies are n p95 latencies per pod for pods, around median (seconds)
// with a 5% spread, drawn from seed.
func latencies(seed uint64, median float64, pods []string, n int) side {
	r := rand.New(rand.NewPCG(seed, 1))
	out := side{}
	for _, pod := range pods {
		for range n {
			out[pod] = append(out[pod], median*math.Exp(0.05*r.NormFloat64()))
		}
	}
	return out
}

// standIn is a Prometheus answering range queries with a matrix per
// pod-template hash in the rollouts_pod_template_hash matcher. It checks
// each request is the range query the configuration asks for: POST
// /api/v1/query_range, the query with the hash in place of ${version}, the
// window ending at the measurement and the step.
func standIn(t *testing.T, window, step time.Duration, sides map[string]side) *httptest.Server {
	t.Helper()
	hash := regexp.MustCompile(`rollouts_pod_template_hash="([^"]*)"`)
	end := providertest.At
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/query_range" {
			t.Errorf("%s %s, want POST /api/v1/query_range", r.Method, r.URL.Path)
		}
		q := r.PostFormValue("query")
		m := hash.FindStringSubmatch(q)
		if m == nil || strings.ReplaceAll(p95Query, "${version}", m[1]) != q {
			t.Errorf("query %q is not the configured one with a hash in place of ${version}", q)
		}
		want := map[string]string{"start": unix(end.Add(-window)), "end": unix(end), "step": strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}
		for k, v := range want {
			if got := r.PostFormValue(k); got != v {
				t.Errorf("%s %q, want %q", k, got, v)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		var result []string
		for pod, values := range sides[m[1]] {
			var points []string
			for i, v := range values {
				points = append(points, fmt.Sprintf(`[%s,"%s"]`, unix(end.Add(-window+time.Duration(i)*step)), strconv.FormatFloat(v, 'g', -1, 64)))
			}
			result = append(result, fmt.Sprintf(`{"metric":{"pod":%q},"values":[%s]}`, pod, strings.Join(points, ",")))
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[%s]}}`, strings.Join(result, ","))
	}))
	t.Cleanup(s.Close)
	return s
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// decode reads a measurement's value.
func decode(t *testing.T, m v1alpha1.Measurement) stats.Value {
	t.Helper()
	var v stats.Value
	if err := json.Unmarshal([]byte(m.Value), &v); err != nil {
		t.Fatalf("value %q: %v", m.Value, err)
	}
	return v
}

var (
	pods       = []string{"web-a", "web-b"}
	canaryPods = []string{"web-c", "web-d"}
)

func TestRunJudges(t *testing.T) {
	const window, step = 5 * time.Minute, 15 * time.Second
	const n = 21 // points per series in the window
	nan := latencies(1, 0.1, pods, n)
	nan["web-a"][3], nan["web-b"][7] = math.NaN(), math.NaN()
	cases := []struct {
		name      string
		baseline  side
		canary    side
		wantPhase v1alpha1.AnalysisPhase
		wantClass stats.Class
		// wantMessage are parts of the message, in order.
		wantMessage []string
		wantN       [2]int // baseline, canary samples
	}{
		{"canary 20% slower fails", latencies(1, 0.1, pods, n), latencies(2, 0.12, canaryPods, n), v1alpha1.AnalysisPhaseFailed, stats.High,
			[]string{"Fail: score ", "p95-latency High (critical): canary median 0.1", " vs baseline 0.1", "effect on the median +", "% [+", "%, +", "%] (90% interval), p=", "42/42 samples"}, [2]int{42, 42}},
		{"same latencies pass", latencies(1, 0.1, pods, n), latencies(2, 0.1, canaryPods, n), v1alpha1.AnalysisPhaseSuccessful, stats.Pass,
			[]string{"Pass: score 100 (pass 95, marginal 75)"}, [2]int{42, 42}},
		{"NaN points are left out", nan, latencies(2, 0.1, canaryPods, n), v1alpha1.AnalysisPhaseSuccessful, stats.Pass,
			[]string{"Pass: score 100"}, [2]int{40, 42}},
		{"a canary without data is never a pass", latencies(1, 0.1, pods, n), side{}, v1alpha1.AnalysisPhaseFailed, stats.NoData,
			[]string{"Fail: ", "p95-latency NoData (critical) with 42 baseline and 0 canary samples: "}, [2]int{42, 0}},
		{"too few samples are never a pass", latencies(1, 0.1, pods, n), latencies(2, 0.1, canaryPods[:1], 5), v1alpha1.AnalysisPhaseFailed, stats.NoData,
			[]string{"Fail: ", "p95-latency NoData (critical) with 42 baseline and 5 canary samples: "}, [2]int{42, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := standIn(t, window, step, map[string]side{baselineHash: c.baseline, canaryHash: c.canary})
			got := newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, metric(t, s.URL, config))
			if got.Phase != c.wantPhase {
				t.Fatalf("phase %s (%q), want %s", got.Phase, got.Message, c.wantPhase)
			}
			rest := got.Message
			for _, part := range c.wantMessage {
				i := strings.Index(rest, part)
				if i < 0 {
					t.Fatalf("message %q: want %q (after the earlier parts)", got.Message, part)
				}
				rest = rest[i+len(part):]
			}
			v := decode(t, got)
			if len(v.Verdicts) != 1 || len(v.Samples) != 1 {
				t.Fatalf("value %s: want one verdict and one summary", got.Value)
			}
			vd := v.Verdicts[0]
			if vd.Metric != "p95-latency" || vd.Class != c.wantClass || vd.BaselineN != c.wantN[0] || vd.CanaryN != c.wantN[1] || !vd.Critical {
				t.Errorf("verdict %+v: want p95-latency %s with %v samples, critical", vd, c.wantClass, c.wantN)
			}
			if sum := v.Samples[0]; len(sum.Baseline) != len(stats.SummaryQuantiles) || (c.wantN[1] > 0) != (len(sum.Canary) == len(stats.SummaryQuantiles)) {
				t.Errorf("summary %+v: want %d quantiles per side with samples", sum, len(stats.SummaryQuantiles))
			}
			if !got.StartedAt.Time.Equal(providertest.At) || !got.FinishedAt.Time.Equal(providertest.At) {
				t.Errorf("started %v finished %v, want both %v", got.StartedAt, got.FinishedAt, providertest.At)
			}
		})
	}
}

// TestRunFailedValue: the failing judgement's value carries the medians,
// the effect with its interval and the quantiles of each side.
func TestRunFailedValue(t *testing.T) {
	s := standIn(t, 5*time.Minute, 15*time.Second, map[string]side{
		baselineHash: latencies(1, 0.1, pods, 21), canaryHash: latencies(2, 0.12, canaryPods, 21)})
	got := newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, metric(t, s.URL, config))
	v := decode(t, got)
	vd := v.Verdicts[0]
	if v.Outcome != stats.OutcomeFail || vd.BaselineMedian < 0.095 || vd.BaselineMedian > 0.105 || vd.CanaryMedian < 0.114 || vd.CanaryMedian > 0.126 {
		t.Errorf("value %s: want Fail with medians near 0.1 and 0.12", got.Value)
	}
	if !(vd.EffectLow <= vd.Effect && vd.Effect <= vd.EffectHigh && vd.EffectLow > 0.1) {
		t.Errorf("effect %v [%v, %v]: want an interval around 20%% above the tolerated 10%%", vd.Effect, vd.EffectLow, vd.EffectHigh)
	}
	b, c := v.Samples[0].Baseline, v.Samples[0].Canary
	if !(b[0] <= b[3] && b[3] <= b[6] && c[3] > b[3]) {
		t.Errorf("quantiles baseline %v canary %v: want ordered, the canary's median higher", b, c)
	}
}

func TestRunErrors(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	badData := providertest.Serve(t, 400, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected <EOF>"}`, nil)
	empty := providertest.Serve(t, 200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`, nil)
	vector := providertest.Serve(t, 200, `{"status":"success","data":{"resultType":"vector","result":[]}}`, nil)
	hang := providertest.Hang(t)
	cases := []struct {
		name, address, config, want string
	}{
		{"prometheus down", down.URL, config, `metric "p95-latency", baseline query: query prometheus at ` + down.URL + `: dial tcp `},
		{"query error", badData.URL, config, `metric "p95-latency", baseline query: query prometheus at ` + badData.URL + `: bad_data: invalid parameter "query": 1:5: parse error: unexpected <EOF>`},
		{"no series on either side", empty.URL, config, `metric "p95-latency": neither the baseline (` + baselineHash + `) nor the canary (` + canaryHash + `) query answered any series over the last 5m0s: check the query, the label it selects ${version} with and the values passed`},
		{"not a matrix", vector.URL, config, `metric "p95-latency", baseline query: query prometheus at ` + vector.URL + `: a range query answered a vector, not a matrix`},
		{"timeout", hang.URL, strings.Replace(config, "{address: ADDRESS}", "{address: ADDRESS, timeout: 1}", 1), `metric "p95-latency", baseline query: query prometheus at ` + hang.URL + `: `},
		{"no address", "", strings.Replace(config, "{address: ADDRESS}", "{}", 1), `metric "p95-latency", baseline query: query prometheus: prometheus address is not configured: set provider.plugin.aviary-rollouts/judge.prometheus.address or ` + prometheus.AddressEnv},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, metric(t, c.address, c.config))
			if got.Phase != v1alpha1.AnalysisPhaseError || !strings.HasPrefix(got.Message, c.want) || got.Value != "" {
				t.Errorf("got %s %q value %q; want Error starting %q", got.Phase, got.Message, got.Value, c.want)
			}
		})
	}
}

// TestRunWarnings: Prometheus' warnings are kept in the measurement's
// metadata, once each.
func TestRunWarnings(t *testing.T) {
	body := `{"status":"success","warnings":["PromQL info: metric might not be a counter"],"data":{"resultType":"matrix","result":[{"metric":{"pod":"a"},"values":[[1772366862,"0.1"]]}]}}`
	s := providertest.Serve(t, 200, body, nil)
	got := newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, metric(t, s.URL, config))
	if got.Metadata[prometheus.WarningsKey] != "PromQL info: metric might not be a counter" {
		t.Errorf("metadata %v: want the warning once", got.Metadata)
	}
}

func TestParseRefuses(t *testing.T) {
	const f = "provider.plugin.aviary-rollouts/judge"
	cases := []struct {
		name, config, want string
	}{
		{"unknown field", config + "tolerence: 0.1\n", f + `: unknown field "tolerence": check its spelling; the fields are prometheus, baseline, canary, window, step, thresholds and metrics (name, query, direction, tolerance, critical, minSamples, weight)`},
		{"wrong type", strings.Replace(config, "minSamples: 20", "minSamples: many", 1), f + `: metrics.minSamples: a string cannot be a int`},
		{"no prometheus", strings.Replace(config, "prometheus: {address: ADDRESS}\n", "", 1), f + ".prometheus: missing: give the server the samples come from, e.g. {address: http://prometheus:9090}"},
		{"prometheus query", strings.Replace(config, "{address: ADDRESS}", "{address: ADDRESS, query: up}", 1), f + ".prometheus: query and rangeQuery are not used here: each metric's query goes in metrics[].query, the range in window and step"},
		{"no baseline", strings.Replace(config, "baseline: "+baselineHash+"\n", "", 1), f + `.baseline: missing: give the label value that selects the baseline's pods, usually an arg such as "{{args.baseline-hash}}"`},
		{"quote in canary", strings.Replace(config, "canary: "+canaryHash, `canary: 'a"b'`, 1), f + `.canary: "a\"b" cannot go inside a PromQL string: use a plain label value such as a pod-template hash`},
		{"same sides", strings.Replace(config, "canary: "+canaryHash, "canary: "+baselineHash, 1), f + `.canary: "` + baselineHash + `" is also the baseline: the two sides must select different pods (pass each template's own hash)`},
		{"bad window", strings.Replace(config, "window: 5m", "window: five", 1), f + `.window: "five" is not a positive duration: write e.g. 2m or 15s`},
		{"step beyond window", strings.Replace(config, "step: 15s", "step: 10m", 1), f + ".step: 10m0s is longer than window 5m0s: give a step that fits several times into the window"},
		{"too many points", strings.Replace(config, "step: 15s", "step: 10ms", 1), f + ".step: window 5m0s / step 10ms is 30000 points per series; Prometheus answers at most 11000: lengthen the step"},
		{"marginal above pass", strings.Replace(config, "{pass: 95, marginal: 75}", "{pass: 60}", 1), f + ".thresholds.marginal: 75: give a score above 0 and at most thresholds.pass, 60 (default 75)"},
		{"zero marginal", strings.Replace(config, "marginal: 75", "marginal: 0", 1), f + ".thresholds.marginal: 0: give a score above 0 and at most thresholds.pass, 95 (default 75)"},
		{"no metrics", config[:strings.Index(config, "metrics:")], f + ".metrics: missing: list at least one metric to compare, each with a name and a query using ${version}"},
		{"no placeholder", strings.Replace(config, "${version}", baselineHash, 1), f + `.metrics[0].query: must contain ${version} where the baseline's or canary's label value goes, e.g. rollouts_pod_template_hash="${version}"`},
		{"direction", strings.Replace(config, "direction: increase", "direction: up", 1), f + `.metrics[0].direction: "up": write increase (higher is worse), decrease (lower is worse) or either`},
		{"negative tolerance", strings.Replace(config, "tolerance: 0.1", "tolerance: -0.1", 1), f + ".metrics[0].tolerance: -0.1: give the tolerated relative change of the median, 0 or more (0.1 = 10%)"},
		{"duplicate name", config + "- name: p95-latency\n  query: 'up{h=\"${version}\"}'\n", f + `.metrics[1].name: "p95-latency" is used by another metric: give each a name of its own`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := metric(t, "http://prometheus:9090", c.config)
			_, err := Parse(m)
			if want := `metric "judge": ` + c.want; err == nil || err.Error() != want {
				t.Errorf("error %v\nwant %s", err, want)
			}
			got := newProvider().Run(context.Background(), &v1alpha1.AnalysisRun{}, m)
			if got.Phase != v1alpha1.AnalysisPhaseError || err == nil || got.Message != err.Error() {
				t.Errorf("Run: %s %q, want Error with the parse error", got.Phase, got.Message)
			}
		})
	}
	two := strings.Replace(strings.Replace(config, "window: 5m", "window: -1m", 1), "direction: increase", "direction: up", 1)
	_, err := Parse(metric(t, "http://prometheus:9090", two))
	if want := `metric "judge": ` + f + `.window: "-1m" is not a positive duration: write e.g. 2m or 15s; ` + f + `.metrics[0].direction: "up": write increase (higher is worse), decrease (lower is worse) or either`; err == nil || err.Error() != want {
		t.Errorf("two mistakes: %v\nwant %s", err, want)
	}
	m := metric(t, "http://prometheus:9090", config)
	m.SuccessCondition = "result.score > 90"
	if _, err := Parse(m); err == nil || !strings.Contains(err.Error(), "successCondition and failureCondition are not used with aviary-rollouts/judge") {
		t.Errorf("a condition: %v", err)
	}
	m = metric(t, "http://prometheus:9090", config)
	m.Provider.Plugin["argoproj-labs/other"] = json.RawMessage(`{}`)
	if _, err := Parse(m); err == nil || !strings.Contains(err.Error(), "provider.plugin must hold only the aviary-rollouts/judge entry") {
		t.Errorf("two plugins: %v", err)
	}
}

// TestParseDefaults: the optional fields take their documented defaults;
// an explicit tolerance of 0 tolerates nothing (the judge reads 0 as its
// default, and a negative tolerance as none).
func TestParseDefaults(t *testing.T) {
	s, err := Parse(metric(t, "", `
prometheus: {}
baseline: a
canary: b
metrics:
- {name: errors, query: 'sum(rate(errors{h="${version}"}[1m]))'}
- {name: p50, query: 'p50{h="${version}"}', tolerance: 0}
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.window != DefaultWindow || s.step != DefaultStep || s.thresholds != (stats.Thresholds{Pass: stats.DefaultPass, Marginal: stats.DefaultMarginal}) {
		t.Errorf("window %v step %v thresholds %+v", s.window, s.step, s.thresholds)
	}
	if c := s.Metrics[0].criteria(); c != (stats.Criteria{}) {
		t.Errorf("criteria %+v, want the judge's defaults (zero)", c)
	}
	if c := s.Metrics[1].criteria(); c.Tolerance >= 0 {
		t.Errorf("tolerance 0 became %v, want a negative (none tolerated)", c.Tolerance)
	}
}

// TestValueFits: a judgement of many metrics still gives valid JSON within
// the measurement's limit, dropping the summaries first.
func TestValueFits(t *testing.T) {
	var verdicts []stats.Verdict
	var summaries []stats.Summary
	for i := range 12 {
		class := stats.Pass
		if i == 5 {
			class = stats.High
		}
		verdicts = append(verdicts, stats.Verdict{Metric: fmt.Sprintf("metric-with-a-long-name-%d", i), Class: class, BaselineMedian: 0.1234567, CanaryMedian: 0.1481481,
			Effect: 0.2, EffectLow: 0.1812345, EffectHigh: 0.2212345, PValue: 1.234567e-9, BaselineN: 40, CanaryN: 40,
			Reason: "the canary's median is 20% above the baseline's, beyond the tolerated 10%"})
		summaries = append(summaries, stats.Summary{Baseline: stats.Summarize([]float64{1, 2, 3}), Canary: stats.Summarize([]float64{math.Inf(1), 2})})
	}
	value := encode(stats.Judgement{Score: 91.66666, Outcome: stats.OutcomeMarginal, Verdicts: verdicts, Reason: "1 of 12 metrics failed"}, summaries)
	var v stats.Value
	if err := json.Unmarshal([]byte(value), &v); err != nil || len(value) > metricprovider.MaxValueBytes {
		t.Fatalf("%d bytes, %v: %s", len(value), err, value)
	}
	if v.Score != 91.67 || v.Samples != nil || len(v.Verdicts) == 0 {
		t.Errorf("value %s: want the score rounded, the failing verdict kept and the summaries dropped", value)
	}
	for _, vd := range v.Verdicts {
		if vd.Class == stats.High && (vd.Reason == "" || vd.CanaryMedian != 0.1481) {
			t.Errorf("failing verdict %+v: want its reason and rounded medians", vd)
		}
	}
	if verdicts[0].CanaryMedian != 0.1481481 {
		t.Error("encode changed the caller's verdicts")
	}

	small := encode(stats.Judgement{Score: 100, Outcome: stats.OutcomePass, Verdicts: verdicts[:1]}, summaries[:1])
	if err := json.Unmarshal([]byte(small), &v); err != nil || len(v.Samples) != 1 || v.Samples[0].Canary[0] != 2 || v.Samples[0].Canary[6] != 2 {
		t.Errorf("one metric %s: want its summary kept, of the finite samples", small)
	}
}

// TestMessage: every metric that did not pass is named with what explains
// it; passing metrics are not.
func TestMessage(t *testing.T) {
	j := stats.Judgement{Score: 25, Outcome: stats.OutcomeFail, Verdicts: []stats.Verdict{
		{Metric: "p95", Class: stats.Pass, Effect: 0.01},
		{Metric: "errors", Class: stats.High, CanaryMedian: 0.03, BaselineMedian: 0.01, Effect: 2, EffectLow: 1.5, EffectHigh: 2.5,
			EffectOf: "mean", Confidence: 0.9, PValue: 0.001, CanaryN: 40, BaselineN: 38, Critical: true},
		{Metric: "5xx", Class: stats.High, CanaryMedian: 1, CanaryN: 30, BaselineN: 30,
			Reason: "baseline is 0 in every sample and the canary is higher (mean 1.2), p=0.0001: a change from nothing, beyond any relative tolerance"},
		{Metric: "rps", Class: stats.NoData, BaselineN: 3, CanaryN: 40, Reason: "3 baseline and 40 canary samples, fewer than the 10 per side needed"},
	}}
	want := "Fail: score 25 (pass 90, marginal 50)" +
		"; errors High (critical): canary median 0.03 vs baseline 0.01, effect on the mean +200.0% [+150.0%, +250.0%] (90% interval), p=0.001, 40/38 samples" +
		"; 5xx High: canary median 1 vs baseline 0, 30/30 samples: baseline is 0 in every sample and the canary is higher (mean 1.2), p=0.0001: a change from nothing, beyond any relative tolerance" +
		"; rps NoData with 3 baseline and 40 canary samples: 3 baseline and 40 canary samples, fewer than the 10 per side needed"
	if got := message(j, stats.Thresholds{Pass: 90, Marginal: 50}); got != want {
		t.Errorf("message\n got %s\nwant %s", got, want)
	}
}

// TestCheck: before a run, tags in window, step and direction are left to
// the run; everything else is checked as Parse checks it.
func TestCheck(t *testing.T) {
	tagged := strings.NewReplacer("window: 5m", `window: "{{args.window}}"`, "step: 15s", `step: "{{args.step}}"`,
		"direction: increase", `direction: "{{args.direction}}"`).Replace(config)
	m := metric(t, "http://prometheus:9090", tagged)
	if err := Check(m); err != nil {
		t.Errorf("tagged window, step and direction: %v", err)
	}
	if _, err := Parse(m); err == nil {
		t.Error("Parse accepted a window that is not a duration")
	}
	noVersion := metric(t, "http://prometheus:9090", strings.Replace(tagged, "${version}", "{{args.canary-hash}}", 1))
	if err := Check(noVersion); err == nil || !strings.Contains(err.Error(), "must contain ${version}") {
		t.Errorf("an args tag in place of ${version}: %v", err)
	}
	noVersion.Provider.Plugin["argoproj-labs/other"] = json.RawMessage(`{}`)
	if err := Check(noVersion); err == nil || !strings.Contains(err.Error(), "must hold only the aviary-rollouts/judge entry") {
		t.Errorf("two plugins: %v", err)
	}
}
