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

func rollout(index *int32, routed bool, steps ...v1alpha1.CanaryStep) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: steps}
	if routed {
		ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{}
	}
	ro.Status.CurrentStepIndex = index
	return ro
}

func idx(i int32) *int32 { return &i }

func TestCurrent(t *testing.T) {
	steps := []v1alpha1.CanaryStep{w(20), pause(), w(50)}
	cases := []struct {
		name     string
		ro       *v1alpha1.Rollout
		wantStep *v1alpha1.CanaryStep
		wantIdx  int32
	}{
		{"no index means the first step", rollout(nil, false, steps...), &steps[0], 0},
		{"middle step", rollout(idx(1), false, steps...), &steps[1], 1},
		{"all done", rollout(idx(3), false, steps...), nil, 3},
		{"index beyond the end is clamped", rollout(idx(9), false, steps...), nil, 3},
		{"no steps", rollout(idx(0), false), nil, -1},
	}
	for _, c := range cases {
		step, i := Current(c.ro)
		if i != c.wantIdx || (step == nil) != (c.wantStep == nil) || (step != nil && String(*step) != String(*c.wantStep)) {
			t.Errorf("%s: got %v at %d, want %v at %d", c.name, step, i, c.wantStep, c.wantIdx)
		}
	}
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

func TestExperimentLastsUntilReplaced(t *testing.T) {
	exp := v1alpha1.CanaryStep{Experiment: &v1alpha1.RolloutExperimentStep{Duration: "5m"}}
	ro := rollout(idx(2), false, w(20), exp, pause())
	if e := Experiment(ro); e == nil || e.Duration != "5m" {
		t.Errorf("a pause after the experiment step keeps it in force, got %v", e)
	}
	if e := Experiment(rollout(idx(0), false, w(20), exp)); e != nil {
		t.Errorf("before the experiment step there is none, got %v", e)
	}
}
