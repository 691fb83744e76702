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

func TestSetWeight(t *testing.T) {
	steps := []v1alpha1.CanaryStep{pause(), w(20), pause(), w(60), pause()}
	cases := []struct {
		name string
		ro   *v1alpha1.Rollout
		want int32
	}{
		{"before any setWeight", rollout(idx(0), false, steps...), 0},
		{"at a setWeight", rollout(idx(1), false, steps...), 20},
		{"a pause keeps the previous weight", rollout(idx(2), false, steps...), 20},
		{"later weight replaces earlier", rollout(idx(4), false, steps...), 60},
		{"all steps done is full weight", rollout(idx(5), false, steps...), 100},
		{"no steps is full weight", rollout(nil, false), 100},
	}
	for _, c := range cases {
		if got := SetWeight(c.ro); got != c.want {
			t.Errorf("%s: weight %d, want %d", c.name, got, c.want)
		}
	}
	aborted := rollout(idx(3), false, steps...)
	aborted.Status.Abort = true
	if got := SetWeight(aborted); got != 0 {
		t.Errorf("aborted: weight %d, want 0", got)
	}
	custom := rollout(idx(5), true, steps...)
	custom.Spec.Strategy.Canary.TrafficRouting.MaxTrafficWeight = idx(1000)
	if got := SetWeight(custom); got != 1000 {
		t.Errorf("done with maxTrafficWeight 1000: weight %d, want 1000", got)
	}
}

func TestCanaryScale(t *testing.T) {
	five := int32(5)
	steps := []v1alpha1.CanaryStep{scale(v1alpha1.SetCanaryScale{Replicas: &five}), w(20), scale(v1alpha1.SetCanaryScale{MatchTrafficWeight: true}), w(40)}
	if s := CanaryScale(rollout(idx(1), true, steps...)); s == nil || *s.Replicas != 5 {
		t.Errorf("override should last past later setWeight steps, got %v", s)
	}
	if s := CanaryScale(rollout(idx(3), true, steps...)); s != nil {
		t.Errorf("matchTrafficWeight cancels the override, got %v", s)
	}
	if s := CanaryScale(rollout(idx(1), false, steps...)); s != nil {
		t.Errorf("without a traffic router the override is ignored, got %v", s)
	}
	aborted := rollout(idx(1), true, steps...)
	aborted.Status.Abort = true
	if s := CanaryScale(aborted); s != nil {
		t.Errorf("aborted with the default abort delay: override must be ignored, got %v", s)
	}
	zero := int32(0)
	aborted.Spec.Strategy.Canary.AbortScaleDownDelaySeconds = &zero
	if s := CanaryScale(aborted); s == nil {
		t.Error("aborted with abortScaleDownDelaySeconds 0: the override keeps the canary up")
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
