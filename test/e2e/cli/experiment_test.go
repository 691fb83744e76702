package cli

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// liveExperiment runs a baseline and a canary for ten minutes: long
// enough that only terminate ends it within the test.
const liveExperiment = `apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: live
spec:
  duration: 10m
  scaleDownDelaySeconds: 2
  templates:
  - name: baseline
    selector:
      matchLabels: {app: live, role: baseline}
    template:
      metadata:
        labels: {app: live, role: baseline}
      spec:
        containers: [{name: demo, image: "argoproj/rollouts-demo:blue"}]
  - name: canary
    selector:
      matchLabels: {app: live, role: canary}
    template:
      metadata:
        labels: {app: live, role: canary}
      spec:
        containers: [{name: demo, image: "argoproj/rollouts-demo:green"}]
`

// stuckExperiment's pods never become ready, so it fails its progress
// deadline.
const stuckExperiment = `apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: stuck
spec:
  duration: 10m
  progressDeadlineSeconds: 6
  scaleDownDelaySeconds: 0
  templates:
  - name: canary
    selector:
      matchLabels: {app: stuck}
    template:
      metadata:
        labels: {app: stuck}
        annotations: {test.aviary.dev/state: unready}
      spec:
        containers: [{name: demo, image: "argoproj/rollouts-demo:green"}]
`

// watcher is a `kubectl argo rollouts ... --watch` process whose every
// frame is kept.
type watcher struct {
	out    syncedBuffer
	cmd    *exec.Cmd
	exited chan struct{}
}

func startWatch(t *testing.T, args ...string) *watcher {
	t.Helper()
	w := &watcher{exited: make(chan struct{})}
	w.cmd = exec.Command(cliBinary(t), append([]string{"--kubeconfig", framework.Get(t).Kubeconfig}, args...)...)
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.cmd.Wait(); close(w.exited) }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill() // an error only means it has exited already
		<-w.exited
		if t.Failed() {
			t.Logf("kubectl-argo-rollouts %v wrote:\n%s", args, w.out.String())
		}
	})
	return w
}

// frames are the screens drawn so far (each redraw clears the screen
// first); the text before the first is frames[0].
func (w *watcher) frames() []string { return strings.Split(w.out.String(), tree.ClearScreen) }

// last is the newest frame.
func (w *watcher) last() string {
	f := w.frames()
	return f[len(f)-1]
}

// waitFrame waits until the newest frame contains every one of want.
func (w *watcher) waitFrame(t *testing.T, timeout time.Duration, what string, want ...string) string {
	t.Helper()
	var frame string
	framework.Eventually(t, timeout, what, func() (bool, string) {
		select {
		case <-w.exited:
			t.Fatalf("the watch exited while waiting for %s:\n%s", what, w.out.String())
		default:
		}
		frame = w.last()
		for _, s := range want {
			if !strings.Contains(frame, s) {
				return false, "no " + s + " in:\n" + frame
			}
		}
		return true, ""
	})
	return frame
}

// listRow is the `list experiments` row of name, split into its columns.
func listRow(t *testing.T, ns, name string) []string {
	t.Helper()
	stdout, stderr, code := runCLI(t, "-n", ns, "list", "experiments")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != 0 || len(lines) < 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME STATUS DURATION REMAINING AGE" {
		t.Fatalf("list experiments: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return f
		}
	}
	t.Fatalf("list experiments has no row for %s:\n%s", name, stdout)
	return nil
}

func getExperiment(t *testing.T, ns, name string) *v1alpha1.Experiment {
	t.Helper()
	var ex v1alpha1.Experiment
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, name), &ex); err != nil {
		t.Fatal(err)
	}
	return &ex
}

var remaining = regexp.MustCompile(`^(\d+m)?\d+s$|^\d+m$`)

