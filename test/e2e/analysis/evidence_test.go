package analysis

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/plan/rules"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// evidenceManifest is a canary whose 1-second pause would promote it long
// before its background analysis could fail: measured every 3 s, the
// metric fails the run only at its fourth failure (about 9 s in).
const evidenceManifest = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: health
spec:
  metrics:
  - name: health
    interval: 3s
    failureLimit: 3
    successCondition: result == true
    provider:
      web:
        url: URL/health
        jsonPath: "{$.ok}"
---
apiVersion: argoproj.io/v1alpha1
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
        templates: [{templateName: health}]
      steps:
      - setWeight: 50
      - pause: {duration: 1}
`

// startEvidenceCase serves the health endpoint (healthy tells it what to
// answer), applies the canary and sets a new image once the first version
// is Healthy. It returns the namespace and the requests served.
func startEvidenceCase(t *testing.T, healthy bool) (string, *atomic.Int32) {
	t.Helper()
	ns, _ := scoped(t)
	var served atomic.Int32
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/health" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok": %v}`, healthy)
	})
	apply(t, ns, strings.ReplaceAll(evidenceManifest, "URL", url))
	framework.Eventually(t, 60*time.Second, "the first version Healthy", func() (bool, string) {
		return rollout(t, ns).Status.Phase == v1alpha1.RolloutPhaseHealthy, describeRollout(t, ns)
	})
	setImage(t, ns, "argoproj/rollouts-demo:green")
	return ns, &served
}

// TestNoPromotionWithoutEvidence: a background-analysed canary with a
// 1-second pause and a failing metric is never promoted — its final step
// waits, saying so, for a successful measurement at its weight, and the
// analysis aborts it. (Without the rule the pause ends and the canary is
// promoted before the second measurement.)
func TestNoPromotionWithoutEvidence(t *testing.T) {
	ns, served := startEvidenceCase(t, false)
	var newHash string
	sawWait := false
	framework.Eventually(t, 90*time.Second, "the canary aborted by its analysis", func() (bool, string) {
		ro := rollout(t, ns)
		if ro.Status.CurrentPodHash != "" && ro.Status.ObservedGeneration == "2" {
			newHash = ro.Status.CurrentPodHash
		}
		if newHash != "" && ro.Status.StableRS == newHash {
			t.Fatalf("the canary was promoted without a successful measurement: %s", describeRollout(t, ns))
		}
		if strings.HasPrefix(ro.Status.Message, "waiting for evidence before promotion: background metric \"health\" has 0 of 1 successful measurements") {
			sawWait = true
		}
		return ro.Status.Abort && ro.Status.Phase == v1alpha1.RolloutPhaseDegraded, describeRollout(t, ns)
	})
	ro := rollout(t, ns)
	if !strings.Contains(ro.Status.Message, "health: false does not satisfy result == true (4 failed > failureLimit 3)") || ro.Status.StableRS == newHash {
		t.Errorf("abort: %s", describeRollout(t, ns))
	}
	var waited, completed bool
	for _, e := range framework.RolloutEvents(t, ns) {
		waited = waited || e.Reason == rules.ReasonAwaitingEvidence && strings.Contains(e.Message, `background metric "health" has 0 of 1`)
		completed = completed || e.Reason == rules.ReasonCompleted && strings.Contains(e.Message, "revision 2")
	}
	// The wait lasts seconds: the poll may miss the status, the journal
	// does not.
	if !waited || completed {
		t.Errorf("events: the wait told %v (seen in status %v), revision 2 completed %v; want told and never completed", waited, sawWait, completed)
	}
	if served.Load() < 4 {
		t.Errorf("the health endpoint answered %d measurements, want at least failureLimit+1 = 4", served.Load())
	}
}

// TestPromotionWithEvidence: the same canary with a passing metric is
// promoted once a measurement at its weight succeeded.
func TestPromotionWithEvidence(t *testing.T) {
	ns, _ := startEvidenceCase(t, true)
	framework.Eventually(t, 90*time.Second, "the update completes", func() (bool, string) {
		ro := rollout(t, ns)
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && ro.Status.ObservedGeneration == "2" && ro.Status.StableRS == ro.Status.CurrentPodHash,
			describeRollout(t, ns)
	})
	ro := rollout(t, ns)
	if ro.Status.Canary.PromotionEvidence != nil {
		t.Errorf("status.canary.promotionEvidence left after completion: %+v", ro.Status.Canary.PromotionEvidence)
	}
	bg := getRun(t, ns, fmt.Sprintf("web-%s-2", ro.Status.CurrentPodHash))
	if r := bg.Status.MetricResults; len(r) != 1 || r[0].Successful < 1 || r[0].Failed+r[0].Error > 0 {
		t.Errorf("background run: %s", describeRun(bg))
	}
}
