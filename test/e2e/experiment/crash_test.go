package experiment

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

// TestCrashSafetyUnderRandomKills runs several Experiments (two templates
// with a Service for a duration; a required analysis that passes; one that
// fails) while the controller is killed with SIGKILL at random moments and
// started again. Each must end in its phase, with exactly its ReplicaSets
// (scaled to 0), no Service left, exactly one AnalysisRun per analysis (no
// collision-suffixed duplicate), and each transition event recorded once.
func TestCrashSafetyUnderRandomKills(t *testing.T) {
	ns := framework.Namespace(t)
	pass, fail := startVerdict(t, true), startVerdict(t, false)
	want := map[string]v1alpha1.AnalysisPhase{}
	var docs []string
	for i := range 3 {
		name := fmt.Sprintf("timed-%d", i)
		docs = append(docs, replace(twoTemplates, "NAME", name, "DURATION", "15s", "CANARY", "argoproj/rollouts-demo:yellow"))
		want[name] = v1alpha1.AnalysisPhaseSuccessful
	}
	for i := range 3 {
		for _, v := range []struct {
			kind string
			srv  *verdict
			end  v1alpha1.AnalysisPhase
		}{{"pass", pass, v1alpha1.AnalysisPhaseSuccessful}, {"fail", fail, v1alpha1.AnalysisPhaseFailed}} {
			name := fmt.Sprintf("%s-%d", v.kind, i)
			m := replace(checked, "NAME", name, "URL", v.srv.URL, "templateName: check", "templateName: check-"+name, "name: check\nspec", "name: check-"+name+"\nspec")
			// A few measurements, so kills land while the runs are going.
			docs = append(docs, strings.Replace(m, "count: 2", "count: 4", 1))
			want[name] = v.end
		}
	}
	ctl := startController(t, ns)
	apply(t, ns, strings.Join(docs, "---\n"))
	// Seeded and logged, so a failure's kill moments can be replayed
	// (framework.SeedEnv).
	schedule := framework.NewKillSchedule(t)
	deadline := time.Now().Add(50 * time.Second)
	kills := 0
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(500+schedule.IntN(3500)) * time.Millisecond)
		ctl.Kill()
		kills++
		ctl = startController(t, ns)
	}
	t.Logf("killed the controller %d times", kills)
	framework.Eventually(t, 180*time.Second, "every Experiment in its final phase", func() (bool, string) {
		var pending []string
		for name, phase := range want {
			if ex := getExperiment(t, ns, name); ex.Status.Phase != phase {
				pending = append(pending, fmt.Sprintf("%s (want %s): %s", name, phase, describe(ex)))
			}
		}
		return len(pending) == 0, strings.Join(pending, "\n")
	})
	var all []string
	for name, ex := range want {
		if strings.HasPrefix(name, "timed") {
			all = append(all, name+"-baseline", name+"-canary")
		} else {
			all = append(all, name+"-canary")
		}
		_ = ex
	}
	waitScaledDown(t, ns, 60*time.Second, all...)
	framework.Eventually(t, 30*time.Second, "no Service left", func() (bool, string) {
		svcs := services(t, ns)
		return len(svcs) == 0, fmt.Sprint(len(svcs))
	})
	if rss := replicaSets(t, ns); len(rss) != len(all) {
		t.Errorf("%d ReplicaSets, want %d: %v", len(rss), len(all), keys(rss))
	}
	runs := map[string]bool{}
	for _, r := range runsIn(t, ns) {
		runs[r.Name] = true
	}
	for name := range want {
		if strings.HasPrefix(name, "timed") {
			continue
		}
		if !runs[name+"-check"] || len(runs) != 6 {
			t.Errorf("runs of %s: %v", name, runs)
		}
		ex := getExperiment(t, ns, name)
		if r := ex.Status.AnalysisRuns; len(r) != 1 || r[0].AnalysisRun != name+"-check" || r[0].Phase != want[name] {
			t.Errorf("%s: %s", name, describe(ex))
		}
		if evs := experimentEvents(t, ns, name, "AnalysisRun"+string(want[name])); len(evs) != 1 {
			t.Errorf("%s: AnalysisRun%s events %q", name, want[name], evs)
		}
		if evs := experimentEvents(t, ns, name, "TemplateRunning"); len(evs) != 1 {
			t.Errorf("%s: TemplateRunning events %q", name, evs)
		}
	}
}
