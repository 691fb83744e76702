package v1alpha1

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CanaryStrategy moves pods and, with a traffic router, requests to the new
// ReplicaSet through an ordered list of steps.
type CanaryStrategy struct {
	// CanaryService is pinned to the new ReplicaSet's pods.
	// +optional
	CanaryService string `json:"canaryService,omitempty"`
	// StableService is pinned to the stable ReplicaSet's pods.
	// +optional
	StableService string `json:"stableService,omitempty"`
	// Steps run in order; with no steps the update behaves like a rolling
	// update bounded by maxSurge and maxUnavailable.
	// +optional
	Steps []CanaryStep `json:"steps,omitempty"`
	// TrafficRouting splits requests with a mesh, ingress or plugin instead of
	// approximating the weight with pod counts.
	TrafficRouting *RolloutTrafficRouting `json:"trafficRouting,omitempty"`
	// MaxUnavailable is how many pods below the desired count may be
	// unavailable (number or percentage; default "25", read as 25%).
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// MaxSurge is how many pods above the desired count may exist
	// (number or percentage; default "25", read as 25%).
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`
	// Analysis runs in the background from startingStep until promotion.
	Analysis *RolloutAnalysisBackground `json:"analysis,omitempty"`
	// AntiAffinity keeps canary pods away from nodes running stable pods.
	// +optional
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// CanaryMetadata is added to pods while they are the canary.
	CanaryMetadata *PodTemplateMetadata `json:"canaryMetadata,omitempty"`
	// StableMetadata is added to pods while they are stable.
	StableMetadata *PodTemplateMetadata `json:"stableMetadata,omitempty"`
	// ScaleDownDelaySeconds keeps the previous stable ReplicaSet up after a
	// traffic-routed promotion (default 30).
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// ScaleDownDelayRevisionLimit caps how many old ReplicaSets may wait in
	// the scale-down delay at once.
	// +optional
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// AbortScaleDownDelaySeconds delays scaling the canary down after an
	// abort with traffic routing (default 30; 0 keeps it up).
	// +optional
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
	// DynamicStableScale shrinks the stable ReplicaSet as canary traffic grows.
	DynamicStableScale bool `json:"dynamicStableScale,omitempty"`
	// PingPong alternates the stable role between two services instead of
	// using canaryService and stableService.
	PingPong *PingPongSpec `json:"pingPong,omitempty"`
	// MinPodsPerReplicaSet raises a non-zero canary or stable count to at
	// least this many pods (traffic routing only).
	MinPodsPerReplicaSet *int32 `json:"minPodsPerReplicaSet,omitempty"`
	// ReplicaProgressThreshold lets a step proceed when only part of the
	// canary pods are available.
	// +optional
	ReplicaProgressThreshold *ReplicaProgressThreshold `json:"replicaProgressThreshold,omitempty"`
}

// PingPongSpec names the two services that take turns being stable.
type PingPongSpec struct {
	// PingService is the first service.
	PingService string `json:"pingService"`
	// PongService is the second service.
	PongService string `json:"pongService"`
}

// ProgressType is the unit of a ReplicaProgressThreshold.
type ProgressType string

// ProgressType values.
const (
	ProgressTypePercentage ProgressType = "Percent"
	ProgressTypePods       ProgressType = "Pods"
)

// ReplicaProgressThreshold is how many available canary pods are enough.
type ReplicaProgressThreshold struct {
	// Type is Percent or Pods.
	Type ProgressType `json:"type"`
	// Value is the percentage or pod count.
	Value int32 `json:"value"`
}

// CanaryStep is one action of a canary update. Exactly one field is set.
//
// The rule below is a chain of conditionals rather than a sum of counts:
// steps have no maxItems, so the API server multiplies the rule's cost by
// about a million possible steps, and only this form of "exactly one" fits
// its budget.
// +kubebuilder:validation:XValidation:rule="has(self.setWeight) ? !(has(self.pause) || has(self.analysis) || has(self.experiment) || has(self.setCanaryScale) || has(self.setHeaderRoute) || has(self.setMirrorRoute) || has(self.plugin)) : (has(self.pause) ? !(has(self.analysis) || has(self.experiment) || has(self.setCanaryScale) || has(self.setHeaderRoute) || has(self.setMirrorRoute) || has(self.plugin)) : (has(self.analysis) ? !(has(self.experiment) || has(self.setCanaryScale) || has(self.setHeaderRoute) || has(self.setMirrorRoute) || has(self.plugin)) : (has(self.experiment) ? !(has(self.setCanaryScale) || has(self.setHeaderRoute) || has(self.setMirrorRoute) || has(self.plugin)) : (has(self.setCanaryScale) ? !(has(self.setHeaderRoute) || has(self.setMirrorRoute) || has(self.plugin)) : (has(self.setHeaderRoute) ? !(has(self.setMirrorRoute) || has(self.plugin)) : (has(self.setMirrorRoute) ? !(has(self.plugin)) : (has(self.plugin))))))))",message="each canary step must set exactly one of setWeight, pause, analysis, experiment, setCanaryScale, setHeaderRoute, setMirrorRoute or plugin: put each action in its own list item under spec.strategy.canary.steps"
type CanaryStep struct {
	// SetWeight is the canary traffic percentage to reach.
	SetWeight *int32 `json:"setWeight,omitempty"`
	// Pause waits for a duration, or until promoted when it has none.
	// +optional
	Pause *RolloutPause `json:"pause,omitempty"`
	// Experiment runs an Experiment and waits for it to succeed.
	Experiment *RolloutExperimentStep `json:"experiment,omitempty"`
	// Analysis runs an AnalysisRun and waits for it to succeed.
	Analysis *RolloutAnalysis `json:"analysis,omitempty"`
	// SetCanaryScale sets the canary pod count independently of its weight.
	// +optional
	SetCanaryScale *SetCanaryScale `json:"setCanaryScale,omitempty"`
	// SetHeaderRoute sends requests matching headers to the canary.
	// +optional
	SetHeaderRoute *SetHeaderRoute `json:"setHeaderRoute,omitempty"`
	// SetMirrorRoute copies matching requests to the canary.
	// +optional
	SetMirrorRoute *SetMirrorRoute `json:"setMirrorRoute,omitempty"`
	// Plugin runs a step plugin.
	// +optional
	Plugin *PluginStep `json:"plugin,omitempty"`
}

// PluginStep invokes a step plugin with its own configuration.
type PluginStep struct {
	// Name of the step plugin, as registered in the controller configuration.
	Name string `json:"name"`
	// Config is passed to the plugin unchanged.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Config json.RawMessage `json:"config,omitempty"`
}

// RolloutPause is a pause step.
type RolloutPause struct {
	// Duration is seconds (an integer or a digit string) or a Go duration
	// such as "30s" or "1h"; absent means wait until promoted.
	// +optional
	Duration *intstr.IntOrString `json:"duration,omitempty"`
}

// DurationSeconds converts the pause duration to whole seconds: 0 when it is
// not set, -1 when the string is neither digits nor a Go duration, or is a
// duration too long for int32 seconds (over about 68 years).
func (p RolloutPause) DurationSeconds() int32 {
	if p.Duration == nil {
		return 0
	}
	if p.Duration.Type != intstr.String {
		return p.Duration.IntVal
	}
	if n, err := strconv.ParseInt(p.Duration.StrVal, 10, 32); err == nil {
		return int32(n)
	}
	d, err := time.ParseDuration(p.Duration.StrVal)
	// Converting an out-of-range float to int32 gives a value of the
	// platform's choosing (math.MinInt32 on amd64, math.MaxInt32 on arm64),
	// so the range is checked on the integer seconds instead.
	if secs := d / time.Second; err != nil || secs < math.MinInt32 || secs > math.MaxInt32 {
		return -1
	}
	return int32(d / time.Second)
}

// DurationFromInt returns a pause duration of i seconds.
func DurationFromInt(i int) *intstr.IntOrString {
	d := intstr.FromInt(i)
	return &d
}

// DurationFromString returns a pause duration given as a string, either
// digits (seconds) or a Go duration.
func DurationFromString(s string) *intstr.IntOrString {
	d := intstr.FromString(s)
	return &d
}

// SetCanaryScale overrides the canary pod count; set one field.
type SetCanaryScale struct {
	// Weight is the canary size as a percentage of spec.replicas.
	// +optional
	Weight *int32 `json:"weight,omitempty"`
	// Replicas is the canary size as a pod count.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// MatchTrafficWeight cancels an earlier override so the pod count follows
	// the traffic weight again.
	// +optional
	MatchTrafficWeight bool `json:"matchTrafficWeight,omitempty"`
}

// SetHeaderRoute adds (or, with no match, removes) a managed route that sends
// every matching request to the canary.
type SetHeaderRoute struct {
	// Name of the route; it must be listed in trafficRouting.managedRoutes.
	Name string `json:"name,omitempty"`
	// Match lists the header conditions.
	Match []HeaderRoutingMatch `json:"match,omitempty"`
}

// HeaderRoutingMatch is one header condition of a header route.
type HeaderRoutingMatch struct {
	// HeaderName is the request header to inspect.
	HeaderName string `json:"headerName"`
	// HeaderValue is how its value must match.
	HeaderValue *StringMatch `json:"headerValue"`
}

// SetMirrorRoute adds (or, with no match, removes) a managed route that
// mirrors matching requests to the canary.
type SetMirrorRoute struct {
	// Name of the route; it must be listed in trafficRouting.managedRoutes.
	Name string `json:"name"`
	// Match lists request conditions; any matching request is mirrored.
	// +optional
	Match []RouteMatch `json:"match,omitempty"`
	// Percentage of matching requests to mirror (default 100).
	Percentage *int32 `json:"percentage,omitempty"`
}

// RouteMatch is a set of request conditions for a mirror route.
type RouteMatch struct {
	// Method matches the HTTP method.
	// +optional
	Method *StringMatch `json:"method,omitempty"`
	// Path matches the URL path.
	// +optional
	Path *StringMatch `json:"path,omitempty"`
	// Headers match request headers by name.
	// +optional
	Headers map[string]StringMatch `json:"headers,omitempty"`
}

// StringMatch compares a string by exactly one of its fields.
type StringMatch struct {
	// Exact requires equality.
	Exact string `json:"exact,omitempty"`
	// Prefix requires the value to start with it.
	Prefix string `json:"prefix,omitempty"`
	// Regex requires a regular-expression match.
	Regex string `json:"regex,omitempty"`
}

// RolloutAnalysisBackground is an analysis that runs alongside the steps.
type RolloutAnalysisBackground struct {
	RolloutAnalysis `json:",inline"`
	// StartingStep is the step index at which the run starts (default 0).
	StartingStep *int32 `json:"startingStep,omitempty"`
}

// RolloutAnalysis describes the AnalysisRun a Rollout creates from templates.
type RolloutAnalysis struct {
	// Templates are merged into one run.
	Templates []AnalysisTemplateRef `json:"templates,omitempty" patchStrategy:"merge" patchMergeKey:"templateName"`
	// Args fill the templates' arguments.
	Args []AnalysisRunArgument `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// DryRun lists metrics whose result must not affect the run.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// MeasurementRetention overrides how many measurements are kept.
	// +optional
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// AnalysisRunMetadata is added to the created AnalysisRun.
	// +optional
	AnalysisRunMetadata *AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
}

