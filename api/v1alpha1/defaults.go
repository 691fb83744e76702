package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Defaults applied in code, as Argo Rollouts does. None of these is in the
// CRD schema: an omitted field stays omitted in the stored object, and its
// default is read through the accessors below.
const (
	// DefaultReplicas is used when spec.replicas is nil.
	DefaultReplicas int32 = 1
	// DefaultRevisionHistoryLimit is how many old, scaled-down ReplicaSets are kept.
	DefaultRevisionHistoryLimit int32 = 10
	// DefaultProgressDeadlineSeconds applies to Rollouts and Experiments.
	DefaultProgressDeadlineSeconds int32 = 600
	// DefaultMaxSurge is a string on purpose: it is parsed leniently, so any
	// string, even without "%", is a percentage.
	DefaultMaxSurge = "25"
	// DefaultMaxUnavailable is a string for the same reason as DefaultMaxSurge.
	DefaultMaxUnavailable = "25"
	// DefaultScaleDownDelaySeconds applies to blue-green, traffic-routed
	// canaries and experiments.
	DefaultScaleDownDelaySeconds int32 = 30
	// DefaultAbortScaleDownDelaySeconds applies after an abort; an explicit
	// 0 means never scale down.
	DefaultAbortScaleDownDelaySeconds int32 = 30
	// DefaultAutoPromotionEnabled is blue-green's autoPromotionEnabled.
	DefaultAutoPromotionEnabled = true
	// DefaultAnalysisRunSuccessfulHistoryLimit is how many Successful runs are kept.
	DefaultAnalysisRunSuccessfulHistoryLimit int32 = 5
	// DefaultAnalysisRunUnsuccessfulHistoryLimit is how many unsuccessful runs are kept.
	DefaultAnalysisRunUnsuccessfulHistoryLimit int32 = 5
	// DefaultMaxTrafficWeight is the total that setWeight is relative to.
	DefaultMaxTrafficWeight int32 = 100
	// DefaultMirrorPercentage is the share of matching requests a mirror route copies.
	DefaultMirrorPercentage int32 = 100

	// DefaultConsecutiveErrorLimit is how many errors in a row a metric tolerates.
	DefaultConsecutiveErrorLimit int32 = 4
	// DefaultMeasurementHistoryLimit is how many measurements are kept per metric.
	DefaultMeasurementHistoryLimit = 10
	// DefaultErrorRetryInterval is the wait before measuring again after an error.
	DefaultErrorRetryInterval = 10 * time.Second
	// DefaultPrometheusTimeout bounds a Prometheus query.
	DefaultPrometheusTimeout = 30 * time.Second
	// DefaultWebTimeout bounds a web metric request.
	DefaultWebTimeout = 10 * time.Second
	// DefaultWebMethod is the HTTP method of a web metric.
	DefaultWebMethod = WebMetricMethodGet
	// DefaultWebJSONPath selects the whole response body.
	DefaultWebJSONPath = "{$}"
	// DefaultNewRelicTimeout bounds an NRQL query.
	DefaultNewRelicTimeout = 5 * time.Second
	// DefaultDatadogInterval is the Datadog query window.
	DefaultDatadogInterval DurationString = "5m"
	// DefaultDatadogAPIVersion is the Datadog API version used.
	DefaultDatadogAPIVersion = "v1"
	// DefaultDatadogAggregator reduces v2 results.
	DefaultDatadogAggregator = "last"
	// DefaultDatadogRequestTimeout bounds a Datadog request.
	DefaultDatadogRequestTimeout = 10 * time.Second
	// DefaultCloudWatchInterval is the CloudWatch look-back window.
	DefaultCloudWatchInterval = 5 * time.Minute

	// Secrets that metric providers read credentials from, in the
	// controller's namespace, unless the metric names another.
	DefaultDatadogSecretName   = "datadog"
	DefaultNewRelicProfile     = "newrelic"
	DefaultInfluxdbProfile     = "influxdb"
	DefaultWavefrontSecretName = "wavefront-api-tokens"

	// DefaultNginxAnnotationPrefix is the NGINX ingress annotation prefix.
	DefaultNginxAnnotationPrefix = "nginx.ingress.kubernetes.io"
	// DefaultALBAnnotationPrefix is the AWS load balancer annotation prefix.
	DefaultALBAnnotationPrefix = "alb.ingress.kubernetes.io"

	// API versions of the objects the traffic routers manage.
	DefaultIstioAPIVersion              = "v1alpha3"              // networking.istio.io
	DefaultSMIAPIVersion                = "v1alpha1"              // split.smi-spec.io
	DefaultAmbassadorAPIVersion         = "getambassador.io/v2"   // Mapping
	DefaultAppMeshCRDVersion            = "v1beta2"               // appmesh.k8s.aws
	DefaultApisixAPIVersion             = "apisix.apache.org/v2"  // ApisixRoute
	DefaultTargetGroupBindingAPIVersion = "elbv2.k8s.aws/v1beta1" // TargetGroupBinding
	// DefaultTraefikAPIVersion is the TraefikService API. Argo Rollouts
	// v1.9 defaulted to LegacyTraefikAPIVersion and v1.10 moved to this one,
	// which current Traefik releases (and our examples) use.
	DefaultTraefikAPIVersion = "traefik.io/v1alpha1"
	// LegacyTraefikAPIVersion is the traefik.containo.us API of Traefik v2.
	LegacyTraefikAPIVersion = "traefik.containo.us/v1alpha1"
)

