package steps

import (
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func w(n int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: &n} }
func pause() v1alpha1.CanaryStep    { return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}} }
func scale(s v1alpha1.SetCanaryScale) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{SetCanaryScale: &s}
}

func TestString(t *testing.T) {
	two := int32(2)
	cases := map[string]v1alpha1.CanaryStep{
		"setWeight: 20":               w(20),
		"pause":                       pause(),
		"pause: 30s":                  {Pause: &v1alpha1.RolloutPause{Duration: v1alpha1.DurationFromString("30s")}},
		"pause: 45":                   {Pause: &v1alpha1.RolloutPause{Duration: v1alpha1.DurationFromInt(45)}},
		"analysis":                    {Analysis: &v1alpha1.RolloutAnalysis{}},
		"experiment":                  {Experiment: &v1alpha1.RolloutExperimentStep{}},
		"setCanaryScale{replicas: 2}": scale(v1alpha1.SetCanaryScale{Replicas: &two}),
		"setCanaryScale{weight: 2}":   scale(v1alpha1.SetCanaryScale{Weight: &two}),
		"setCanaryScale{matchTrafficWeight: true}": scale(v1alpha1.SetCanaryScale{MatchTrafficWeight: true}),
		"setHeaderRoute: hdr":                      {SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "hdr"}},
		"setMirrorRoute: m":                        {SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "m"}},
		"plugin: p":                                {Plugin: &v1alpha1.PluginStep{Name: "p"}},
		"invalid":                                  {},
	}
	for want, s := range cases {
		if got := String(s); got != want {
			t.Errorf("String = %q, want %q", got, want)
		}
	}
}
