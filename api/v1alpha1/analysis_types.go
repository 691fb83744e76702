package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// +kubebuilder:object:root=true
// +kubebuilder:resource:path=analysistemplates,shortName=at
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"

// AnalysisTemplate is a reusable, parameterised set of metrics in one
// namespace, from which AnalysisRuns are built.
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the metrics and arguments.
	Spec AnalysisTemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// AnalysisTemplateList is a page of AnalysisTemplates returned by list calls.
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`

	// Items are the AnalysisTemplates.
	Items []AnalysisTemplate `json:"items"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:path=clusteranalysistemplates,shortName=cat,scope=Cluster
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"

// ClusterAnalysisTemplate is an AnalysisTemplate usable from every namespace.
type ClusterAnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the metrics and arguments.
	Spec AnalysisTemplateSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// ClusterAnalysisTemplateList is a page of ClusterAnalysisTemplates.
type ClusterAnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`

	// Items are the ClusterAnalysisTemplates.
	Items []ClusterAnalysisTemplate `json:"items"`
}

// AnalysisTemplateSpec is the content shared by both template kinds.
type AnalysisTemplateSpec struct {
	// Metrics to measure; names are unique.
	Metrics []Metric `json:"metrics,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// Args are the template's parameters; one without a value is required.
	// +optional
	Args []Argument `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// DryRun lists metrics whose result must not affect the run.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// MeasurementRetention overrides how many measurements are kept.
	// +optional
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// Templates nest other templates, whose metrics are merged in.
	// +optional
	Templates []AnalysisTemplateRef `json:"templates,omitempty" patchStrategy:"merge" patchMergeKey:"templateName"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:path=analysisruns,shortName=ar
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.phase",description="AnalysisRun status"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"

// AnalysisRun is one execution of a set of metrics, usually created by a
// Rollout or Experiment from templates.
type AnalysisRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what the run measures.
	Spec AnalysisRunSpec `json:"spec"`
	// Status holds the results.
	Status AnalysisRunStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// AnalysisRunList is a page of AnalysisRuns returned by list calls.
type AnalysisRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`

	// Items are the AnalysisRuns.
	Items []AnalysisRun `json:"items"`
}

// AnalysisRunSpec is what an AnalysisRun measures.
type AnalysisRunSpec struct {
	// Metrics to measure.
	Metrics []Metric `json:"metrics" patchStrategy:"merge" patchMergeKey:"name"`
	// Args resolve the metrics' {{args.*}} placeholders.
	// +optional
	Args []Argument `json:"args,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	// Terminate stops the run; metrics without measurements count as successful.
	// +optional
	Terminate bool `json:"terminate,omitempty"`
	// DryRun lists metrics whose result must not affect the run.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// MeasurementRetention overrides how many measurements are kept.
	// +optional
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty" patchStrategy:"merge" patchMergeKey:"metricName"`
	// TTLStrategy deletes the run some time after it completes.
	// +optional
	TTLStrategy *TTLStrategy `json:"ttlStrategy,omitempty"`
}

// DurationString is a Go duration string such as "30s" or "5m".
type DurationString string

// Duration parses the string with time.ParseDuration.
func (d DurationString) Duration() (time.Duration, error) {
	return time.ParseDuration(string(d))
}