func int32OrDefault(v *int32, def int32) int32 {
	if v == nil {
		return def
	}
	return *v
}

// ReplicasOrDefault is spec.replicas, or 1 when unset.
func (r *Rollout) ReplicasOrDefault() int32 {
	return int32OrDefault(r.Spec.Replicas, DefaultReplicas)
}

// RevisionHistoryLimitOrDefault is spec.revisionHistoryLimit, or 10.
func (r *Rollout) RevisionHistoryLimitOrDefault() int32 {
	return int32OrDefault(r.Spec.RevisionHistoryLimit, DefaultRevisionHistoryLimit)
}

// ProgressDeadlineSecondsOrDefault is spec.progressDeadlineSeconds, or 600.
func (r *Rollout) ProgressDeadlineSecondsOrDefault() int32 {
	return int32OrDefault(r.Spec.ProgressDeadlineSeconds, DefaultProgressDeadlineSeconds)
}

// SuccessfulRunHistoryLimitOrDefault is how many Successful AnalysisRuns and
// Experiments to keep (default 5).
func (r *Rollout) SuccessfulRunHistoryLimitOrDefault() int32 {
	if r.Spec.Analysis == nil {
		return DefaultAnalysisRunSuccessfulHistoryLimit
	}
	return int32OrDefault(r.Spec.Analysis.SuccessfulRunHistoryLimit, DefaultAnalysisRunSuccessfulHistoryLimit)
}

// UnsuccessfulRunHistoryLimitOrDefault is how many Failed, Error or
// Inconclusive AnalysisRuns and Experiments to keep (default 5).
func (r *Rollout) UnsuccessfulRunHistoryLimitOrDefault() int32 {
	if r.Spec.Analysis == nil {
		return DefaultAnalysisRunUnsuccessfulHistoryLimit
	}
	return int32OrDefault(r.Spec.Analysis.UnsuccessfulRunHistoryLimit, DefaultAnalysisRunUnsuccessfulHistoryLimit)
}

// MaxSurgeOrDefault is the canary maxSurge, or the string "25".
func (r *Rollout) MaxSurgeOrDefault() intstr.IntOrString {
	if c := r.Spec.Strategy.Canary; c != nil && c.MaxSurge != nil {
		return *c.MaxSurge
	}
	return intstr.FromString(DefaultMaxSurge)
}

// MaxUnavailableOrDefault is the blue-green or canary maxUnavailable (blue-green
// wins if both are set), or the string "25".
func (r *Rollout) MaxUnavailableOrDefault() intstr.IntOrString {
	if bg := r.Spec.Strategy.BlueGreen; bg != nil && bg.MaxUnavailable != nil {
		return *bg.MaxUnavailable
	}
	if c := r.Spec.Strategy.Canary; c != nil && c.MaxUnavailable != nil {
		return *c.MaxUnavailable
	}
	return intstr.FromString(DefaultMaxUnavailable)
}

