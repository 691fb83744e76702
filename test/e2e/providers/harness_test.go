// Package providers runs each metric provider end to end on the local
// cluster: a canary's background analysis queries a local stand-in that
// speaks the provider's wire format, and the rollout completes, aborts, or
// (with nothing listening) ends its run Error and never promotes.
package providers

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The cases mostly wait on pauses and measurement intervals; two at a
	// time (-parallel's default on two cores) would make the package several
	// times slower for no load saved. An explicit -parallel wins.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "6")
	}
	framework.Main(m)
}

// providerCase is one metric provider's end-to-end check.
type providerCase struct {
	// Provider returns the YAML of the metric's provider block for the
	// stand-in at url, e.g. "datadog:\n  query: q\n"; it is indented here.
	Provider func(url string) string
	// SuccessCondition and FailureCondition are the metric's; either may be
	// empty.
	SuccessCondition, FailureCondition string
	// Good and Bad answer passing and failing values. They check the request
	// and answer anything unexpected with an error status, which the
	// provider must never count as a pass.
	Good, Bad http.HandlerFunc
	// Setup, if set, runs in the case's namespace before its controller
	// starts (that namespace is the controller's own: POD_NAMESPACE) with
	// the address the metric will reach, and returns extra environment for
	// the controller.
	Setup func(t *testing.T, ns, url string) []string
	// Secrets are values that must appear nowhere the controller writes:
	// its output, Events, AnalysisRuns, Rollouts, /metrics.
	Secrets []string
}

const checkTemplate = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: provider-check
spec:
  metrics:
  - name: check
    interval: 2s
    failureLimit: 0
    consecutiveErrorLimit: 2
CONDITIONS    provider:
PROVIDER`

// checkRollout is a canary whose background analysis runs from the start
// of an update; the pause is long enough for several measurements.
const checkRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: "argoproj/rollouts-demo:blue"}]
  strategy:
    canary:
      analysis:
        templates: [{templateName: provider-check}]
      steps:
      - setWeight: 50
      - pause: {duration: 20}
`

// checkProvider runs the three outcomes in parallel, each in a namespace of
// its own with a controller of its own.
func checkProvider(t *testing.T, c providerCase) {
	t.Parallel()
	t.Run("passing values complete the rollout", func(t *testing.T) {
		t.Parallel()
		ns, ctrl := startCase(t, c, serve(t, c.Good))
		framework.Eventually(t, 2*time.Minute, "the update completed", func() (bool, string) {
			ro := getRollout(t, ns)
			if ro.Status.Abort {
				t.Fatalf("the update aborted: %s", describe(t, ns))
			}
			return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash && ro.Status.ObservedGeneration == "2",
				describe(t, ns)
		})
		run := onlyRun(t, ns)
		if r := run.Status.MetricResults; run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || len(r) != 1 || r[0].Successful < 2 || r[0].Failed+r[0].Error > 0 {
			t.Errorf("want a Successful run with at least two successful measurements and no other: %s", describeRun(run))
		}
		checkNoLeak(t, c, ns, ctrl)
	})
	t.Run("failing values abort the rollout", func(t *testing.T) {
		t.Parallel()
		ns, ctrl := startCase(t, c, serve(t, c.Bad))
		waitAborted(t, ns, v1alpha1.AnalysisPhaseFailed)
		checkNoLeak(t, c, ns, ctrl)
	})
	t.Run("a dead server ends the run Error and never promotes", func(t *testing.T) {
		t.Parallel()
		ns, ctrl := startCase(t, c, "http://"+framework.FreeAddr(t))
		waitAborted(t, ns, v1alpha1.AnalysisPhaseError)
		checkNoLeak(t, c, ns, ctrl)
	})
}

// startCase creates the namespace, the case's Secrets and its controller,
// deploys the first version and starts the update.
func startCase(t *testing.T, c providerCase, url string) (string, *framework.Controller) {
	t.Helper()
	ns := framework.Namespace(t)
	env := []string{"POD_NAMESPACE=" + ns}
	if c.Setup != nil {
		env = append(env, c.Setup(t, ns, url)...)
	}
	ctrl := framework.StartControllerEnv(t, env, "--leader-elect=false", "--namespaced", "--namespace", ns)
	var conditions strings.Builder
	if c.SuccessCondition != "" {
		fmt.Fprintf(&conditions, "    successCondition: %q\n", c.SuccessCondition)
	}
	if c.FailureCondition != "" {
		fmt.Fprintf(&conditions, "    failureCondition: %q\n", c.FailureCondition)
	}
	tmpl := strings.NewReplacer("CONDITIONS", conditions.String(), "PROVIDER", indent(c.Provider(url), "      ")).Replace(checkTemplate)
	apply(t, ns, tmpl+"---\n"+checkRollout)
	framework.Eventually(t, time.Minute, "the first version Healthy", func() (bool, string) {
		return getRollout(t, ns).Status.Phase == v1alpha1.RolloutPhaseHealthy, describe(t, ns)
	})
	framework.SetRolloutImage(t, ns, "web", "argoproj/rollouts-demo:green")
	return ns, ctrl
}