// Metric is one measurement series and how to judge it.
//
// The one-provider rule is declared here, on the list item, and reported at
// .provider: the API server estimates a rule's cost per possible instance,
// and a metric (which has required fields) has far fewer possible instances
// in a request than an empty provider object.
// +kubebuilder:validation:XValidation:rule="(has(self.provider.prometheus) ? 1 : 0) + (has(self.provider.web) ? 1 : 0) + (has(self.provider.job) ? 1 : 0) + (has(self.provider.kayenta) ? 1 : 0) + (has(self.provider.datadog) ? 1 : 0) + (has(self.provider.newRelic) ? 1 : 0) + (has(self.provider.wavefront) ? 1 : 0) + (has(self.provider.graphite) ? 1 : 0) + (has(self.provider.influxdb) ? 1 : 0) + (has(self.provider.cloudWatch) ? 1 : 0) + (has(self.provider.skywalking) ? 1 : 0) + (has(self.provider.plugin) ? 1 : 0) == 1",message="a metric's provider must set exactly one of prometheus, web, job, kayenta, datadog, newRelic, wavefront, graphite, influxdb, cloudWatch, skywalking or plugin: keep one provider here and move any other into a metric of its own",fieldPath=".provider"
type Metric struct {
	// Name is unique within the run.
	Name string `json:"name"`
	// Interval between measurements; empty means a single measurement.
	// +optional
	Interval DurationString `json:"interval,omitempty"`
	// InitialDelay before the first measurement.
	// +optional
	InitialDelay DurationString `json:"initialDelay,omitempty"`
	// Count is the number of measurements (may be an {{args.*}} string).
	// +optional
	Count *intstr.IntOrString `json:"count,omitempty"`
	// SuccessCondition is an expression over result that must hold.
	// +optional
	SuccessCondition string `json:"successCondition,omitempty"`
	// FailureCondition is an expression over result that marks a failure.
	// +optional
	FailureCondition string `json:"failureCondition,omitempty"`
	// FailureLimit is how many failed measurements are tolerated (default 0;
	// -1 disables the check).
	// +optional
	FailureLimit *intstr.IntOrString `json:"failureLimit,omitempty"`
	// InconclusiveLimit is how many inconclusive measurements are tolerated.
	// +optional
	InconclusiveLimit *intstr.IntOrString `json:"inconclusiveLimit,omitempty"`
	// ConsecutiveErrorLimit is how many errors in a row are tolerated
	// (default 4).
	// +optional
	ConsecutiveErrorLimit *intstr.IntOrString `json:"consecutiveErrorLimit,omitempty"`
	// Provider is where measurements come from.
	Provider MetricProvider `json:"provider"`
	// ConsecutiveSuccessLimit ends the metric successfully after this many
	// successes in a row (default 0: off).
	// +optional
	ConsecutiveSuccessLimit *intstr.IntOrString `json:"consecutiveSuccessLimit,omitempty"`
}

// EffectiveCount is the number of measurements to take: the count if it is
// set and non-zero, otherwise 1 without an interval and nil (unbounded) with one.
func (m *Metric) EffectiveCount() *intstr.IntOrString {
	if m.Count != nil && m.Count.IntValue() != 0 {
		return m.Count
	}
	if m.Interval == "" {
		one := intstr.FromInt(1)
		return &one
	}
	return nil
}

// DryRun selects metrics, by regular expression, to run in dry-run mode.
type DryRun struct {
	// MetricName is a regular expression over metric names.
	MetricName string `json:"metricName"`
}

// MeasurementRetention sets how many measurements of matching metrics to keep.
type MeasurementRetention struct {
	// MetricName is a regular expression over metric names.
	MetricName string `json:"metricName"`
	// Limit is the number of measurements kept.
	Limit int32 `json:"limit"`
}

// TTLStrategy is how long a completed AnalysisRun is kept.
type TTLStrategy struct {
	// SecondsAfterCompletion applies to any completed run.
	SecondsAfterCompletion *int32 `json:"secondsAfterCompletion,omitempty"`
	// SecondsAfterFailure applies to unsuccessful runs and takes precedence.
	SecondsAfterFailure *int32 `json:"secondsAfterFailure,omitempty"`
	// SecondsAfterSuccess applies to successful runs and takes precedence.
	SecondsAfterSuccess *int32 `json:"secondsAfterSuccess,omitempty"`
}

// Argument is a template parameter or its value in a run.
type Argument struct {
	// Name of the argument.
	Name string `json:"name"`
	// Value of the argument; nil means it must be supplied.
	Value *string `json:"value,omitempty"`
	// ValueFrom reads the value from a Secret or a field.
	ValueFrom *ValueFrom `json:"valueFrom,omitempty"`
}

// ValueFrom is where a template argument's value comes from.
type ValueFrom struct {
	// SecretKeyRef reads a key of a Secret in the run's namespace.
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
	// FieldRef reads a field of the owning object.
	FieldRef *FieldRef `json:"fieldRef,omitempty"`
}