// AnalysisTemplateRef names an AnalysisTemplate or ClusterAnalysisTemplate.
type AnalysisTemplateRef struct {
	// TemplateName is the template's name.
	// +optional
	TemplateName string `json:"templateName"`
	// ClusterScope selects a ClusterAnalysisTemplate instead.
	// +optional
	ClusterScope *bool `json:"clusterScope,omitempty"`
}

// IsClusterScope reports whether the reference is to a ClusterAnalysisTemplate.
func (r *AnalysisTemplateRef) IsClusterScope() bool {
	return r.ClusterScope != nil && *r.ClusterScope
}

// AnalysisRunArgument is an argument a Rollout passes to its AnalysisRuns.
type AnalysisRunArgument struct {
	// Name of the template argument.
	Name string `json:"name"`
	// Value is a literal value; do not combine with valueFrom.
	Value string `json:"value,omitempty"`
	// ValueFrom takes the value from the Rollout at run creation.
	ValueFrom *ArgumentValueFrom `json:"valueFrom,omitempty"`
}

// ArgumentValueFrom is where a Rollout-side argument value comes from.
type ArgumentValueFrom struct {
	// PodTemplateHashValue is Stable or Latest: that ReplicaSet's hash.
	PodTemplateHashValue *ValueFromPodTemplateHash `json:"podTemplateHashValue,omitempty"`
	// FieldRef is a path into the Rollout object.
	FieldRef *FieldRef `json:"fieldRef,omitempty"`
}

