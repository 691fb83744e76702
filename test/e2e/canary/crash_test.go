package canary

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const crashRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: NAME
spec:
  replicas: 3
  revisionHistoryLimit: 5
  selector:
    matchLabels: {app: NAME}
  template:
    metadata:
      labels: {app: NAME}
    spec:
      containers:
        - name: app
          image: argoproj/rollouts-demo:blue
  strategy:
    canary:
      steps:
        - setWeight: 34
        - pause: {duration: 2}
        - setWeight: 67
        - pause: {duration: 2}
`

// TestCrashSafetyUnderRandomKills updates 20 rollouts at once and kills the
// controller with SIGKILL at random moments, starting a new one each time.
// Every rollout must end Healthy on the new image with exactly one new
// ReplicaSet, and its event stream must show each step completed exactly
// once — nothing skipped, nothing repeated.
func TestCrashSafetyUnderRandomKills(t *testing.T) {
	const n = 20
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	start := func() *framework.Controller {
		return framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", ns)
	}
	ctl := start()
	var docs []string
	for i := range n {
		docs = append(docs, strings.ReplaceAll(crashRollout, "NAME", fmt.Sprintf("app-%02d", i)))
	}
	applyYAML(t, ns, strings.Join(docs, "---\n"))
	framework.Eventually(t, 120*time.Second, "all rollouts Healthy on the first version", func() (bool, string) {
		done, total := healthyOn(t, ns, "blue")
		return done == total && total == n, fmt.Sprintf("%d of %d", done, total)
	})
	seen := map[string]bool{} // events from the first deploy
	for _, ev := range framework.RolloutEvents(t, ns) {
		seen[ev.Name] = true
	}

	for i := range n {
		ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("app-%02d", i)}}
		patch := []byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"argoproj/rollouts-demo:green"}]`)
		if err := e.Client.Patch(ctx, ro, client.RawPatch(types.JSONPatchType, patch)); err != nil {
			t.Fatalf("set image of %s: %v", ro.Name, err)
		}
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("kill schedule seed %d", seed)
	deadline := time.Now().Add(3 * time.Minute)
	for kills := 0; ; kills++ {
		if done, total := healthyOn(t, ns, "green"); done == total {
			t.Logf("all %d rollouts done after %d kills", total, kills)
			break
		}
		if time.Now().After(deadline) {
			done, total := healthyOn(t, ns, "green")
			t.Fatalf("only %d of %d rollouts done after %d kills", done, total, kills)
		}
		if kills < 12 {
			time.Sleep(time.Duration(200+rng.IntN(1800)) * time.Millisecond)
			ctl.Kill()
			time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
			ctl = start()
		} else {
			time.Sleep(time.Second) // let the last controller finish
		}
	}

	// Exactly two ReplicaSets per rollout: blue and green.
	var rsList appsv1.ReplicaSetList
	if err := e.Client.List(ctx, &rsList, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	perRollout := map[string][]string{}
	for _, rs := range rsList.Items {
		owner := metav1.GetControllerOf(&rs)
		perRollout[owner.Name] = append(perRollout[owner.Name], rs.Name)
	}
	for name, sets := range perRollout {
		if len(sets) != 2 {
			t.Errorf("rollout %s has ReplicaSets %v, want exactly 2", name, sets)
		}
	}

	// Each step completed exactly once, and the update completed once. (The
	// order is the steps' own: events carry second-resolution timestamps,
	// too coarse to order steps a pause of 2 s apart.)
	want := []string{
		"RolloutStepCompleted: Rollout step 1/4 completed (setWeight: 34)",
		"RolloutStepCompleted: Rollout step 2/4 completed (pause: 2)",
		"RolloutStepCompleted: Rollout step 3/4 completed (setWeight: 67)",
		"RolloutStepCompleted: Rollout step 4/4 completed (pause: 2)",
		"RolloutCompleted",
	}
	slices.Sort(want)
	byRollout, detail := map[string][]string{}, map[string][]string{}
	for _, ev := range framework.RolloutEvents(t, ns) {
		if seen[ev.Name] || (ev.Reason != "RolloutStepCompleted" && ev.Reason != "RolloutCompleted") {
			continue
		}
		if ev.Count != 1 {
			t.Errorf("event %s of %s counted %d times: %s", ev.Reason, ev.Object, ev.Count, ev.Message)
		}
		line := ev.Reason + ": " + ev.Message
		if ev.Reason == "RolloutCompleted" {
			line = ev.Reason
		}
		byRollout[ev.Object] = append(byRollout[ev.Object], line)
		detail[ev.Object] = append(detail[ev.Object], fmt.Sprintf("%s@rv%s %s", ev.Reason, ev.Version, ev.Message))
	}
	for i := range n {
		name := fmt.Sprintf("app-%02d", i)
		got := byRollout[name]
		slices.Sort(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("rollout %s step events:\n got %q\nwant %q\n(%q)", name, got, want, detail[name])
		}
	}
}

// healthyOn counts the namespace's rollouts that are Healthy, fully
// available and stable on the given image colour.
func healthyOn(t *testing.T, ns, color string) (done, total int) {
	t.Helper()
	var list v1alpha1.RolloutList
	if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, ro := range list.Items {
		total++
		if ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.StableRS == ro.Status.CurrentPodHash &&
			ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation) && ro.Status.AvailableReplicas == 3 &&
			ro.Status.UpdatedReplicas == 3 && ro.Spec.Template.Spec.Containers[0].Image == "argoproj/rollouts-demo:"+color {
			done++
		}
	}
	return done, total
}
