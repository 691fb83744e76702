package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/notify"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// catalogTemplates and catalogTriggers are the names in
// manifests/notifications/catalog.yaml, as Argo Rollouts' catalog has them.
var (
	catalogTemplates = []string{"analysis-run-error", "analysis-run-failed", "analysis-run-running", "rollout-aborted",
		"rollout-completed", "rollout-paused", "rollout-step-completed", "rollout-updated", "scaling-replicaset"}
	catalogTriggers = []string{"on-analysis-run-error", "on-analysis-run-failed", "on-analysis-run-running", "on-rollout-aborted",
		"on-rollout-completed", "on-rollout-paused", "on-rollout-step-completed", "on-rollout-updated", "on-scaling-replica-set"}
)

// testNotificationKeys are the test's own template and triggers, added to
// the catalog in the cluster: the template shows each variable the
// controller gives templates; the triggers' conditions read the rollout
// and its runs.
const testNotificationKeys = `{"data": {
  "template.test-vars": "message: 'runs={{range .analysisRuns}}{{.metadata.name}},{{end}} secret={{toString (index .secrets \"token\")}} year={{(call .time.Now).UTC.Year}} month={{(call .time.Parse \"2024-05-06T07:08:09Z\").Month}} service={{.serviceType}}'\n",
  "trigger.on-test-healthy": "- when: rollout.status.phase == 'Healthy'\n  send: [test-vars]\n",
  "trigger.on-test-two-runs": "- when: len(analysisRuns) == 2 && analysisRuns[0].status.phase == 'Successful'\n  send: [test-vars]\n",
  "trigger.on-test-never": "- when: rollout.spec.replicas == 7\n  send: [test-vars]\n"
}}`

