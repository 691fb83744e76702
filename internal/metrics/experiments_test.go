package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// TestExperimentCollector: experiment_info carries the phase as it is;
// experiment_phase has Argo Rollouts' five series (no Failed), no phase
// counting as Pending.
func TestExperimentCollector(t *testing.T) {
	failed := &v1alpha1.Experiment{}
	failed.Namespace, failed.Name, failed.Status.Phase = "shop", "cmp", v1alpha1.AnalysisPhaseFailed
	fresh := &v1alpha1.Experiment{}
	fresh.Namespace, fresh.Name = "shop", "new"
	want := `
# HELP experiment_info Information about Experiment.
# TYPE experiment_info gauge
experiment_info{name="cmp",namespace="shop",phase="Failed"} 1
experiment_info{name="new",namespace="shop",phase=""} 1
# HELP experiment_phase Information on the state of the experiment (DEPRECATED - use experiment_info)
# TYPE experiment_phase gauge
experiment_phase{name="cmp",namespace="shop",phase="Error"} 0
experiment_phase{name="cmp",namespace="shop",phase="Inconclusive"} 0
experiment_phase{name="cmp",namespace="shop",phase="Pending"} 0
experiment_phase{name="cmp",namespace="shop",phase="Running"} 0
experiment_phase{name="cmp",namespace="shop",phase="Successful"} 0
experiment_phase{name="new",namespace="shop",phase="Error"} 0
experiment_phase{name="new",namespace="shop",phase="Inconclusive"} 0
experiment_phase{name="new",namespace="shop",phase="Pending"} 1
experiment_phase{name="new",namespace="shop",phase="Running"} 0
experiment_phase{name="new",namespace="shop",phase="Successful"} 0
`
	if err := testutil.CollectAndCompare(&ExperimentCollector{Reader: cacheOf(t, failed, fresh)}, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
