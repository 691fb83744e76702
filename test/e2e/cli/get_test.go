package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// -update rewrites testdata/get-*.golden from the current output; review
// the diff before committing it.
var updateGolden = flag.Bool("update", false, "rewrite the get rollout golden files in testdata")

// getRollout runs `get rollout NAME --no-color` in ns and returns its
// output with what changes from run to run replaced (see normalizeTree).
func getRollout(t *testing.T, ns, name string, hashes map[string]string) string {
	t.Helper()
	stdout, stderr, code := runCLI(t, "-n", ns, "get", "rollout", name, "--no-color")
	if code != 0 || stderr != "" {
		t.Fatalf("get rollout %s: exit %d, stderr %q", name, code, stderr)
	}
	return normalizeTree(t, stdout, ns, hashes)
}

var (
	uidPattern   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	podPattern   = regexp.MustCompile(`(\{[a-z]+\})-[a-z0-9]{5}\b`)
	delayPattern = regexp.MustCompile(`delay:[0-9a-z]+`)
)

// normalizeTree makes get rollout's output comparable across runs: the
// namespace becomes {ns}, each pod-template hash its name in hashes (e.g.
// {blue}), pod name suffixes xxxxx, UIDs (in Job names) {uid}, ages {age}
// and scale-down delays {delay}. Because hashes differ in length, the
// tree is cut into cells at the header's column starts (which also checks
// that the columns line up) and laid out again.
func normalizeTree(t *testing.T, out, ns string, hashes map[string]string) string {
	t.Helper()
	replace := func(s string) string {
		s = strings.ReplaceAll(s, ns, "{ns}")
		for hash, name := range hashes {
			s = strings.ReplaceAll(s, hash, name)
		}
		s = uidPattern.ReplaceAllString(s, "{uid}")
		s = podPattern.ReplaceAllString(s, "$1-xxxxx")
		return delayPattern.ReplaceAllString(s, "delay:{delay}")
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var b strings.Builder
	var cols []int
	var rows [][]string
	for i, line := range lines {
		if strings.HasPrefix(line, "NAME ") && strings.Contains(line, "KIND") {
			for _, h := range []string{"KIND", "STATUS", "AGE", "INFO"} {
				cols = append(cols, utf8.RuneCountInString(line[:strings.Index(line, h)]))
			}
			rows = append(rows, []string{"NAME", "KIND", "STATUS", "AGE", "INFO"})
			lines = lines[i+1:]
			break
		}
		b.WriteString(strings.TrimRight(replace(line), " ") + "\n")
	}
	if cols == nil {
		t.Fatalf("no tree header in:\n%s", out)
	}
	for _, line := range lines {
		r := []rune(line)
		if len(r) < cols[3] {
			t.Fatalf("tree row shorter than its columns:\n%q\nin:\n%s", line, out)
		}
		cells := []string{string(r[:cols[0]]), string(r[cols[0]:cols[1]]), string(r[cols[1]:cols[2]]), string(r[cols[2]:cols[3]]), string(r[cols[3]:])}
		for c := range cells {
			// A cell that runs into the next column means misalignment.
			if c < 4 && !strings.HasSuffix(cells[c], "  ") {
				t.Fatalf("column %d not aligned in row %q of:\n%s", c, line, out)
			}
			cells[c] = replace(strings.TrimRight(cells[c], " "))
		}
		if cells[3] != "" {
			cells[3] = "{age}"
		}
		rows = append(rows, cells)
	}
	return b.String() + layoutRows(rows)
}

// layoutRows lays out the tree's five cells per row in columns two
// spaces apart, without trailing spaces.
func layoutRows(rows [][]string) string {
	widths := make([]int, 5)
	for _, row := range rows {
		for c, cell := range row {
			widths[c] = max(widths[c], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		var line strings.Builder
		for c, cell := range row {
			line.WriteString(cell)
			if c < 4 {
				line.WriteString(strings.Repeat(" ", widths[c]+2-utf8.RuneCountInString(cell)))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	return b.String()
}

// checkGolden compares get rollout's output (from get) with
// testdata/get-<name>.golden, reading again for a while when it differs,
// as the status counts may trail the ReplicaSets by a moment.
func checkGolden(t *testing.T, name string, get func() string) {
	t.Helper()
	path := filepath.Join("testdata", "get-"+name+".golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(get()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	framework.Eventually(t, 20*time.Second, "get rollout as in "+path, func() (bool, string) {
		got := get()
		return got == string(want), "got\n" + got + "\nwant\n" + string(want)
	})
}

// TestGetRolloutCanaryPausedAndAborted shows seed 03 paused at its first
// step (with `list rollouts` and `-o json` agreeing), then aborted.
func TestGetRolloutCanaryPausedAndAborted(t *testing.T) {
	ns := cliNamespace(t)
	blueHash := startSeed03(t, ns)
	framework.SetRolloutImage(t, ns, demo, green)
	v := waitRollout(t, ns, demo, 60*time.Second, "paused at step 1", func(v rolloutView) bool {
		return v.current() != blueHash && pausedAtFirstStep(v.current(), blueHash)(v)
	})
	hashes := map[string]string{blueHash: "{blue}", v.current(): "{green}"}
	waitForPods(t, ns, 5)
	checkGolden(t, "canary-paused", func() string { return getRollout(t, ns, demo, hashes) })

	stdout, _, code := runCLI(t, "-n", ns, "list", "rollouts")
	wantRow := "rollouts-demo Canary Paused 1/8 20 5/5 5 1 5"
	if got := strings.Split(strings.TrimSpace(stdout), "\n"); code != 0 || len(got) != 2 || strings.Join(strings.Fields(got[1]), " ") != wantRow {
		t.Errorf("list rollouts: exit %d, output:\n%s\nwant the row %q", code, stdout, wantRow)
	}

	stdout, _, code = runCLI(t, "-n", ns, "get", "rollout", demo, "-o", "json")
	var view struct {
		Name, Status, Step, SetWeight string
		ReplicaSets                   []struct{ Canary, Stable bool }
	}
	if err := json.Unmarshal([]byte(stdout), &view); code != 0 || err != nil || view.Name != demo || view.Status != "Paused" ||
		view.Step != "1/8" || view.SetWeight != "20" || len(view.ReplicaSets) != 2 || !view.ReplicaSets[0].Canary || !view.ReplicaSets[1].Stable {
		t.Errorf("get rollout -o json: exit %d, error %v, decoded %+v from:\n%s", code, err, view, stdout)
	}

	framework.PatchRolloutStatus(t, ns, demo, `{"status":{"abort":true}}`)
	waitRollout(t, ns, demo, 60*time.Second, "aborted: Degraded with every pod back on blue", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && v.spec[v.current()] == 0 && v.avail[blueHash] == 5 &&
			v.ro.Status.AvailableReplicas == 5 && v.ro.Status.Replicas == 5
	})
	waitForPods(t, ns, 5)
	checkGolden(t, "canary-aborted", func() string { return getRollout(t, ns, demo, hashes) })
}

// waitForPods waits until ns has exactly n pods, so that a canary's pods
// being deleted do not show in a golden output.
func waitForPods(t *testing.T, ns string, n int) {
	t.Helper()
	framework.Eventually(t, 60*time.Second, "the namespace's pods settled", func() (bool, string) {
		var pods struct{ Items []json.RawMessage }
		out, err := framework.Get(t).Kubectl(context.Background(), "get", "pods", "-n", ns, "-o", "json")
		if err != nil {
			return false, err.Error()
		}
		if err := json.Unmarshal([]byte(out), &pods); err != nil {
			return false, err.Error()
		}
		return len(pods.Items) == n, out
	})
}

// TestGetRolloutNginx shows seed 04 (NGINX, 5% to the canary, paused):
// ActualWeight is the router's weight.
func TestGetRolloutNginx(t *testing.T) {
	ns := cliNamespace(t)
	applyManifest(t, ns, framework.Example(t, "04-nginx-weight-manual.yaml"))
	first := waitRollout(t, ns, demo, 60*time.Second, "blue Healthy", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.current() != "" && v.avail[v.current()] == 1
	})
	framework.SetRolloutImage(t, ns, demo, green)
	v := waitRollout(t, ns, demo, 60*time.Second, "paused at weight 5", func(v rolloutView) bool {
		w := v.ro.Status.Canary.Weights
		return v.current() != first.current() && v.ro.Status.Phase == v1alpha1.RolloutPhasePaused && w != nil &&
			w.Canary.Weight == 5 && v.avail[v.current()] == 1 && v.avail[first.current()] == 1
	})
	hashes := map[string]string{first.current(): "{blue}", v.current(): "{green}"}
	checkGolden(t, "canary-nginx", func() string { return getRollout(t, ns, demo, hashes) })

	// --timeout-seconds ends a watch normally, after at least one frame.
	start := time.Now()
	stdout, stderr, code := runCLI(t, "-n", ns, "get", "rollout", demo, "--watch", "--no-color", "--timeout-seconds", "2")
	if code != 0 || !strings.HasPrefix(stdout, "\x1b[H\x1b[2J") || !strings.Contains(stdout, "Name:            "+demo) || time.Since(start) < 2*time.Second {
		t.Errorf("get rollout --watch --timeout-seconds 2: exit %d after %s, stderr %q, stdout %q", code, time.Since(start), stderr, stdout)
	}

	// Colour is on by default and off on a terminal that cannot show it.
	for term, want := range map[string]bool{"xterm-256color": true, "dumb": false} {
		out := runCLIWithTerm(t, term, "-n", ns, "get", "rollout", demo)
		// The canary tag is yellow.
		if colored := strings.Contains(out, "\x1b[33mcanary\x1b[0m"); colored != want {
			t.Errorf("TERM=%s: coloured %v, want %v:\n%q", term, colored, want, out)
		}
	}
}

// runCLIWithTerm runs the CLI with TERM set to term and returns its
// output, failing the test unless it exits 0.
func runCLIWithTerm(t *testing.T, term string, args ...string) string {
	t.Helper()
	cmd := exec.Command(cliBinary(t), append([]string{"--kubeconfig", framework.Get(t).Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "TERM="+term)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("TERM=%s kubectl-argo-rollouts %v: %v\n%s", term, args, err, out)
	}
	return string(out)
}

// TestGetRolloutBlueGreenWithAnalysis shows seed 07 after an update:
// the pre- and post-promotion AnalysisRuns with their Jobs under the new
// revision, the old revision waiting out its scale-down delay.
func TestGetRolloutBlueGreenWithAnalysis(t *testing.T) {
	ns := cliNamespace(t)
	const name = "guestbook-bg"
	applyManifest(t, ns, framework.Example(t, "07-bluegreen.yaml"))
	first := waitRollout(t, ns, name, 60*time.Second, "blue Healthy", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.current() != "" && v.avail[v.current()] == 3
	})
	framework.SetRolloutImage(t, ns, name, green)
	v := waitRollout(t, ns, name, 120*time.Second, "green promoted and Healthy after both analyses", func(v rolloutView) bool {
		return v.current() != first.current() && v.stable() == v.current() && v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy &&
			v.avail[v.current()] == 3 && v.avail[first.current()] == 3 && runsSucceeded(t, ns, 2)
	})
	hashes := map[string]string{first.current(): "{blue}", v.current(): "{green}"}
	checkGolden(t, "bluegreen-analysis", func() string { return getRollout(t, ns, name, hashes) })
}

// runsSucceeded reports whether ns has n AnalysisRuns, all Successful.
func runsSucceeded(t *testing.T, ns string, n int) bool {
	t.Helper()
	var runs v1alpha1.AnalysisRunList
	if err := framework.Get(t).Client.List(context.Background(), &runs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs.Items {
		if r.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
			return false
		}
	}
	return len(runs.Items) == n
}

// stepPattern finds the Step line of a get rollout screen.
var stepPattern = regexp.MustCompile(`Step:\s+(\d+)/8`)

// TestGetRolloutWatchInTmux runs `get rollout --watch` on a terminal
// (a detached tmux session), promotes the rollout, and reads the screen:
// the step advances in place (one header on screen, never two), and
// Ctrl-C ends the watch with exit status 0.
func TestGetRolloutWatchInTmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatalf("tmux is needed to test --watch on a terminal: install it (apt-get install tmux; .ci/run does): %v", err)
	}
	ns := cliNamespace(t)
	blueHash := startSeed03(t, ns)
	framework.SetRolloutImage(t, ns, demo, green)
	waitRollout(t, ns, demo, 60*time.Second, "paused at step 1", func(v rolloutView) bool {
		return v.current() != blueHash && pausedAtFirstStep(v.current(), blueHash)(v)
	})

	// A server of our own (-L), so no one's tmux sessions are touched.
	socket := "aviary-" + ns
	run := func(args ...string) string {
		t.Helper()
		out, err := execCommand(tmux, append([]string{"-L", socket}, args...)...)
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return out
	}
	shell := shellQuote(cliBinary(t)) + " --kubeconfig " + shellQuote(framework.Get(t).Kubeconfig) + " -n " + ns +
		" get rollout " + demo + " --watch --no-color; echo \"exit status $?\"; sleep 600"
	run("new-session", "-d", "-s", "watch", "-x", "200", "-y", "60", "bash", "-c", shell)
	t.Cleanup(func() { _, _ = execCommand(tmux, "-L", socket, "kill-server") })
	screen := func() string { return run("capture-pane", "-p", "-t", "watch") }

	framework.Eventually(t, 30*time.Second, "the watch showing step 1/8", func() (bool, string) {
		s := screen()
		return strings.Contains(s, "Step:          1/8") && strings.Contains(s, "⟳ "+demo), s
	})
	if _, stderr, code := runCLI(t, "-n", ns, "promote", demo); code != 0 {
		t.Fatalf("promote: exit %d: %s", code, stderr)
	}
	framework.Eventually(t, 60*time.Second, "the watch showing a later step, redrawn in place", func() (bool, string) {
		s := screen()
		m := stepPattern.FindAllStringSubmatch(s, -1)
		return len(m) == 1 && m[0][1] >= "2" && strings.Count(s, "Name:") == 1, s
	})
	run("send-keys", "-t", "watch", "C-c")
	framework.Eventually(t, 10*time.Second, "Ctrl-C ending the watch with status 0", func() (bool, string) {
		s := screen()
		return strings.Contains(s, "exit status 0"), s
	})
}

// shellQuote quotes s for bash.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// execCommand runs a command and returns its combined output.
func execCommand(name string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestGetUnknown: get of a missing rollout or experiment fails with a
// line naming it and the namespace, with or without --watch.
func TestGetUnknown(t *testing.T) {
	ns := framework.Namespace(t)
	for _, args := range [][]string{
		{"get", "rollout", "nope"}, {"get", "rollout", "nope", "--watch"}, {"get", "experiment", "nope"},
	} {
		want := `Error: ` + args[1] + ` "nope" not found in namespace "` + ns + `"` + "\n"
		_, stderr, code := runCLI(t, append([]string{"-n", ns}, args...)...)
		if code == 0 || stderr != want {
			t.Errorf("%v: exit %d, stderr %q; want non-zero and %q", args, code, stderr, want)
		}
	}
}
