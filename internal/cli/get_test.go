package cli

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// getOptions are Options in namespace ns over a fake cluster holding a
// canary Rollout ns/demo and a Rollout elsewhere.
func getOptions(t *testing.T, ns string) (*Options, *bytes.Buffer) {
	t.Helper()
	ro := func(name, ns string) *v1alpha1.Rollout {
		r := &v1alpha1.Rollout{}
		r.Name, r.Namespace = name, ns
		r.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
		return r
	}
	flags := genericclioptions.NewConfigFlags(true)
	flags.Namespace = &ns
	var out bytes.Buffer
	o := &Options{Flags: flags, Streams: genericiooptions.IOStreams{Out: &out, ErrOut: &out}}
	o.SetClient(fakeClient(t, ro("demo", "ns"), ro("elsewhere", "other")))
	return o, &out
}

// TestGetRolloutCommand runs get rollout against a fake cluster: the
// tree, -o yaml, the not-found error and name completion.
func TestGetRolloutCommand(t *testing.T) {
	o, out := getOptions(t, "ns")
	run := func(args ...string) error {
		out.Reset()
		cmd := newGetRolloutCommand(o)
		cmd.SetArgs(args)
		cmd.SetOut(out)
		cmd.SetErr(out)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		return cmd.Execute()
	}
	if err := run("demo", "--no-color"); err != nil || !strings.HasPrefix(out.String(), "Name:            demo\nNamespace:       ns\n") ||
		!strings.Contains(out.String(), "⟳ demo") {
		t.Errorf("get rollout demo: %v\n%s", err, out)
	}
	if err := run("demo", "-o", "yaml"); err != nil || !strings.Contains(out.String(), "name: demo\n") || !strings.Contains(out.String(), "strategy: Canary\n") {
		t.Errorf("get rollout demo -o yaml: %v\n%s", err, out)
	}
	if err := run("demo", "-o", "yaml", "--watch"); err == nil {
		t.Error("-o with --watch accepted")
	}
	if err := run("nope"); err == nil || err.Error() != `rollout "nope" not found in namespace "ns"` {
		t.Errorf("get rollout nope: %v", err)
	}
	complete := newGetRolloutCommand(o).ValidArgsFunction
	if got, directive := complete(newGetRolloutCommand(o), nil, "d"); len(got) != 1 || got[0] != "demo" || directive != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("completion of d: %v %v", got, directive)
	}
	if got, _ := complete(newGetRolloutCommand(o), []string{"demo"}, ""); len(got) != 0 {
		t.Errorf("completion of a second argument: %v", got)
	}
}

// TestRedrawLoopThrottles: a burst of changes redraws at most once per
// throttle interval (plus the first draw), and the last change is drawn.
func TestRedrawLoopThrottles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 1)
	var draws atomic.Int32
	var lastDraw atomic.Int64
	done := make(chan struct{})
	go func() {
		redrawLoop(ctx, changed, func() { draws.Add(1); lastDraw.Store(time.Now().UnixNano()) })
		close(done)
	}()
	start := time.Now()
	var lastChange time.Time
	for time.Since(start) < 500*time.Millisecond {
		select {
		case changed <- struct{}{}:
			lastChange = time.Now()
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
	burst := draws.Load()
	// 500ms of changes allow the first draw and one per 200ms after it.
	if burst < 2 || burst > 4 {
		t.Errorf("%d draws during a 500ms burst of changes; want 2 to 4", burst)
	}
	time.Sleep(300 * time.Millisecond)
	if time.Unix(0, lastDraw.Load()).Before(lastChange) {
		t.Errorf("the burst's last change was not drawn")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("redrawLoop did not stop with its context")
	}
}
