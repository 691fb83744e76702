package stepplugin

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	plugins "github.com/aviary-rollouts/aviary/internal/plugin"
	"github.com/aviary-rollouts/aviary/test/plugintest"
)

// name is the test step plugin's name in the ConfigMap and the Rollout.
const name = "aviary-test/step"

// fixture is the test step plugin (test/plugins/step, built on Argo
// Rollouts' plugin packages), configured through argo-rollouts-config and
// started by the host, and the file it records its calls in.
type fixture struct {
	caller Caller
	host   *plugins.Host
	record string
}

func start(t *testing.T) *fixture {
	t.Helper()
	t.Setenv("TMPDIR", t.TempDir())
	cm, record := plugintest.Configured(t, "rollouts", "stepPlugins", "step", name)
	r := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(cm).Build()
	p, err := plugins.Prepare(context.Background(), r, "rollouts", []plugins.Kind{plugins.Step}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	f := &fixture{host: p.Host(plugins.Step), record: record}
	f.caller = Caller{Host: f.host}
	return f
}

// call is a line of what the plugin recorded.
type call struct {
	Method     string            `json:"method"`
	Rollout    string            `json:"rollout"`
	Step       *int32            `json:"step,omitempty"`
	PluginName string            `json:"pluginName"`
	Config     json.RawMessage   `json:"config,omitempty"`
	Status     json.RawMessage   `json:"status,omitempty"`
	Received   *v1alpha1.Rollout `json:"received,omitempty"`
}

func (f *fixture) calls(t *testing.T) []call {
	t.Helper()
	return plugintest.Calls[call](t, f.record)
}

func sc(config, status string) Context {
	c := Context{PluginName: name, Config: json.RawMessage(config)}
	if status != "" {
		c.Status = json.RawMessage(status)
	}
	return c
}

// Run, Terminate and Abort reach the plugin with the step's context, and
// its answers come back whole: the state it keeps between calls, the
// requeue it asks for, its phase and message.
func TestOperations(t *testing.T) {
	f := start(t)
	ro := plugintest.Rollout(t)
	ctx := context.Background()
	const config = `{"calls":2,"requeueAfter":"15s"}`
	first, err := f.caller.Call(ctx, ro, v1alpha1.StepPluginOperationRun, sc(config, ""))
	want := Result{Phase: "Running", Message: "call 1 of 2", RequeueAfter: 15 * time.Second, Status: json.RawMessage(`{"calls":1}`)}
	if err != nil || !reflect.DeepEqual(first, want) {
		t.Fatalf("first Run: %+v, %v; want %+v", first, err, want)
	}
	second, err := f.caller.Call(ctx, ro, v1alpha1.StepPluginOperationRun, sc(config, string(first.Status)))
	want = Result{Phase: "Successful", Message: "done after 2 calls", Status: json.RawMessage(`{"calls":2}`)}
	if err != nil || !reflect.DeepEqual(second, want) {
		t.Fatalf("second Run: %+v, %v; want %+v", second, err, want)
	}
	for op, msg := range map[v1alpha1.StepPluginOperation]string{"Terminate": "terminated", "Abort": "reverted"} {
		res, err := f.caller.Call(ctx, ro, op, sc(config, string(second.Status)))
		if err != nil || res.Phase != "Successful" || res.Message != msg {
			t.Errorf("%s: %+v, %v", op, res, err)
		}
	}
	got := f.calls(t)
	step := new(int32(9))
	wantCalls := []call{
		{Method: "Run", Rollout: "shop/web", Step: step, PluginName: name, Config: json.RawMessage(config)},
		{Method: "Run", Rollout: "shop/web", Step: step, PluginName: name, Config: json.RawMessage(config), Status: json.RawMessage(`{"calls":1}`)},
	}
	if len(got) != 4 || !reflect.DeepEqual(got[:2], wantCalls) || got[2].Status == nil || got[3].Status == nil {
		t.Errorf("the plugin recorded\n%+v\nwant Run calls\n%+v\nthen Terminate and Abort with the state", got, wantCalls)
	}
	c, err := f.host.Client(name)
	if err != nil {
		t.Fatal(err)
	}
	if typ, err := (RPC{Client: c}).Type(ctx); err != nil || typ != "AviaryTestStep" {
		t.Errorf("Type = %q, %v", typ, err)
	}
}

// What Argo Rollouts records as the message of a failed operation: the
// plugin's own error, or why the call failed; and the plugin's other
// answers, as it gave them.
func TestAnswers(t *testing.T) {
	f := start(t)
	ro := plugintest.Rollout(t)
	ctx := context.Background()
	for _, c := range []struct {
		config  string
		want    Result
		wantErr string
	}{
		{`{"error":"the gate is unreachable"}`, Result{}, "the gate is unreachable"},
		{`{"fail":"the gate said no"}`, Result{Phase: "Failed", Message: "the gate said no", Status: json.RawMessage(`{"calls":1}`)}, ""},
		{`{"phase":"Pending"}`, Result{Phase: "Pending", Message: "told to answer Pending", Status: json.RawMessage(`{"calls":1}`)}, ""},
		{`not json`, Result{}, "plugin configuration: invalid character 'o' in literal null (expecting 'u')"},
	} {
		got, err := f.caller.Call(ctx, ro, v1alpha1.StepPluginOperationRun, sc(c.config, ""))
		if !reflect.DeepEqual(got, c.want) || (err == nil) != (c.wantErr == "") || (err != nil && err.Error() != c.wantErr) {
			t.Errorf("%s: %+v, %v; want %+v, %q", c.config, got, err, c.want, c.wantErr)
		}
	}
	_, err := Caller{Host: f.host}.Call(ctx, ro, v1alpha1.StepPluginOperationRun, Context{PluginName: "acme/other"})
	if want := `step plugin "acme/other" is not listed under stepPlugins in ConfigMap argo-rollouts-config as the controller read it at start: add it there and restart the controller`; err == nil || err.Error() != want {
		t.Errorf("unknown plugin: %v", err)
	}
	if _, err := (Caller{}).Call(ctx, ro, v1alpha1.StepPluginOperationRun, sc(`{}`, "")); err == nil {
		t.Error("a call without a host succeeded")
	}
}

// Gob matches struct fields by name: every field of a Rollout reaches a
// plugin built on Argo Rollouts' types intact.
func TestEveryFieldCrossesTheWire(t *testing.T) {
	f := start(t)
	ro := plugintest.Rollout(t)
	if _, err := f.caller.Call(context.Background(), ro, v1alpha1.StepPluginOperationRun, sc(`{"echo":true,"nested":{"list":[1,"two",true]}}`, `{"calls":0}`)); err != nil {
		t.Fatal(err)
	}
	got := f.calls(t)[0]
	if got.Received == nil {
		t.Fatal("nothing echoed")
	}
	plugintest.Same(t, "Run's rollout", got.Received, ro, plugintest.RolloutLost)
	if string(got.Config) != `{"echo":true,"nested":{"list":[1,"two",true]}}` || string(got.Status) != `{"calls":0}` || got.PluginName != name {
		t.Errorf("context %s %s %s", got.PluginName, got.Config, got.Status)
	}
}
