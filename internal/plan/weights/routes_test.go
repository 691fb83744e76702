package weights

import (
	"reflect"
	"testing"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestRoutesAt(t *testing.T) {
	header := func(name, value string) v1alpha1.CanaryStep {
		h := &v1alpha1.SetHeaderRoute{Name: name}
		if value != "" {
			h.Match = []v1alpha1.HeaderRoutingMatch{{HeaderName: "X-Canary", HeaderValue: &v1alpha1.StringMatch{Exact: value}}}
		}
		return v1alpha1.CanaryStep{SetHeaderRoute: h}
	}
	mirror := func(name string, pct int32) v1alpha1.CanaryStep {
		return v1alpha1.CanaryStep{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: name, Percentage: &pct}}
	}
	w := int32(10)
	steps := []v1alpha1.CanaryStep{
		{SetWeight: &w}, header("h", "yes"), mirror("m", 50), {Pause: &v1alpha1.RolloutPause{}},
		header("h", ""), header("h2", "beta"), mirror("m", 20), {Pause: &v1alpha1.RolloutPause{}},
	}
	tests := []struct {
		idx  int
		want Routes
	}{
		{0, Routes{}},
		{1, Routes{Headers: []v1alpha1.SetHeaderRoute{*header("h", "yes").SetHeaderRoute}}},
		{3, Routes{Headers: []v1alpha1.SetHeaderRoute{*header("h", "yes").SetHeaderRoute}, Mirrors: []v1alpha1.SetMirrorRoute{*mirror("m", 50).SetMirrorRoute}}},
		{7, Routes{Headers: []v1alpha1.SetHeaderRoute{*header("h", "").SetHeaderRoute, *header("h2", "beta").SetHeaderRoute},
			Mirrors: []v1alpha1.SetMirrorRoute{*mirror("m", 20).SetMirrorRoute}}},
		{99, Routes{Headers: []v1alpha1.SetHeaderRoute{*header("h", "").SetHeaderRoute, *header("h2", "beta").SetHeaderRoute},
			Mirrors: []v1alpha1.SetMirrorRoute{*mirror("m", 20).SetMirrorRoute}}},
	}
	for _, tt := range tests {
		if got := RoutesAt(steps, tt.idx); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("RoutesAt(%d) = %+v, want %+v", tt.idx, got, tt.want)
		}
	}
}
