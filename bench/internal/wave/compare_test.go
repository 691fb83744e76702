package wave

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/aviary-rollouts/aviary/bench/internal/controllerproc"
)

func TestCompare(t *testing.T) {
	a := Figures{Kind: controllerproc.Aviary, N: 10, Wall: 20 * time.Second, CPU: 2, PeakRSS: 30, PeakRSSEver: 40, RSS: 25,
		Requests: map[string]float64{"create events": 60, "patch rollouts/status": 60, "create replicasets": 10, "watch pods": 0}}
	b := Figures{Kind: controllerproc.ArgoRollouts, N: 10, Wall: 40 * time.Second, CPU: 8, PeakRSS: 90, PeakRSSEver: 100, RSS: 90,
		Requests: map[string]float64{"create events": 180, "update replicasets": 65, "list pods": 620, "update leases": 5}}
	rows := map[string]Comparison{}
	for _, c := range Compare(a, b) {
		rows[c.Label] = c
	}
	for label, want := range map[string][3]float64{
		"wall time of the wave":      {20, 40, 0.5},
		"controller CPU in the wave": {2, 8, 0.25},
		"peak RSS since it started":  {40, 100, 0.4},
		"API requests per rollout":   {13, 87, 13.0 / 87},
		"object writes per rollout":  {7, 6.5, 7 / 6.5},
		"event writes per rollout":   {6, 18, 6.0 / 18},
		// Leases are neither object writes nor Events.
		"other requests per rollout": {0, 62.5, 0},
	} {
		c, ok := rows[label]
		if !ok {
			t.Fatalf("no row %q", label)
		}
		if c.A != want[0] || c.B != want[1] || c.Ratio() != want[2] {
			t.Errorf("%s: %g, %g, ratio %g; want %g, %g, ratio %g", label, c.A, c.B, c.Ratio(), want[0], want[1], want[2])
		}
	}
	if r := (Comparison{A: 3}).Ratio(); r != -1 {
		t.Errorf("ratio against 0 is %g, want -1 (none)", r)
	}
	var out bytes.Buffer
	PrintComparison(&out, "the update wave", a, b)
	for _, want := range []string{"Aviary (qps 0, burst 0) against Argo Rollouts", "wall time of the wave", "20.0 s", "40.0 s", "0.50"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, out.String())
		}
	}
}