// TestExperimentCLILive drives an Experiment the controller runs through
// the CLI: `create -f -w` creates it and follows it live from nothing to
// Running with both templates' pods; `list experiments` shows its duration
// and time left; `terminate experiment` ends it (Successful, ReplicaSets
// scaled down after the delay, seen in the same watch); and `retry
// experiment` makes a failed one run again until it fails again.
func TestExperimentCLILive(t *testing.T) {
	ns := cliNamespace(t)
	file := writeTemp(t, "live.yaml", liveExperiment)
	w := startWatch(t, "-n", ns, "create", "-f", file, "-w", "--no-color")
	framework.Eventually(t, 30*time.Second, "create -f to report the Experiment", func() (bool, string) {
		return strings.HasPrefix(w.out.String(), "experiment.argoproj.io/live created\n"), w.out.String()
	})
	running := w.waitFrame(t, 90*time.Second, "the watch to show the Experiment running with both pods",
		"Name:            live\n", "Status:          ◌ Running\n",
		"Images:          argoproj/rollouts-demo:blue (Σ:baseline)\n", "                 argoproj/rollouts-demo:green (Σ:canary)\n",
		"Σ live ", "├──⧉ live-baseline ", "└──⧉ live-canary ")
	if n := regexp.MustCompile(`□ live-(baseline|canary)-\S+\s+Pod\s+✔ Running`).FindAllString(running, -1); len(n) != 2 {
		t.Errorf("running frame shows %d running pods, want 2:\n%s", len(n), running)
	}
	if !strings.Contains(strings.Join(w.frames()[:len(w.frames())-1], ""), "Name:            live\n") {
		t.Errorf("the watch drew a single frame; it should have followed the Experiment as it started")
	}

	row := listRow(t, ns, "live")
	if len(row) != 5 || row[1] != "Running" || row[2] != "10m" || !remaining.MatchString(row[3]) {
		t.Errorf("list experiments row %q, want live Running 10m <time left> <age>", row)
	}

	if stdout, stderr, code := runCLI(t, "-n", ns, "terminate", "experiment", "live"); code != 0 || stdout != "experiment 'live' terminated\n" {
		t.Fatalf("terminate experiment: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if ex := getExperiment(t, ns, "live"); !ex.Spec.Terminate {
		t.Errorf("terminate did not set spec.terminate")
	}
	w.waitFrame(t, 60*time.Second, "the watch to show the Experiment ended and scaled down",
		"Status:          ✔ Successful\n", "⧉ live-baseline  ", "⧉ live-canary  ", "ScaledDown")
	final := w.last()
	if strings.Contains(final, "Images:") || strings.Count(final, "• ScaledDown") != 2 {
		t.Errorf("ended frame: want both ReplicaSets ScaledDown and no running images:\n%s", final)
	}
	if row := listRow(t, ns, "live"); len(row) != 5 || row[1] != "Successful" || row[2] != "10m" || row[3] != "-" {
		t.Errorf("list experiments row after terminate %q, want live Successful 10m - <age>", row)
	}
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("the watch did not exit on interrupt")
	}

	// retry experiment: a failed Experiment runs again.
	applyManifest(t, ns, stuckExperiment)
	sw := startWatch(t, "-n", ns, "get", "experiment", "stuck", "--watch", "--no-color")
	failed := sw.waitFrame(t, 90*time.Second, "the stuck Experiment to fail its progress deadline", "Status:          ✖ Failed\n", "Message:")
	if !strings.Contains(failed, "progressDeadlineSeconds") {
		t.Errorf("the failed frame does not say why:\n%s", failed)
	}
	seen := len(sw.frames())
	if stdout, stderr, code := runCLI(t, "-n", ns, "retry", "experiment", "stuck"); code != 0 || stdout != "experiment 'stuck' retried\n" {
		t.Fatalf("retry experiment: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	framework.Eventually(t, 90*time.Second, "the retried Experiment to run again, then fail again", func() (bool, string) {
		after := sw.frames()[seen:]
		again, refailed := -1, -1
		for i, f := range after {
			switch {
			case again < 0 && !strings.Contains(f, "✖ Failed") && strings.Contains(f, "Name:            stuck\n"):
				again = i
			case again >= 0 && strings.Contains(f, "Status:          ✖ Failed\n"):
				refailed = i
			}
		}
		return again >= 0 && refailed > again, strings.Join(after, "\n---\n")
	})
}
