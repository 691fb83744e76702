package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/manager"
)

// fakeCLI is a command run against a fake API server that records the
// patches sent to it.
type fakeCLI struct {
	o *Options
	// out is stdout; errOut stderr, where cobra's deprecation notes go.
	out, errOut bytes.Buffer
	client      client.Client
	patches     []string
}

// newFakeCLI serves objs in namespace "ns", with the status subresource
// for Aviary's kinds, as the CRDs declare it.
func newFakeCLI(t *testing.T, objs ...client.Object) *fakeCLI {
	t.Helper()
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCLI{}
	record := func(sub string, obj client.Object, p client.Patch) {
		body, _ := p.Data(obj)
		f.patches = append(f.patches, strings.TrimSpace(sub+" "+string(body)))
	}
	f.client = fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&v1alpha1.Rollout{}, &v1alpha1.Experiment{}, &v1alpha1.AnalysisRun{}).
		WithInterceptorFuncs(interceptor.Funcs{
			Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
				record("", obj, p)
				return c.Patch(ctx, obj, p, opts...)
			},
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
				record(sub, obj, p)
				return c.SubResource(sub).Patch(ctx, obj, p, opts...)
			},
		}).Build()
	ns := "ns"
	flags := genericclioptions.NewConfigFlags(false)
	flags.Namespace = &ns
	f.o = &Options{Streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &f.out, ErrOut: &f.errOut}, Flags: flags}
	f.o.SetClient(f.client)
	return f
}

// run runs the command newCommand builds with args.
func (f *fakeCLI) run(newCommand func(*Options) *cobra.Command, args ...string) error {
	cmd := newCommand(f.o)
	cmd.SetArgs(args)
	cmd.SetOut(&f.out)
	cmd.SetErr(&f.errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(context.Background())
}

func pausedCanary() *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "demo"}}
	ro.Spec.Paused = true
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: make([]v1alpha1.CanaryStep, 3)}
	ro.Spec.Template = corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "a:1"}}}}
	one := int32(1)
	ro.Status.CurrentStepIndex = &one
	ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	ro.Status.CurrentPodHash, ro.Status.StableRS = "new", "old"
	return ro
}

func TestMutatingCommands(t *testing.T) {
	clock := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
	restartClock = func() time.Time { return clock }
	t.Cleanup(func() { restartClock = time.Now })
	for _, tc := range []struct {
		name        string
		command     func(*Options) *cobra.Command
		args        []string
		wantOut     string
		wantPatches []string
	}{
		{"promote", newPromoteCommand, []string{"demo"}, "rollout 'demo' promoted\n",
			[]string{`status {"status":{"pauseConditions":null}}`, `{"spec":{"paused":false}}`}},
		{"promote --full", newPromoteCommand, []string{"demo", "--full"}, "rollout 'demo' fully promoted\n",
			[]string{`status {"status":{"promoteFull":true}}`, `{"spec":{"paused":false}}`}},
		// cobra prints its deprecation notes to the command's output.
		{"promote -a", newPromoteCommand, []string{"demo", "-a"}, "Flag --skip-all-steps has been deprecated, use --full instead\nrollout 'demo' promoted\n",
			[]string{`status {"status":{"currentStepIndex":3}}`}},
		{"promote --skip-current-step", newPromoteCommand, []string{"demo", "--skip-current-step"},
			"Flag --skip-current-step has been deprecated, use without the flag instead ex: promote ROLLOUT_NAME\nrollout 'demo' promoted\n",
			[]string{`status {"status":{"currentStepIndex":2}}`}},
		{"abort", newAbortCommand, []string{"demo"}, "rollout 'demo' aborted\n", []string{`status {"status":{"abort":true}}`}},
		{"abort twice", newAbortCommand, []string{"demo", "demo"}, "rollout 'demo' aborted\nrollout 'demo' aborted\n",
			[]string{`status {"status":{"abort":true}}`, `status {"status":{"abort":true}}`}},
		{"retry rollout", newRetryCommand, []string{"rollout", "demo"}, "rollout 'demo' retried\n", []string{`status {"status":{"abort":false}}`}},
		{"retry experiment", newRetryCommand, []string{"experiment", "exp"}, "experiment 'exp' retried\n", []string{`status {"status":null}`}},
		{"pause", newPauseCommand, []string{"demo"}, "rollout 'demo' paused\n", []string{`{"spec":{"paused":true}}`}},
		{"restart", newRestartCommand, []string{"demo"}, "rollout 'demo' restarts in 0s\n", []string{`{"spec":{"restartAt":"2026-11-23T17:00:00Z"}}`}},
		{"restart --in", newRestartCommand, []string{"demo", "-i", "90s"}, "rollout 'demo' restarts in 90s\n", []string{`{"spec":{"restartAt":"2026-11-23T17:01:30Z"}}`}},
		{"terminate analysisrun", newTerminateCommand, []string{"ar", "run"}, "analysisRun 'run' terminated\n", []string{`{"spec":{"terminate":true}}`}},
		{"terminate experiment", newTerminateCommand, []string{"experiment", "exp"}, "experiment 'exp' terminated\n", []string{`{"spec":{"terminate":true}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCLI(t, pausedCanary(),
				&v1alpha1.Experiment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "exp"}},
				&v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "run"}})
			if err := f.run(tc.command, tc.args...); err != nil {
				t.Fatal(err)
			}
			if f.out.String() != tc.wantOut {
				t.Errorf("printed %q, want %q", f.out.String(), tc.wantOut)
			}
			if strings.Join(f.patches, "\n") != strings.Join(tc.wantPatches, "\n") {
				t.Errorf("sent\n%s\nwant\n%s", strings.Join(f.patches, "\n"), strings.Join(tc.wantPatches, "\n"))
			}
		})
	}
}

func TestCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		command func(*Options) *cobra.Command
		args    []string
		want    string
	}{
		{"unknown rollout", newAbortCommand, []string{"nope"}, `rollout "nope" not found in namespace "ns"`},
		{"unknown experiment", newTerminateCommand, []string{"experiment", "nope"}, `experiment "nope" not found in namespace "ns"`},
		{"both skip flags", newPromoteCommand, []string{"demo", "-a", "-c"}, "Cannot use skip-current-step and skip-all-steps flags at the same time"},
		{"promote needs a name", newPromoteCommand, nil, "accepts 1 arg(s), received 0"},
		{"bad --in", newRestartCommand, []string{"demo", "--in", "soon"}, `--in "soon": `},
		{"set image without =", newSetCommand, []string{"image", "demo", "app"}, `"app" is not CONTAINER=IMAGE`},
		{"set image of an unknown container", newSetCommand, []string{"image", "demo", "db=x:2"}, `rollout "demo": unable to find container named "db"`},
		{"undo without history", newUndoCommand, []string{"demo"}, `no revision found for rollout "demo"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCLI(t, pausedCanary())
			err := f.run(tc.command, tc.args...)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if len(f.patches) != 0 {
				t.Errorf("sent %v on error", f.patches)
			}
		})
	}
}

