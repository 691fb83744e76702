package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// seedsDir holds the acceptance fixtures, next to the repository.
func seedsDir(t *testing.T) string {
	return filepath.Join(framework.Get(t).RepoRoot, "examples")
}

// splitSeed splits a seed file into its Argo Rollouts documents (what
// `create -f` takes) and the rest (applied with kubectl).
func splitSeed(t *testing.T, path string) (argo, other string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read seed: %v", err)
	}
	var a, o []string
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.Contains(d, "apiVersion: argoproj.io/") {
			a = append(a, d)
		} else if strings.TrimSpace(d) != "" {
			o = append(o, d)
		}
	}
	return strings.Join(a, "\n---\n"), strings.Join(o, "\n---\n")
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCreateSeed01 creates seed 01's Rollout and AnalysisTemplate with
// `create -f`, its Services and Ingress being applied as a user would with
// kubectl; a second create is refused with a message naming the object.
func TestCreateSeed01(t *testing.T) {
	e := framework.Get(t)
	ns := framework.Namespace(t)
	argo, other := splitSeed(t, filepath.Join(seedsDir(t), "01-progressive-nginx.yaml"))
	if out, err := e.KubectlStdin(context.Background(), []byte(other), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply the seed's Services and Ingress: %v\n%s", err, out)
	}
	file := writeTemp(t, "seed01-argo.yaml", argo)

	stdout, stderr, code := runCLI(t, "-n", ns, "create", "-f", file)
	want := "rollout.argoproj.io/canary-demo created\nanalysistemplate.argoproj.io/success-rate created\n"
	if code != 0 || stdout != want {
		t.Fatalf("create -f: exit %d, stdout %q (want %q), stderr %q", code, stdout, want, stderr)
	}
	var ro v1alpha1.Rollout
	if err := e.Client.Get(context.Background(), framework.Key(ns, "canary-demo"), &ro); err != nil {
		t.Fatalf("the Rollout was not created: %v", err)
	}
	if ro.Spec.Strategy.Canary == nil || ro.Spec.Strategy.Canary.TrafficRouting.Nginx.StableIngress != "canary-demo" || len(ro.Spec.Strategy.Canary.Steps) != 8 {
		t.Errorf("created Rollout spec differs from the seed: %+v", ro.Spec.Strategy)
	}
	var at v1alpha1.AnalysisTemplate
	if err := e.Client.Get(context.Background(), framework.Key(ns, "success-rate"), &at); err != nil {
		t.Fatalf("the AnalysisTemplate was not created: %v", err)
	}

	_, stderr, code = runCLI(t, "-n", ns, "create", "-f", file)
	if code == 0 || !strings.Contains(stderr, `Rollout "canary-demo" already exists in namespace "`+ns+`"`) {
		t.Errorf("second create: exit %d, stderr %q", code, stderr)
	}

	// Kinds create does not handle are refused before anything is created.
	bad := writeTemp(t, "service.yaml", other)
	_, stderr, code = runCLI(t, "-n", ns, "create", "-f", bad)
	if code == 0 || !strings.Contains(stderr, "create supports only argoproj.io/v1alpha1") {
		t.Errorf("create -f of a Service: exit %d, stderr %q", code, stderr)
	}
}

// smokeTemplate is a Job metric whose pod's state (on the local cluster's
// fake nodes) comes from the run's argument, so -a decides the outcome.
const smokeTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: smoke
spec:
  args:
  - name: state
  - name: purpose
    value: smoke
  metrics:
  - name: smoke
    provider:
      job:
        metadata:
          labels: {purpose: "{{args.purpose}}"}
        spec:
          backoffLimit: 0
          template:
            metadata:
              annotations: {test.aviary.dev/state: "{{args.state}}"}
            spec:
              restartPolicy: Never
              containers:
              - name: smoke
                image: busybox
                command: [sh, -c, "exit 0"]
