package malformed

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/tolerant"
)

// statusPatches records status patches; nothing else of the client is used.
type statusPatches struct {
	client.Client
	patches [][]byte
}

func (c *statusPatches) Status() client.SubResourceWriter { return statusWriter{c} }

type statusWriter struct{ c *statusPatches }

func (w statusWriter) Create(context.Context, client.Object, client.Object, ...client.SubResourceCreateOption) error {
	panic("not used")
}
func (w statusWriter) Update(context.Context, client.Object, ...client.SubResourceUpdateOption) error {
	panic("not used")
}
func (w statusWriter) Apply(context.Context, runtime.ApplyConfiguration, ...client.SubResourceApplyOption) error {
	panic("not used")
}
func (w statusWriter) Patch(_ context.Context, _ client.Object, p client.Patch, _ ...client.SubResourcePatchOption) error {
	data, err := p.Data(nil)
	if err != nil {
		return err
	}
	w.c.patches = append(w.c.patches, data)
	return nil
}

func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	raw, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := u.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	return u
}

const rolloutDoc = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: ns, uid: u1, resourceVersion: "5"}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx
        resources: {requests: {memory: invalid}}
status:
  phase: Healthy
  conditions:
  - {type: Available, status: "True", reason: AvailableReason, message: ok}
`

const runDoc = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {name: run, namespace: ns, uid: u2, resourceVersion: "6"}
spec:
  metrics:
  - name: m
    provider:
      job:
        spec:
          template:
            spec:
              containers: [{name: c, image: busybox, resources: {limits: {cpu: lots}}}]
status: {phase: Running}
`

const templateDoc = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: tpl, namespace: ns, uid: u3, resourceVersion: "7"}
spec:
  metrics:
  - name: m
    provider: {web: {url: "http://x", timeoutSeconds: ten}}
