package v1alpha1

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func canary(c CanaryStrategy) *Rollout {
	return &Rollout{Spec: RolloutSpec{Strategy: RolloutStrategy{Canary: &c}}}
}

func blueGreen(b BlueGreenStrategy) *Rollout {
	return &Rollout{Spec: RolloutSpec{Strategy: RolloutStrategy{BlueGreen: &b}}}
}

func routed(c CanaryStrategy) *Rollout {
	if c.TrafficRouting == nil {
		c.TrafficRouting = &RolloutTrafficRouting{Nginx: &NginxTrafficRouting{StableIngress: "i"}}
	}
	return canary(c)
}

func TestRolloutInt32Defaults(t *testing.T) {
	cases := []struct {
		name string
		got  func(*Rollout) int32
		ro   *Rollout
		want int32
	}{
		{"replicas unset", (*Rollout).ReplicasOrDefault, &Rollout{}, 1},
		{"replicas 0", (*Rollout).ReplicasOrDefault, &Rollout{Spec: RolloutSpec{Replicas: ptr.To[int32](0)}}, 0},
		{"replicas 5", (*Rollout).ReplicasOrDefault, &Rollout{Spec: RolloutSpec{Replicas: ptr.To[int32](5)}}, 5},
		{"history unset", (*Rollout).RevisionHistoryLimitOrDefault, &Rollout{}, 10},
		{"history 0", (*Rollout).RevisionHistoryLimitOrDefault, &Rollout{Spec: RolloutSpec{RevisionHistoryLimit: ptr.To[int32](0)}}, 0},
		{"deadline unset", (*Rollout).ProgressDeadlineSecondsOrDefault, &Rollout{}, 600},
		{"deadline 30", (*Rollout).ProgressDeadlineSecondsOrDefault, &Rollout{Spec: RolloutSpec{ProgressDeadlineSeconds: ptr.To[int32](30)}}, 30},
		{"successful runs, no analysis", (*Rollout).SuccessfulRunHistoryLimitOrDefault, &Rollout{}, 5},
		{"successful runs, analysis without it", (*Rollout).SuccessfulRunHistoryLimitOrDefault, &Rollout{Spec: RolloutSpec{Analysis: &AnalysisRunStrategy{UnsuccessfulRunHistoryLimit: ptr.To[int32](1)}}}, 5},
		{"successful runs 2", (*Rollout).SuccessfulRunHistoryLimitOrDefault, &Rollout{Spec: RolloutSpec{Analysis: &AnalysisRunStrategy{SuccessfulRunHistoryLimit: ptr.To[int32](2)}}}, 2},
		{"unsuccessful runs, no analysis", (*Rollout).UnsuccessfulRunHistoryLimitOrDefault, &Rollout{}, 5},
		{"unsuccessful runs 0", (*Rollout).UnsuccessfulRunHistoryLimitOrDefault, &Rollout{Spec: RolloutSpec{Analysis: &AnalysisRunStrategy{UnsuccessfulRunHistoryLimit: ptr.To[int32](0)}}}, 0},
		{"max weight, no strategy", (*Rollout).MaxTrafficWeight, &Rollout{}, 100},
		{"max weight, basic canary", (*Rollout).MaxTrafficWeight, canary(CanaryStrategy{}), 100},
		{"max weight, routing without it", (*Rollout).MaxTrafficWeight, routed(CanaryStrategy{}), 100},
		{"max weight 1000", (*Rollout).MaxTrafficWeight, routed(CanaryStrategy{TrafficRouting: &RolloutTrafficRouting{MaxTrafficWeight: ptr.To[int32](1000)}}), 1000},
	}
	for _, tc := range cases {
		if got := tc.got(tc.ro); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestSurgeAndUnavailableDefaults(t *testing.T) {
	three := intstr.FromInt32(3)
	half := intstr.FromString("50%")
	cases := []struct {
		name            string
		ro              *Rollout
		surge, unavail  intstr.IntOrString
		surgeIsString25 bool
	}{
		{"nothing set: the string 25, read as 25%", &Rollout{}, intstr.FromString("25"), intstr.FromString("25"), true},
		{"canary values", canary(CanaryStrategy{MaxSurge: &three, MaxUnavailable: &half}), three, half, false},
		{"blue-green maxUnavailable", blueGreen(BlueGreenStrategy{MaxUnavailable: &three}), intstr.FromString("25"), three, true},
	}
	for _, tc := range cases {
		if got := tc.ro.MaxSurgeOrDefault(); got != tc.surge {
			t.Errorf("%s: maxSurge %v, want %v", tc.name, got.String(), tc.surge.String())
		}
		if got := tc.ro.MaxUnavailableOrDefault(); got != tc.unavail {
			t.Errorf("%s: maxUnavailable %v, want %v", tc.name, got.String(), tc.unavail.String())
		}
		if tc.surgeIsString25 && tc.ro.MaxSurgeOrDefault().Type != intstr.String {
			t.Errorf("%s: the default must be the string \"25\", not the integer", tc.name)
		}
	}
}

func TestScaleDownDelayDefaults(t *testing.T) {
	cases := []struct {
		name string
		ro   *Rollout
		want time.Duration
	}{
		{"basic canary ignores it", canary(CanaryStrategy{ScaleDownDelaySeconds: ptr.To[int32](90)}), 0},
		{"routed canary default", routed(CanaryStrategy{}), 30 * time.Second},
		{"routed canary 90", routed(CanaryStrategy{ScaleDownDelaySeconds: ptr.To[int32](90)}), 90 * time.Second},
		{"routed canary 0", routed(CanaryStrategy{ScaleDownDelaySeconds: ptr.To[int32](0)}), 0},
		{"blue-green default", blueGreen(BlueGreenStrategy{}), 30 * time.Second},
		{"blue-green 600", blueGreen(BlueGreenStrategy{ScaleDownDelaySeconds: ptr.To[int32](600)}), 600 * time.Second},
		{"no strategy", &Rollout{}, 0},
	}
	for _, tc := range cases {
		if got := tc.ro.ScaleDownDelaySecondsOrDefault(); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAbortScaleDownDelayDefaults(t *testing.T) {
	d := func(s int) *time.Duration { v := time.Duration(s) * time.Second; return &v }
	cases := []struct {
		name     string
		ro       *Rollout
		want     *time.Duration // nil: never scale down
		explicit bool
	}{
		{"basic canary: at once", canary(CanaryStrategy{AbortScaleDownDelaySeconds: ptr.To[int32](60)}), d(0), false},
		{"routed canary default", routed(CanaryStrategy{}), d(30), false},
		{"routed canary 60", routed(CanaryStrategy{AbortScaleDownDelaySeconds: ptr.To[int32](60)}), d(60), true},
		{"routed canary 0 means never", routed(CanaryStrategy{AbortScaleDownDelaySeconds: ptr.To[int32](0)}), nil, true},
		{"blue-green default", blueGreen(BlueGreenStrategy{}), d(30), false},
		{"blue-green 0 means never", blueGreen(BlueGreenStrategy{AbortScaleDownDelaySeconds: ptr.To[int32](0)}), nil, true},
		{"blue-green 5", blueGreen(BlueGreenStrategy{AbortScaleDownDelaySeconds: ptr.To[int32](5)}), d(5), true},
	}
	for _, tc := range cases {
		got, explicit := tc.ro.AbortScaleDownDelaySecondsOrDefault()
		switch {
		case (got == nil) != (tc.want == nil):
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		case got != nil && *got != *tc.want:
			t.Errorf("%s: got %v, want %v", tc.name, *got, *tc.want)
		case explicit != tc.explicit:
			t.Errorf("%s: explicit %v, want %v", tc.name, explicit, tc.explicit)
		}
	}
}

func TestStrategyStringDefaults(t *testing.T) {
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"nginx prefix default", routed(CanaryStrategy{}).NginxAnnotationPrefixOrDefault(), "nginx.ingress.kubernetes.io"},
		{"nginx prefix, no canary", (&Rollout{}).NginxAnnotationPrefixOrDefault(), "nginx.ingress.kubernetes.io"},
		{"nginx prefix custom", routed(CanaryStrategy{TrafficRouting: &RolloutTrafficRouting{Nginx: &NginxTrafficRouting{AnnotationPrefix: "custom.nginx.io"}}}).NginxAnnotationPrefixOrDefault(), "custom.nginx.io"},
		{"alb prefix default", routed(CanaryStrategy{TrafficRouting: &RolloutTrafficRouting{ALB: &ALBTrafficRouting{}}}).ALBAnnotationPrefixOrDefault(), "alb.ingress.kubernetes.io"},
		{"alb prefix custom", routed(CanaryStrategy{TrafficRouting: &RolloutTrafficRouting{ALB: &ALBTrafficRouting{AnnotationPrefix: "x.io"}}}).ALBAnnotationPrefixOrDefault(), "x.io"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if !blueGreen(BlueGreenStrategy{}).AutoPromotionEnabledOrDefault() || !(&Rollout{}).AutoPromotionEnabledOrDefault() {
		t.Error("autoPromotionEnabled must default to true")
	}
	if blueGreen(BlueGreenStrategy{AutoPromotionEnabled: ptr.To(false)}).AutoPromotionEnabledOrDefault() {
		t.Error("autoPromotionEnabled: false must be honoured")
	}
}

func TestExperimentDefaults(t *testing.T) {
	e := &Experiment{}
	if e.ProgressDeadlineSecondsOrDefault() != 600 || e.ScaleDownDelaySecondsOrDefault() != 30 {
		t.Errorf("defaults: %d, %d; want 600, 30", e.ProgressDeadlineSecondsOrDefault(), e.ScaleDownDelaySecondsOrDefault())
	}
	e.Spec.ProgressDeadlineSeconds, e.Spec.ScaleDownDelaySeconds = ptr.To[int32](60), ptr.To[int32](0)
	if e.ProgressDeadlineSecondsOrDefault() != 60 || e.ScaleDownDelaySecondsOrDefault() != 0 {
		t.Errorf("set values: %d, %d; want 60, 0", e.ProgressDeadlineSecondsOrDefault(), e.ScaleDownDelaySecondsOrDefault())
	}
}

func TestMetricDefaults(t *testing.T) {
	str := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	num := func(i int32) *intstr.IntOrString { v := intstr.FromInt32(i); return &v }
	for _, tc := range []struct {
		limit *intstr.IntOrString
		want  int32
	}{{nil, 4}, {num(0), 0}, {num(7), 7}, {str("9"), 9}, {str("{{args.limit}}"), 0}} {
		m := Metric{ConsecutiveErrorLimit: tc.limit}
		if got := m.ConsecutiveErrorLimitOrDefault(); got != tc.want {
			t.Errorf("consecutiveErrorLimit %v: got %d, want %d", tc.limit, got, tc.want)
		}
	}

	durations := []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"prometheus unset", (&PrometheusMetric{}).TimeoutOrDefault(), 30 * time.Second},
		{"prometheus 5", (&PrometheusMetric{Timeout: ptr.To[int64](5)}).TimeoutOrDefault(), 5 * time.Second},
		{"web unset", (&WebMetric{}).TimeoutOrDefault(), 10 * time.Second},
		{"web negative", (&WebMetric{TimeoutSeconds: -1}).TimeoutOrDefault(), 10 * time.Second},
		{"web 20", (&WebMetric{TimeoutSeconds: 20}).TimeoutOrDefault(), 20 * time.Second},
		{"newrelic unset", (&NewRelicMetric{}).TimeoutOrDefault(), 5 * time.Second},
		{"newrelic 12", (&NewRelicMetric{Timeout: ptr.To[int64](12)}).TimeoutOrDefault(), 12 * time.Second},
		{"datadog timeout unset", (&DatadogMetric{}).RequestTimeoutOrDefault(), 10 * time.Second},
		{"datadog timeout bad", (&DatadogMetric{RequestTimeout: "soon"}).RequestTimeoutOrDefault(), 10 * time.Second},
		{"datadog timeout 30s", (&DatadogMetric{RequestTimeout: "30s"}).RequestTimeoutOrDefault(), 30 * time.Second},
		{"error retry", DefaultErrorRetryInterval, 10 * time.Second},
	}
	for _, tc := range durations {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}

	strs := []struct {
		name, got, want string
	}{
		{"web method", string((&WebMetric{}).MethodOrDefault()), "GET"},
		{"web method POST", string((&WebMetric{Method: WebMetricMethodPost}).MethodOrDefault()), "POST"},
		{"web jsonPath", (&WebMetric{}).JSONPathOrDefault(), "{$}"},
		{"web jsonPath set", (&WebMetric{JSONPath: "{$.ok}"}).JSONPathOrDefault(), "{$.ok}"},
		{"datadog interval", string((&DatadogMetric{}).IntervalOrDefault()), "5m"},
		{"datadog api", (&DatadogMetric{}).APIVersionOrDefault(), "v1"},
		{"datadog api v2", (&DatadogMetric{ApiVersion: "v2"}).APIVersionOrDefault(), "v2"},
		{"datadog aggregator", (&DatadogMetric{}).AggregatorOrDefault(), "last"},
		{"newrelic profile", (&NewRelicMetric{}).ProfileOrDefault(), "newrelic"},
		{"influxdb profile", (&InfluxdbMetric{}).ProfileOrDefault(), "influxdb"},
		{"influxdb profile set", (&InfluxdbMetric{Profile: "p"}).ProfileOrDefault(), "p"},
	}
	for _, tc := range strs {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}

	if d, err := (&CloudWatchMetric{}).IntervalOrDefault(); err != nil || d != 5*time.Minute {
		t.Errorf("cloudwatch interval unset: %v, %v", d, err)
	}
	if _, err := (&CloudWatchMetric{Interval: "later"}).IntervalOrDefault(); err == nil {
		t.Error("cloudwatch interval: want an error for an unparsable duration")
	}
	if got := (&SetMirrorRoute{}).PercentageOrDefault(); got != 100 {
		t.Errorf("mirror percentage: got %d, want 100", got)
	}
	if got := (&SetMirrorRoute{Percentage: ptr.To[int32](10)}).PercentageOrDefault(); got != 10 {
		t.Errorf("mirror percentage: got %d, want 10", got)
	}
}
