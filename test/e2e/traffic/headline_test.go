package traffic

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// headline is seed 01 (the headline scenario) running in its own namespace
// against a real Prometheus that scrapes a traffic simulator: the
// simulator splits requests by the canary Ingress weight the controller
// writes, and each version fails at its pod template's ERROR_RATE. Only
// the pause durations are shortened (2m → 30s); the query, its 60 s rate
// window and the 10 s measurement interval are the seed's.
type headline struct {
	t   *testing.T
	e   *framework.Env
	ns  string
	sim *framework.TrafficSimulator
}

const headlinePause = "duration: 30s"

func startHeadline(t *testing.T) *headline {
	e := framework.Get(t)
	h := &headline{t: t, e: e, ns: framework.Namespace(t)}
	h.sim = framework.StartTrafficSimulator(t, h.ns, "canary-demo")
	prom := framework.StartPrometheus(t, h.sim.Addr)
	framework.StartController(t, "--leader-elect=false", "--namespaced", "--namespace", h.ns)
	raw, err := os.ReadFile(filepath.Join(e.RepoRoot, "..", "shared", "examples", "seeds", "01-progressive-nginx.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	seed := strings.NewReplacer("duration: 2m", headlinePause,
		"http://prometheus-kube-prometheus-prometheus.prometheus:9090", prom.Address).Replace(string(raw))
	if out, err := e.KubectlStdin(context.Background(), []byte(seed), "apply", "-n", h.ns, "-f", "-"); err != nil {
		t.Fatalf("apply seed 01: %v\n%s", err, out)
	}
	framework.Eventually(t, 60*time.Second, "blue Healthy with no traffic on a canary", func() (bool, string) {
		ro := h.rollout()
		w := h.canaryWeight()
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && (w == "none" || w == "0"), fmt.Sprintf("%s %q, canary weight %s", ro.Status.Phase, ro.Status.Message, w)
	})
	return h
}

func (h *headline) rollout() *v1alpha1.Rollout {
	var ro v1alpha1.Rollout
	_ = h.e.Client.Get(context.Background(), framework.Key(h.ns, "canary-demo"), &ro)
	return &ro
}

// canaryWeight is the canary Ingress's canary-weight, or "none".
func (h *headline) canaryWeight() string {
	var in networkingv1.Ingress
	if err := h.e.Client.Get(context.Background(), framework.Key(h.ns, "canary-demo-canary-demo-canary"), &in); err != nil {
		return "none"
	}
	return in.Annotations["nginx.ingress.kubernetes.io/canary-weight"]
}

func (h *headline) runs() []v1alpha1.AnalysisRun {
	var list v1alpha1.AnalysisRunList
	_ = h.e.Client.List(context.Background(), &list, client.InNamespace(h.ns))
	return list.Items
}

func (h *headline) stableSelector() string {
	var svc corev1.Service
	_ = h.e.Client.Get(context.Background(), framework.Key(h.ns, "canary-demo"), &svc)
	return svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
}

// update sends the new version: image, and ERROR_RATE when errorRate > 0.
func (h *headline) update(image string, errorRate int) {
	patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}`, image)
	if errorRate > 0 {
		patch += fmt.Sprintf(`,{"op":"add","path":"/spec/template/spec/containers/0/env","value":[{"name":"ERROR_RATE","value":"%d"}]}`, errorRate)
	}
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "canary-demo"}}
	if err := h.e.Client.Patch(context.Background(), ro, client.RawPatch(types.JSONPatchType, []byte(patch+"]"))); err != nil {
		h.t.Fatalf("update rollout: %v", err)
	}
}

// watch polls until done, recording each new canary weight and the weight
// in force when the first AnalysisRun appeared.
type observed struct {
	weights     []string
	weightAtRun string
}

func (h *headline) watch(timeout time.Duration, what string, done func(*v1alpha1.Rollout, []v1alpha1.AnalysisRun) bool) *observed {
	o := &observed{}
	framework.Eventually(h.t, timeout, what, func() (bool, string) {
		w := h.canaryWeight()
		if len(o.weights) == 0 || o.weights[len(o.weights)-1] != w {
			o.weights = append(o.weights, w)
		}
		runs := h.runs()
		if len(runs) > 0 && o.weightAtRun == "" {
			o.weightAtRun = w
		}
		ro := h.rollout()
		split, _ := h.sim.Split()
		return done(ro, runs), fmt.Sprintf("weights %v, run started at %q, %d runs; %s %q; simulator canary share %.2f",
			o.weights, o.weightAtRun, len(runs), ro.Status.Phase, ro.Status.Message, split.CanaryShare())
	})
	return o
}

// TestHeadlineSeed01 plays both paths of the headline scenario, each in
// its own namespace, at the same time.
func TestHeadlineSeed01(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		t.Parallel()
		h := startHeadline(t)
		h.update("argoproj/rollouts-demo:green", 0)
		o := h.watch(4*time.Minute, "green promoted with a Successful background run", func(ro *v1alpha1.Rollout, runs []v1alpha1.AnalysisRun) bool {
			return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.ObservedGeneration == "2" &&
				ro.Status.StableRS == ro.Status.CurrentPodHash && len(runs) == 1 && runs[0].Status.Phase == v1alpha1.AnalysisPhaseSuccessful
		})
		t.Logf("canary weights seen %v; background run started at weight %s", o.weights, o.weightAtRun)
		if !inOrder(o.weights, "20", "40", "60", "80") || o.weights[len(o.weights)-1] != "0" {
			t.Errorf("canary weights seen %v: want 20, 40, 60, 80 in order, ending at 0 once green is stable", o.weights)
		}
		if o.weightAtRun != "40" {
			t.Errorf("the background run started at canary weight %q, want 40 (startingStep 2)", o.weightAtRun)
		}
		ro := h.rollout()
		if got := h.stableSelector(); got != ro.Status.StableRS {
			t.Errorf("stable Service selects %q, want the new stable %q", got, ro.Status.StableRS)
		}
		if img := ro.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":green") {
			t.Errorf("image %q", img)
		}
		run := h.runs()[0]
		if n := len(run.Status.MetricResults); n != 1 || run.Status.MetricResults[0].Successful < 1 || run.Status.MetricResults[0].Failed != 0 {
			t.Errorf("run results %+v: want only successful measurements", run.Status.MetricResults)
		}
	})
	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		h := startHeadline(t)
		blue := h.rollout().Status.StableRS
		h.update("argoproj/rollouts-demo:yellow", 50)
		o := h.watch(4*time.Minute, "the failing run aborts the rollout back to blue", func(ro *v1alpha1.Rollout, runs []v1alpha1.AnalysisRun) bool {
			split, _ := h.sim.Split()
			return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Abort && len(runs) == 1 &&
				runs[0].Status.Phase == v1alpha1.AnalysisPhaseFailed && h.canaryWeight() == "0" && split.CanaryShare() == 0
		})
		t.Logf("canary weights seen %v; run started at weight %s", o.weights, o.weightAtRun)
		if !inOrder(o.weights, "20", "40") || o.weights[len(o.weights)-1] != "0" {
			t.Errorf("canary weights seen %v: want 20 then 40, ending at 0", o.weights)
		}
		ro := h.rollout()
		if !strings.Contains(ro.Status.Message, "success-rate") {
			t.Errorf("rollout message %q does not name the failed metric", ro.Status.Message)
		}
		if ro.Status.StableRS != blue || h.stableSelector() != blue {
			t.Errorf("stable is %q selecting %q, want blue %q serving everything", ro.Status.StableRS, h.stableSelector(), blue)
		}
		run := h.runs()[0]
		if res := run.Status.MetricResults; len(res) != 1 || res[0].Failed <= 3 {
			t.Errorf("run results %+v: want more than failureLimit (3) failed measurements", res)
		}
	})
}

// inOrder reports whether want appears in seen as a subsequence.
func inOrder(seen []string, want ...string) bool {
	i := 0
	for _, s := range seen {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want) || slices.Equal(want, seen)
}