// ScaleDownDelaySecondsOrDefault is how long the previous stable or active
// ReplicaSet stays up after promotion: the configured value or 30 seconds
// for blue-green and traffic-routed canaries, and 0 for a basic canary,
// where the setting does not apply.
func (r *Rollout) ScaleDownDelaySecondsOrDefault() time.Duration {
	var seconds int32
	if bg := r.Spec.Strategy.BlueGreen; bg != nil {
		seconds = int32OrDefault(bg.ScaleDownDelaySeconds, DefaultScaleDownDelaySeconds)
	}
	if c := r.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil {
		seconds = int32OrDefault(c.ScaleDownDelaySeconds, DefaultScaleDownDelaySeconds)
	}
	return time.Duration(seconds) * time.Second
}

// AbortScaleDownDelaySecondsOrDefault is how long after an abort the canary
// or preview ReplicaSet is scaled down. A nil duration means never (the
// field is explicitly 0); explicit reports whether the field was set. A basic
// canary (no traffic routing) scales down at once: 0, not explicit.
func (r *Rollout) AbortScaleDownDelaySecondsOrDefault() (delay *time.Duration, explicit bool) {
	var field *int32
	switch {
	case r.Spec.Strategy.BlueGreen != nil:
		field = r.Spec.Strategy.BlueGreen.AbortScaleDownDelaySeconds
	case r.Spec.Strategy.Canary != nil && r.Spec.Strategy.Canary.TrafficRouting != nil:
		field = r.Spec.Strategy.Canary.AbortScaleDownDelaySeconds
	default:
		var zero time.Duration
		return &zero, false
	}
	if field != nil && *field == 0 {
		return nil, true
	}
	d := time.Duration(int32OrDefault(field, DefaultAbortScaleDownDelaySeconds)) * time.Second
	return &d, field != nil
}

// AutoPromotionEnabledOrDefault is blue-green's autoPromotionEnabled, or true.
func (r *Rollout) AutoPromotionEnabledOrDefault() bool {
	if bg := r.Spec.Strategy.BlueGreen; bg != nil && bg.AutoPromotionEnabled != nil {
		return *bg.AutoPromotionEnabled
	}
	return DefaultAutoPromotionEnabled
}

// MaxTrafficWeight is trafficRouting.maxTrafficWeight, or 100.
func (r *Rollout) MaxTrafficWeight() int32 {
	if c := r.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil {
		return int32OrDefault(c.TrafficRouting.MaxTrafficWeight, DefaultMaxTrafficWeight)
	}
	return DefaultMaxTrafficWeight
}

// NginxAnnotationPrefixOrDefault is the NGINX annotation prefix to use.
func (r *Rollout) NginxAnnotationPrefixOrDefault() string {
	if c := r.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil && c.TrafficRouting.Nginx != nil && c.TrafficRouting.Nginx.AnnotationPrefix != "" {
		return c.TrafficRouting.Nginx.AnnotationPrefix
	}
	return DefaultNginxAnnotationPrefix
}

// ALBAnnotationPrefixOrDefault is the ALB annotation prefix to use.
func (r *Rollout) ALBAnnotationPrefixOrDefault() string {
	if c := r.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil && c.TrafficRouting.ALB != nil && c.TrafficRouting.ALB.AnnotationPrefix != "" {
		return c.TrafficRouting.ALB.AnnotationPrefix
	}
	return DefaultALBAnnotationPrefix
}

// ProgressDeadlineSecondsOrDefault is spec.progressDeadlineSeconds, or 600.
func (e *Experiment) ProgressDeadlineSecondsOrDefault() int32 {
	return int32OrDefault(e.Spec.ProgressDeadlineSeconds, DefaultProgressDeadlineSeconds)
}

// ScaleDownDelaySecondsOrDefault is spec.scaleDownDelaySeconds, or 30.
func (e *Experiment) ScaleDownDelaySecondsOrDefault() int32 {
	return int32OrDefault(e.Spec.ScaleDownDelaySeconds, DefaultScaleDownDelaySeconds)
}

