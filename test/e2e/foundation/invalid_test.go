package foundation

import (
	"context"
	"strings"
	"testing"

	"github.com/aviary-rollouts/aviary/test/e2e/framework"
)

const rolloutHead = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: bad
spec:
  selector:
    matchLabels: {app: bad}
  template:
    metadata:
      labels: {app: bad}
    spec:
      containers: [{name: app, image: nginx}]
`

// TestAPIServerRejectsInvalidObjects sends invalid objects to the real API
// server and checks each is refused with a message that names the field at
// fault, so users learn the problem at `kubectl apply` time.
func TestAPIServerRejectsInvalidObjects(t *testing.T) {
	e := framework.Get(t)
	ns := framework.Namespace(t)
	cases := []struct {
		name     string
		manifest string
		// every string must appear in kubectl's error
		want []string
	}{
		{
			name: "a step with two actions",
			manifest: rolloutHead + `  strategy:
    canary:
      steps:
      - setWeight: 20
      - setWeight: 40
        pause: {duration: 10}
`,
			want: []string{"spec.strategy.canary.steps[1]", "exactly one"},
		},
		{
			name: "a setWeight that is not a number",
			manifest: rolloutHead + `  strategy:
    canary:
      steps:
      - setWeight: abc
`,
			want: []string{"spec.strategy.canary.steps[0].setWeight", "expected numeric", "got string"},
		},
		{
			name: "both canary and blueGreen",
			manifest: rolloutHead + `  strategy:
    canary: {}
    blueGreen:
      activeService: active
`,
			want: []string{"spec.strategy", "canary", "blueGreen"},
		},
		{
			name: "a metric with an empty provider",
			manifest: `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: bad
spec:
  metrics:
  - name: success-rate
    successCondition: result[0] > 0.9
    provider: {}
`,
			want: []string{"spec.metrics[0].provider", "exactly one"},
		},
		{
			name: "a metric with no provider",
			manifest: `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: bad
spec:
  metrics:
  - name: success-rate
    successCondition: result[0] > 0.9
`,
			want: []string{"spec.metrics[0].provider", "Required value"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.KubectlStdin(context.Background(), []byte(tc.manifest), "apply", "--server-side", "-n", ns, "-f", "-")
			if err == nil {
				t.Fatalf("the API server accepted %s:\n%s", tc.name, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error should mention %q; got: %v", w, err)
				}
			}
		})
	}
}
