package budget

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const (
	qps   = 5
	burst = 5
	// window is the span the bound is stated over.
	window = 2 * time.Second
	// rollouts keeps every rollout worker (--rollout-threads 10) busy, so
	// the budget, not the work, sets the pace of the wave.
	rollouts = 10
)

// TestWaveStaysWithinTheClientBudget runs the controller with --qps 5
// --burst 5 behind a proxy that notes when each of its requests reaches the
// API server, creates 10 canary rollouts (3 replicas; 34%, 1 s, 67%, 1 s,
// as bench/scale) and updates them all at once. What it asserts, of every
// request the process sent from its start (informers, discovery, leader
// election, reads, writes, Events alike):
//
//   - any closed 2 s window holds at most burst + qps·2 s = 15 requests:
//     the token bucket's bound, whose burst is spent only after a quiet
//     spell refilled it; so over the wave the rate is 5/s, plus at most
//     5 once;
//   - the budget was what held the wave back: some 2 s window holds at
//     least 10, and requests waited for it (aviary_client_budget_wait_seconds);
//   - the controller's own counter (aviary_api_requests_total) counts the
//     same requests the proxy saw;
//   - the wave completes, the controller keeps its Lease, and every Event
//     the controller emitted for a rollout (rollout_events_total) is in the
//     API, none dropped.
func TestWaveStaysWithinTheClientBudget(t *testing.T) {
	e := framework.Get(t)
	ctx := context.Background()
	ns := framework.Namespace(t)
	proxy := startRecordingProxy(t)
	ctl := framework.StartController(t, "--kubeconfig", proxy.Kubeconfig, "--namespaced", "--namespace", ns,
		"--qps", strconv.Itoa(qps), "--burst", strconv.Itoa(burst))

	for i := range rollouts {
		if err := e.Client.Create(ctx, benchRollout(ns, i)); err != nil {
			t.Fatal(err)
		}
	}
	waitAll(t, ns, "blue", 3*time.Minute)
	waveStart := time.Now()
	patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"argoproj/rollouts-demo:green"}]}}}}`)
	for i := range rollouts {
		ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name(i)}}
		if err := e.Client.Patch(ctx, ro, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			t.Fatal(err)
		}
	}
	waitAll(t, ns, "green", 4*time.Minute)
	waveEnd := time.Now()
	if ctl.Exited() {
		t.Fatalf("the controller exited (leadership lost under the budget?)")
	}

	as := proxy.Arrivals()
	peak, at := busiestWindow(as, window)
	inWave := 0
	for _, a := range as {
		if !a.at.Before(waveStart) && !a.at.After(waveEnd) {
			inWave++
		}
	}
	wave := waveEnd.Sub(waveStart)
	t.Logf("%d requests from the controller's start; busiest %s window: %d (at +%s); wave: %d requests in %s, %.2f/s",
		len(as), window, peak, at.Sub(as[0].at).Round(time.Millisecond), inWave, wave.Round(time.Millisecond), float64(inWave)/wave.Seconds())
	if limit := burst + int(qps*window.Seconds()); peak > limit {
		t.Errorf("%d requests within %s from +%s; the budget allows %d (burst %d + %d/s × %s):\n%s",
			peak, window, at.Sub(as[0].at).Round(time.Millisecond), limit, burst, qps, window, describe(as, at, window))
	}
	if peak < int(qps*window.Seconds()) {
		t.Errorf("the busiest %s window holds only %d requests: the wave never reached the budget, so this proves nothing", window, peak)
	}
	if limit := float64(burst) + qps*wave.Seconds(); float64(inWave) > limit {
		t.Errorf("%d requests during the %s wave; the budget allows %.0f", inWave, wave, limit)
	}

	metrics := func() string {
		body, err := framework.HTTPGet("http://" + ctl.MetricsAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	if waits := sum(metrics(), "aviary_client_budget_wait_seconds_sum"); waits <= 0 {
		t.Errorf("no request waited for the budget (aviary_client_budget_wait_seconds_sum %v)", waits)
	}
	// Both count every request once it has been answered: once the
	// controller is idle they agree.
	framework.Eventually(t, 30*time.Second, "aviary_api_requests_total to count the requests the proxy saw", func() (bool, string) {
		counted := sum(metrics(), "aviary_api_requests_total")
		seen := len(proxy.Arrivals())
		return int(counted) == seen, fmt.Sprintf("counter %v, proxy %d", counted, seen)
	})
	// Every Event the controller emitted is written: the journal's and the
	// recorder's, whose queue is served last by the budget.
	framework.Eventually(t, 60*time.Second, "every emitted rollout Event in the API", func() (bool, string) {
		emitted := map[string]int{}
		for _, smp := range series(metrics(), "rollout_events_total") {
			if smp.labels["namespace"] == ns {
				emitted[smp.labels["name"]+" "+smp.labels["reason"]] += int(smp.value)
			}
		}
		written := map[string]int{}
		for _, ev := range framework.RolloutEvents(t, ns) {
			written[ev.Object+" "+ev.Reason] += int(max(ev.Count, 1))
		}
		var missing []string
		for _, k := range slices.Sorted(maps.Keys(emitted)) {
			if written[k] < emitted[k] {
				missing = append(missing, fmt.Sprintf("%s: %d of %d", k, written[k], emitted[k]))
			}
		}
		return len(emitted) > 0 && len(missing) == 0, fmt.Sprintf("written of emitted: %s", strings.Join(missing, "; "))
	})
}

func name(i int) string { return fmt.Sprintf("app-%02d", i) }

// benchRollout is bench/scale's rollout: 3 pods, 34%, 1 s, 67%, 1 s.
func benchRollout(ns string, i int) *v1alpha1.Rollout {
	labels := map[string]string{"app": name(i)}
	replicas := int32(3)
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: ns},
		Spec: v1alpha1.RolloutSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "argoproj/rollouts-demo:blue"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
				{SetWeight: new(int32(34))},
				{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromInt32(1))}},
				{SetWeight: new(int32(67))},
				{Pause: &v1alpha1.RolloutPause{Duration: new(intstr.FromInt32(1))}},
			}}},
		},
	}
}

// waitAll waits until every rollout is Healthy on color's image, stable and
// fully updated.
func waitAll(t *testing.T, ns, color string, timeout time.Duration) {
	t.Helper()
	image := "argoproj/rollouts-demo:" + color
	framework.Eventually(t, timeout, fmt.Sprintf("all %d rollouts Healthy on %s", rollouts, color), func() (bool, string) {
		var list v1alpha1.RolloutList
		if err := framework.Get(t).Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		done := 0
		phases := map[v1alpha1.RolloutPhase]int{}
		for _, ro := range list.Items {
			phases[ro.Status.Phase]++
			if ro.Status.ObservedGeneration == strconv.FormatInt(ro.Generation, 10) && ro.Status.Phase == v1alpha1.RolloutPhaseHealthy &&
				ro.Spec.Template.Spec.Containers[0].Image == image && ro.Status.StableRS != "" &&
				ro.Status.StableRS == ro.Status.CurrentPodHash && ro.Status.UpdatedReplicas == 3 {
				done++
			}
		}
		return done == rollouts, fmt.Sprintf("%d of %d done, phases %v", done, rollouts, phases)
	})
}

// describe lists the requests of the window starting at from.
func describe(as []arrival, from time.Time, w time.Duration) string {
	var b strings.Builder
	for _, a := range as {
		if !a.at.Before(from) && a.at.Sub(from) <= w {
			fmt.Fprintf(&b, "  +%s %s %s\n", a.at.Sub(from).Round(time.Millisecond), a.method, a.path)
		}
	}
	return b.String()
}

type sample struct {
	labels map[string]string
	value  float64
}

// series reads the samples of metric from a /metrics page.
func series(page, metric string) []sample {
	var out []sample
	for _, line := range strings.Split(page, "\n") {
		rest, ok := strings.CutPrefix(line, metric)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		labels := map[string]string{}
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			for _, kv := range strings.Split(rest[1:end], ",") {
				k, v, _ := strings.Cut(kv, "=")
				labels[k] = strings.Trim(v, `"`)
			}
			rest = rest[end+1:]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			continue
		}
		out = append(out, sample{labels, v})
	}
	return out
}

// sum adds up metric's samples.
func sum(page, metric string) float64 {
	total := 0.0
	for _, smp := range series(page, metric) {
		total += smp.value
	}
	return total
}
