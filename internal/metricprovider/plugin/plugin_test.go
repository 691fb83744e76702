package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	plugins "github.com/aviary-rollouts/aviary/internal/plugin"
	"github.com/aviary-rollouts/aviary/test/plugintest"
	"github.com/aviary-rollouts/aviary/test/providertest"
)

// fixture is the test plugin, built on Argo Rollouts' plugin packages,
// configured through argo-rollouts-config and started by the host, and a
// stand-in it measures.
type fixture struct {
	provider *Provider
	host     *plugins.Host
	marker   string
	url      string
}

// start prepares the plugin as the controller does, with extra args.
func start(t *testing.T, args ...string) *fixture {
	t.Helper()
	bin := plugintest.MetricPlugin(t)
	t.Setenv("TMPDIR", t.TempDir())
	f := &fixture{marker: filepath.Join(t.TempDir(), "pid")}
	args = append([]string{"--marker", f.marker}, args...)
	quoted, _ := json.Marshal(args)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "rollouts", Name: plugins.ConfigMapName},
		Data: map[string]string{"metricProviderPlugins": plugintest.Plugins(
			"location: file://"+bin, "sha256: "+plugintest.Sum(t, bin), "args: "+string(quoted))},
	}
	r := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(cm).Build()
	p, err := plugins.Prepare(context.Background(), r, "rollouts", []plugins.Kind{plugins.MetricProvider}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	f.host = p.Host(plugins.MetricProvider)
	f.provider = &Provider{Host: f.host, Clock: providertest.Clock}

	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			<-release
			return
		}
		if r.Method != http.MethodGet {
			http.Error(w, "want GET", http.StatusMethodNotAllowed)
			return
		}
		switch r.URL.Path {
		case "/good":
			fmt.Fprintln(w, "0.99")
		case "/bad":
			fmt.Fprintln(w, "0.5")
		case "/between":
			fmt.Fprintln(w, "0.92")
		case "/text":
			fmt.Fprintln(w, "fine")
		default:
			http.Error(w, "no such value", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for it
	f.url = srv.URL
	return f
}

// metric is a plugin metric with the given configuration.
func metric(name, config string) v1alpha1.Metric {
	return v1alpha1.Metric{
		Name:             "success-rate",
		SuccessCondition: "result >= 0.95",
		FailureCondition: "result < 0.9",
		Provider:         v1alpha1.MetricProvider{Plugin: map[string]json.RawMessage{name: json.RawMessage(config)}},
	}
}

func (f *fixture) metric(path string, extra ...string) v1alpha1.Metric {
	fields := append([]string{fmt.Sprintf("%q: %q", "url", f.url+path)}, extra...)
	return metric(plugintest.Name, "{"+strings.Join(fields, ", ")+"}")
}

func (f *fixture) pid(t *testing.T) int {
	t.Helper()
	pid := plugintest.PID(t, f.marker)
	if pid == 0 {
		t.Fatal("the plugin never started")
	}
	return pid
}

var run = &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-6b5d8c-2-1"}}

// The plugin judges its value with Argo Rollouts' own evaluation; its
// phase, value and error come back as it answered them.
func TestRun(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	for _, c := range []struct {
		path       string
		phase      v1alpha1.AnalysisPhase
		value, msg string
	}{
		{"/good", v1alpha1.AnalysisPhaseSuccessful, "0.99", ""},
		{"/bad", v1alpha1.AnalysisPhaseFailed, "0.5", ""},
		{"/between", v1alpha1.AnalysisPhaseInconclusive, "0.92", ""},
		{"/broken", v1alpha1.AnalysisPhaseError, "", "failed to run via plugin: the endpoint answered 500 Internal Server Error"},
		{"/text", v1alpha1.AnalysisPhaseError, "fine", `failed to run via plugin: value "fine" is not a number`},
	} {
		m := f.provider.Run(ctx, run, f.metric(c.path))
		if m.Phase != c.phase || m.Value != c.value || m.Message != c.msg {
			t.Errorf("%s: got %s %q %q, want %s %q %q", c.path, m.Phase, m.Value, m.Message, c.phase, c.value, c.msg)
		}
		if m.StartedAt == nil || m.FinishedAt == nil {
			t.Errorf("%s: startedAt %v finishedAt %v, want both set by the plugin", c.path, m.StartedAt, m.FinishedAt)
		}
	}
	// Bad conditions are the plugin's to report, through Argo's evaluation.
	bad := f.metric("/good")
	bad.SuccessCondition = "result >>> 1"
	if m := f.provider.Run(ctx, run, bad); m.Phase != v1alpha1.AnalysisPhaseError || !strings.HasPrefix(m.Message, "failed to run via plugin: ") {
		t.Errorf("broken condition: %s %q", m.Phase, m.Message)
	}
}

// Run answering Running with resumeAt, Resume measuring it, Terminate
// ending it: an asynchronous measurement goes back and forth intact.
func TestResumeAndTerminate(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	m := f.provider.Run(ctx, run, f.metric("/good", `"async": true`))
	if m.Phase != v1alpha1.AnalysisPhaseRunning || m.ResumeAt == nil || m.StartedAt == nil || m.FinishedAt != nil {
		t.Fatalf("async Run: %+v", m)
	}
	resumed := f.provider.Resume(ctx, run, f.metric("/good", `"async": true`), m)
	if resumed.Phase != v1alpha1.AnalysisPhaseSuccessful || resumed.Value != "0.99" || !resumed.StartedAt.Equal(m.StartedAt) || resumed.ResumeAt != nil {
		t.Errorf("Resume: %+v (started %v)", resumed, m.StartedAt)
	}
	failed := f.provider.Resume(ctx, run, f.metric("/broken", `"async": true`), m)
	if failed.Phase != v1alpha1.AnalysisPhaseError || failed.Message != "failed to resume via plugin: the endpoint answered 500 Internal Server Error" {
		t.Errorf("Resume of a broken endpoint: %s %q", failed.Phase, failed.Message)
	}
	term := f.provider.Terminate(ctx, run, f.metric("/good", `"async": true`), m)
	if term.Phase != v1alpha1.AnalysisPhaseSuccessful || term.Message != "terminated by the plugin" || term.FinishedAt == nil {
		t.Errorf("Terminate: %+v", term)
	}
}

// received decodes what the plugin echoed it decoded (its own Argo
// Rollouts types, as JSON) into Aviary's types.
func received(t *testing.T, m v1alpha1.Measurement) (got struct {
	AnalysisRun *v1alpha1.AnalysisRun `json:"analysisRun"`
	Metric      v1alpha1.Metric       `json:"metric"`
	Measurement *v1alpha1.Measurement `json:"measurement"`
}) {
	t.Helper()
	if m.Metadata["received"] == "" {
		t.Fatalf("nothing echoed: %s %q", m.Phase, m.Message)
	}
	if err := json.Unmarshal([]byte(m.Metadata["received"]), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// lost are the fields of testdata/run.yaml a plugin built on Argo Rollouts
// v1.9.2 cannot receive, with why: the same is lost between Argo Rollouts
// and its plugins.
var lost = map[string]string{
	".spec.metrics[1].provider.prometheus.authentication.basicAuth.password":                 "Argo Rollouts' Authentication has no basicAuth",
	".spec.metrics[1].provider.prometheus.authentication.basicAuth.username":                 "Argo Rollouts' Authentication has no basicAuth",
	".spec.metrics[3].provider.job.spec.template.spec.containers[0].resources.limits.cpu":    "resource.Quantity has no exported fields for gob",
	".spec.metrics[3].provider.job.spec.template.spec.containers[0].resources.limits.memory": "resource.Quantity has no exported fields for gob",
	".spec.metrics[4].provider.datadog.requestTimeout":                                       "Argo Rollouts v1.10's field, not v1.9's",
	".spec.metrics[8].provider.cloudWatch.metricDataQueries[1].returnData":                   "gob sends no zero value, so a pointer to false arrives nil",
}

// same is plugintest.Same with the fields run.yaml loses.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	plugintest.Same(t, what, got, want, lost)
}

// Gob matches struct fields by name: every field of an AnalysisRun, of
// every provider's metric, and of a measurement reaches a plugin built on
// Argo Rollouts' types intact, and its answer comes back intact.
func TestEveryFieldCrossesTheWire(t *testing.T) {
	f := start(t)
	data, err := os.ReadFile("testdata/run.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var full v1alpha1.AnalysisRun
	if err := yaml.UnmarshalStrict(data, &full); err != nil {
		t.Fatal(err)
	}
	full.Spec.Metrics[0].Provider.Plugin[plugintest.Name] = json.RawMessage(fmt.Sprintf(`{"url":%q,"echo":true,"nested":{"list":[1,"two",true]}}`, f.url+"/good"))
	m0 := full.Spec.Metrics[0]
	inFlight := full.Status.MetricResults[0].Measurements[1]
	ctx := context.Background()

	m := f.provider.Run(ctx, &full, m0)
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful || m.Value != "0.99" {
		t.Fatalf("Run: %s %q %q", m.Phase, m.Value, m.Message)
	}
	got := received(t, m)
	same(t, "Run's analysisRun", got.AnalysisRun, &full)
	same(t, "Run's metric", got.Metric, m0)

	for name, call := range map[string]func() v1alpha1.Measurement{
		"Resume":    func() v1alpha1.Measurement { return f.provider.Resume(ctx, &full, m0, inFlight) },
		"Terminate": func() v1alpha1.Measurement { return f.provider.Terminate(ctx, &full, m0, inFlight) },
	} {
		got := received(t, call())
		same(t, name+"'s analysisRun", got.AnalysisRun, &full)
		same(t, name+"'s metric", got.Metric, m0)
		same(t, name+"'s measurement", got.Measurement, &inFlight)
	}
}

func TestGarbageCollect(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	if err := f.provider.GarbageCollect(ctx, run, f.metric("/good"), 5); err != nil {
		t.Errorf("GarbageCollect: %v", err)
	}
	err := f.provider.GarbageCollect(ctx, run, f.metric("/good", `"gcError": "cannot reach the store"`), 7)
	want := "failed to garbage collect via plugin: cannot reach the store (run web-6b5d8c-2-1, limit 7)"
	if err == nil || err.Error() != want {
		t.Errorf("GarbageCollect error %v, want %q", err, want)
	}
}

func TestTypeAndMetadata(t *testing.T) {
	f := start(t)
	c, err := f.host.Client(plugintest.Name)
	if err != nil {
		t.Fatal(err)
	}
	if typ, err := (RPC{Client: c}).Type(context.Background()); err != nil || typ != plugintest.Type {
		t.Errorf("Type = %q, %v; want %q", typ, err, plugintest.Type)
	}
	if f.provider.Type() != "RPCPlugin" {
		t.Errorf("provider Type %q, want Argo Rollouts' RPCPlugin", f.provider.Type())
	}
	md := f.provider.Metadata(f.metric("/good"))
	if want := map[string]string{"url": f.url + "/good", "metric": "success-rate"}; !reflect.DeepEqual(md, want) {
		t.Errorf("Metadata = %v, want %v", md, want)
	}
	md = f.provider.Metadata(f.metric("/good", `"metadataError": "no such query"`))
	if want := map[string]string{"error": "failed to get metadata via plugin: no such query"}; !reflect.DeepEqual(md, want) {
		t.Errorf("Metadata = %v, want %v", md, want)
	}
}

// A metric that names no configured plugin, or several, is an Error
// measurement that says what to fix.
func TestPluginNames(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	providertest.ExpectError(t, f.provider.Run(ctx, run, metric("acme/other", `{}`)),
		`metric plugin "acme/other" is not listed under metricProviderPlugins in ConfigMap argo-rollouts-config as the controller read it at start: add it there and restart the controller`)
	two := metric(plugintest.Name, `{}`)
	two.Provider.Plugin["acme/other"] = json.RawMessage(`{}`)
	providertest.ExpectError(t, f.provider.Run(ctx, run, two), `metric "success-rate": provider.plugin must name exactly one plugin; it names 2`)
	if err := f.provider.GarbageCollect(ctx, run, metric("acme/other", `{}`), 1); err == nil || !strings.Contains(err.Error(), "is not listed") {
		t.Errorf("GarbageCollect of an unknown plugin: %v", err)
	}
	if md := f.provider.Metadata(metric("acme/other", `{}`)); !strings.Contains(md["error"], "is not listed") {
		t.Errorf("Metadata of an unknown plugin: %v", md)
	}
}

// A plugin that dies is an Error measurement, and the next measurement
// starts it again.
func TestRestartAfterCrash(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	if m := f.provider.Run(ctx, run, f.metric("/good")); m.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("first Run: %s %q", m.Phase, m.Message)
	}
	first := f.pid(t)
	m := f.provider.Run(ctx, run, f.metric("/good", `"crash": true`))
	if m.Phase != v1alpha1.AnalysisPhaseError || !strings.HasPrefix(m.Message, `metric plugin "aviary-test/metric": Run rpc call error: `) {
		t.Errorf("Run that kills the plugin: %s %q", m.Phase, m.Message)
	}
	m = f.provider.Run(ctx, run, f.metric("/good"))
	if m.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Fatalf("Run after the crash: %s %q", m.Phase, m.Message)
	}
	if second := f.pid(t); second == first {
		t.Errorf("the plugin was not started again (pid %d)", second)
	}
}

// InitPlugin's error stops the start; the process does not linger.
func TestInitFailure(t *testing.T) {
	f := start(t, "--fail-init")
	m := f.provider.Run(context.Background(), run, f.metric("/good"))
	providertest.ExpectError(t, m, `start MetricProvider plugin "aviary-test/metric": InitPlugin: the plugin answered: told to fail InitPlugin`)
	plugintest.WaitExited(t, f.pid(t))
}

// A plugin that never answers costs one Error measurement, not an analysis
// worker: the call is abandoned after CallTimeout, and the next call is
// answered.
func TestHungPluginTimesOut(t *testing.T) {
	f := start(t)
	f.provider.CallTimeout = time.Second
	ctx := context.Background()
	began := time.Now()
	m := f.provider.Run(ctx, run, f.metric("/hang"))
	if m.Phase != v1alpha1.AnalysisPhaseError || m.Message != `metric plugin "aviary-test/metric" did not answer Run within 1s: the measurement is an Error; check the plugin's log and what it queries` {
		t.Errorf("Run of a hung plugin: %s %q", m.Phase, m.Message)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("the call took %s, want about the 1s timeout", took)
	}
	if m := f.provider.Run(ctx, run, f.metric("/good")); m.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("Run after the hung call: %s %q", m.Phase, m.Message)
	}
}