func TestSetImage(t *testing.T) {
	f := newFakeCLI(t, pausedCanary())
	if err := f.run(newSetCommand, "image", "demo", "app=a:2"); err != nil {
		t.Fatal(err)
	}
	var ro v1alpha1.Rollout
	if err := f.client.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "demo"}, &ro); err != nil {
		t.Fatal(err)
	}
	if got := ro.Spec.Template.Spec.Containers[0].Image; got != "a:2" || f.out.String() != "rollout \"demo\" image updated\n" {
		t.Errorf("image %s, printed %q", got, f.out.String())
	}
}

// workloadRefObjects is a Rollout taking its template from a Deployment,
// and its two ReplicaSets: revision 1 (a:1) and 2 (a:2, current).
func workloadRefObjects() []client.Object {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "demo", UID: "ro-uid"}}
	ro.Spec.WorkloadRef = &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
	tmpl := func(image, hash string) corev1.PodTemplateSpec {
		labels := map[string]string{"app": "web"}
		if hash != "" {
			labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
		}
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}}}
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	d.Spec.Template = tmpl("a:2", "")
	objs := []client.Object{ro, d}
	for i, image := range []string{"a:1", "a:2"} {
		hash := "h" + image[2:]
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "demo-" + hash,
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: string(rune('1' + i))},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))}}}
		rs.Spec.Template = tmpl(image, hash)
		objs = append(objs, rs)
	}
	return objs
}