// ConsecutiveErrorLimitOrDefault is consecutiveErrorLimit, or 4. A string
// value is read as an integer (0 if it is not one, e.g. an unresolved
// {{args.*}} placeholder).
func (m *Metric) ConsecutiveErrorLimitOrDefault() int32 {
	if m.ConsecutiveErrorLimit == nil {
		return DefaultConsecutiveErrorLimit
	}
	return int32(m.ConsecutiveErrorLimit.IntValue())
}

// TimeoutOrDefault is the query timeout, or 30 seconds. A negative timeout
// is returned as is, for the caller to reject.
func (p *PrometheusMetric) TimeoutOrDefault() time.Duration {
	if p.Timeout == nil {
		return DefaultPrometheusTimeout
	}
	return time.Duration(*p.Timeout) * time.Second
}

// TimeoutOrDefault is the request timeout; zero or negative means 10 seconds.
func (w *WebMetric) TimeoutOrDefault() time.Duration {
	if w.TimeoutSeconds <= 0 {
		return DefaultWebTimeout
	}
	return time.Duration(w.TimeoutSeconds) * time.Second
}

// MethodOrDefault is the HTTP method, or GET.
func (w *WebMetric) MethodOrDefault() WebMetricMethod {
	if w.Method == "" {
		return DefaultWebMethod
	}
	return w.Method
}

// JSONPathOrDefault is the result selector, or "{$}" (the whole body).
func (w *WebMetric) JSONPathOrDefault() string {
	if w.JSONPath == "" {
		return DefaultWebJSONPath
	}
	return w.JSONPath
}

// TimeoutOrDefault is the NRQL timeout, or 5 seconds. A negative timeout is
// returned as is, for the caller to reject.
func (n *NewRelicMetric) TimeoutOrDefault() time.Duration {
	if n.Timeout == nil {
		return DefaultNewRelicTimeout
	}
	return time.Duration(*n.Timeout) * time.Second
}

// ProfileOrDefault is the Secret holding the New Relic settings.
func (n *NewRelicMetric) ProfileOrDefault() string {
	if n.Profile == "" {
		return DefaultNewRelicProfile
	}
	return n.Profile
}

// ProfileOrDefault is the Secret holding the InfluxDB settings.
func (i *InfluxdbMetric) ProfileOrDefault() string {
	if i.Profile == "" {
		return DefaultInfluxdbProfile
	}
	return i.Profile
}

// IntervalOrDefault is the Datadog query window, or 5m.
func (d *DatadogMetric) IntervalOrDefault() DurationString {
	if d.Interval == "" {
		return DefaultDatadogInterval
	}
	return d.Interval
}

// APIVersionOrDefault is the Datadog API version, or v1.
func (d *DatadogMetric) APIVersionOrDefault() string {
	if d.ApiVersion == "" {
		return DefaultDatadogAPIVersion
	}
	return d.ApiVersion
}

// AggregatorOrDefault is the v2 aggregator, or "last".
func (d *DatadogMetric) AggregatorOrDefault() string {
	if d.Aggregator == "" {
		return DefaultDatadogAggregator
	}
	return d.Aggregator
}

// RequestTimeoutOrDefault is the Datadog request timeout, or 10 seconds
// when unset or not a positive duration.
func (d *DatadogMetric) RequestTimeoutOrDefault() time.Duration {
	if t, err := d.RequestTimeout.Duration(); err == nil && t > 0 {
		return t
	}
	return DefaultDatadogRequestTimeout
}

// IntervalOrDefault is the CloudWatch look-back window, or 5 minutes when
// unset. An unparsable interval is returned as an error.
func (c *CloudWatchMetric) IntervalOrDefault() (time.Duration, error) {
	if c.Interval == "" {
		return DefaultCloudWatchInterval, nil
	}
	return c.Interval.Duration()
}

// PercentageOrDefault is the share of matching requests mirrored, or 100.
func (m *SetMirrorRoute) PercentageOrDefault() int32 {
	return int32OrDefault(m.Percentage, DefaultMirrorPercentage)
}