// FieldRef selects a field of an object by path.
type FieldRef struct {
	// FieldPath such as metadata.labels['env'].
	FieldPath string `json:"fieldPath"`
}

// ValueFromPodTemplateHash selects which ReplicaSet's hash an argument takes.
type ValueFromPodTemplateHash string

// ValueFromPodTemplateHash values.
const (
	Stable ValueFromPodTemplateHash = "Stable"
	Latest ValueFromPodTemplateHash = "Latest"
)

// AnalysisRunMetadata is labels and annotations added to created AnalysisRuns.
type AnalysisRunMetadata struct {
	// Labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// RolloutExperimentStep is a canary step that runs an Experiment.
type RolloutExperimentStep struct {
	// Templates are the ReplicaSets to run; at least one.
	Templates []RolloutExperimentTemplate `json:"templates" patchStrategy:"merge" patchMergeKey:"name"`
	// Duration is how long the experiment runs (e.g. 30s, 5m); empty means
	// until its required analyses finish.
	// +optional
	Duration DurationString `json:"duration,omitempty"`
	// Analyses run against the experiment.
	Analyses []RolloutExperimentStepAnalysisTemplateRef `json:"analyses,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// DryRun lists metrics whose result must not affect the analyses.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// AnalysisRunMetadata is added to the experiment's AnalysisRuns.
	// +optional
	AnalysisRunMetadata AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
	// ScaleDownDelaySeconds keeps the experiment's ReplicaSets up after it
	// ends (default 30).
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
}

// RolloutExperimentStepAnalysisTemplateRef is an analysis of an experiment step.
type RolloutExperimentStepAnalysisTemplateRef struct {
	// Name of this analysis within the experiment.
	Name string `json:"name"`
	// TemplateName is the AnalysisTemplate to instantiate.
	TemplateName string `json:"templateName"`
	// ClusterScope selects a ClusterAnalysisTemplate instead.
	// +optional
	ClusterScope *bool `json:"clusterScope,omitempty"`
	// Args fill the template's arguments.
	Args []AnalysisRunArgument `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// RequiredForCompletion keeps the experiment running until this analysis ends.
	RequiredForCompletion bool `json:"requiredForCompletion,omitempty"`
}

// IsClusterScope reports whether the reference is to a ClusterAnalysisTemplate.
func (r *RolloutExperimentStepAnalysisTemplateRef) IsClusterScope() bool {
	return r.ClusterScope != nil && *r.ClusterScope
}

// RolloutExperimentTemplate is one ReplicaSet of an experiment step.
type RolloutExperimentTemplate struct {
	// Name of the template within the experiment.
	Name string `json:"name"`
	// SpecRef is canary or stable: whose pod template to run.
	SpecRef ReplicaSetSpecRef `json:"specRef"`
	// Replicas is the pod count (default 1).
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// Metadata is added to the ReplicaSet's pods.
	// +optional
	Metadata PodTemplateMetadata `json:"metadata,omitempty"`
	// Selector overrides the Rollout's selector for this ReplicaSet.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// Weight routes this percentage of traffic to the template (traffic
	// routing only).
	Weight *int32 `json:"weight,omitempty"`
	// Service asks for a Service in front of the template's pods.
	Service *TemplateService `json:"service,omitempty"`
}

// ReplicaSetSpecRef selects the pod template an experiment step runs.
type ReplicaSetSpecRef string

// ReplicaSetSpecRef values.
const (
	CanarySpecRef ReplicaSetSpecRef = "canary"
	StableSpecRef ReplicaSetSpecRef = "stable"
)