func TestWorkloadRefSetImageAndUndo(t *testing.T) {
	f := newFakeCLI(t, workloadRefObjects()...)
	if err := f.run(newSetCommand, "image", "demo", "*=a:3"); err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	get := func() {
		t.Helper()
		if err := f.client.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "web"}, &d); err != nil {
			t.Fatal(err)
		}
	}
	get()
	if got := d.Spec.Template.Spec.Containers[0].Image; got != "a:3" || f.out.String() != "deployment \"web\" image updated\n" {
		t.Fatalf("Deployment image %s, printed %q", got, f.out.String())
	}

	f.out.Reset()
	if err := f.run(newUndoCommand, "demo"); err != nil {
		t.Fatal(err)
	}
	get()
	if got := d.Spec.Template.Spec.Containers[0].Image; got != "a:1" || f.out.String() != "rollout 'demo' undo\n" {
		t.Errorf("after undo: Deployment image %s, printed %q", got, f.out.String())
	}
	if _, ok := d.Spec.Template.Labels[v1alpha1.DefaultRolloutUniqueLabelKey]; ok {
		t.Errorf("undo copied the hash label: %v", d.Spec.Template.Labels)
	}
	if len(f.patches) != 1 || !strings.HasPrefix(f.patches[0], `[{"op":"replace","path":"/spec/template","value":`) {
		t.Errorf("sent %v, want one JSON patch of /spec/template", f.patches)
	}

	f.out.Reset()
	if err := f.run(newUndoCommand, "demo", "--to-revision", "1"); err != nil {
		t.Fatal(err)
	}
	if f.out.String() != "skipped rollback (current template already matches revision 1)\n" || len(f.patches) != 1 {
		t.Errorf("printed %q, sent %v", f.out.String(), f.patches)
	}
}

func TestStatus(t *testing.T) {
	statusPollInterval = 10 * time.Millisecond
	t.Cleanup(func() { statusPollInterval = time.Second })
	withPhase := func(p v1alpha1.RolloutPhase, msg string) *v1alpha1.Rollout {
		ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "demo", Generation: 1}}
		ro.Status.ObservedGeneration = "1"
		ro.Status.Phase, ro.Status.Message = p, msg
		return ro
	}
	for _, tc := range []struct {
		name    string
		ro      *v1alpha1.Rollout
		args    []string
		wantOut string
		wantErr string
	}{
		{"Healthy", withPhase(v1alpha1.RolloutPhaseHealthy, ""), nil, "Healthy\n", ""},
		{"Degraded", withPhase(v1alpha1.RolloutPhaseDegraded, "RolloutAborted: x"), nil, "Degraded - RolloutAborted: x\n",
			"The rollout is in a degraded state with message: RolloutAborted: x"},
		{"Degraded, no watch", withPhase(v1alpha1.RolloutPhaseDegraded, "RolloutAborted: x"), []string{"--watch=false"}, "Degraded\n",
			"The rollout is in a degraded state with message: RolloutAborted: x"},
		{"Paused, no watch", withPhase(v1alpha1.RolloutPhasePaused, "CanaryPauseStep"), []string{"-w=false"}, "Paused - CanaryPauseStep\n", ""},
		{"Paused until the timeout", withPhase(v1alpha1.RolloutPhasePaused, "CanaryPauseStep"), []string{"-t", "50ms"}, "Paused - CanaryPauseStep\n",
			"Rollout status watch exceeded timeout (50ms): rollout 'demo' is still Paused - CanaryPauseStep"},
		{"spec change not yet observed", func() *v1alpha1.Rollout {
			ro := withPhase(v1alpha1.RolloutPhaseHealthy, "")
			ro.Generation = 2
			return ro
		}(), []string{"--timeout", "50ms"}, "Progressing - waiting for rollout spec update to be observed\n", "Rollout status watch exceeded timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCLI(t, tc.ro)
			err := f.run(newStatusCommand, append([]string{"demo"}, tc.args...)...)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.HasPrefix(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			if f.out.String() != tc.wantOut {
				t.Errorf("printed %q, want %q", f.out.String(), tc.wantOut)
			}
		})
	}
}

// TestStatusWatchesUntilHealthy follows a rollout from Progressing to
// Healthy, riding out a failed read on the way.
func TestStatusWatchesUntilHealthy(t *testing.T) {
	statusPollInterval = 10 * time.Millisecond
	t.Cleanup(func() { statusPollInterval = time.Second })
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "demo"}}
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	f := newFakeCLI(t)
	reads := 0
	scheme, _ := manager.Scheme()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ro).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			reads++
			switch {
			case reads == 2:
				return errors.New("connection refused")
			case reads == 3:
				// The controller finished the update meanwhile.
				done := &v1alpha1.Rollout{}
				if err := c.Get(ctx, key, done); err != nil {
					return err
				}
				done.Status.Phase, done.Status.Message = v1alpha1.RolloutPhaseHealthy, ""
				if err := c.Update(ctx, done); err != nil {
					return err
				}
			}
			return c.Get(ctx, key, obj, opts...)
		},
	}).Build()
	f.o.SetClient(c)
	if err := f.run(newStatusCommand, "demo", "--timeout", "10s"); err != nil {
		t.Fatal(err)
	}
	if want := "Progressing - more replicas need to be updated\nHealthy\n"; f.out.String() != want {
		t.Errorf("printed %q, want %q", f.out.String(), want)
	}
	if !strings.Contains(f.errOut.String(), "connection refused") {
		t.Errorf("the failed read was not reported: %q", f.errOut.String())
	}
}