// TestNotificationsCLI runs `notifications template get|notify` and
// `trigger get|run`: from the catalog file, then from the settings in the
// cluster — the install's empty ConfigMap and Secret with the catalog
// patched in as docs/notifications.md says — against seed 07 after an
// update, whose current revision has two real AnalysisRuns.
func TestNotificationsCLI(t *testing.T) {
	ns := cliNamespace(t)
	e := framework.Get(t)
	catalog := filepath.Join(e.RepoRoot, "manifests", "notifications", "catalog.yaml")

	// From the file, without the cluster's settings.
	if got := cliLines(t, "notifications", "template", "get", "-o", "name", "--config-map", catalog, "--secret", ":empty"); !slices.Equal(got, catalogTemplates) {
		t.Errorf("template get -o name from the catalog: %v, want %v", got, catalogTemplates)
	}
	if got := cliLines(t, "notifications", "trigger", "get", "-o", "name", "--config-map", catalog, "--secret", ":empty"); !slices.Equal(got, catalogTriggers) {
		t.Errorf("trigger get -o name from the catalog: %v, want %v", got, catalogTriggers)
	}
	wide := cliLines(t, "notifications", "trigger", "get", "--config-map", catalog, "--secret", ":empty")
	if len(wide) != 10 || strings.Join(strings.Fields(wide[0]), " ") != "NAME TEMPLATE CONDITION" ||
		!slices.ContainsFunc(wide, func(l string) bool {
			return strings.Join(strings.Fields(l), " ") == "on-scaling-replica-set scaling-replicaset"
		}) {
		t.Errorf("trigger get from the catalog:\n%s", strings.Join(wide, "\n"))
	}

	// In the cluster: the install's settings, the catalog and the test's
	// keys patched in; re-applying the install keeps them.
	install := filepath.Join(e.RepoRoot, "manifests", "base", "notifications.yaml")
	applyManifest(t, ns, install)
	kubectl(t, "patch", "configmap", notify.ConfigMapName, "-n", ns, "--patch-file", catalog)
	kubectl(t, "patch", "configmap", notify.ConfigMapName, "-n", ns, "--type", "merge", "-p", testNotificationKeys)
	kubectl(t, "patch", "secret", notify.SecretName, "-n", ns, "-p", `{"stringData":{"token":"s3cret"}}`)
	applyManifest(t, ns, install)
	var cm corev1.ConfigMap
	if err := e.Client.Get(context.Background(), framework.Key(ns, notify.ConfigMapName), &cm); err != nil {
		t.Fatal(err)
	}
	if len(cm.Data) != 2*len(catalogTemplates)+4 {
		t.Fatalf("after re-applying the install the ConfigMap has %d keys, want the catalog's %d and the test's 4: %v", len(cm.Data), 2*len(catalogTemplates), sortedKeys(cm.Data))
	}

	const name = "guestbook-bg"
	applyManifest(t, ns, framework.Example(t, "07-bluegreen.yaml"))
	first := waitRollout(t, ns, name, 60*time.Second, "blue Healthy", func(v rolloutView) bool {
		return v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && v.current() != "" && v.avail[v.current()] == 3
	})
	framework.SetRolloutImage(t, ns, name, green)
	waitRollout(t, ns, name, 120*time.Second, "green promoted and Healthy after both analyses", func(v rolloutView) bool {
		return v.current() != first.current() && v.stable() == v.current() && v.ro.Status.Phase == v1alpha1.RolloutPhaseHealthy &&
			runsSucceeded(t, ns, 2)
	})
	newestFirst := currentRunsNewestFirst(t, ns, name)

	if got := cliLines(t, "-n", ns, "notifications", "template", "get", "-o", "name"); !slices.Equal(got, slices.Sorted(slices.Values(append([]string{"test-vars"}, catalogTemplates...)))) {
		t.Errorf("template get -o name from the cluster: %v", got)
	}

	msg, attachments := notifyCLI(t, ns, "rollout-completed", name)
	if want := fmt.Sprintf("Rollout %s/%s is complete: revision 2 runs on every replica.", ns, name); msg != want {
		t.Errorf("rollout-completed: message %q, want %q", msg, want)
	}
	if fields := slackFields(t, attachments); fields["Strategy"] != "blue-green" || fields["guestbook"] != green || fields["Revision"] != "2" {
		t.Errorf("rollout-completed: attachment fields %v", fields)
	}
	_, attachments = notifyCLI(t, ns, "analysis-run-failed", name)
	if fields := slackFields(t, attachments); fields["AnalysisRun"] != newestFirst[0] {
		t.Errorf("analysis-run-failed: attachment fields %v, want AnalysisRun %s (the newest of the current revision)", fields, newestFirst[0])
	}
	want := fmt.Sprintf("runs=%s, secret=s3cret year=%d month=May service=console", strings.Join(newestFirst, ","), time.Now().UTC().Year())
	if msg, _ := notifyCLI(t, ns, "test-vars", name); msg != want {
		t.Errorf("test-vars for the rollout in the cluster: %q, want %q", msg, want)
	}
	// The same rollout from a file without its namespace: the runs are
	// listed in -n's.
	out, err := e.Kubectl(context.Background(), "get", "rollout", name, "-n", ns, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var ro map[string]any
	if err := json.Unmarshal([]byte(out), &ro); err != nil {
		t.Fatal(err)
	}
	delete(ro["metadata"].(map[string]any), "namespace")
	data, _ := json.Marshal(ro)
	if msg, _ := notifyCLI(t, ns, "test-vars", writeTemp(t, "rollout.json", string(data))); msg != want {
		t.Errorf("test-vars for the rollout from a file: %q, want %q", msg, want)
	}

	for trigger, want := range map[string]string{"on-test-healthy": "true", "on-test-two-runs": "true", "on-test-never": "false", "on-rollout-completed": "false"} {
		lines := cliLines(t, "-n", ns, "notifications", "trigger", "run", trigger, name)
		if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "CONDITION RESULT" || !strings.HasSuffix(lines[1], " "+want) {
			t.Errorf("trigger run %s: %q, want the result %s", trigger, lines, want)
		}
	}
}

// kubectl runs kubectl against the local cluster and fails the test if it
// fails.
func kubectl(t *testing.T, args ...string) {
	t.Helper()
	if out, err := framework.Get(t).Kubectl(context.Background(), args...); err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
}

// cliLines runs the CLI, which must exit 0 and print no warning, and
// returns its output's lines.
func cliLines(t *testing.T, args ...string) []string {
	t.Helper()
	stdout, stderr, code := runCLI(t, args...)
	// The engine reports its failures on stderr and exits 0.
	if code != 0 || strings.Contains(stderr, "warning") || strings.Contains(stderr, "failed") {
		t.Fatalf("kubectl-argo-rollouts %v: exit %d, stderr:\n%s", args, code, stderr)
	}
	return strings.Split(strings.TrimRight(stdout, "\n"), "\n")
}

// notifyCLI renders template for the rollout (a name in ns, or a file)
// with `template notify`, whose console recipient prints the notification
// as YAML, and returns its message and Slack attachments.
func notifyCLI(t *testing.T, ns, template, rollout string) (message, attachments string) {
	t.Helper()
	lines := cliLines(t, "-n", ns, "notifications", "template", "notify", template, rollout)
	var n struct {
		Message string
		Slack   struct{ Attachments string }
	}
	if err := yaml.Unmarshal([]byte(strings.Join(lines, "\n")), &n); err != nil || n.Message == "" {
		t.Fatalf("template notify %s %s printed no notification (%v):\n%s", template, rollout, err, strings.Join(lines, "\n"))
	}
	return n.Message, n.Slack.Attachments
}

// slackFields are the fields of the one Slack attachment, by title.
func slackFields(t *testing.T, attachments string) map[string]string {
	t.Helper()
	var at []struct {
		Fields []struct{ Title, Value string }
	}
	if err := json.Unmarshal([]byte(attachments), &at); err != nil || len(at) != 1 {
		t.Fatalf("slack attachments are not one JSON attachment (%v):\n%s", err, attachments)
	}
	fields := map[string]string{}
	for _, f := range at[0].Fields {
		fields[f.Title] = f.Value
	}
	return fields
}

// currentRunsNewestFirst names the AnalysisRuns of the rollout's current
// pod-template hash and revision, newest first: what templates get as
// analysisRuns.
func currentRunsNewestFirst(t *testing.T, ns, name string) []string {
	t.Helper()
	v := viewRollout(t, ns, name)
	var runs v1alpha1.AnalysisRunList
	if err := framework.Get(t).Client.List(context.Background(), &runs, client.InNamespace(ns),
		client.MatchingLabels{v1alpha1.DefaultRolloutUniqueLabelKey: v.current()}); err != nil {
		t.Fatal(err)
	}
	var current []v1alpha1.AnalysisRun
	for _, r := range runs.Items {
		if r.Annotations[v1alpha1.RevisionAnnotation] == v.ro.Annotations[v1alpha1.RevisionAnnotation] {
			current = append(current, r)
		}
	}
	slices.SortStableFunc(current, func(a, b v1alpha1.AnalysisRun) int { return b.CreationTimestamp.Compare(a.CreationTimestamp.Time) })
	var names []string
	for _, r := range current {
		names = append(names, r.Name)
	}
	if len(names) != 2 || current[0].CreationTimestamp.Equal(&current[1].CreationTimestamp) {
		t.Fatalf("want two runs of the current revision created at different seconds, got %v", runs.Items)
	}
	return names
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