`

// TestCreateAnalysisRunFromTemplate creates AnalysisRuns from a template
// on the cluster and from a file, and lets the controller run one to
// completion.
func TestCreateAnalysisRunFromTemplate(t *testing.T) {
	e := framework.Get(t)
	ns := framework.Namespace(t)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	if out, err := e.KubectlStdin(context.Background(), []byte(smokeTemplate), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply the template: %v\n%s", err, out)
	}

	stdout, stderr, code := runCLI(t, "-n", ns, "create", "analysisrun", "--from", "smoke", "-a", "state=ready", "--name", "smoke-run")
	if code != 0 || stdout != "analysisrun.argoproj.io/smoke-run created\n" {
		t.Fatalf("create analysisrun --from: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	var run v1alpha1.AnalysisRun
	framework.Eventually(t, 90*time.Second, "AnalysisRun smoke-run to succeed", func() (bool, string) {
		if err := e.Client.Get(context.Background(), framework.Key(ns, "smoke-run"), &run); err != nil {
			return false, err.Error()
		}
		return run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful, string(run.Status.Phase) + " " + run.Status.Message
	})
	args := map[string]string{}
	for _, a := range run.Spec.Args {
		if a.Value != nil {
			args[a.Name] = *a.Value
		}
	}
	if args["state"] != "ready" || args["purpose"] != "smoke" || len(run.Spec.Metrics) != 1 {
		t.Errorf("run spec: args %v, metrics %d", args, len(run.Spec.Metrics))
	}

	// Without --name the run is named after the template (generateName),
	// and --instance-id labels it for another controller instance.
	stdout, stderr, code = runCLI(t, "-n", ns, "create", "analysisrun", "--from", "smoke", "-a", "state=ready", "--instance-id", "elsewhere")
	name := strings.TrimSuffix(strings.TrimPrefix(stdout, "analysisrun.argoproj.io/"), " created\n")
	if code != 0 || !strings.HasPrefix(name, "smoke-") || len(name) <= len("smoke-") {
		t.Fatalf("create analysisrun with generateName: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	var other v1alpha1.AnalysisRun
	if err := e.Client.Get(context.Background(), framework.Key(ns, name), &other); err != nil {
		t.Fatal(err)
	}
	if other.Labels[v1alpha1.LabelControllerInstanceID] != "elsewhere" {
		t.Errorf("labels %v", other.Labels)
	}

	// --from-file reads the template from a file, not the cluster.
	file := writeTemp(t, "template.yaml", strings.Replace(smokeTemplate, "name: smoke\nspec", "name: smoke-local\nspec", 1))
	stdout, stderr, code = runCLI(t, "-n", ns, "create", "analysisrun", "--from-file", file, "-a", "state=ready", "--generate-name", "local-")
	if code != 0 || !strings.HasPrefix(stdout, "analysisrun.argoproj.io/local-") {
		t.Errorf("create analysisrun --from-file: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// A required argument left out fails before anything is created, with
	// the controller's message.
	_, stderr, code = runCLI(t, "-n", ns, "create", "analysisrun", "--from", "smoke", "--name", "no-args")
	if code != 1 || !strings.Contains(stderr, "args.state was not resolved") {
		t.Errorf("missing argument: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runCLI(t, "-n", ns, "create", "analysisrun", "--from", "nope")
	if code != 1 || !strings.Contains(stderr, `AnalysisTemplate "nope": not found in namespace "`+ns+`"`) {
		t.Errorf("unknown template: exit %d, stderr %q", code, stderr)
	}
}

// TestLintSeedsAndBrokenFile runs lint through the binary: every seed
// passes silently with exit code 0, a broken file fails with exit code 1,
// the findings on stdout and the first as the error.
func TestLintSeedsAndBrokenFile(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(seedsDir(t), "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	for _, f := range files {
		stdout, stderr, code := runCLI(t, "lint", "-f", f)
		if code != 0 || stdout != "" || stderr != "" {
			t.Errorf("lint %s: exit %d, stdout %q, stderr %q", filepath.Base(f), code, stdout, stderr)
		}
	}
	broken := filepath.Join(framework.Get(t).RepoRoot, "internal", "cli", "lint", "testdata", "invalid-setweight-150.yaml")
	stdout, stderr, code := runCLI(t, "lint", "-f", broken)
	finding := `document 1 (Rollout "demo"): spec.strategy.canary.steps[0].setWeight: Invalid value: 150: must be between 0 and 100 (maxTrafficWeight)`
	if code != 1 || stdout != finding+"\n" || stderr != "Error: "+finding+"\n" {
		t.Errorf("lint of a broken file: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestCreateWatch creates seed 03's Rollout with -w: after the created
// line the command hands over to `get rollout --watch`, which draws the
// rollout until interrupted.
func TestCreateWatch(t *testing.T) {
	e := framework.Get(t)
	ns := framework.Namespace(t)
	argo, _ := splitSeed(t, filepath.Join(seedsDir(t), "03-basic-canary.yaml"))
	file := writeTemp(t, "seed03-rollout.yaml", argo)
	cmd := exec.Command(cliBinary(t), "--kubeconfig", e.Kubeconfig, "-n", ns, "create", "-f", file, "-w", "--no-color")
	var out syncedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // an error only means it has exited already
		<-exited
	})
	framework.Eventually(t, 30*time.Second, "create -w to show the rollout", func() (bool, string) {
		s := out.String()
		return strings.HasPrefix(s, "rollout.argoproj.io/rollouts-demo created\n") && regexp.MustCompile(`Name:\s+rollouts-demo\n`).MatchString(s), s
	})
	select {
	case <-exited:
		t.Fatalf("create -w exited (%v) instead of watching:\n%s", waitErr, out.String())
	default:
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Errorf("create -w did not exit on interrupt:\n%s", out.String())
	}
}

// syncedBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads.
type syncedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
