package cli

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const experimentManifest = `apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: exp-demo
  annotations: {rollout.argoproj.io/revision: "1"}
spec:
  duration: 1h
  templates:
  - name: baseline
    replicas: 1
    selector:
      matchLabels: {app: exp-demo}
    template:
      metadata:
        labels: {app: exp-demo}
      spec:
        containers:
        - name: main
          image: argoproj/rollouts-demo:blue
`

// experimentReplicaSet is the baseline template's ReplicaSet, as the
// experiment controller would make it; no controller runs in this test, so
// the output depends on these objects alone (TestExperimentCLILive has the
// controller run one).
const experimentReplicaSet = `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: exp-demo-baseline
  labels: {app: exp-demo, rollouts-pod-template-hash: 5d4f8c7b9}
  annotations: {experiment.argoproj.io/template-name: baseline, experiment.argoproj.io/name: exp-demo}
  ownerReferences:
  - {apiVersion: argoproj.io/v1alpha1, kind: Experiment, name: exp-demo, uid: UID, controller: true}
spec:
  replicas: 1
  selector:
    matchLabels: {app: exp-demo, rollouts-pod-template-hash: 5d4f8c7b9}
  template:
    metadata:
      labels: {app: exp-demo, rollouts-pod-template-hash: 5d4f8c7b9}
    spec:
      containers:
      - name: main
        image: argoproj/rollouts-demo:blue
`

// TestGetAndListExperiment shows a running experiment with its template's
// ReplicaSet and pod, and lists it with its duration.
func TestGetAndListExperiment(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	applyManifest(t, ns, experimentManifest)
	var exp v1alpha1.Experiment
	if err := e.Client.Get(ctx, framework.Key(ns, "exp-demo"), &exp); err != nil {
		t.Fatal(err)
	}
	status := fmt.Sprintf(`{"status":{"phase":"Running","availableAt":%q}}`, time.Now().UTC().Format(time.RFC3339))
	if out, err := e.Kubectl(ctx, "patch", "experiment", "exp-demo", "-n", ns, "--subresource=status", "--type=merge", "-p", status); err != nil {
		t.Fatalf("patch experiment status: %v\n%s", err, out)
	}
	applyManifest(t, ns, strings.Replace(experimentReplicaSet, "UID", string(exp.UID), 1))

	want := `Name:            exp-demo
Namespace:       {ns}
Status:          ◌ Running
Images:          argoproj/rollouts-demo:blue (Σ:baseline)

NAME                                 KIND        STATUS     AGE    INFO
Σ exp-demo                           Experiment  ◌ Running  {age}
└──⧉ {baseline}                      ReplicaSet  ✔ Healthy  {age}
   └──□ {baseline}-xxxxx             Pod         ✔ Running  {age}  ready:1/1
`
	var got string
	framework.Eventually(t, 60*time.Second, "get experiment showing the running pod", func() (bool, string) {
		stdout, stderr, code := runCLI(t, "-n", ns, "get", "experiment", "exp-demo", "--no-color")
		if code != 0 {
			return false, stderr
		}
		// Pod names end in a random suffix; naming the ReplicaSet
		// {baseline} lets the normaliser recognise its pods.
		got = normalizeTree(t, stdout, ns, map[string]string{"exp-demo-baseline": "{baseline}"})
		return got == reflow(want), "got\n" + got + "\nwant\n" + reflow(want)
	})

	stdout, _, code := runCLI(t, "-n", ns, "list", "experiments")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "NAME STATUS DURATION REMAINING AGE" {
		t.Fatalf("list experiments: exit %d:\n%s", code, stdout)
	}
	// The time left counts down from 60m; the age counts up from 0s.
	if f := strings.Fields(lines[1]); len(f) != 5 || f[0] != "exp-demo" || f[1] != "Running" || f[2] != "60m" || !strings.HasSuffix(f[3], "m") {
		t.Errorf("list experiments row %q", lines[1])
	}
}

// reflow lays out a want string the way normalizeTree lays out what it
// got, so expectations can be written with any spacing in the tree.
func reflow(s string) string {
	head, tree, _ := strings.Cut(s, "\nNAME ")
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight("NAME "+tree, "\n"), "\n") {
		rows = append(rows, splitCells(line))
	}
	return head + "\n" + layoutRows(rows)
}

// splitCells splits a tree row at runs of two or more spaces that follow
// the name (the tree's own prefix has runs of spaces too).
func splitCells(line string) []string {
	start := strings.IndexFunc(line, func(r rune) bool { return !strings.ContainsRune(" │├└─", r) })
	prefix, rest := line[:start], line[start:]
	var cells []string
	for _, f := range strings.Split(rest, "  ") {
		if f = strings.TrimSpace(f); f != "" {
			cells = append(cells, f)
		}
	}
	cells[0] = prefix + cells[0]
	for len(cells) < 5 {
		cells = append(cells, "")
	}
	return cells
}

// TestListRolloutsWatch starts `list rollouts --watch`, updates a
// rollout, sees its row printed again, and ends the watch with SIGINT
// (Ctrl-C) and exit status 0.
func TestListRolloutsWatch(t *testing.T) {
	ns := cliNamespace(t)
	blueHash := startSeed03(t, ns)
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBinary(t), "--kubeconfig", framework.Get(t).Kubeconfig, "-n", ns, "list", "rollouts", "--watch")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("list rollouts --watch ended before %s", what)
			}
			return strings.Join(strings.Fields(l), " ")
		case <-time.After(60 * time.Second):
			t.Fatalf("no line for %s", what)
		}
		return ""
	}
	if h := next("the header"); !strings.HasPrefix(h, "NAME STRATEGY STATUS STEP SET-WEIGHT") {
		t.Fatalf("header %q", h)
	}
	if r := next("the first row"); r != "rollouts-demo Canary Healthy 8/8 100 5/5 5 5 5" {
		t.Fatalf("first row %q", r)
	}
	framework.SetRolloutImage(t, ns, demo, green)
	waitRollout(t, ns, demo, 60*time.Second, "paused at step 1", func(v rolloutView) bool {
		return v.current() != blueHash && pausedAtFirstStep(v.current(), blueHash)(v)
	})
	for {
		r := next("the paused row")
		if r == "rollouts-demo Canary Paused 1/8 20 5/5 5 1 5" {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("list rollouts --watch after SIGINT: %v", err)
	}
}
