package experiment

import (
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// TestMalformedExperiment: an Experiment the Go types refuse (a memory
// quantity that does not parse, which the schema lets through) is reported
// on itself (phase Error, the reason in the message) and does not stop the
// controller from running the Experiment next to it.
func TestMalformedExperiment(t *testing.T) {
	ns, _ := scoped(t)
	broken := replace(twoTemplates, "NAME", "broken", "DURATION", "5s", "CANARY", "argoproj/rollouts-demo:yellow")
	broken = strings.Replace(broken, "          ports: [{name: http, containerPort: 8080}]\n  - name: canary",
		"          ports: [{name: http, containerPort: 8080}]\n          resources: {requests: {memory: invalid}}\n  - name: canary", 1)
	apply(t, ns, broken+"---\n"+replace(twoTemplates, "NAME", "good", "DURATION", "5s", "CANARY", "argoproj/rollouts-demo:yellow"))
	waitForPhase(t, ns, "good", v1alpha1.AnalysisPhaseSuccessful, 90*time.Second)
	waitFor(t, 60*time.Second, "the malformed Experiment reported", func() (bool, string) {
		u := unstructuredExperiment(t, ns, "broken")
		phase, msg := u["phase"], u["message"]
		return phase == "Error" && strings.Contains(msg, "memory"), phase + " " + msg
	})
	if _, ok := replicaSets(t, ns)["broken-baseline"]; ok {
		t.Errorf("a ReplicaSet was created for the malformed Experiment")
	}
}