// waitAborted waits for the rollout to abort on its background run, which
// must have ended in phase, and checks the new version was never promoted.
func waitAborted(t *testing.T, ns string, phase v1alpha1.AnalysisPhase) {
	t.Helper()
	var stable string
	framework.Eventually(t, 2*time.Minute, "aborted on the analysis", func() (bool, string) {
		ro := getRollout(t, ns)
		stable = ro.Status.StableRS
		return ro.Status.Abort && ro.Status.Phase == v1alpha1.RolloutPhaseDegraded, describe(t, ns)
	})
	ro := getRollout(t, ns)
	if ro.Status.StableRS == ro.Status.CurrentPodHash || ro.Status.StableRS != stable {
		t.Errorf("the new version was promoted: %s", describe(t, ns))
	}
	run := onlyRun(t, ns)
	if run.Status.Phase != phase {
		t.Errorf("run phase %s, want %s: %s", run.Status.Phase, phase, describeRun(run))
	}
	if r := run.Status.MetricResults; len(r) != 1 || r[0].Successful > 0 {
		t.Errorf("the run counted a success: %s", describeRun(run))
	}
}

// checkNoLeak looks for the case's secrets everywhere the controller
// writes.
func checkNoLeak(t *testing.T, c providerCase, ns string, ctrl *framework.Controller) {
	t.Helper()
	if len(c.Secrets) == 0 {
		return
	}
	ctx := context.Background()
	e := framework.Get(t)
	places := map[string]string{"the controller's output": ctrl.Output()}
	evs, err := e.Clientset.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	places["Events"] = mustJSON(t, evs.Items)
	var runs v1alpha1.AnalysisRunList
	if err := e.Client.List(ctx, &runs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	places["AnalysisRuns"] = mustJSON(t, runs.Items)
	places["the Rollout"] = mustJSON(t, getRollout(t, ns))
	resp, err := http.Get("http://" + ctrl.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatalf("scrape /metrics: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	places["/metrics"] = string(body)
	for where, text := range places {
		for _, s := range c.Secrets {
			if strings.Contains(text, s) {
				t.Errorf("secret %q appears in %s", s, where)
			}
		}
	}
}

// serve starts a stand-in for the test's duration and returns its URL.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func apply(t *testing.T, ns, manifest string) {
	t.Helper()
	if out, err := framework.Get(t).KubectlStdin(context.Background(), []byte(manifest), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
}

func getRollout(t *testing.T, ns string) *v1alpha1.Rollout {
	t.Helper()
	var ro v1alpha1.Rollout
	if err := framework.Get(t).Client.Get(context.Background(), framework.Key(ns, "web"), &ro); err != nil {
		t.Fatal(err)
	}
	return &ro
}

// onlyRun is the update's background run.
func onlyRun(t *testing.T, ns string) *v1alpha1.AnalysisRun {
	t.Helper()
	var list v1alpha1.AnalysisRunList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d AnalysisRuns, want the update's one background run", len(list.Items))
	}
	return &list.Items[0]
}

func describe(t *testing.T, ns string) string {
	ro := getRollout(t, ns)
	step := "none"
	if ro.Status.CurrentStepIndex != nil {
		step = fmt.Sprint(*ro.Status.CurrentStepIndex)
	}
	s := fmt.Sprintf("rollout %s %q abort=%v stable=%s current=%s step=%s;", ro.Status.Phase, ro.Status.Message, ro.Status.Abort,
		ro.Status.StableRS, ro.Status.CurrentPodHash, step)
	var list v1alpha1.AnalysisRunList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err == nil {
		for i := range list.Items {
			s += " " + describeRun(&list.Items[i])
		}
	}
	return s
}

func describeRun(run *v1alpha1.AnalysisRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: %s %q;", run.Name, run.Status.Phase, run.Status.Message)
	for _, r := range run.Status.MetricResults {
		fmt.Fprintf(&b, " %s: %s ok %d failed %d error %d [", r.Name, r.Phase, r.Successful, r.Failed, r.Error)
		for _, m := range r.Measurements {
			fmt.Fprintf(&b, " %s %q %q;", m.Phase, m.Value, m.Message)
		}
		b.WriteString(" ]")
	}
	return b.String()
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// secretSetup is a case's Setup that creates Secret name, with the data
// data gives for the stand-in's url, in the case's namespace.
func secretSetup(name string, data func(url string) map[string]string) func(*testing.T, string, string) []string {
	return func(t *testing.T, ns, url string) []string {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data(url)}
		if _, err := framework.Get(t).Clientset.CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return nil
	}
}