`

type fixture struct {
	reg      *tolerant.Registry
	client   *statusPatches
	recorder *record.FakeRecorder
	r        *Reporter
	lws      map[string]*tolerant.ListerWatcher
	dynamic  *dynamicfake.FakeDynamicClient
}

func newFixture(t *testing.T, objs ...*unstructured.Unstructured) *fixture {
	t.Helper()
	gvrs := map[schema.GroupVersionResource]string{}
	var ros []runtime.Object
	f := &fixture{reg: tolerant.NewRegistry(), client: &statusPatches{}, recorder: record.NewFakeRecorder(10), lws: map[string]*tolerant.ListerWatcher{}}
	for _, kind := range []struct {
		kind, resource string
		obj, list      func() runtime.Object
	}{
		{"Rollout", "rollouts", func() runtime.Object { return &v1alpha1.Rollout{} }, func() runtime.Object { return &v1alpha1.RolloutList{} }},
		{"AnalysisRun", "analysisruns", func() runtime.Object { return &v1alpha1.AnalysisRun{} }, func() runtime.Object { return &v1alpha1.AnalysisRunList{} }},
		{"AnalysisTemplate", "analysistemplates", func() runtime.Object { return &v1alpha1.AnalysisTemplate{} }, func() runtime.Object { return &v1alpha1.AnalysisTemplateList{} }},
	} {
		gvrs[v1alpha1.GroupVersion.WithResource(kind.resource)] = kind.kind + "List"
		f.lws[kind.kind] = &tolerant.ListerWatcher{Kind: v1alpha1.GroupVersion.WithKind(kind.kind).GroupKind(),
			New: kind.obj, NewList: kind.list, Registry: f.reg}
	}
	for _, o := range objs {
		ros = append(ros, o)
	}
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), gvrs, ros...)
	f.dynamic = dc
	for kind, lw := range f.lws {
		lw.Resource = dc.Resource(v1alpha1.GroupVersion.WithResource(strings.ToLower(kind) + "s"))
		if _, err := lw.List(metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f.r = New(f.reg, f.client, f.recorder, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.r.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	return f
}

func (f *fixture) report(t *testing.T, kind, name string) {
	t.Helper()
	if err := f.r.Report(context.Background(), tolerant.Key{Kind: v1alpha1.GroupVersion.WithKind(kind).GroupKind(), Namespace: "ns", Name: name}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestRolloutGetsInvalidSpecOnce(t *testing.T) {
	ro := object(t, rolloutDoc)
	f := newFixture(t, ro)
	f.report(t, "Rollout", "web")

	field := `spec.template.spec.containers[0].resources.requests.memory: "invalid": quantities must match the regular expression`
	ev := f.events()
	if len(ev) != 1 || !strings.HasPrefix(ev[0], "Warning InvalidSpec "+field) || !strings.HasSuffix(ev[0], "; correct the value and re-apply the Rollout") {
		t.Fatalf("events %q", ev)
	}
	if len(f.client.patches) != 1 {
		t.Fatalf("patches %d", len(f.client.patches))
	}
	var p struct {
		Metadata struct{ ResourceVersion string }
		Status   v1alpha1.RolloutStatus
	}
	if err := json.Unmarshal(f.client.patches[0], &p); err != nil {
		t.Fatal(err)
	}
	st := p.Status
	if p.Metadata.ResourceVersion != "5" || st.Phase != v1alpha1.RolloutPhaseDegraded || !strings.HasPrefix(st.Message, "InvalidSpec: "+field) ||
		len(st.Conditions) != 2 || st.Conditions[0].Type != "Available" ||
		st.Conditions[1].Type != v1alpha1.InvalidSpec || st.Conditions[1].Status != "True" || st.Conditions[1].Reason != v1alpha1.InvalidSpecReason ||
		!strings.HasPrefix(st.Conditions[1].Message, field) {
		t.Fatalf("patch %s", f.client.patches[0])
	}

	// The status write comes back through the watch: same fault, nothing
	// new to say, and no second write.
	raw, err := ro.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	raw, err = jsonpatch.MergePatch(raw, f.client.patches[0])
	if err != nil {
		t.Fatal(err)
	}
	written := &unstructured.Unstructured{}
	if err := written.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	w, err := f.lws["Rollout"].Watch(metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := f.dynamic.Resource(v1alpha1.GroupVersion.WithResource("rollouts")).Namespace("ns").Update(context.Background(), written, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type != watch.Deleted {
			t.Fatalf("a Modified undecodable object must become a Deleted, got %s", ev.Type)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event")
	}
	f.report(t, "Rollout", "web")
	if ev := f.events(); len(ev) != 0 || len(f.client.patches) != 1 {
		t.Fatalf("reported again: events %q, %d patches", ev, len(f.client.patches))
	}
}

func TestAnalysisRunEndsInError(t *testing.T) {
	f := newFixture(t, object(t, runDoc))
	f.report(t, "AnalysisRun", "run")
	if ev := f.events(); len(ev) != 1 || !strings.Contains(ev[0], "spec.metrics[0].provider.job.spec.template.spec.containers[0].resources.limits.cpu") {
		t.Fatalf("events %q", ev)
	}
	var p struct{ Status v1alpha1.AnalysisRunStatus }
	if len(f.client.patches) != 1 {
		t.Fatalf("patches %d", len(f.client.patches))
	}
	if err := json.Unmarshal(f.client.patches[0], &p); err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(p.Status.Message, `limits.cpu: "lots"`) {
		t.Fatalf("patch %s", f.client.patches[0])
	}
}

func TestCompletedRunKeepsItsResult(t *testing.T) {
	f := newFixture(t, object(t, strings.Replace(runDoc, "phase: Running", "phase: Successful", 1)))
	f.report(t, "AnalysisRun", "run")
	if len(f.events()) != 1 || len(f.client.patches) != 0 {
		t.Fatalf("patches %q", f.client.patches)
	}
}

func TestTemplateGetsAnEventOnly(t *testing.T) {
	f := newFixture(t, object(t, templateDoc))
	f.report(t, "AnalysisTemplate", "tpl")
	ev := f.events()
	if len(ev) != 1 || !strings.Contains(ev[0], `spec.metrics[0].provider.web.timeoutSeconds: "ten"`) || !strings.HasSuffix(ev[0], "re-apply the AnalysisTemplate") {
		t.Fatalf("events %q", ev)
	}
	if len(f.client.patches) != 0 {
		t.Fatalf("patches %q", f.client.patches)
	}
	f.report(t, "AnalysisTemplate", "tpl")
	if ev := f.events(); len(ev) != 0 {
		t.Fatalf("reported twice: %q", ev)
	}
}

// TestBrokenAgainIsReportedAgain: fixed, then broken the same way, is a
// new failure and gets a new event.
func TestBrokenAgainIsReportedAgain(t *testing.T) {
	f := newFixture(t, object(t, templateDoc))
	f.report(t, "AnalysisTemplate", "tpl")
	if ev := f.events(); len(ev) != 1 {
		t.Fatalf("events %q", ev)
	}
	lw := f.lws["AnalysisTemplate"]
	w, err := lw.Watch(metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	client := f.dynamic.Resource(v1alpha1.GroupVersion.WithResource("analysistemplates")).Namespace("ns")
	for _, timeout := range []string{"10", "ten"} {
		u := object(t, strings.Replace(templateDoc, "timeoutSeconds: ten", "timeoutSeconds: "+timeout, 1))
		if _, err := client.Update(context.Background(), u, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.ResultChan():
		case <-time.After(5 * time.Second):
			t.Fatal("no watch event")
		}
		f.report(t, "AnalysisTemplate", "tpl")
	}
	if ev := f.events(); len(ev) != 1 || !strings.Contains(ev[0], "timeoutSeconds") {
		t.Fatalf("events after fix and break %q", ev)
	}
}
