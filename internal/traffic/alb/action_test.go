package alb

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func albRollout(mod func(*v1alpha1.ALBTrafficRouting)) *v1alpha1.Rollout {
	a := &v1alpha1.ALBTrafficRouting{Ingress: "ingress", ServicePort: 80}
	if mod != nil {
		mod(a)
	}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "ro", Namespace: "ns"},
		Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			StableService: "stable", CanaryService: "canary",
			TrafficRouting: &v1alpha1.RolloutTrafficRouting{ALB: a},
		}}},
	}
}

// TestForwardActionEveryWeight checks the action at each weight 0..100
// against the literal wire text: canary first, stable last with the rest,
// the port a string.
func TestForwardActionEveryWeight(t *testing.T) {
	ro := albRollout(nil)
	for w := int32(0); w <= 100; w++ {
		got, err := ForwardAction(ro, w)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary","ServicePort":"80","Weight":%d},{"ServiceName":"stable","ServicePort":"80","Weight":%d}]}}`, w, 100-w)
		if got != want {
			t.Fatalf("weight %d:\n got %s\nwant %s", w, got, want)
		}
	}
}

func TestForwardAction(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mod        func(*v1alpha1.ALBTrafficRouting)
		weight     int32
		additional []v1alpha1.WeightDestination
		want       string
		wantErr    bool
	}{{
		name: "stickiness",
		mod: func(a *v1alpha1.ALBTrafficRouting) {
			a.StickinessConfig = &v1alpha1.StickinessConfig{Enabled: true, DurationSeconds: 3600}
		},
		weight: 10,
		want:   `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary","ServicePort":"80","Weight":10},{"ServiceName":"stable","ServicePort":"80","Weight":90}],"TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":3600}}}`,
	}, {
		name: "stickiness off is left out",
		mod: func(a *v1alpha1.ALBTrafficRouting) {
			a.StickinessConfig = &v1alpha1.StickinessConfig{DurationSeconds: 3600}
		},
		weight: 10,
		want:   `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary","ServicePort":"80","Weight":10},{"ServiceName":"stable","ServicePort":"80","Weight":90}]}}`,
	}, {
		name: "stickiness too long",
		mod: func(a *v1alpha1.ALBTrafficRouting) {
			a.StickinessConfig = &v1alpha1.StickinessConfig{Enabled: true, DurationSeconds: 604801}
		},
		wantErr: true,
	}, {
		name:       "experiment destinations between canary and stable",
		weight:     20,
		additional: []v1alpha1.WeightDestination{{ServiceName: "exp-a", Weight: 5}, {ServiceName: "exp-b", Weight: 10}},
		want:       `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary","ServicePort":"80","Weight":20},{"ServiceName":"exp-a","ServicePort":"80","Weight":5},{"ServiceName":"exp-b","ServicePort":"80","Weight":10},{"ServiceName":"stable","ServicePort":"80","Weight":65}]}}`,
	}, {
		name:   "another port",
		mod:    func(a *v1alpha1.ALBTrafficRouting) { a.ServicePort = 8443 },
		weight: 100,
		want:   `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary","ServicePort":"8443","Weight":100},{"ServiceName":"stable","ServicePort":"8443","Weight":0}]}}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForwardAction(albRollout(tc.mod), tc.weight, tc.additional...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestForwardActionPingPong: the ping and pong Services take the canary and
// stable places as status.canary.stablePingPong says.
func TestForwardActionPingPong(t *testing.T) {
	for _, tc := range []struct {
		stable v1alpha1.PingPongType
		want   string
	}{
		{"", `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"ping","ServicePort":"80","Weight":40},{"ServiceName":"pong","ServicePort":"80","Weight":60}]}}`},
		{v1alpha1.PPPing, `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"pong","ServicePort":"80","Weight":40},{"ServiceName":"ping","ServicePort":"80","Weight":60}]}}`},
		{v1alpha1.PPPong, `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"ping","ServicePort":"80","Weight":40},{"ServiceName":"pong","ServicePort":"80","Weight":60}]}}`},
	} {
		ro := albRollout(func(a *v1alpha1.ALBTrafficRouting) { a.RootService = "root" })
		ro.Spec.Strategy.Canary.PingPong = &v1alpha1.PingPongSpec{PingService: "ping", PongService: "pong"}
		ro.Status.Canary.StablePingPong = tc.stable
		got, err := ForwardAction(ro, 40)
		if err != nil || got != tc.want {
			t.Errorf("stable %q:\n got %s\nwant %s (%v)", tc.stable, got, tc.want, err)
		}
		if k := ActionKey(ro); k != "alb.ingress.kubernetes.io/actions.root" {
			t.Errorf("key %s", k)
		}
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		mod                      func(*v1alpha1.ALBTrafficRouting)
		action, route, condition string
	}{
		{"defaults", nil, "alb.ingress.kubernetes.io/actions.stable", "alb.ingress.kubernetes.io/actions.hdr", "alb.ingress.kubernetes.io/conditions.hdr"},
		{"root service", func(a *v1alpha1.ALBTrafficRouting) { a.RootService = "root" }, "alb.ingress.kubernetes.io/actions.root", "alb.ingress.kubernetes.io/actions.hdr", "alb.ingress.kubernetes.io/conditions.hdr"},
		{"prefix", func(a *v1alpha1.ALBTrafficRouting) { a.AnnotationPrefix = "custom.aws" }, "custom.aws/actions.stable", "custom.aws/actions.hdr", "custom.aws/conditions.hdr"},
	} {
		ro := albRollout(tc.mod)
		a, c := RouteKeys(ro, "hdr")
		if got := ActionKey(ro); got != tc.action || a != tc.route || c != tc.condition {
			t.Errorf("%s: keys %q %q %q", tc.name, got, a, c)
		}
	}
}

func TestHeaderConditions(t *testing.T) {
	route := &v1alpha1.SetHeaderRoute{Name: "hdr", Match: []v1alpha1.HeaderRoutingMatch{
		{HeaderName: "agent", HeaderValue: &v1alpha1.StringMatch{Exact: "chrome"}},
		{HeaderName: "env", HeaderValue: &v1alpha1.StringMatch{Exact: "qa"}},
		{HeaderName: "agent", HeaderValue: &v1alpha1.StringMatch{Exact: "firefox"}},
	}}
	got, err := HeaderConditions(route)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"agent","values":["chrome","firefox"]}},{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"env","values":["qa"]}}]`
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	action, err := HeaderAction(albRollout(nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary","ServicePort":"80","Weight":100}]}}`; action != want {
		t.Errorf("header action\n got %s\nwant %s", action, want)
	}
}

func TestWithManaged(t *testing.T) {
	m := map[string]string{ManagedAnnotations: `{"other":["x"]}`}
	if err := withManaged(m, "ro", true, "a", "b", "a"); err != nil {
		t.Fatal(err)
	}
	if got, want := m[ManagedAnnotations], `{"other":["x"],"ro":["a","b"]}`; got != want {
		t.Errorf("after add %s, want %s", got, want)
	}
	if err := withManaged(m, "ro", false, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if got, want := m[ManagedAnnotations], `{"other":["x"],"ro":[]}`; got != want {
		t.Errorf("after remove %s, want %s", got, want)
	}
	if err := withManaged(map[string]string{ManagedAnnotations: "ro:key"}, "ro", true, "a"); err == nil {
		t.Error("a managed annotation that is not JSON must be an error")
	}
}