// SecretKeyRef names a key of a Secret.
type SecretKeyRef struct {
	// Name of the Secret.
	Name string `json:"name"`
	// Key within the Secret.
	Key string `json:"key"`
}

// AnalysisPhase is the phase of a run, metric, measurement or experiment.
type AnalysisPhase string

// AnalysisPhase values.
const (
	AnalysisPhasePending      AnalysisPhase = "Pending"
	AnalysisPhaseRunning      AnalysisPhase = "Running"
	AnalysisPhaseSuccessful   AnalysisPhase = "Successful"
	AnalysisPhaseFailed       AnalysisPhase = "Failed"
	AnalysisPhaseError        AnalysisPhase = "Error"
	AnalysisPhaseInconclusive AnalysisPhase = "Inconclusive"
)

// Completed reports whether the phase is final.
func (p AnalysisPhase) Completed() bool {
	switch p {
	case AnalysisPhaseSuccessful, AnalysisPhaseFailed, AnalysisPhaseError, AnalysisPhaseInconclusive:
		return true
	}
	return false
}

// AnalysisRunStatus is the observed state of an AnalysisRun.
type AnalysisRunStatus struct {
	// Phase of the run.
	Phase AnalysisPhase `json:"phase"`
	// Message explains the phase.
	Message string `json:"message,omitempty"`
	// MetricResults hold the measurements per metric.
	MetricResults []MetricResult `json:"metricResults,omitempty"`
	// StartedAt is when the run started.
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// RunSummary counts metrics by phase.
	RunSummary RunSummary `json:"runSummary,omitempty"`
	// DryRunSummary counts dry-run metrics by phase.
	DryRunSummary *RunSummary `json:"dryRunSummary,omitempty"`
	// CompletedAt is when the run completed.
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
}

// RunSummary counts metrics (not measurements) by phase.
type RunSummary struct {
	// Count of metrics.
	Count int32 `json:"count,omitempty"`
	// Successful metrics.
	Successful int32 `json:"successful,omitempty"`
	// Failed metrics.
	Failed int32 `json:"failed,omitempty"`
	// Inconclusive metrics.
	Inconclusive int32 `json:"inconclusive,omitempty"`
	// Error metrics.
	Error int32 `json:"error,omitempty"`
}

// MetricResult is the state of one metric of a run.
type MetricResult struct {
	// Name of the metric.
	Name string `json:"name"`
	// Phase of the metric.
	Phase AnalysisPhase `json:"phase"`
	// Measurements taken, oldest first, trimmed to the retention limit.
	Measurements []Measurement `json:"measurements,omitempty"`
	// Message explains the phase.
	Message string `json:"message,omitempty"`
	// Count of completed (non-error) measurements.
	Count int32 `json:"count,omitempty"`
	// Successful measurements.
	Successful int32 `json:"successful,omitempty"`
	// Failed measurements.
	Failed int32 `json:"failed,omitempty"`
	// Inconclusive measurements.
	Inconclusive int32 `json:"inconclusive,omitempty"`
	// Error measurements.
	Error int32 `json:"error,omitempty"`
	// ConsecutiveError counts errors since the last non-error measurement.
	ConsecutiveError int32 `json:"consecutiveError,omitempty"`
	// DryRun is true when the metric cannot affect the run.
	DryRun bool `json:"dryRun,omitempty"`
	// Metadata is provider information about the metric.
	Metadata map[string]string `json:"metadata,omitempty"`
	// ConsecutiveSuccess counts successes in a row.
	ConsecutiveSuccess int32 `json:"consecutiveSuccess,omitempty"`
}

// Measurement is one observation of a metric.
type Measurement struct {
	// Phase of the measurement.
	Phase AnalysisPhase `json:"phase"`
	// Message explains an error or result.
	Message string `json:"message,omitempty"`
	// StartedAt is when it started.
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// FinishedAt is when it completed.
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Value is the provider's result as a string.
	Value string `json:"value,omitempty"`
	// Metadata is provider information about the measurement.
	Metadata map[string]string `json:"metadata,omitempty"`
	// ResumeAt is when to check an asynchronous measurement again.
	ResumeAt *metav1.Time `json:"resumeAt,omitempty"`
}
