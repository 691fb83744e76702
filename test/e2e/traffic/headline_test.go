package traffic

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// headline is seed 01 with its pauses shortened (2m → 30s), so both
// paths finish in a few minutes.
type headline struct {
	*framework.Headline
	t *testing.T
}

func startHeadline(t *testing.T) headline {
	return headline{framework.StartHeadline(t, "30s"), t}
}

// watch polls until done, recording each new canary weight and the weight
// in force when the first AnalysisRun appeared.
type observed struct {
	weights     []string
	weightAtRun string
}

func (h headline) watch(timeout time.Duration, what string, done func(*v1alpha1.Rollout, []v1alpha1.AnalysisRun) bool) *observed {
	o := &observed{}
	framework.Eventually(h.t, timeout, what, func() (bool, string) {
		w := h.CanaryWeight()
		if len(o.weights) == 0 || o.weights[len(o.weights)-1] != w {
			o.weights = append(o.weights, w)
		}
		runs := h.Runs()
		if len(runs) > 0 && o.weightAtRun == "" {
			o.weightAtRun = w
		}
		ro := h.Rollout()
		split, _ := h.Sim.Split()
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
		h.Update("argoproj/rollouts-demo:green", 0)
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
		ro := h.Rollout()
		if got := h.StableSelector(); got != ro.Status.StableRS {
			t.Errorf("stable Service selects %q, want the new stable %q", got, ro.Status.StableRS)
		}
		if img := ro.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":green") {
			t.Errorf("image %q", img)
		}
		run := h.Runs()[0]
		if n := len(run.Status.MetricResults); n != 1 || run.Status.MetricResults[0].Successful < 1 || run.Status.MetricResults[0].Failed != 0 {
			t.Errorf("run results %+v: want only successful measurements", run.Status.MetricResults)
		}
	})
	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		h := startHeadline(t)
		blue := h.Rollout().Status.StableRS
		h.Update("argoproj/rollouts-demo:yellow", 50)
		o := h.watch(4*time.Minute, "the failing run aborts the rollout back to blue", func(ro *v1alpha1.Rollout, runs []v1alpha1.AnalysisRun) bool {
			split, _ := h.Sim.Split()
			return ro.Status.Phase == v1alpha1.RolloutPhaseDegraded && ro.Status.Abort && len(runs) == 1 &&
				runs[0].Status.Phase == v1alpha1.AnalysisPhaseFailed && h.CanaryWeight() == "0" && split.CanaryShare() == 0
		})
		t.Logf("canary weights seen %v; run started at weight %s", o.weights, o.weightAtRun)
		if !inOrder(o.weights, "20", "40") || o.weights[len(o.weights)-1] != "0" {
			t.Errorf("canary weights seen %v: want 20 then 40, ending at 0", o.weights)
		}
		ro := h.Rollout()
		if !strings.Contains(ro.Status.Message, "success-rate") {
			t.Errorf("rollout message %q does not name the failed metric", ro.Status.Message)
		}
		if ro.Status.StableRS != blue || h.StableSelector() != blue {
			t.Errorf("stable is %q selecting %q, want blue %q serving everything", ro.Status.StableRS, h.StableSelector(), blue)
		}
		run := h.Runs()[0]
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
