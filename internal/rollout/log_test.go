package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/logging"
	"github.com/aviary-rollouts/aviary/internal/metrics"
)

// TestDecisionsAreLogged: each event a Rollout is told is a log record at
// info (warning for a Warning), with its message, the Rollout under Argo
// Rollouts' keys and the reason, and is counted in rollout_events_total.
func TestDecisionsAreLogged(t *testing.T) {
	var buf bytes.Buffer
	log, err := logging.New(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Log: log}
	ro := &v1alpha1.Rollout{}
	ro.Namespace, ro.Name = "log-test", "web"
	for _, e := range []struct {
		warning         bool
		reason, message string
	}{
		{false, "RolloutStepCompleted", "Rollout step 1/8 completed (setWeight: 20)"},
		{false, "TrafficWeightUpdated", "Traffic weight updated from 0 to 20"},
		{false, "RolloutPaused", "Rollout is paused (CanaryPauseStep)"},
		{true, "AnalysisRunFailed", "Background Analysis Run 'web-1' Status New: 'Failed' Previous: 'Running'"},
		{true, "RolloutAborted", `Rollout aborted update to revision 3: Metric "success-rate" assessed Failed due to failed (4) > failureLimit (3)`},
	} {
		buf.Reset()
		r.recorded(context.Background(), ro, e.warning, e.reason, e.message)
		var got map[string]any
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("%s: not one JSON record: %q", e.reason, buf.String())
		}
		level := "info"
		if e.warning {
			level = "warning"
		}
		if got["level"] != level || got["msg"] != e.message || got["namespace"] != "log-test" || got["rollout"] != "web" || got["event_reason"] != e.reason {
			t.Errorf("%s logged as %v", e.reason, got)
		}
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.RolloutEvents)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]float64{}
	for _, f := range families {
		for _, m := range f.Metric {
			l := map[string]string{}
			for _, p := range m.Label {
				l[p.GetName()] = p.GetValue()
			}
			if l["namespace"] == "log-test" {
				counted[l["type"]+" "+l["reason"]] += m.Counter.GetValue()
			}
		}
	}
	if len(counted) != 5 || counted["Warning RolloutAborted"] != 1 || counted["Normal RolloutStepCompleted"] != 1 {
		t.Errorf("rollout_events_total counted %v, want each of the five once", counted)
	}
}
